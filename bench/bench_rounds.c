/* Memory over rounds: peak RSS of the same MinionS job run for 1 round and
 * for 3 rounds over all the FinanceBench filings.
 *
 *   bench_rounds [--build DIR] [--data DIR] [--cache DIR] [--runs N]
 *                [--rounds R] [--chunk-chars N]
 *
 * The job is bench_orchestration's: the remote's Lua program cuts every
 * filing with chunk_by_section(doc, N, 0) in every round (thousands of jobs
 * a round, prev_jobs holding all of the last round's), the local fakellm
 * answers at once, extractively. The remote asks for more in every
 * decision, so an R-round run runs R full rounds (the last one is told it
 * is the last and answers).
 *
 * Each run is a fresh process (fork, then the library's public API, as the
 * CLI calls it: mn_docs_add_path on the prepared .txt files, mn_run_execute,
 * the run log written), which reports getrusage(RUSAGE_SELF).ru_maxrss, the
 * peak RSS of the process that holds the protocol's state, and
 * RUSAGE_CHILDREN, the largest of its own children (a sandbox helper, when
 * the sandbox runs out of process; 0 while it runs in-process). Linux
 * reports ru_maxrss in kilobytes (POSIX leaves the unit open). The fork
 * happens before the bench holds anything large, so both settings start
 * from the same small image.
 * Target: peak RSS of R rounds <= 1.2 x that of 1 round (medians of --runs,
 * default 3, the settings alternating). Lines starting "summary:" are what
 * bench/run.sh tabulates.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

#define TARGET_RATIO 1.2
#define MAX_RUNS 15

#define TASK BENCH_CAPEX_TASK

static char *remote_script(int chunk_chars)
{
  char *code = bench_capex_program(chunk_chars);
  json_t *rules = json_pack(
    "{s:[{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s}]}", "rules",
    "when", "last_contains", "write short advice",
    "reply", "Look for capex in the cash flow statements.",
    "when", "last_contains", "Write a Lua 5.4 program",
    "reply", code,
    "when", "last_contains", "Think step by step: which findings",
    "reply", "Several filings quote their capex; the others may hide it in notes.",
    "when", "last_contains", "Now decide",
    "reply", "{\"decision\": \"request_additional_info\", \"explanation\": \"not all filings\", "
             "\"answer\": null, \"feedback\": \"read every filing again\", "
             "\"scratchpad\": \"some capex figures quoted\"}",
    "when", "last_contains", "This was the last round",
    "reply", "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", "
             "\"answer\": \"See the quoted figures.\", \"feedback\": null, \"scratchpad\": \"done\"}");
  free(code);
  char *s = json_dumps(rules, JSON_INDENT(1));
  json_decref(rules);
  return s;
}

typedef struct sample {
  long self_kb, children_kb;
  int rc;                 /* mn_run_execute's */
} sample;

typedef struct result {
  double self_mb, children_mb, wall_s;
  long jobs, rounds;
} result;

/* The child: one run through the public API, its rusage over fd. */
static void child_run(int fd, char **texts, size_t ntexts, const char *remote_url,
                      const char *local_url, const char *logpath, int rounds)
{
  sample s = { 0, 0, MN_EINVAL };
  mn_docs *docs = NULL;
  mn_run *run = NULL;
  if(mn_global_init() != MN_OK || mn_docs_new(&docs) != MN_OK)
    goto out;
  for(size_t i = 0; i < ntexts; i++)
    if(mn_docs_add_path(docs, texts[i]) != MN_OK) {
      fprintf(stderr, "bench_rounds: %s\n", mn_docs_errmsg(docs));
      goto out;
    }
  const char *urls[1] = { local_url };
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = MN_PROTOCOL_MINIONS;
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = 1;
  o.remote_url = remote_url;
  o.task = TASK;
  o.log_path = logpath;
  o.max_rounds = rounds;
  o.max_jobs = 100000;
  s.rc = mn_run_new(&run, &o);
  if(s.rc == MN_OK)
    s.rc = mn_run_execute(run, docs);
  if(s.rc != MN_OK)
    fprintf(stderr, "bench_rounds: %d rounds: %s\n", rounds, mn_run_errmsg(run));
out:
  mn_run_free(run);
  mn_docs_free(docs);
  struct rusage self, kids;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &kids);
  s.self_kb = self.ru_maxrss;
  s.children_kb = kids.ru_maxrss;
  ssize_t w = write(fd, &s, sizeof s);
  _exit(w == (ssize_t)sizeof s ? 0 : 1);
}

/* Jobs and rounds from the run log. */
static int read_log(const char *path, result *r)
{
  json_error_t e;
  json_t *log = json_load_file(path, 0, &e);
  if(!log) {
    fprintf(stderr, "bench_rounds: run log %s: %s\n", path, e.text);
    return -1;
  }
  size_t i;
  json_t *turn;
  r->jobs = 0;
  json_array_foreach(json_object_get(log, "conversation"), i, turn)
    r->jobs += (long)json_array_size(json_object_get(turn, "job_manifests"));
  r->rounds = (long)json_integer_value(json_object_get(log, "rounds"));
  json_decref(log);
  return 0;
}

static int one_run(char **texts, size_t ntexts, const char *remote_url, const char *local_url,
                   const char *logpath, int rounds, result *r)
{
  int fds[2];
  if(pipe(fds) != 0) {
    perror("bench_rounds: pipe");
    return -1;
  }
  fflush(NULL);
  double t0 = mn_now();
  pid_t pid = fork();
  if(pid < 0) {
    perror("bench_rounds: fork");
    return -1;
  }
  if(pid == 0) {
    close(fds[0]);
    child_run(fds[1], texts, ntexts, remote_url, local_url, logpath, rounds);
  }
  close(fds[1]);
  sample s;
  size_t got = 0;
  while(got < sizeof s) {
    ssize_t n = read(fds[0], (char *)&s + got, sizeof s - got);
    if(n < 0 && errno == EINTR)
      continue;
    if(n <= 0)
      break;
    got += (size_t)n;
  }
  close(fds[0]);
  int st;
  while(waitpid(pid, &st, 0) < 0 && errno == EINTR)
    ;
  r->wall_s = mn_now() - t0;
  if(got != sizeof s || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || s.rc != MN_OK) {
    fprintf(stderr, "bench_rounds: the %d-round run failed (status %d, rc %d)\n", rounds, st,
            got == sizeof s ? s.rc : 0);
    return -1;
  }
  r->self_mb = (double)s.self_kb / 1024.0;
  r->children_mb = (double)s.children_kb / 1024.0;
  if(read_log(logpath, r) != 0)
    return -1;
  if(r->rounds != rounds) {
    fprintf(stderr, "bench_rounds: asked for %d rounds, the run log says %ld\n", rounds,
            r->rounds);
    return -1;
  }
  return 0;
}

static void usage(FILE *f)
{
  fputs("usage: bench_rounds [--build DIR] [--data DIR] [--cache DIR] [--runs N] [--rounds R]\n"
        "                    [--chunk-chars N]\n", f);
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *data_arg = NULL, *cache_arg = NULL;
  int runs = 3, rounds = 3, chunk_chars = 3000;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--data") && i + 1 < argc)
      data_arg = argv[++i];
    else if(!strcmp(argv[i], "--cache") && i + 1 < argc)
      cache_arg = argv[++i];
    else if(!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--rounds") && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--chunk-chars") && i + 1 < argc)
      chunk_chars = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else {
      usage(stderr);
      return 2;
    }
  }
  if(runs < 1 || runs > MAX_RUNS || rounds < 2 || rounds > 10 || chunk_chars < 200) {
    fprintf(stderr, "bench_rounds: --runs wants 1..%d, --rounds 2..10, --chunk-chars >= 200\n",
            MAX_RUNS);
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *fakellm = mn_xasprintf("%s/fakellm", build);
  char *data = bench_data_dir(data_arg);
  char *cache = cache_arg ? mn_xstrdup(cache_arg) : bench_cache_dir();
  if(access(fakellm, X_OK) != 0) {
    fprintf(stderr, "bench_rounds: need %s (build the bench target)\n", fakellm);
    return 1;
  }
  char **texts = NULL;
  size_t ntexts = 0;
  if(bench_filing_texts(data, cache, &texts, &ntexts) != 0)
    return 1;

  char dir[] = "/tmp/mn-bench-rounds-XXXXXX";
  if(!mkdtemp(dir)) {
    perror("bench_rounds: mkdtemp");
    return 1;
  }
  char *rpath = mn_xasprintf("%s/remote.json", dir);
  char *lpath = mn_xasprintf("%s/local.json", dir);
  char *logpath = mn_xasprintf("%s/run.json", dir);
  char *rs = remote_script(chunk_chars);
  int rc = 1;
  bench_fake remote = { .pid = -1 }, local = { .pid = -1 };
  if(bench_write_file(rpath, rs) ||
     bench_write_file(lpath, "{\"extract\": \"[Cc]apital expenditures?\"}\n"))
    goto out;
  const char *rargs[] = { "--script", rpath, NULL };
  const char *largs[] = { "--script", lpath, "--slots", "64", "--service-ms", "0", NULL };
  if(bench_fake_start(&remote, fakellm, rargs) || bench_fake_start(&local, fakellm, largs))
    goto out;

  printf("MinionS memory over rounds: %zu filings, chunk_by_section(doc, %d, 0) in every round, "
         "1 vs %d rounds; peak RSS of the run's process (RUSAGE_SELF) and of its children\n",
         ntexts, chunk_chars, rounds);
  printf("%4s %6s %7s %8s %14s %16s\n", "run", "rounds", "jobs", "wall s", "peak RSS MB",
         "children's MB");
  double one[MAX_RUNS], many[MAX_RUNS], kids1[MAX_RUNS], kidsn[MAX_RUNS];
  long jobs1 = 0, jobsn = 0;
  int ok = 1;
  for(int i = 0; i < runs && ok; i++) {
    for(int k = 0; k < 2 && ok; k++) {
      int nr = k ? rounds : 1;
      result r = { 0 };
      ok = one_run(texts, ntexts, remote.url, local.url, logpath, nr, &r) == 0;
      if(!ok)
        break;
      printf("%4d %6d %7ld %8.3f %14.1f %16.1f\n", i + 1, nr, r.jobs, r.wall_s, r.self_mb,
             r.children_mb);
      fflush(stdout);
      (k ? many : one)[i] = r.self_mb;
      (k ? kidsn : kids1)[i] = r.children_mb;
      *(k ? &jobsn : &jobs1) = r.jobs;
    }
  }
  if(ok) {
    double m1 = bench_median(one, (size_t)runs), mn = bench_median(many, (size_t)runs);
    double c1 = bench_median(kids1, (size_t)runs), cn = bench_median(kidsn, (size_t)runs);
    double ratio = mn / m1;
    printf("median peak RSS: 1 round %.1f MB (%ld jobs), %d rounds %.1f MB (%ld jobs): %.2fx; "
           "children 1 round %.1f MB, %d rounds %.1f MB\n", m1, jobs1, rounds, mn, jobsn, ratio,
           c1, rounds, cn);
    printf("summary: peak RSS of a MinionS run, 1 round (%ld jobs)\t%.1f MB\treported\t-\n",
           jobs1, m1);
    printf("summary: peak RSS of a MinionS run, %d rounds (%ld jobs)\t%.1f MB\treported\t-\n",
           rounds, jobsn, mn);
    printf("summary: peak RSS, %d rounds / 1 round\t%.2fx\t<= %.1fx\t%s\n", rounds, ratio,
           TARGET_RATIO, ratio <= TARGET_RATIO ? "met" : "MISSED");
    if(c1 > 0 || cn > 0)
      printf("summary: peak RSS of the run's children (sandbox), 1 / %d rounds\t%.1f / %.1f MB\t"
             "reported\t-\n", rounds, c1, cn);
    rc = 0;
  }
out:
  bench_fake_stop(&remote);
  bench_fake_stop(&local);
  unlink(rpath);
  unlink(lpath);
  unlink(logpath);
  rmdir(dir);
  free(rs);
  free(rpath);
  free(lpath);
  free(logpath);
  for(size_t i = 0; i < ntexts; i++)
    free(texts[i]);
  free(texts);
  free(cache);
  free(data);
  free(fakellm);
  free(build);
  return rc;
}
