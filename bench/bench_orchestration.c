/* Orchestration cost of one MinionS round over all the FinanceBench filings.
 *
 *   bench_orchestration [--build DIR] [--data DIR] [--cache DIR] [--runs N]
 *                       [--chunk-chars N] [--local PROVIDER] [--stream]
 *                       [--cli-arg ARG]...   (passed on to `minions run`)
 *
 * The filings' text is prepared beforehand (pdftotext, cached), so the run
 * spawns no converter: the CLI reads .txt files. A remote fakellm writes a
 * Lua program that cuts every filing with chunk_by_section(doc, N, 0)
 * (N = 3000 by default: thousands of jobs); a local fakellm answers at once
 * (extractive: a sentence naming capital expenditures, else null). The CLI
 * (`minions run --protocol minions`, one round) is fork/exec'd and measured
 * from outside (bench_wait_usage): user + system CPU time and peak RSS of
 * that process alone (the fake servers are other processes). Everything the
 * orchestrator does is included: reading and checking the text, the
 * sandbox, building prompts and requests, HTTP, parsing replies, filtering,
 * the synthesis prompt, the run log. CPU per job = CPU / jobs.
 * Targets: <= 150 us CPU per job; peak RSS <= 2 x text + 64 MB.
 * Median of --runs runs (default 3). Lines starting "summary:" are what
 * bench/run.sh tabulates.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

extern char **environ;

#define TARGET_US_PER_JOB 150.0
#define TARGET_RSS_EXTRA_MB 64.0
#define MAX_RUNS 15

#define TASK BENCH_CAPEX_TASK

static char *remote_script(int chunk_chars)
{
  char *code = bench_capex_program(chunk_chars);
  json_t *rules = json_pack(
    "{s:[{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s},{s:{s:s},s:s}]}", "rules",
    "when", "last_contains", "write short advice",
    "reply", "Look for capex in the cash flow statements.",
    "when", "last_contains", "Write a Lua 5.4 program",
    "reply", code,
    "when", "last_contains", "Think step by step: which findings",
    "reply", "Several filings quote their capex; that answers the task.",
    "when", "last_contains", "This was the last round",
    "reply", "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", "
             "\"answer\": \"See the quoted figures.\", \"feedback\": null, \"scratchpad\": \"done\"}");
  free(code);
  char *s = json_dumps(rules, JSON_INDENT(1));
  json_decref(rules);
  return s;
}

typedef struct result {
  double cpu_s, wall_s, local_s;
  long rss_kb;
  long jobs, answered, calls;
  double text_bytes;
} result;

/* The run log: jobs (manifests), answered outputs, local calls, text size. */
static int read_log(const char *path, result *r)
{
  json_error_t e;
  json_t *log = json_load_file(path, 0, &e);
  if(!log) {
    fprintf(stderr, "bench_orchestration: run log %s: %s\n", path, e.text);
    return -1;
  }
  size_t i, k;
  json_t *turn, *o;
  json_array_foreach(json_object_get(log, "conversation"), i, turn) {
    r->jobs += (long)json_array_size(json_object_get(turn, "job_manifests"));
    json_array_foreach(json_object_get(turn, "job_outputs"), k, o) {
      const char *st = json_string_value(json_object_get(o, "status"));
      r->answered += st && !strcmp(st, "answered");
    }
  }
  json_array_foreach(json_object_get(log, "documents"), i, o)
    r->text_bytes += (double)json_integer_value(json_object_get(o, "bytes"));
  r->calls = (long)json_integer_value(json_object_get(
    json_object_get(json_object_get(log, "usage"), "local"), "calls"));
  r->local_s = json_number_value(json_object_get(json_object_get(log, "timing"), "local_call_time"));
  json_decref(log);
  return 0;
}

static int run_cli(const char *const *argv, const char *out, result *r)
{
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  double t0 = mn_now();
  int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if(rc != 0) {
    fprintf(stderr, "bench_orchestration: cannot run %s: %s\n", argv[0], strerror(rc));
    return -1;
  }
  int st;
  struct rusage ru;
  if(bench_wait_usage(pid, &st, &ru) != pid) {
    perror("bench_orchestration: waitpid");
    return -1;
  }
  r->wall_s = mn_now() - t0;
  if(!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    fprintf(stderr, "bench_orchestration: the run failed (status %d)\n", st);
    return -1;
  }
  r->cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
             (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  r->rss_kb = ru.ru_maxrss;   /* kilobytes on Linux */
  return 0;
}

static void usage(FILE *f)
{
  fputs("usage: bench_orchestration [--build DIR] [--data DIR] [--cache DIR] [--runs N]\n"
        "                           [--chunk-chars N] [--local PROVIDER] [--stream]\n"
        "                           [--cli-arg ARG]...\n", f);
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *data_arg = NULL, *cache_arg = NULL;
  const char *provider = "openai-compatible";
  int runs = 3, chunk_chars = 3000, stream = 0;
  const char *extra[16];
  size_t n_extra = 0;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--data") && i + 1 < argc)
      data_arg = argv[++i];
    else if(!strcmp(argv[i], "--cache") && i + 1 < argc)
      cache_arg = argv[++i];
    else if(!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--chunk-chars") && i + 1 < argc)
      chunk_chars = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--local") && i + 1 < argc)
      provider = argv[++i];
    else if(!strcmp(argv[i], "--stream"))
      stream = 1;
    else if(!strcmp(argv[i], "--cli-arg") && i + 1 < argc && n_extra < 16)
      extra[n_extra++] = argv[++i];
    else if(!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else {
      usage(stderr);
      return 2;
    }
  }
  if(runs < 1 || runs > MAX_RUNS || chunk_chars < 200) {
    fprintf(stderr, "bench_orchestration: --runs wants 1..%d, --chunk-chars >= 200\n", MAX_RUNS);
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *cli = mn_xasprintf("%s/minions", build);
  char *fakellm = mn_xasprintf("%s/fakellm", build);
  char *data = bench_data_dir(data_arg);
  char *cache = cache_arg ? mn_xstrdup(cache_arg) : bench_cache_dir();
  if(access(cli, X_OK) != 0 || access(fakellm, X_OK) != 0) {
    fprintf(stderr, "bench_orchestration: need %s and %s (build the bench target)\n", cli, fakellm);
    return 1;
  }
  char **texts = NULL;
  size_t ntexts = 0;
  if(bench_filing_texts(data, cache, &texts, &ntexts) != 0)
    return 1;

  char dir[] = "/tmp/mn-bench-orch-XXXXXX";
  if(!mkdtemp(dir)) {
    perror("bench_orchestration: mkdtemp");
    return 1;
  }
  char *rpath = mn_xasprintf("%s/remote.json", dir);
  char *lpath = mn_xasprintf("%s/local.json", dir);
  char *logpath = mn_xasprintf("%s/run.json", dir);
  char *outpath = mn_xasprintf("%s/out.json", dir);
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

  char *local_spec = mn_xasprintf("%s:fake", provider);
  const char **av = mn_xcalloc(40 + n_extra + ntexts * 2, sizeof *av);
  size_t n = 0;
  av[n++] = cli;
  av[n++] = "run";
  av[n++] = "--protocol";
  av[n++] = "minions";
  av[n++] = "--json";
  av[n++] = "--log";
  av[n++] = logpath;
  av[n++] = "--task";
  av[n++] = TASK;
  av[n++] = "--remote";
  av[n++] = "openai-compatible:fake";
  av[n++] = "--remote-url";
  av[n++] = remote.url;
  av[n++] = "--local";
  av[n++] = local_spec;
  av[n++] = "--local-url";
  av[n++] = local.url;
  av[n++] = "--max-rounds";
  av[n++] = "1";
  av[n++] = "--max-jobs";
  av[n++] = "100000";
  if(stream)
    av[n++] = "--stream";
  for(size_t i = 0; i < n_extra; i++)
    av[n++] = extra[i];
  av[n++] = "--context";
  for(size_t i = 0; i < ntexts; i++)
    av[n++] = texts[i];
  av[n] = NULL;

  printf("MinionS orchestration cost: one round over %zu filings, chunk_by_section(doc, %d, 0), "
         "local %s (%s replies) answering at once; the CLI measured from outside\n",
         ntexts, chunk_chars, provider, stream ? "streamed" : "whole");
  printf("%4s %7s %8s %8s %8s %9s %9s %10s\n", "run", "jobs", "answered", "CPU s", "wall s",
         "local s", "us/job", "peak RSS MB");
  double cpu[MAX_RUNS], per_job[MAX_RUNS], rss[MAX_RUNS], wall[MAX_RUNS];
  result r = { 0 };
  int ok = 1;
  for(int i = 0; i < runs && ok; i++) {
    memset(&r, 0, sizeof r);
    long before = 0, after = 0, busy;
    bench_fake_stats(&local, &before, &busy);
    ok = run_cli(av, outpath, &r) == 0 && read_log(logpath, &r) == 0;
    bench_fake_stats(&local, &after, &busy);
    if(ok && (r.jobs <= 0 || after - before != r.calls)) {
      fprintf(stderr, "bench_orchestration: %ld jobs, %ld local calls, %ld requests served\n",
              r.jobs, r.calls, after - before);
      ok = 0;
    }
    if(!ok)
      break;
    cpu[i] = r.cpu_s;
    per_job[i] = r.cpu_s / (double)r.jobs * 1e6;
    rss[i] = (double)r.rss_kb / 1024.0;
    wall[i] = r.wall_s;
    printf("%4d %7ld %8ld %8.3f %8.3f %9.3f %9.1f %10.1f\n", i + 1, r.jobs, r.answered, r.cpu_s,
           r.wall_s, r.local_s, per_job[i], rss[i]);
    fflush(stdout);
  }
  if(ok) {
    double text_mb = r.text_bytes / (1024.0 * 1024.0);
    double us = bench_median(per_job, (size_t)runs), mb = bench_median(rss, (size_t)runs);
    double rss_target = 2 * text_mb + TARGET_RSS_EXTRA_MB;
    printf("median: CPU %.3f s, wall %.3f s, %.1f us per job, peak RSS %.1f MB "
           "(text %.1f MB; target %.1f MB)\n", bench_median(cpu, (size_t)runs),
           bench_median(wall, (size_t)runs), us, mb, text_mb, rss_target);
    printf("summary: orchestration CPU per job (%ld jobs, %s)\t%.1f us\t<= %.0f us\t%s\n", r.jobs,
           stream ? "streamed" : "whole", us, TARGET_US_PER_JOB,
           us <= TARGET_US_PER_JOB ? "met" : "MISSED");
    printf("summary: orchestration peak RSS (text %.1f MB)\t%.1f MB\t<= %.1f MB\t%s\n", text_mb, mb,
           rss_target, mb <= rss_target ? "met" : "MISSED");
    rc = 0;
  }
  free(av);
  free(local_spec);
out:
  bench_fake_stop(&remote);
  bench_fake_stop(&local);
  unlink(rpath);
  unlink(lpath);
  unlink(logpath);
  unlink(outpath);
  rmdir(dir);
  free(rs);
  free(rpath);
  free(lpath);
  free(logpath);
  free(outpath);
  for(size_t i = 0; i < ntexts; i++)
    free(texts[i]);
  free(texts);
  free(cache);
  free(data);
  free(fakellm);
  free(cli);
  free(build);
  return rc;
}
