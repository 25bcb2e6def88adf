/* Fan-out efficiency of the MinionS execute step, at the service times of
 * real local models.
 *
 *   bench_fanout [--build DIR] [--fakellm PATH] [--service-ms T] [--runs N]
 *                [--quick] [--stream] [--over K] [--slots S]
 *
 * A local fakellm with S slots, each request holding its slot T ms (default
 * 1000: a real local job takes 0.3-30 s); one MinionS round (the public
 * API, protocol "minions", one round) whose remote-written Lua program makes
 * exactly J = 8 x S jobs, so the ideal execute step is 8 waves, 8 T. With
 * the server's slots the only limit, efficiency is that ideal over the
 * measured time, from the first JOBS_PROGRESS event (0 of J, before any job
 * is serialised) to the last (J of J). The client runs --local-parallel S
 * per endpoint (--over K: K x S, the server then queues the extra
 * requests), so it must keep every slot busy itself. Each setting is a
 * fresh server; its /_fake/stats must show J requests per run and S slots
 * busy at once, or the row is marked.
 *
 * Settings: S in {1, 4, 8} on one endpoint, and two endpoints of 8 slots.
 * Median of --runs runs (default 3; --quick: 1). The lines starting
 * "summary:" are what bench/run.sh tabulates; --slots S runs only the rows
 * with S slots in all (16: the two endpoints of 8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

#define TARGET_EFFICIENCY 0.97
#define WAVES 8   /* J = WAVES x S */
#define MAX_RUNS 15

/* The remote: the advice, then a program that makes exactly JOBS=n jobs
 * (n is read from the document), then a synthesis. */
static const char REMOTE_SCRIPT[] =
  "{\"rules\": [\n"
  " {\"when\": {\"last_contains\": \"write short advice\"},\n"
  "  \"reply\": \"Look for the fiscal year the excerpt reports on.\"},\n"
  " {\"when\": {\"last_contains\": \"Write a Lua 5.4 program\"},\n"
  "  \"reply\": \"```lua\\n"
  "function prepare_jobs(context, prev_jobs)\\n"
  "  local n = tonumber(string.match(context[1], 'JOBS=(%d+)'))\\n"
  "  local jobs = {}\\n"
  "  for i = 1, n do\\n"
  "    jobs[#jobs + 1] = { chunk = context[1], task = 'Which fiscal year does the excerpt report on?',\\n"
  "                        advice = 'Quote the sentence.' }\\n"
  "  end\\n"
  "  return jobs\\n"
  "end\\n"
  "```\"},\n"
  " {\"when\": {\"last_contains\": \"Think step by step: which findings\"},\n"
  "  \"reply\": \"Every excerpt names the same fiscal year.\"},\n"
  " {\"when\": {\"last_contains\": [\"This was the last round\"]},\n"
  "  \"reply\": \"{\\\"decision\\\": \\\"provide_final_answer\\\", \\\"explanation\\\": \\\"quoted\\\", "
  "\\\"answer\\\": \\\"fiscal 2018\\\", \\\"feedback\\\": null, \\\"scratchpad\\\": \\\"done\\\"}\"}\n"
  "]}\n";

/* The local: the extractive brain quotes the sentence naming the year. */
static const char LOCAL_SCRIPT[] = "{\"extract\": \"fiscal (year )?20[0-9][0-9]\"}\n";

/* About 1.5 KB of filing-like prose: the chunk every job carries. */
static const char *const DOC_LINES[] = {
  "Item 7. Management's Discussion and Analysis of Financial Condition and Results of Operations.",
  "The following discussion should be read together with the consolidated financial statements",
  "and the notes to them. Net sales increased 3.5 percent in fiscal 2018 to 32.8 billion dollars,",
  "driven by organic local-currency growth across all business segments and by acquisitions.",
  "Operating income margins were 21.7 percent, down 0.4 percentage points from the prior year,",
  "as higher raw material and logistics costs offset the benefits of productivity programs.",
  "Cash flows from operating activities were 6.4 billion dollars, and capital expenditures were",
  "1.6 billion dollars, in line with the plan announced at the start of the year. The company",
  "returned 6.3 billion dollars to shareholders through dividends and share repurchases.",
  "Looking ahead, management expects organic growth of 2 to 5 percent and continued investment",
  "in research and development, which amounted to 5.8 percent of sales during the period.",
  "Foreign currency translation reduced reported sales by 0.6 percent; the strongest effects",
  "came from the euro and the Chinese yuan. Pension expense declined as discount rates rose.",
  "Segment results are discussed below, followed by liquidity and capital resources.",
  NULL
};

typedef struct setting {
  const char *name;
  int endpoints;
  int slots;         /* per endpoint */
  double t_ms;
  int jobs;
} setting;

typedef struct timer {
  double t_start, t_end;
  size_t total;
} timer;

static void on_event(const mn_event *ev, void *ud)
{
  timer *t = ud;
  if(ev->type != MN_EVENT_JOBS_PROGRESS)
    return;
  if(ev->jobs_done == 0)
    t->t_start = mn_now();
  if(ev->jobs_total && ev->jobs_done == ev->jobs_total)
    t->t_end = mn_now();
  t->total = ev->jobs_total;
}

/* One MinionS round; the local phase in seconds, or < 0 on failure. */
/* local_parallel = S x this (1: exactly the slots; more: the server queues) */
static int g_over = 1;

static double run_round(const setting *s, const char *remote_url, const bench_fake *locals,
                        const char *logpath, int stream, double *call_time)
{
  char head[32];
  snprintf(head, sizeof head, "JOBS=%d\n", s->jobs);
  size_t len = strlen(head);
  for(int i = 0; DOC_LINES[i]; i++)
    len += strlen(DOC_LINES[i]) + 1;
  char *doc = mn_xmalloc(len + 1);
  strcpy(doc, head);
  for(int i = 0; DOC_LINES[i]; i++) {
    strcat(doc, DOC_LINES[i]);
    strcat(doc, "\n");
  }
  mn_docs *docs;
  mn_docs_new(&docs);
  mn_docs_add_text(docs, "filing.txt", doc, strlen(doc));
  free(doc);

  const char *urls[2] = { locals[0].url, s->endpoints > 1 ? locals[1].url : NULL };
  timer t = { 0, 0, 0 };
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = MN_PROTOCOL_MINIONS;
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = (size_t)s->endpoints;
  o.remote_url = remote_url;
  o.task = "Which fiscal year does the filing report on?";
  o.log_path = logpath;
  o.max_rounds = 1;
  o.max_jobs = s->jobs > 2048 ? s->jobs : 2048;
  o.local_parallel = s->slots * g_over;
  o.stream = stream;
  o.on_event = on_event;
  o.event_userdata = &t;
  mn_run *run = NULL;
  double secs = -1;
  int rc = mn_run_new(&run, &o);
  if(rc == MN_OK)
    rc = mn_run_execute(run, docs);
  if(rc != MN_OK)
    fprintf(stderr, "bench_fanout: %s: %s\n", s->name, mn_run_errmsg(run));
  else if(t.total != (size_t)s->jobs || t.t_end <= t.t_start)
    fprintf(stderr, "bench_fanout: %s: the round made %zu jobs, not %d\n", s->name, t.total,
            s->jobs);
  else {
    mn_timing tm;
    mn_run_timing(run, &tm);
    *call_time = tm.local_call_time;
    secs = t.t_end - t.t_start;
  }
  mn_run_free(run);
  mn_docs_free(docs);
  return secs;
}

static int run_setting(const setting *s, const char *fakellm, const char *remote_url,
                       const char *dir, int runs, int stream)
{
  bench_fake locals[2];
  char slots[16], service[32], script[4096];
  snprintf(slots, sizeof slots, "%d", s->slots);
  snprintf(service, sizeof service, "%g", s->t_ms);
  snprintf(script, sizeof script, "%s/local.json", dir);
  const char *args[] = { "--slots", slots, "--service-ms", service, "--script", script, NULL };
  for(int e = 0; e < s->endpoints; e++) {
    if(bench_fake_start(&locals[e], fakellm, args) != 0) {
      for(int k = 0; k < e; k++)
        bench_fake_stop(&locals[k]);
      return -1;
    }
  }
  char *logpath = mn_xasprintf("%s/run.json", dir);
  double secs[MAX_RUNS], calls[MAX_RUNS];
  int ok = 1;
  for(int r = 0; r < runs && ok; r++) {
    secs[r] = run_round(s, remote_url, locals, logpath, stream, &calls[r]);
    ok = secs[r] > 0;
  }
  long requests = 0, busy = 0, total_requests = 0, min_busy = -1;
  for(int e = 0; e < s->endpoints; e++) {
    if(bench_fake_stats(&locals[e], &requests, &busy) != 0)
      ok = 0;
    total_requests += requests;
    if(min_busy < 0 || busy < min_busy)
      min_busy = busy;   /* the least used endpoint */
    bench_fake_stop(&locals[e]);
  }
  free(logpath);
  if(!ok) {
    printf("%-24s failed (see above)\n", s->name);
    return -1;
  }
  double med = bench_median(secs, (size_t)runs);
  double med_call = bench_median(calls, (size_t)runs);
  int total_slots = s->slots * s->endpoints;
  /* every request must have reached the servers, and every slot of each
   * been busy at once */
  const char *mark = total_requests == (long)s->jobs * runs && min_busy == s->slots ? "" : "  (!)";
  double ideal = s->jobs * s->t_ms / 1000.0 / total_slots;
  double eff = ideal / med;
  printf("%-24s %5d %6d %9.3f %9.3f %9.3f %10.3f %7ld%s\n", s->name, total_slots, s->jobs, ideal,
         med, med_call, eff, min_busy, mark);
  printf("summary: fanout %s, T=%g ms, J=%d%s\tefficiency %.3f\t>= %.2f\t%s\n", s->name,
         s->t_ms, s->jobs, g_over > 1 ? ", oversubscribed" : "", eff, TARGET_EFFICIENCY,
         eff >= TARGET_EFFICIENCY && !*mark ? "met" : "MISSED");
  fflush(stdout);
  return 0;
}

static void usage(FILE *f)
{
  fputs("usage: bench_fanout [--build DIR] [--fakellm PATH] [--service-ms T (default 1000)]\n"
        "                    [--runs N] [--quick] [--stream] [--over K] [--slots 1|4|8|16]\n", f);
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *fake_arg = NULL;
  int runs = 3, quick = 0, stream = 0, only_slots = 0;
  double t_ms = 1000;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--fakellm") && i + 1 < argc)
      fake_arg = argv[++i];
    else if(!strcmp(argv[i], "--runs") && i + 1 < argc)
      runs = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--service-ms") && i + 1 < argc)
      t_ms = atof(argv[++i]);
    else if(!strcmp(argv[i], "--quick"))
      quick = 1;
    else if(!strcmp(argv[i], "--stream"))
      stream = 1;
    else if(!strcmp(argv[i], "--over") && i + 1 < argc)
      g_over = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--slots") && i + 1 < argc)
      only_slots = atoi(argv[++i]);
    else if(!strcmp(argv[i], "--help")) {
      usage(stdout);
      return 0;
    }
    else {
      usage(stderr);
      return 2;
    }
  }
  if(quick)
    runs = 1;
  if(only_slots && only_slots != 1 && only_slots != 4 && only_slots != 8 && only_slots != 16) {
    fprintf(stderr, "bench_fanout: --slots wants 1, 4, 8 or 16 (two endpoints of 8)\n");
    return 2;
  }
  if(g_over < 1 || g_over > 8) {
    fprintf(stderr, "bench_fanout: --over wants 1..8\n");
    return 2;
  }
  if(runs < 1 || runs > MAX_RUNS) {
    fprintf(stderr, "bench_fanout: --runs wants 1..%d\n", MAX_RUNS);
    return 2;
  }
  if(!(t_ms >= 1 && t_ms <= 60000)) {
    fprintf(stderr, "bench_fanout: --service-ms wants 1..60000\n");
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *fakellm = fake_arg ? mn_xstrdup(fake_arg) : mn_xasprintf("%s/fakellm", build);
  if(access(fakellm, X_OK) != 0) {
    fprintf(stderr, "bench_fanout: no fake server at %s (build the fakellm target)\n", fakellm);
    return 1;
  }
  char dir[] = "/tmp/mn-bench-fanout-XXXXXX";
  if(!mkdtemp(dir)) {
    perror("bench_fanout: mkdtemp");
    return 1;
  }
  char *remote_script = mn_xasprintf("%s/remote.json", dir);
  char *local_script = mn_xasprintf("%s/local.json", dir);
  bench_fake remote;
  int rc = 1;
  if(mn_global_init() != MN_OK || bench_write_file(remote_script, REMOTE_SCRIPT) ||
     bench_write_file(local_script, LOCAL_SCRIPT))
    goto out;
  const char *rargs[] = { "--script", remote_script, NULL };
  if(bench_fake_start(&remote, fakellm, rargs) != 0)
    goto out;

  printf("MinionS fan-out: one round, J = %d x S jobs, local fakellm with S slots of T = %g ms "
         "each, --local-parallel %s; %s replies; median of %d run%s\n", WAVES, t_ms,
         g_over == 1 ? "S" : "K x S", stream ? "streamed" : "whole", runs, runs == 1 ? "" : "s");
  printf("efficiency = (J*T/S) / local phase (first to last JOBS_PROGRESS event); "
         "call s = the run log's local_call_time\n");
  printf("%-24s %5s %6s %9s %9s %9s %10s %7s\n", "setting", "S", "J", "ideal s", "local s",
         "call s", "efficiency", "busy");
  static const int slots[] = { 1, 4, 8 };
  int failures = 0;
  for(size_t si = 0; si < sizeof slots / sizeof *slots; si++) {
    if(only_slots && only_slots != slots[si])
      continue;
    char name[32];
    snprintf(name, sizeof name, "1 endpoint, S=%d", slots[si]);
    setting s = { name, 1, slots[si], t_ms, WAVES * slots[si] };
    failures += run_setting(&s, fakellm, remote.url, dir, runs, stream) != 0;
  }
  if(!only_slots || only_slots == 16) {
    setting s = { "2 endpoints x 8 slots", 2, 8, t_ms, WAVES * 16 };
    failures += run_setting(&s, fakellm, remote.url, dir, runs, stream) != 0;
  }
  bench_fake_stop(&remote);
  rc = failures ? 1 : 0;
out:
  unlink(remote_script);
  unlink(local_script);
  char *log = mn_xasprintf("%s/run.json", dir);
  unlink(log);
  free(log);
  rmdir(dir);
  free(remote_script);
  free(local_script);
  free(fakellm);
  free(build);
  mn_global_cleanup();
  return rc;
}
