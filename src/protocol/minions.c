/* MinionS: decompose, execute in parallel, aggregate (paper section 5).
 *
 * Round r: the remote writes a Lua program (code mode) or a JSON plan (plan
 * mode) that turns the documents into jobs; every job goes to the local
 * model, all in flight at once up to --local-parallel per endpoint; the
 * answers (abstentions dropped) go back to the remote, which answers or asks
 * for another round. The next round's decompose prompt carries the remote's
 * feedback and scratchpad, and prev_jobs carries the last round's jobs with
 * their outputs (the reference implementation drops the feedback). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doc/bm25.h"
#include "doc/chunk.h"
#include "protocol/jobs.h"
#include "protocol/prompts.h"
#include "protocol/run_internal.h"
#include "sandbox/sandbox.h"
#include "util/buf.h"
#include "util/json_lenient.h"
#include "util/mem.h"
#include "util/time.h"

#define CODE_ATTEMPTS 5   /* programs asked for per round */
#define PLAN_ATTEMPTS 3

typedef struct round_state {
  char *advice;
  char *feedback, *scratchpad;  /* from the last synthesis, NULL in round 1 */
  mn_job_list prev;             /* last round's jobs with outputs */
  char *code;                   /* last accepted program (for transform_outputs) */
  int has_transform;
} round_state;

static mn_sandbox_docs sandbox_docs(const mn_docs *docs, const char ***texts, size_t **lens)
{
  size_t n = mn_docs_count(docs);
  *texts = mn_xcalloc(n, sizeof **texts);
  *lens = mn_xcalloc(n, sizeof **lens);
  for(size_t i = 0; i < n; i++)
    (*texts)[i] = mn_docs_text(docs, i, &(*lens)[i]);
  return (mn_sandbox_docs){ *texts, *lens, n };
}

static char *documents_summary(const mn_run *run, const mn_docs *docs)
{
  mn_buf b = MN_BUF_INIT(0);
  size_t n = mn_docs_count(docs);
  mn_buf_printf(&b, "%zu document%s, %zu characters in all", n, n == 1 ? "" : "s",
                mn_docs_total_bytes(docs));
  if(run->opts.doc_metadata)
    mn_buf_printf(&b, " (%s)", run->opts.doc_metadata);
  mn_buf_puts(&b, ":");
  for(size_t i = 0; i < n && i < 50; i++) {
    size_t len;
    mn_docs_text(docs, i, &len);
    mn_buf_printf(&b, "\n- context[%zu]: %s, %zu characters", i + 1, mn_docs_name(docs, i), len);
  }
  if(n > 50)
    mn_buf_printf(&b, "\n- ... and %zu more", n - 50);
  return mn_buf_steal(&b, NULL);
}

/* The program inside the reply: the last ```lua block, else any fenced block,
 * else the reply itself. Caller frees. */
static char *extract_code(const char *reply)
{
  const char *best = NULL, *best_end = NULL;
  int best_is_lua = 0;
  for(const char *p = strstr(reply, "```"); p; ) {
    const char *info = p + 3;
    const char *nl = strchr(info, '\n');
    if(!nl)
      break;
    const char *end = strstr(nl + 1, "```");
    if(!end)
      end = reply + strlen(reply);  /* an unclosed fence: take the rest */
    int is_lua = (size_t)(nl - info) >= 3 && strncasecmp(info, "lua", 3) == 0;
    if(is_lua || !best_is_lua) {
      best = nl + 1;
      best_end = end;
      best_is_lua = is_lua;
    }
    p = *end ? strstr(end + 3, "```") : NULL;
  }
  if(!best)
    return mn_xstrdup(reply);
  return mn_xstrndup(best, (size_t)(best_end - best));
}

static int ask_advice(mn_run *run, round_state *st)
{
  const mn_run_opts *o = &run->opts;
  char *meta = o->doc_metadata ? mn_xasprintf("\nThe documents: %s", o->doc_metadata)
                               : mn_xstrdup("");
  char *prompt = mn_xasprintf(MN_PROMPT_MINIONS_ADVICE, o->task, meta);
  free(meta);
  mn_llm_msg msgs[] = { { "user", prompt } };
  mn_llm_req req = { .msgs = msgs, .n_msgs = 1, .temperature = o->remote_temperature,
                      .max_tokens = o->remote_max_tokens };
  mn_llm_result res = { 0 };
  int rc = mn_proto_chat(run, MN_SIDE_REMOTE, "advice", &req, &res);
  mn_runlog_turn(run->log, "remote", prompt, res.text);
  if(rc == MN_OK) {
    st->advice = res.text;
    res.text = NULL;
  }
  mn_llm_result_free(&res);
  free(prompt);
  return rc;
}

static const char *retrieval_note(const mn_run *run, int plan, char *buf, size_t size)
{
  mn_retrieval r = run->opts.retrieval;
  if(r == MN_RETRIEVAL_BM25)
    snprintf(buf, size, plan ? MN_PROMPT_MINIONS_RETRIEVAL_PLAN : MN_PROMPT_MINIONS_RETRIEVAL_BM25,
             run->opts.retrieval_k);
  else if(r == MN_RETRIEVAL_EMBEDDING)
    snprintf(buf, size, plan ? MN_PROMPT_MINIONS_RETRIEVAL_PLAN : MN_PROMPT_MINIONS_RETRIEVAL_EMBED,
             run->opts.retrieval_k);
  else
    buf[0] = '\0';
  return buf;
}

static char *previous_note(const round_state *st)
{
  if(!st->prev.n)
    return mn_xstrdup("");
  return mn_xasprintf(MN_PROMPT_MINIONS_PREVIOUS,
                      st->feedback && *st->feedback ? st->feedback : "(none)",
                      st->scratchpad && *st->scratchpad ? st->scratchpad : "(none)");
}

/* Code mode: ask for a program, run it in the sandbox, send any error back. */
static int decompose_code(mn_run *run, const mn_docs *docs, round_state *st, mn_job_list *jobs)
{
  const mn_run_opts *o = &run->opts;
  char note[512];
  char *summary = documents_summary(run, docs);
  char *prev = previous_note(st);
  mn_conv conv = { 0 };
  mn_conv_take(&conv, "user", mn_xasprintf(MN_PROMPT_MINIONS_CODE, o->task, summary, st->advice,
                                           MN_PROMPT_MINIONS_LUA_API, o->tasks_per_round,
                                           o->samples, o->max_jobs,
                                           retrieval_note(run, 0, note, sizeof note), prev));
  free(summary);
  free(prev);

  const char **texts;
  size_t *lens;
  mn_sandbox_docs sd = sandbox_docs(docs, &texts, &lens);
  /* prev_jobs is nil in round 1, so programs can test for it */
  mn_sandbox_done_job *prevj = st->prev.n ? mn_jobs_for_sandbox(&st->prev) : NULL;
  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  lim.max_jobs = (size_t)o->max_jobs;

  int rc = MN_ESANDBOX;
  int budget_stops = 0;   /* programs stopped by a budget (instructions, time, memory) */
  for(int attempt = 1; attempt <= CODE_ATTEMPTS; attempt++) {
    mn_llm_req req = { .msgs = conv.msgs, .n_msgs = conv.n,
                        .temperature = o->remote_temperature, .max_tokens = o->remote_max_tokens };
    mn_llm_result res = { 0 };
    rc = mn_proto_chat(run, MN_SIDE_REMOTE, "code", &req, &res);
    json_t *turn = mn_runlog_turn(run->log, "remote", conv.msgs[conv.n - 1].content, res.text);
    if(rc) {
      mn_llm_result_free(&res);
      break;
    }
    char *code = extract_code(res.text);
    mn_sandbox_job *sj = NULL;
    size_t n = 0;
    int has_transform = 0;
    char *err = NULL;
    double t0 = mn_now();
    rc = mn_sandbox_prepare_jobs(code, strlen(code), &sd, prevj, st->prev.n, &lim,
                                 &sj, &n, &has_transform, &err);
    json_object_set_new(turn, "sandbox_seconds", json_real(mn_now() - t0));
    if(rc == MN_OK) {
      for(size_t i = 0; i < n; i++) {
        mn_jobs_add(jobs, sj[i].task, sj[i].advice, sj[i].chunk, sj[i].chunk_len);
        sj[i].task = sj[i].advice = sj[i].chunk = NULL;  /* now the job list's */
      }
      mn_sandbox_jobs_free(sj, n);
      free(st->code);
      st->code = code;
      st->has_transform = has_transform;
      mn_llm_result_free(&res);
      break;
    }
    mn_runlog_turn_set(turn, "sandbox_error", err);
    if(rc != MN_ESANDBOX && rc != MN_ELIMIT) {
      /* the sandbox itself could not run (no helper): not the program's
       * fault, and asking the remote again would not help */
      rc = mn_proto_fail(run, rc, "%s", err ? err : "the sandbox could not run");
      free(err);
      free(code);
      mn_llm_result_free(&res);
      break;
    }
    mn_event ev = { .type = MN_EVENT_RETRY, .round = run->rounds, .side = MN_SIDE_REMOTE,
                    .text = err };
    mn_proto_emit(run, &ev);
    int job_cap = rc == MN_ELIMIT && err && strstr(err, "jobs, more than the limit");
    /* a program that ran out of a budget runs the whole budget each time:
     * one more try, told which budget, then stop */
    budget_stops += rc == MN_ELIMIT && !job_cap;
    if(budget_stops >= 2)
      mn_proto_fail(run, MN_ELIMIT, "the remote's program ran out of its budget twice; last: %s",
                    err ? err : "unknown");
    else if(job_cap)
      mn_proto_fail(run, MN_ELIMIT, "the remote's program made more jobs than --max-jobs allows "
                    "(%d) %d time%s; last: %s. Raise --max-jobs, or keep the best chunks with "
                    "--retrieval bm25", o->max_jobs, attempt, attempt == 1 ? "" : "s", err);
    else
      mn_proto_fail(run, MN_ESANDBOX, "the remote's program failed %d time%s; last error: %s",
                    attempt, attempt == 1 ? "" : "s", err ? err : "unknown");
    mn_conv_take(&conv, "assistant", res.text);
    res.text = NULL;
    mn_conv_take(&conv, "user", mn_xasprintf(MN_PROMPT_MINIONS_CODE_RETRY, err ? err : "unknown error"));
    free(err);
    free(code);
    mn_llm_result_free(&res);
    rc = rc == MN_ELIMIT ? MN_ELIMIT : MN_ESANDBOX;
    if(budget_stops >= 2)
      break;
  }
  free(prevj);
  free(texts);
  free(lens);
  mn_conv_free(&conv);
  return rc;
}

/* ---- plan mode ----------------------------------------------------------- */

static const char *check_plan(const json_t *o)
{
  const json_t *tasks = json_object_get(o, "tasks");
  if(!json_is_array(tasks) || json_array_size(tasks) == 0)
    return "field 'tasks' must be a non-empty array";
  size_t i;
  const json_t *t;
  json_array_foreach(tasks, i, t) {
    const char *s = mn_json_str(t, "task");
    if(!s || !*s)
      return "every item of 'tasks' needs a non-empty string 'task'";
  }
  const json_t *ch = json_object_get(o, "chunking");
  if(ch && !json_is_null(ch)) {
    const char *m = mn_json_str(ch, "method");
    if(m && mn_chunk_method_parse(m) < 0)
      return "chunking.method must be \"section\", \"page\", \"paragraph\" or \"code\"";
    const json_t *mc = json_object_get(ch, "max_chars");
    if(mc && !json_is_null(mc) &&
       (!json_is_integer(mc) || json_integer_value(mc) < 200 || json_integer_value(mc) > 100000))
      return "chunking.max_chars must be a whole number from 200 to 100000";
  }
  const json_t *r = json_object_get(o, "retrieval");
  if(r && !json_is_null(r)) {
    if(!mn_json_str(r, "query"))
      return "retrieval.query must be a string (or retrieval null)";
    const json_t *k = json_object_get(r, "k");
    if(k && !json_is_null(k) && (!json_is_integer(k) || json_integer_value(k) < 1))
      return "retrieval.k must be a positive whole number";
  }
  return NULL;
}

typedef struct chunk_text {
  const char *p;
  size_t len;
} chunk_text;

/* Chunks of every document with one method. */
static chunk_text *chunk_all(const mn_docs *docs, const mn_chunk_opts *co, size_t *n_out)
{
  mn_chunk_list cl = { 0 };
  for(size_t d = 0; d < mn_docs_count(docs); d++) {
    size_t len;
    const char *t = mn_docs_text(docs, d, &len);
    mn_chunk_text(t, len, d, co, &cl);
  }
  chunk_text *out = mn_xcalloc(cl.n ? cl.n : 1, sizeof *out);
  for(size_t i = 0; i < cl.n; i++) {
    const char *t = mn_docs_text(docs, cl.items[i].doc, NULL);
    out[i] = (chunk_text){ t + cl.items[i].off, cl.items[i].len };
  }
  *n_out = cl.n;
  mn_chunk_list_free(&cl);
  return out;
}

static int cmp_size(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* Keep the k chunks that best match the query (BM25), in document order. */
static int retrieve_bm25(mn_run *run, chunk_text *chunks, size_t *n, const char *query, size_t k)
{
  const char **texts = mn_xcalloc(*n ? *n : 1, sizeof *texts);
  size_t *lens = mn_xcalloc(*n ? *n : 1, sizeof *lens);
  for(size_t i = 0; i < *n; i++) {
    texts[i] = chunks[i].p;
    lens[i] = chunks[i].len;
  }
  mn_bm25 *ix = NULL;
  char *err = NULL;
  int rc = mn_bm25_build(&ix, texts, lens, *n, &err);
  free(texts);
  free(lens);
  if(rc) {
    rc = mn_proto_fail(run, rc, "retrieval index: %s", err ? err : mn_strerror(rc));
    free(err);
    return rc;
  }
  mn_bm25_hit *hits = NULL;
  size_t nh = 0;
  rc = mn_bm25_query(ix, query, k, &hits, &nh);
  mn_bm25_free(ix);
  if(rc)
    return mn_proto_fail(run, rc, "retrieval query failed");
  size_t *keep = mn_xcalloc(nh ? nh : 1, sizeof *keep);
  for(size_t i = 0; i < nh; i++)
    keep[i] = hits[i].index;
  free(hits);
  qsort(keep, nh, sizeof *keep, cmp_size);
  for(size_t i = 0; i < nh; i++)
    chunks[i] = chunks[keep[i]];
  *n = nh;
  free(keep);
  return MN_OK;
}

static int decompose_plan(mn_run *run, const mn_docs *docs, round_state *st, mn_job_list *jobs)
{
  const mn_run_opts *o = &run->opts;
  char note[512];
  char *summary = documents_summary(run, docs);
  char *prev = previous_note(st);
  mn_conv conv = { 0 };
  mn_conv_take(&conv, "user", mn_xasprintf(MN_PROMPT_MINIONS_PLAN, o->task, summary, st->advice,
                                           o->tasks_per_round,
                                           retrieval_note(run, 1, note, sizeof note), prev));
  free(summary);
  free(prev);
  int rc = MN_EMODEL;
  for(int attempt = 1; attempt <= PLAN_ATTEMPTS; attempt++) {
    json_t *plan = NULL;
    char *raw = NULL;
    rc = mn_proto_chat_json(run, MN_SIDE_REMOTE, "plan", conv.msgs, conv.n, o->remote_temperature,
                          o->remote_max_tokens, MN_SCHEMA_MINIONS_PLAN, "job_plan", check_plan,
                          &plan, &raw);
    mn_runlog_turn(run->log, "remote", conv.msgs[conv.n - 1].content, raw);
    if(rc)
      break;

    mn_chunk_opts co = MN_CHUNK_OPTS_INIT;
    co.method = o->chunking;
    co.max_chars = (size_t)o->chunk_chars;
    const json_t *ch = json_object_get(plan, "chunking");
    if(mn_json_str(ch, "method"))
      co.method = (mn_chunk_method)mn_chunk_method_parse(mn_json_str(ch, "method"));
    if(json_is_integer(json_object_get(ch, "max_chars")))
      co.max_chars = (size_t)json_integer_value(json_object_get(ch, "max_chars"));
    size_t nchunks;
    chunk_text *chunks = chunk_all(docs, &co, &nchunks);

    const json_t *r = json_object_get(plan, "retrieval");
    const char *query = mn_json_str(r, "query");
    if((!query || !*query) && o->retrieval == MN_RETRIEVAL_BM25)
      query = o->task;  /* retrieval was asked for: the plan forgot its query */
    if(query && *query) {
      size_t k = (size_t)o->retrieval_k;
      if(json_is_integer(json_object_get(r, "k")))
        k = (size_t)json_integer_value(json_object_get(r, "k"));
      rc = retrieve_bm25(run, chunks, &nchunks, query, k);
      if(rc) {
        free(chunks);
        json_decref(plan);
        free(raw);
        break;
      }
    }

    const json_t *tasks = json_object_get(plan, "tasks");
    size_t total = json_array_size(tasks) * nchunks * (size_t)o->samples;
    if(nchunks == 0 || total > (size_t)o->max_jobs) {
      char *why = nchunks == 0
        ? mn_xasprintf("the plan selects no chunk (is the retrieval query too narrow?)")
        : mn_xasprintf("the plan makes %zu jobs (%zu instructions x %zu chunks x %d samples), "
                       "over the limit of %d: use fewer instructions, larger chunks or retrieval",
                       total, json_array_size(tasks), nchunks, o->samples, o->max_jobs);
      mn_proto_fail(run, MN_ELIMIT, "%s", why);
      mn_conv_take(&conv, "assistant", raw);
      mn_conv_take(&conv, "user", mn_xasprintf("That plan cannot be used: %s. Reply with a "
                                               "corrected JSON plan.", why));
      free(why);
      free(chunks);
      json_decref(plan);
      rc = MN_ELIMIT;
      continue;
    }
    size_t i;
    const json_t *t;
    json_array_foreach(tasks, i, t) {
      const char *adv = mn_json_str(t, "advice");
      for(size_t c = 0; c < nchunks; c++)
        mn_jobs_add(jobs, mn_xstrdup(mn_json_str(t, "task")), adv ? mn_xstrdup(adv) : NULL,
                    mn_xstrndup(chunks[c].p, chunks[c].len), chunks[c].len);
    }
    free(chunks);
    json_decref(plan);
    free(raw);
    rc = MN_OK;
    break;
  }
  mn_conv_free(&conv);
  return rc;
}

/* ---- execute ------------------------------------------------------------- */

/* The jobs of a round go to the local client as one batch; a reply that is
 * not a JSON object is asked for once more. Jobs on the same chunk form a
 * group, sent one after another to the slot that just read that chunk (its
 * prompt prefix is then in the server's cache), and every job of the round
 * carries the same num_ctx: Ollama reloads the model whenever it changes. */
typedef struct exec_ctx {
  mn_run *run;
  mn_job_list *jobs;
  int num_ctx;                  /* the round's: the largest any job needs */
  size_t done;
  int first_error;
  char *first_error_text;
  char *user;                   /* the prompt of the request built last */
  mn_llm_msg msgs[2];
  mn_llm_req req;
} exec_ctx;

static const mn_llm_req *job_request(void *ud, size_t i, int attempt)
{
  exec_ctx *ex = ud;
  mn_run *run = ex->run;
  mn_job *j = &ex->jobs->v[i];
  j->attempts = attempt;
  free(ex->user);
  ex->user = mn_xasprintf(MN_PROMPT_MINIONS_WORKER_USER, (int)j->chunk_len, j->chunk, j->task,
                          j->advice && *j->advice ? j->advice : "(none)");
  ex->msgs[0] = (mn_llm_msg){ "system", MN_PROMPT_MINIONS_WORKER_SYSTEM };
  ex->msgs[1] = (mn_llm_msg){ "user", ex->user };
  ex->req = (mn_llm_req){ .msgs = ex->msgs, .n_msgs = 2,
                          .temperature = run->opts.local_temperature,
                          .max_tokens = run->opts.local_max_tokens,
                          .num_ctx = ex->num_ctx,
                          .json_schema = MN_SCHEMA_MINIONS_JOB_OUTPUT,
                          .schema_name = "job_output", .json_object = 1,
                          /* samples and resubmits are identical requests
                           * that each want a reply of their own */
                          .sample = j->sample * MN_JOB_ATTEMPTS + attempt - 1 };
  return &ex->req;
}

static int job_done(void *ud, size_t i, int attempt, mn_llm_result *res)
{
  exec_ctx *ex = ud;
  mn_job *j = &ex->jobs->v[i];
  if(res->cached || res->attempts > 0)
    mn_proto_note_call(ex->run, MN_SIDE_LOCAL, "job", j->job_id, res->cached);
  mn_proto_add_usage(ex->run, MN_SIDE_LOCAL, &res->usage);
  if(res->code != MN_OK) {
    j->status = MN_JOB_FAILED;
    j->error = mn_xstrdup(res->error ? res->error : mn_strerror(res->code));
    if(!ex->first_error) {
      ex->first_error = res->code;
      ex->first_error_text = mn_xstrdup(j->error);
    }
  } else if(res->finish_reason && !strcmp(res->finish_reason, "length")) {
    j->status = MN_JOB_FAILED;
    j->error = mn_xstrdup("the reply was cut off at the token limit");
  } else {
    char *perr = NULL;
    json_t *out = mn_json_parse_lenient(res->text, res->text_len, &perr);
    int usable = out && json_is_object(out);
    if(usable) {
      mn_job_set_output(j, out);
    } else if(attempt < MN_JOB_ATTEMPTS) {
      json_decref(out);
      free(perr);
      return 1;
    } else {
      j->status = MN_JOB_FAILED;
      j->error = mn_xasprintf("the reply was not a JSON object: %s", perr ? perr : "no object");
    }
    json_decref(out);
    free(perr);
  }
  ex->done++;
  mn_event ev = { .type = MN_EVENT_JOBS_PROGRESS, .round = ex->run->rounds, .side = MN_SIDE_LOCAL,
                  .jobs_done = ex->done, .jobs_total = ex->jobs->n };
  mn_proto_emit(ex->run, &ev);
  return 0;
}

static int execute(mn_run *run, mn_job_list *jobs)
{
  exec_ctx ex = { .run = run, .jobs = jobs };
  mn_event ev = { .type = MN_EVENT_JOBS_PROGRESS, .round = run->rounds, .side = MN_SIDE_LOCAL,
                  .jobs_done = 0, .jobs_total = jobs->n };
  mn_proto_emit(run, &ev);
  double t0 = mn_now();   /* serialising the jobs is part of the local phase */
  int most = run->opts.num_ctx;   /* built with num_ctx 0: each job's own need */
  for(size_t i = 0; i < jobs->n && !run->opts.num_ctx; i++) {
    int need = mn_llm_num_ctx(job_request(&ex, i, 1));
    if(need > most)
      most = need;
  }
  ex.num_ctx = most;
  int *group = mn_xcalloc(jobs->n + 1, sizeof *group);
  for(size_t i = 0; i < jobs->n; i++) {
    group[i] = jobs->v[i].chunk_id;
    jobs->v[i].attempts = 0;
  }
  /* MINIONS_JOB_ORDER=program sends the jobs in the program's order, as
   * before grouping (bench/bench_prefix.c compares the two) */
  const char *order = getenv("MINIONS_JOB_ORDER");
  mn_llm_batch b = { .n = jobs->n, .build = job_request, .done = job_done, .userdata = &ex,
                     .group = order && !strcmp(order, "program") ? NULL : group };
  int brc = mn_client_batch(run->local, &b);
  free(group);
  run->call_time[MN_SIDE_LOCAL] += mn_now() - t0;
  free(ex.user);
  size_t failed = 0;
  for(size_t i = 0; i < jobs->n; i++)
    failed += jobs->v[i].status == MN_JOB_FAILED || jobs->v[i].status == MN_JOB_PENDING;
  int rc = MN_OK;
  if(brc == MN_ECANCELLED || run->cancelled)
    rc = mn_proto_fail(run, MN_ECANCELLED, "cancelled");
  else if(brc)
    rc = mn_proto_fail(run, brc, "cannot queue a local job: %s", mn_client_errmsg(run->local));
  else if(failed == jobs->n)
    rc = mn_proto_fail(run, ex.first_error ? ex.first_error : MN_EMODEL,
                     "every one of the %zu local jobs failed; first error: %s (%s)", jobs->n,
                     ex.first_error_text ? ex.first_error_text : "no usable reply",
                     run->opts.local_spec);
  free(ex.first_error_text);
  return rc;
}

/* ---- aggregate ----------------------------------------------------------- */

static const char *check_synthesis(const json_t *o)
{
  const char *d = mn_json_str(o, "decision");
  if(!d || (strcmp(d, "provide_final_answer") && strcmp(d, "request_additional_info")))
    return "field 'decision' must be \"provide_final_answer\" or \"request_additional_info\"";
  if(!strcmp(d, "provide_final_answer")) {
    const char *a = mn_json_str(o, "answer");
    if(!a || !*a)
      return "field 'answer' must hold the final answer";
  }
  return NULL;
}

static const char *check_final(const json_t *o)
{
  const char *a = mn_json_str(o, "answer");
  return a && *a ? NULL : "field 'answer' must hold the final answer";
}

static int aggregate(mn_run *run, const mn_docs *docs, round_state *st, mn_job_list *jobs,
                     int last, int *done)
{
  const mn_run_opts *o = &run->opts;
  char *outputs = NULL;
  if(st->has_transform) {
    const char **texts;
    size_t *lens;
    mn_sandbox_docs sd = sandbox_docs(docs, &texts, &lens);
    mn_sandbox_done_job *dj = mn_jobs_for_sandbox(jobs);
    mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
    char *err = NULL;
    if(mn_sandbox_transform_outputs(st->code, strlen(st->code), &sd, dj, jobs->n, &lim,
                                    &outputs, &err) != MN_OK) {
      /* the remote still gets the outputs, in the default listing */
      mn_event ev = { .type = MN_EVENT_RETRY, .round = run->rounds, .side = MN_SIDE_REMOTE,
                      .text = err };
      mn_proto_emit(run, &ev);
      outputs = NULL;
    }
    free(err);
    free(dj);
    free(texts);
    free(lens);
  }
  if(!outputs)
    outputs = mn_jobs_format_outputs(jobs);

  mn_conv conv = { 0 };
  mn_conv_take(&conv, "user", mn_xasprintf(MN_PROMPT_MINIONS_SYNTH_REASON, outputs, o->task));
  free(outputs);
  int rc = mn_proto_conv_chat(run, MN_SIDE_REMOTE, "reasoning", &conv, NULL);
  if(rc) {
    mn_conv_free(&conv);
    return rc;
  }
  mn_conv_add(&conv, "user", last ? MN_PROMPT_MINIONS_SYNTH_FINAL : MN_PROMPT_MINIONS_SYNTH_DECIDE);

  json_t *obj = NULL;
  char *raw = NULL;
  rc = mn_proto_chat_json(run, MN_SIDE_REMOTE, last ? "final answer" : "decision", conv.msgs, conv.n,
                        o->remote_temperature, o->remote_max_tokens, MN_SCHEMA_MINIONS_SYNTHESIS,
                        "synthesis", last ? check_final : check_synthesis, &obj, &raw);
  mn_runlog_turn(run->log, "remote", conv.msgs[conv.n - 1].content, raw);
  free(raw);
  mn_conv_free(&conv);
  if(rc)
    return rc;
  const char *d = mn_json_str(obj, "decision");
  if(last || (d && !strcmp(d, "provide_final_answer"))) {
    run->answer = mn_xstrdup(mn_json_str(obj, "answer"));
    *done = 1;
  } else {
    free(st->feedback);
    free(st->scratchpad);
    const char *f = mn_json_str(obj, "feedback"), *s = mn_json_str(obj, "scratchpad");
    st->feedback = f ? mn_xstrdup(f) : NULL;
    st->scratchpad = s ? mn_xstrdup(s) : NULL;
  }
  json_decref(obj);
  return MN_OK;
}

int mn_proto_run_minions(mn_run *run, const mn_docs *docs)
{
  const mn_run_opts *o = &run->opts;
  size_t files_packed = 0;
  mn_docs *packed = mn_proto_pack_docs(docs, (size_t)o->chunk_chars, &files_packed);
  if(packed) {
    mn_runlog_set(run->log, "packed_documents",
                  json_pack("{s:I,s:I}", "files", (json_int_t)files_packed,
                            "documents", (json_int_t)mn_docs_count(packed)));
    docs = packed;
  }
  round_state st = { 0 };
  int rc = ask_advice(run, &st);
  int done = 0;
  for(int round = 1; rc == MN_OK && !done && round <= o->max_rounds; round++) {
    run->rounds = round;
    mn_event ev = { .type = MN_EVENT_ROUND_STARTED, .round = round };
    mn_proto_emit(run, &ev);

    mn_job_list jobs = { 0 };
    rc = o->decompose == MN_DECOMPOSE_PLAN ? decompose_plan(run, docs, &st, &jobs)
                                           : decompose_code(run, docs, &st, &jobs);
    /* the last round's jobs served as prev_jobs: nothing later reads them */
    mn_jobs_free(&st.prev);
    if(rc == MN_OK && o->retrieval == MN_RETRIEVAL_EMBEDDING)
      rc = mn_proto_embed_filter(run, &jobs);
    if(rc == MN_OK) {
      /* chunks cut from the documents point into them: a round holds its
       * jobs' instructions and answers, not a second copy of the text */
      mn_jobs_share_chunks(&jobs, docs);
      mn_jobs_number(&jobs);
      mn_jobs_expand_samples(&jobs, o->samples);
      if(jobs.n > (size_t)o->max_jobs)
        rc = mn_proto_fail(run, MN_ELIMIT, "%zu jobs with %d samples each is over --max-jobs %d",
                         jobs.n / (size_t)o->samples, o->samples, o->max_jobs);
    }
    if(rc == MN_OK) {
      json_t *turn = mn_runlog_turn(run->log, "local", NULL, NULL);
      rc = execute(run, &jobs);
      mn_runlog_turn_set_spilled(run->log, turn, "job_manifests", mn_jobs_manifests_json(&jobs));
      mn_runlog_turn_set_spilled(run->log, turn, "job_outputs", mn_jobs_outputs_json(&jobs));
    }
    if(rc == MN_OK)
      rc = aggregate(run, docs, &st, &jobs, round == o->max_rounds, &done);
    st.prev = jobs;
  }
  mn_jobs_free(&st.prev);
  free(st.advice);
  free(st.feedback);
  free(st.scratchpad);
  free(st.code);
  mn_docs_free(packed);
  return rc;
}
