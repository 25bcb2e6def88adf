/* Soak: back-to-back MinionS runs in one process against servers that
 * fail like loaded ones, checking that every run ends cleanly and that
 * nothing piles up.
 *
 *   bench_soak [--build DIR] [--data DIR] [--cache DIR] [--runs N (20)]
 *              [--bytes B (350000)] [--fault-rate P (0.1)] [--seed N (1)]
 *              [--quick]
 *
 * Both fakellm servers (remote and local) inject faults at random: 429,
 * 500, connection resets, stalls and truncated replies, each model request
 * with probability P (--fault-rate, --seed: tests/fake/README.md). A stall
 * lasts 1.5 s and the runs' idle timeout is 1 s, so a stall is a timeout
 * the transport must recover from, not a slow reply. The documents are the
 * smallest filings whose text adds up to B bytes (several documents, the
 * small ones packed); every run has two rounds (the remote asks for more
 * once), so prev_jobs, the run log's spill and the sandbox helper are all
 * exercised; every other run streams its replies.
 *
 * Each run goes through the public API (mn_run_new, mn_run_execute,
 * mn_run_free) in this process, and must end answered (an answer) or with
 * a clear error (a non-empty message of one line). After each run the
 * process's resident set and its open file descriptors are sampled: RSS
 * from /proc/self/statm (Linux; elsewhere the peak from getrusage, which
 * can only show growth), descriptors by probing fcntl(F_GETFD) over the
 * descriptor table (portable). A run that takes longer than a limit ends
 * the soak (alarm(), exit 3): a hang.
 * Targets: every run ends cleanly; RSS after the last run within 5% (at
 * least 2 MB) of RSS after run 3; the descriptor count after every run
 * equal to the count after run 1. Exit status 1 when a run ended unclearly
 * or descriptors leaked, 3 on a hang. Lines starting "summary:" are what
 * bench/run.sh tabulates.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_RUNS 200
#define RUN_LIMIT_S 300     /* a run slower than this is a hang */
#define STALL_MS "1500"
#define IDLE_TIMEOUT_MS 1000
#define RSS_MARGIN 0.05
#define RSS_MARGIN_MB 2.0

#define TASK BENCH_CAPEX_TASK

static char *remote_script(void)
{
  const char *lua =
    "function prepare_jobs(context, prev_jobs)\n"
    "  local jobs = {}\n"
    "  if prev_jobs then\n"
    "    for _, j in ipairs(prev_jobs) do\n"
    "      if j.answer ~= nil then\n"
    "        jobs[#jobs + 1] = { chunk = j.chunk, task = 'Confirm the figure: ' .. j.answer }\n"
    "      end\n"
    "    end\n"
    "    if #jobs > 0 then return jobs end\n"
    "  end\n"
    "  for _, doc in ipairs(context) do\n"
    "    for _, chunk in ipairs(chunk_by_section(doc, 3000, 0)) do\n"
    "      jobs[#jobs + 1] = { chunk = chunk,\n"
    "        task = 'Quote the capex figure for the last fiscal year, if this excerpt gives it.',\n"
    "        advice = 'Look in the cash flow statement: purchases of property, plant and equipment.' }\n"
    "    end\n"
    "  end\n"
    "  return jobs\n"
    "end\n";
  char *code = mn_xasprintf("```lua\n%s```", lua);
  json_t *rules = json_pack(
    "{s:[{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s}]}", "rules",
    "when", "last_contains", "write short advice",
    "reply", "Look for capex in the cash flow statements.",
    "when", "last_contains", "Write a Lua 5.4 program",
    "reply", code,
    "when", "last_contains", "Think step by step: which findings",
    "reply", "Some excerpts quote capex; confirm them.",
    "when", "last_contains", "Now decide",
    "reply", "{\"decision\": \"request_additional_info\", \"explanation\": \"confirm\", "
             "\"answer\": null, \"feedback\": \"confirm the quoted figures\", "
             "\"scratchpad\": \"capex quoted in some excerpts\"}",
    "when", "last_contains", "This was the last round",
    "reply", "{\"decision\": \"provide_final_answer\", \"explanation\": \"confirmed\", "
             "\"answer\": \"See the quoted figures.\", \"feedback\": null, \"scratchpad\": \"done\"}");
  free(code);
  char *s = json_dumps(rules, JSON_INDENT(1));
  json_decref(rules);
  return s;
}

/* Resident set now, in MB: /proc/self/statm where there is one (Linux),
 * else the peak so far (getrusage; kilobytes on Linux and the BSDs). */
static double rss_mb(int *is_current)
{
  FILE *f = fopen("/proc/self/statm", "r");
  if(f) {
    long size, resident;
    int ok = fscanf(f, "%ld %ld", &size, &resident) == 2;
    fclose(f);
    if(ok) {
      *is_current = 1;
      return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *is_current = 0;
  return (double)ru.ru_maxrss / 1024.0;
}

/* Open descriptors: fcntl(F_GETFD) over the table (up to 65536 slots). */
static int open_fds(void)
{
  long max = sysconf(_SC_OPEN_MAX);
  if(max < 0 || max > 65536)
    max = 65536;
  int n = 0;
  for(int fd = 0; fd < (int)max; fd++)
    n += fcntl(fd, F_GETFD) != -1 || errno != EBADF;
  return n;
}

static void on_alarm(int sig)
{
  (void)sig;
  static const char msg[] = "bench_soak: a run did not end within its limit: a hang\n";
  ssize_t w = write(2, msg, sizeof msg - 1);
  (void)w;
  _exit(3);
}

static void on_event(const mn_event *ev, void *ud)
{
  size_t *jobs = ud;
  if(ev->type == MN_EVENT_JOBS_PROGRESS && ev->jobs_done == 0)
    *jobs += ev->jobs_total;
}

/* Jobs that failed, from the run log (a missing log counts none). */
static long failed_jobs(const char *path)
{
  json_t *log = json_load_file(path, 0, NULL);
  long failed = 0;
  size_t i, k;
  json_t *turn, *o;
  json_array_foreach(json_object_get(log, "conversation"), i, turn)
    json_array_foreach(json_object_get(turn, "job_outputs"), k, o) {
      const char *st = json_string_value(json_object_get(o, "status"));
      failed += st && !strcmp(st, "failed");
    }
  json_decref(log);
  return failed;
}

static long fake_faults(const bench_fake *f)
{
  json_t *j = bench_fake_stats_json(f);
  long n = j ? (long)json_integer_value(json_object_get(j, "faults_injected")) : -1;
  json_decref(j);
  return n;
}

/* Smallest filings first until their text reaches `bytes`. */
static int by_size(const void *a, const void *b)
{
  struct stat x, y;
  const char *p = *(const char *const *)a, *q = *(const char *const *)b;
  if(stat(p, &x) != 0 || stat(q, &y) != 0)
    return strcmp(p, q);
  return x.st_size < y.st_size ? -1 : x.st_size > y.st_size ? 1 : strcmp(p, q);
}

static void usage(FILE *f)
{
  fputs("usage: bench_soak [--build DIR] [--data DIR] [--cache DIR] [--runs N] [--bytes B]\n"
        "                  [--fault-rate P] [--seed N] [--quick]\n", f);
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *data_arg = NULL, *cache_arg = NULL;
  const char *rate = "0.1", *seed = "1";
  int runs = 20;
  long bytes = 350000;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--data") && i + 1 < argc)
      data_arg = argv[++i];
    else if(!strcmp(argv[i], "--cache") && i + 1 < argc)
      cache_arg = argv[++i];
    else if(!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--bytes") && i + 1 < argc)
      bytes = atol(argv[++i]);
    else if(!strcmp(argv[i], "--fault-rate") && i + 1 < argc)
      rate = argv[++i];
    else if(!strcmp(argv[i], "--seed") && i + 1 < argc)
      seed = argv[++i];
    else if(!strcmp(argv[i], "--quick"))
      runs = 6;
    else if(!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else {
      usage(stderr);
      return 2;
    }
  }
  if(runs < 4 || runs > MAX_RUNS || bytes < 1000) {
    fprintf(stderr, "bench_soak: --runs wants 4..%d, --bytes >= 1000\n", MAX_RUNS);
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *fakellm = mn_xasprintf("%s/fakellm", build);
  char *data = bench_data_dir(data_arg);
  char *cache = cache_arg ? mn_xstrdup(cache_arg) : bench_cache_dir();
  if(access(fakellm, X_OK) != 0) {
    fprintf(stderr, "bench_soak: need %s (build the bench target)\n", fakellm);
    return 1;
  }
  char **texts = NULL;
  size_t ntexts = 0;
  if(bench_filing_texts(data, cache, &texts, &ntexts) != 0)
    return 1;
  qsort(texts, ntexts, sizeof *texts, by_size);

  char dir[] = "/tmp/mn-bench-soak-XXXXXX";
  if(!mkdtemp(dir)) {
    perror("bench_soak: mkdtemp");
    return 1;
  }
  char *rpath = mn_xasprintf("%s/remote.json", dir);
  char *lpath = mn_xasprintf("%s/local.json", dir);
  char *logpath = mn_xasprintf("%s/run.json", dir);
  char *rs = remote_script();
  int rc = 1;
  bench_fake remote = { .pid = -1 }, local = { .pid = -1 };
  mn_docs *docs = NULL;
  if(mn_global_init() != MN_OK)
    goto out;
  if(bench_write_file(rpath, rs) ||
     bench_write_file(lpath, "{\"extract\": \"[Cc]apital expenditures?\"}\n"))
    goto out;
  const char *fault_args[] = { "--fault-rate", rate, "--seed", seed, "--fault-stall-ms", STALL_MS,
                               "--faults", "429,500,reset,stall,truncate" };
  const char *rargs[16] = { "--script", rpath }, *largs[16] = { "--script", lpath, "--slots", "16" };
  memcpy(rargs + 2, fault_args, sizeof fault_args);
  memcpy(largs + 4, fault_args, sizeof fault_args);
  if(bench_fake_start(&remote, fakellm, rargs) || bench_fake_start(&local, fakellm, largs))
    goto out;

  mn_docs_new(&docs);
  size_t used = 0;
  long have = 0;
  for(; used < ntexts && have < bytes; used++) {
    if(mn_docs_add_path(docs, texts[used]) != MN_OK) {
      fprintf(stderr, "bench_soak: %s\n", mn_docs_errmsg(docs));
      goto out;
    }
    have = (long)mn_docs_total_bytes(docs);
  }
  const char *urls[1] = { local.url };
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = MN_PROTOCOL_MINIONS;
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = 1;
  o.remote_url = remote.url;
  o.task = TASK;
  o.log_path = logpath;
  o.max_rounds = 2;
  o.max_jobs = 100000;
  o.idle_timeout_ms = IDLE_TIMEOUT_MS;
  o.request_timeout_ms = 30000;
  o.on_event = on_event;

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);

  int rss_current = 0;
  double rss[MAX_RUNS + 1];
  int fds[MAX_RUNS + 1];
  fds[0] = open_fds();
  rss[0] = rss_mb(&rss_current);
  printf("MinionS soak: %d runs back to back in one process, %zu filings (%.0f KB of text), "
         "2 rounds each; both servers fault %s of model requests (429, 500, reset, stall %s ms "
         "against a %d ms idle timeout, truncate), seed %s\n", runs, used, (double)have / 1024.0,
         rate, STALL_MS, IDLE_TIMEOUT_MS, seed);
  printf("before: RSS %.1f MB%s, %d open fds\n", rss[0], rss_current ? "" : " (peak)", fds[0]);
  printf("%4s %-9s %-6s %6s %7s %7s %8s %9s %5s  %s\n", "run", "outcome", "reply", "jobs",
         "failed", "faults",
         "wall s", "RSS MB", "fds", "answer or error");
  int answered = 0, errors = 0, unclear = 0;
  double t_all = mn_now();
  for(int i = 1; i <= runs; i++) {
    size_t jobs = 0;
    long faults0 = fake_faults(&remote) + fake_faults(&local);
    o.event_userdata = &jobs;
    o.stream = i % 2 == 0;   /* every other run streams (SSE): both readers soak */
    unlink(logpath);
    double t0 = mn_now();
    alarm(RUN_LIMIT_S);
    mn_run *run = NULL;
    int r = mn_run_new(&run, &o);
    if(r == MN_OK)
      r = mn_run_execute(run, docs);
    alarm(0);
    double wall = mn_now() - t0;
    const char *ans = r == MN_OK ? mn_run_answer(run) : NULL;
    const char *err = mn_run_errmsg(run);
    const char *outcome;
    if(r == MN_OK && ans && *ans) {
      outcome = "answered";
      answered++;
    } else if(r != MN_OK && err && *err && !strchr(err, '\n')) {
      outcome = "error";
      errors++;
    } else {
      outcome = "UNCLEAR";
      unclear++;
    }
    char shown[61];
    snprintf(shown, sizeof shown, "%s", r == MN_OK ? (ans ? ans : "(none)") : (err ? err : ""));
    for(char *p = shown; *p; p++)
      if(*p == '\n')
        *p = '|';
    char *errcopy = r != MN_OK ? mn_xstrdup(err ? err : "(none)") : NULL;
    long failed = failed_jobs(logpath);
    mn_run_free(run);
    fds[i] = open_fds();
    rss[i] = rss_mb(&rss_current);
    long faults = fake_faults(&remote) + fake_faults(&local) - faults0;
    printf("%4d %-9s %-6s %6zu %7ld %7ld %8.2f %9.1f %5d  %s\n", i, outcome,
           o.stream ? "stream" : "whole", jobs, failed, faults, wall, rss[i], fds[i], shown);
    if(errcopy)
      printf("     error: %s\n", errcopy);
    free(errcopy);
    fflush(stdout);
  }
  t_all = mn_now() - t_all;

  int fd_leak = 0;
  for(int i = 2; i <= runs; i++)
    fd_leak |= fds[i] != fds[1];
  double base = rss[3], last = rss[runs];
  double margin = base * RSS_MARGIN > RSS_MARGIN_MB ? base * RSS_MARGIN : RSS_MARGIN_MB;
  int flat = last - base <= margin;
  printf("faults injected: remote %ld, local %ld; %d answered, %d clear errors, %d unclear; "
         "%.1f s in all\n", fake_faults(&remote), fake_faults(&local), answered, errors, unclear,
         t_all);
  printf("RSS after run 3 %.1f MB, after run %d %.1f MB (%+.1f MB); open fds before %d, after "
         "run 1 %d, after run %d %d\n", base, runs, last, last - base, fds[0], fds[1], runs,
         fds[runs]);
  printf("summary: soak, %d MinionS runs at %s faults: answered / clear errors\t%d / %d\t"
         "all %d end cleanly\t%s\n", runs, rate, answered, errors, runs, unclear ? "MISSED" : "met");
  printf("summary: soak RSS after run %d vs after run 3%s\t%.1f vs %.1f MB (%+.1f)\t"
         "<= +%.1f MB\t%s\n", runs, rss_current ? "" : " (peak)", last, base, last - base, margin,
         flat ? "met" : "MISSED");
  printf("summary: soak open fds after run 1 / after run %d\t%d / %d\tunchanged\t%s\n", runs,
         fds[1], fds[runs], fd_leak ? "MISSED" : "met");
  rc = unclear || fd_leak ? 1 : 0;
out:
  mn_docs_free(docs);
  bench_fake_stop(&remote);
  bench_fake_stop(&local);
  mn_global_cleanup();
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
