/* Prefix caches on a server shaped like llama.cpp or vLLM: does sending a
 * chunk's jobs one after another to the slot that just read it pay?
 *
 *   bench_prefix [--build DIR] [--data DIR] [--cache DIR] [--bytes N] [--slots S]
 *
 * One MinionS round (the public API) over the first N bytes (default
 * 120000) of the 3M 2018 10-K: the remote's program makes three jobs per
 * 3000-character chunk, task by task (the order remote programs write).
 * The local fakellm times each request like a model server
 * (--prefill-tps 1500: prompt tokens not in the prefix cache are prefilled
 * at 1500 tokens/s per slot; --decode-ms 15 per output token, 15% slower per
 * other busy slot), with S slots (default 4) and its prefix cache per slot
 * (llama.cpp cache_prompt, Ollama) or global (vLLM). Each setting runs with
 * the jobs grouped by chunk (the default) and in the program's order
 * (MINIONS_JOB_ORDER=program, the order before grouping), on a fresh
 * server: cache-hit share = cached prompt tokens / prompt tokens, the local
 * phase (first to last JOBS_PROGRESS) and the whole run's wall time. Then
 * the remote's tokens for that answer against a remote-only run over the
 * same text. Lines starting "summary:" are what bench/run.sh tabulates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "benchutil.h"
#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

static const char REMOTE_SCRIPT[] =
  "{\"rules\": [\n"
  " {\"when\": {\"last_contains\": \"write short advice\"},\n"
  "  \"reply\": \"Capital expenditures appear in the cash flow statement.\"},\n"
  " {\"when\": {\"last_contains\": \"Write a Lua 5.4 program\"},\n"
  "  \"reply\": \"```lua\\n"
  "function prepare_jobs(context, prev_jobs)\\n"
  "  local tasks = { 'Quote the capital expenditures figure, if any.',\\n"
  "                  'Quote the fiscal year this excerpt reports on, if any.',\\n"
  "                  'Quote any figure for purchases of property, plant and equipment.' }\\n"
  "  local chunks = chunk_by_section(context[1], 3000, 0)\\n"
  "  local jobs = {}\\n"
  "  for _, task in ipairs(tasks) do\\n"
  "    for _, chunk in ipairs(chunks) do\\n"
  "      jobs[#jobs + 1] = { chunk = chunk, task = task, advice = 'Quote the sentence.' }\\n"
  "    end\\n"
  "  end\\n"
  "  return jobs\\n"
  "end\\n"
  "```\"},\n"
  " {\"when\": {\"last_contains\": \"Think step by step: which findings\"},\n"
  "  \"reply\": \"The excerpts quote the capital expenditures.\"},\n"
  " {\"when\": {\"last_contains\": \"This was the last round\"},\n"
  "  \"reply\": \"{\\\"decision\\\": \\\"provide_final_answer\\\", \\\"explanation\\\": \\\"quoted\\\", "
  "\\\"answer\\\": \\\"See the quoted capital expenditures.\\\", \\\"feedback\\\": null, "
  "\\\"scratchpad\\\": \\\"done\\\"}\"},\n"
  " {\"reply\": \"Answer: See the quoted capital expenditures.\"}\n"
  "]}\n";

static const char LOCAL_SCRIPT[] = "{\"extract\": \"[Cc]apital expenditures?\"}\n";

typedef struct phase {
  double t_start, t_end;
} phase;

static void on_event(const mn_event *ev, void *ud)
{
  phase *p = ud;
  if(ev->type != MN_EVENT_JOBS_PROGRESS)
    return;
  if(ev->jobs_done == 0)
    p->t_start = mn_now();
  if(ev->jobs_total && ev->jobs_done == ev->jobs_total)
    p->t_end = mn_now();
}

/* prompt_tokens and cached_tokens of the fake's /_fake/stats */
static int cache_stats(const bench_fake *f, double *prompt, double *cached)
{
  json_t *j = bench_fake_stats_json(f);
  if(!j)
    return -1;
  *prompt = json_number_value(json_object_get(j, "prompt_tokens"));
  *cached = json_number_value(json_object_get(j, "cached_tokens"));
  json_decref(j);
  return 0;
}

typedef struct result {
  double wall, local, hit_share;
  mn_usage remote;
  int ok;
} result;

static result run_once(mn_protocol proto, const char *text, size_t len, const bench_fake *remote,
                       const bench_fake *local, int slots, const char *dir)
{
  result r = { 0 };
  mn_docs *docs = NULL;
  mn_docs_new(&docs);
  mn_docs_add_text(docs, "3M_2018_10K.txt", text, len);
  phase ph = { 0, 0 };
  char *log = mn_xasprintf("%s/run.json", dir);
  const char *urls[1] = { local->url };
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = proto;
  o.local_spec = "openai-compatible:fake";
  o.remote_spec = "openai-compatible:fake";
  o.local_urls = urls;
  o.n_local_urls = 1;
  o.remote_url = remote->url;
  o.task = "How much did 3M spend on capital expenditures in fiscal 2018?";
  o.max_rounds = 1;
  o.local_parallel = slots;   /* the server's own parallelism */
  o.log_path = log;
  o.on_event = on_event;
  o.event_userdata = &ph;
  mn_run *run = NULL;
  double t0 = mn_now();
  int rc = mn_run_new(&run, &o);
  if(rc == MN_OK)
    rc = mn_run_execute(run, docs);
  r.wall = mn_now() - t0;
  if(rc != MN_OK) {
    fprintf(stderr, "bench_prefix: %s\n", mn_run_errmsg(run));
  } else {
    r.ok = 1;
    r.local = ph.t_end - ph.t_start;
    mn_run_usage(run, &r.remote, NULL);
    double prompt = 0, cached = 0;
    if(cache_stats(local, &prompt, &cached) == 0 && prompt > 0)
      r.hit_share = cached / prompt;
  }
  mn_run_free(run);
  mn_docs_free(docs);
  unlink(log);
  free(log);
  return r;
}

int main(int argc, char **argv)
{
  const char *build_arg = NULL, *data_arg = NULL, *cache_arg = NULL;
  long bytes = 120000, slots = 4;
  for(int i = 1; i < argc; i++) {
    if(!strcmp(argv[i], "--build") && i + 1 < argc)
      build_arg = argv[++i];
    else if(!strcmp(argv[i], "--data") && i + 1 < argc)
      data_arg = argv[++i];
    else if(!strcmp(argv[i], "--cache") && i + 1 < argc)
      cache_arg = argv[++i];
    else if(!strcmp(argv[i], "--bytes") && i + 1 < argc)
      bytes = atol(argv[++i]);
    else if(!strcmp(argv[i], "--slots") && i + 1 < argc)
      slots = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: bench_prefix [--build DIR] [--data DIR] [--cache DIR] "
                      "[--bytes N] [--slots S]\n");
      return !strcmp(argv[i], "--help") ? 0 : 2;
    }
  }
  if(bytes < 10000 || slots < 1 || slots > 64) {
    fprintf(stderr, "bench_prefix: --bytes wants >= 10000, --slots 1..64\n");
    return 2;
  }
  char *build = bench_build_dir(argv[0], build_arg);
  char *fakellm = mn_xasprintf("%s/fakellm", build);
  char *data = bench_data_dir(data_arg);
  char *cache = cache_arg ? mn_xstrdup(cache_arg) : bench_cache_dir();
  char **texts = NULL;
  size_t ntexts = 0;
  if(access(fakellm, X_OK) != 0 || bench_filing_texts(data, cache, &texts, &ntexts) != 0) {
    fprintf(stderr, "bench_prefix: need %s and the filings' text\n", fakellm);
    return 1;
  }
  const char *path = NULL;
  for(size_t i = 0; i < ntexts; i++)
    if(strstr(texts[i], "3M_2018_10K"))
      path = texts[i];
  FILE *f = path ? fopen(path, "rb") : NULL;
  if(!f) {
    fprintf(stderr, "bench_prefix: no text of 3M_2018_10K in %s\n", cache);
    return 1;
  }
  char *text = mn_xmalloc((size_t)bytes + 1);
  size_t len = fread(text, 1, (size_t)bytes, f);
  fclose(f);
  text[len] = '\0';

  char dir[] = "/tmp/mn-bench-prefix-XXXXXX";
  if(!mkdtemp(dir) || mn_global_init() != MN_OK)
    return 1;
  char *rpath = mn_xasprintf("%s/remote.json", dir), *lpath = mn_xasprintf("%s/local.json", dir);
  bench_write_file(rpath, REMOTE_SCRIPT);
  bench_write_file(lpath, LOCAL_SCRIPT);
  const char *rargs[] = { "--script", rpath, NULL };
  bench_fake remote;
  if(bench_fake_start(&remote, fakellm, rargs) != 0)
    return 1;

  printf("MinionS over the first %zu bytes of the 3M 2018 10-K, 3 jobs per 3000-character chunk; "
         "local fakellm with %ld slots: prefill 1500 tokens/s per slot past the prefix cache, "
         "decode 15 ms/token (+15%% per other busy slot)\n", len, slots);
  printf("%-8s %-9s %12s %10s %10s\n", "cache", "order", "cache hits", "local s", "wall s");
  static const char *const modes[] = { "slot", "global" };
  int failed = 0;
  result grouped_slot = { 0 };
  char sl[16];
  snprintf(sl, sizeof sl, "%ld", slots);
  for(int m = 0; m < 2; m++) {
    result r[2];
    for(int order = 0; order < 2; order++) {
      const char *largs[] = { "--script", lpath, "--slots", sl, "--prefill-tps", "1500",
                              "--decode-ms", "15", "--decode-slowdown", "0.15",
                              "--prefix-cache", modes[m], NULL };
      bench_fake local;
      if(bench_fake_start(&local, fakellm, largs) != 0)
        return 1;
      if(order)
        setenv("MINIONS_JOB_ORDER", "program", 1);
      else
        unsetenv("MINIONS_JOB_ORDER");
      r[order] = run_once(MN_PROTOCOL_MINIONS, text, len, &remote, &local, (int)slots, dir);
      bench_fake_stop(&local);
      failed |= !r[order].ok;
      printf("%-8s %-9s %11.1f%% %10.2f %10.2f\n", modes[m], order ? "program" : "grouped",
             100 * r[order].hit_share, r[order].local, r[order].wall);
      fflush(stdout);
    }
    unsetenv("MINIONS_JOB_ORDER");
    if(m == 0)
      grouped_slot = r[0];
    printf("summary: prefix cache %s, %ld slots: cache hits grouped / program order\t"
           "%.0f%% / %.0f%%\treported\t-\n", modes[m], slots, 100 * r[0].hit_share,
           100 * r[1].hit_share);
    printf("summary: prefix cache %s, %ld slots: local phase grouped / program order\t"
           "%.1f / %.1f s (%.2fx)\treported\t-\n", modes[m], slots, r[0].local, r[1].local,
           r[0].local > 0 ? r[1].local / r[0].local : 0);
  }
  /* the remote's tokens for this answer against sending it the text */
  const char *largs0[] = { "--script", lpath, NULL };
  bench_fake local0;
  if(bench_fake_start(&local0, fakellm, largs0) != 0)
    return 1;
  result ro = run_once(MN_PROTOCOL_REMOTE_ONLY, text, len, &remote, &local0, (int)slots, dir);
  bench_fake_stop(&local0);
  failed |= !ro.ok;
  unsigned long long mt = grouped_slot.remote.prompt_tokens + grouped_slot.remote.completion_tokens;
  unsigned long long rt = ro.remote.prompt_tokens + ro.remote.completion_tokens;
  printf("remote tokens for the answer: MinionS %llu, remote-only %llu\n", mt, rt);
  printf("summary: remote tokens per answer, MinionS / remote-only\t%llu / %llu (%.1fx fewer)\t"
         "reported\t-\n", mt, rt, mt ? (double)rt / (double)mt : 0);
  printf("summary: wall time of the MinionS question (slot cache, grouped)\t%.1f s\treported\t-\n",
         grouped_slot.wall);
  bench_fake_stop(&remote);
  unlink(rpath);
  unlink(lpath);
  rmdir(dir);
  mn_global_cleanup();
  return failed;
}
