/* The public run API: options, clients, accounting, dispatch, run log. */
#include <curl/curl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "doc/chunk.h"
#include "llm/cache.h"
#include "llm/prices.h"
#include "mn_prices_builtin.h"
#include "mn_version.h"
#include "protocol/run_internal.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

static int g_init_count;

int mn_global_init(void)
{
  if(g_init_count++ > 0)
    return MN_OK;
  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    g_init_count--;
    return MN_ENET;
  }
  return MN_OK;
}

void mn_global_cleanup(void)
{
  if(g_init_count > 0 && --g_init_count == 0)
    curl_global_cleanup();
}

const char *mn_version(void)
{
  return MN_VERSION_STRING;
}

typedef struct protocol_def {
  const char *name;
  int needs_local, needs_remote;
  int (*run)(mn_run *run, const mn_docs *docs);
} protocol_def;

/* indexed by mn_protocol */
static const protocol_def protocols[] = {
  [MN_PROTOCOL_MINION] = { "minion", 1, 1, mn_proto_run_minion },
  [MN_PROTOCOL_MINIONS] = { "minions", 1, 1, mn_proto_run_minions },
  [MN_PROTOCOL_REMOTE_ONLY] = { "remote-only", 0, 1, mn_proto_run_remote_only },
  [MN_PROTOCOL_LOCAL_ONLY] = { "local-only", 1, 0, mn_proto_run_local_only },
};

#define COUNT(a) (sizeof (a) / sizeof (a)[0])

static const protocol_def *find_protocol(mn_protocol p)
{
  return (unsigned)p < COUNT(protocols) ? &protocols[p] : NULL;
}

const char *mn_protocol_name(mn_protocol p)
{
  const protocol_def *d = find_protocol(p);
  return d ? d->name : NULL;
}

/* index of name in names[n], or -1 */
static int lookup(const char *const *names, size_t n, const char *name)
{
  for(size_t i = 0; name && i < n; i++)
    if(strcmp(names[i], name) == 0)
      return (int)i;
  return -1;
}

int mn_protocol_parse(const char *name)
{
  for(size_t i = 0; name && i < COUNT(protocols); i++)
    if(strcmp(protocols[i].name, name) == 0)
      return (int)i;
  return -1;
}

static const char *const decompose_names[] = {
  [MN_DECOMPOSE_CODE] = "code", [MN_DECOMPOSE_PLAN] = "plan" };
static const char *const retrieval_names[] = {
  [MN_RETRIEVAL_NONE] = "none", [MN_RETRIEVAL_BM25] = "bm25",
  [MN_RETRIEVAL_EMBEDDING] = "embedding" };

const char *mn_decompose_name(mn_decompose d)
{
  return (unsigned)d < COUNT(decompose_names) ? decompose_names[d] : NULL;
}

int mn_decompose_parse(const char *name)
{
  return lookup(decompose_names, COUNT(decompose_names), name);
}

const char *mn_retrieval_name(mn_retrieval r)
{
  return (unsigned)r < COUNT(retrieval_names) ? retrieval_names[r] : NULL;
}

int mn_retrieval_parse(const char *name)
{
  return lookup(retrieval_names, COUNT(retrieval_names), name);
}

int mn_proto_fail(mn_run *run, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  /* keep it one line: a multi-line error would break scripts reading stderr */
  for(char *p = buf; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  free(run->errmsg);
  run->errmsg = mn_xstrdup(buf);
  return code;
}

static const char *own(mn_run *run, const char *s)
{
  if(!s)
    return NULL;
  MN_GROW(run->owned, run->owned_cap, run->n_owned + 1);
  char *copy = mn_xstrdup(s);
  run->owned[run->n_owned++] = copy;
  return copy;
}

void mn_proto_set_task(mn_run *run, const char *task)
{
  run->opts.task = own(run, task);
}

size_t mn_run_opts_size(void)
{
  return sizeof(mn_run_opts);
}

void mn_proto_opts_read(mn_run_opts *dst, const mn_run_opts *src)
{
  mn_run_opts defaults = MN_RUN_OPTS_INIT;
  *dst = defaults;
  /* a caller built against an older header has a shorter struct: version 1
   * ends before num_ctx, version 2 after it */
  size_t n = src->version >= 3 ? sizeof *src
           : src->version == 2 ? offsetof(mn_run_opts, cache_path)
                               : offsetof(mn_run_opts, num_ctx);
  memcpy(dst, src, n);
  dst->version = MN_RUN_OPTS_VERSION;
}

static void copy_opts(mn_run *run, const mn_run_opts *o)
{
  mn_proto_opts_read(&run->opts, o);
  mn_run_opts *c = &run->opts;
  c->local_spec = own(run, o->local_spec);
  c->remote_spec = own(run, o->remote_spec);
  c->remote_url = own(run, o->remote_url);
  c->task = own(run, o->task);
  c->doc_metadata = own(run, o->doc_metadata);
  c->log_path = own(run, o->log_path);
  c->log_dir = own(run, o->log_dir);
  c->prices_path = own(run, o->prices_path);
  c->embed_spec = own(run, o->embed_spec);
  c->embed_url = own(run, o->embed_url);
  c->cache_path = own(run, c->cache_path);   /* from c: o may be an older, shorter struct */
  if(o->n_local_urls) {
    const char **urls = mn_xcalloc(o->n_local_urls, sizeof *urls);
    for(size_t i = 0; i < o->n_local_urls; i++)
      urls[i] = own(run, o->local_urls[i]);
    c->local_urls = urls;
  }
}

static int check_opts(mn_run *run, const protocol_def *p)
{
  const mn_run_opts *o = &run->opts;
  if(!o->task || !*o->task)
    return mn_proto_fail(run, MN_EINVAL, "a task is required");
  if(p->needs_local && !o->local_spec)
    return mn_proto_fail(run, MN_EINVAL, "protocol %s needs a local model (--local PROVIDER:MODEL)", p->name);
  if(p->needs_remote && !o->remote_spec)
    return mn_proto_fail(run, MN_EINVAL, "protocol %s needs a remote model (--remote PROVIDER:MODEL)", p->name);
  if(o->max_rounds < 1 || o->max_rounds > 100)
    return mn_proto_fail(run, MN_EINVAL, "max rounds must be between 1 and 100, got %d", o->max_rounds);
  /* ignoring --privacy would send the very data it promises to keep back */
  if(o->privacy && o->protocol != MN_PROTOCOL_MINION)
    return mn_proto_fail(run, MN_EINVAL, "--privacy is supported by the minion protocol only");
  if(o->local_temperature < 0 || o->local_temperature > 2 ||
     o->remote_temperature < 0 || o->remote_temperature > 2)
    return mn_proto_fail(run, MN_EINVAL, "temperatures must be between 0 and 2");
  if(o->num_ctx < 0 || o->num_ctx > 10000000)
    return mn_proto_fail(run, MN_EINVAL, "num_ctx %d is out of range", o->num_ctx);
  if(o->local_max_tokens < 1 || o->remote_max_tokens < 1)
    return mn_proto_fail(run, MN_EINVAL, "max tokens must be positive");
  if(o->connect_timeout_ms < 1 || o->request_timeout_ms < 1 || o->idle_timeout_ms < 1)
    return mn_proto_fail(run, MN_EINVAL, "timeouts must be positive");
  if(o->max_retries < 0 || o->max_retries > 20)
    return mn_proto_fail(run, MN_EINVAL, "max retries must be between 0 and 20");
  if(!mn_decompose_name(o->decompose))
    return mn_proto_fail(run, MN_EINVAL, "unknown decompose mode %d", (int)o->decompose);
  if(!mn_chunk_method_name(o->chunking))
    return mn_proto_fail(run, MN_EINVAL, "unknown chunking method %d", (int)o->chunking);
  if(!mn_retrieval_name(o->retrieval))
    return mn_proto_fail(run, MN_EINVAL, "unknown retrieval mode %d", (int)o->retrieval);
  if(o->retrieval == MN_RETRIEVAL_EMBEDDING && !o->embed_spec)
    return mn_proto_fail(run, MN_EINVAL, "retrieval 'embedding' needs an embedding model (--embed-model)");
  if(o->tasks_per_round < 1 || o->samples < 1 || o->max_jobs < 1 || o->local_parallel < 1 ||
     o->chunk_chars < 1 || o->retrieval_k < 1)
    return mn_proto_fail(run, MN_EINVAL, "tasks per round, samples, max jobs, local parallel, "
                       "chunk size and retrieval k must be positive");
  if(!isfinite(o->max_cost_usd) || o->max_cost_usd < 0)
    return mn_proto_fail(run, MN_EINVAL, "the spend cap (max_cost_usd) must be 0 (none) or a "
                         "positive number of US dollars, got %g", o->max_cost_usd);
  if(o->cache_path && !*o->cache_path)
    return mn_proto_fail(run, MN_EINVAL, "the response cache (cache_path) needs a file name");
  return MN_OK;
}

static int load_prices(mn_run *run)
{
  mn_prices *table = NULL;
  char *err = NULL;
  int rc;
  if(run->opts.prices_path)
    rc = mn_prices_load(&table, run->opts.prices_path, &err);
  else
    rc = mn_prices_parse(&table, (const char *)mn_prices_builtin,
                         sizeof mn_prices_builtin - 1, "built-in price table", &err);
  if(rc != MN_OK) {
    rc = mn_proto_fail(run, rc, "%s", err ? err : "cannot load the price table");
    free(err);
    return rc;
  }
  run->price_in = -1;
  if(run->remote) {
    const mn_price *p = mn_prices_lookup(table, mn_client_provider(run->remote),
                                         mn_client_model(run->remote));
    if(p) {
      run->price_in = p->input;
      run->price_cached = p->cached_input;
      run->price_out = p->output;
    }
  }
  mn_prices_free(table);
  return MN_OK;
}

/* The spend cap, asked by the remote client before each call it would
 * send: what this run paid for calls that went out, plus an upper estimate
 * of this one (all prompt tokens at the input price, bytes / 4, and the
 * whole reply cap at the output price), must stay within the cap. */
static int spend_check(void *ud, const mn_llm_req *req, size_t body_bytes, char **why)
{
  mn_run *run = ud;
  double cap = run->opts.max_cost_usd;
  unsigned long long in = (unsigned long long)(body_bytes + 3) / 4;
  int out = req->max_tokens > 0 ? req->max_tokens : run->opts.remote_max_tokens;
  double est = ((double)in * run->price_in + (double)out * run->price_out) / 1e6;
  run->call_estimate = est;
  if(run->paid_usd + est <= cap)
    return 0;
  *why = mn_xasprintf("not sent: the spend cap of $%.6g (max_cost_usd) could be passed: "
                      "$%.6g spent so far on remote calls, and this call could cost up to "
                      "$%.6g (about %llu prompt tokens, at most %d output tokens)",
                      cap, run->paid_usd, est, in, out);
  return 1;
}

/* The response cache and the spend cap, once the clients and prices are known. */
static int setup_cache_and_cap(mn_run *run)
{
  const mn_run_opts *o = &run->opts;
  if(o->max_cost_usd > 0 && run->remote) {
    if(run->price_in < 0)
      return mn_proto_fail(run, MN_EINVAL, "a spend cap ($%.6g) needs the price of the remote "
                           "model %s, which the price table does not have: add it to a table "
                           "given as prices_path (--prices FILE)", o->max_cost_usd,
                           o->remote_spec);
    mn_client_set_send_check(run->remote, spend_check, run);
  }
  if(o->cache_path) {
    char *err = NULL;
    int rc = mn_cache_open(&run->cache, o->cache_path, mn_llm_max_body_bytes(run->llm), &err);
    if(rc != MN_OK) {
      rc = mn_proto_fail(run, rc, "%s", err ? err : mn_strerror(rc));
      free(err);
      return rc;
    }
    mn_llm_set_cache(run->llm, run->cache);
  }
  return MN_OK;
}

/* share_server: -1 shares a local server's in-flight limit with the other
 * runs of the process (net/gate.h), 0 keeps the limit to this run (the
 * remote: even a self-hosted one is sized by its own owner). */
static int make_client(mn_run *run, mn_client **out, const char *spec,
                       const char *const *urls, size_t n_urls, int max_inflight,
                       int share_server)
{
  mn_client_opts co = MN_CLIENT_OPTS_INIT;
  co.stream = run->opts.stream;
  co.max_inflight = max_inflight;
  co.share_server = share_server;
  char *err = NULL;
  int rc = mn_client_new(out, run->llm, spec, urls, n_urls, &co, &err);
  if(rc != MN_OK) {
    rc = mn_proto_fail(run, rc, "%s", err ? err : mn_strerror(rc));
    free(err);
  }
  return rc;
}

int mn_run_new(mn_run **out, const mn_run_opts *opts)
{
  *out = NULL;
  if(!opts)
    return MN_EINVAL;
  mn_run *run = mn_xcalloc(1, sizeof *run);
  *out = run;
  run->price_in = -1;
  if(opts->version < 1 || opts->version > MN_RUN_OPTS_VERSION)
    return mn_proto_fail(run, MN_EINVAL, "mn_run_opts version %u is not one this library "
                         "(%s) knows; start from MN_RUN_OPTS_INIT", opts->version,
                         MN_VERSION_STRING);
  copy_opts(run, opts);
  const protocol_def *p = find_protocol(run->opts.protocol);
  if(!p)
    return mn_proto_fail(run, MN_EUNSUPPORTED, "unknown protocol %d", (int)run->opts.protocol);
  int rc = check_opts(run, p);
  if(rc)
    return rc;

  mn_llm_opts lo = MN_LLM_OPTS_INIT;
  lo.connect_timeout_ms = run->opts.connect_timeout_ms;
  lo.request_timeout_ms = run->opts.request_timeout_ms;
  /* a whole reply sends no byte until it is complete: only a stream can be
   * watched for silence */
  lo.idle_timeout_ms = run->opts.stream ? run->opts.idle_timeout_ms : run->opts.request_timeout_ms;
  lo.max_retries = run->opts.max_retries;
  if((rc = mn_llm_new(&run->llm, &lo)) != MN_OK)
    return mn_proto_fail(run, rc, "cannot start the HTTP transport");

  if(p->needs_local &&
     (rc = make_client(run, &run->local, run->opts.local_spec,
                       run->opts.local_urls, run->opts.n_local_urls,
                       run->opts.local_parallel, -1)) != MN_OK)
    return rc;
  if(p->needs_remote &&
     (rc = make_client(run, &run->remote, run->opts.remote_spec,
                       run->opts.remote_url ? &run->opts.remote_url : NULL,
                       run->opts.remote_url ? 1 : 0, 4, 0)) != MN_OK)
    return rc;
  if(run->opts.protocol == MN_PROTOCOL_MINIONS && run->opts.retrieval == MN_RETRIEVAL_EMBEDDING) {
    /* on the embedding URL, else the first local one */
    const char *url = run->opts.embed_url ? run->opts.embed_url
                    : run->opts.n_local_urls ? run->opts.local_urls[0] : NULL;
    if((rc = make_client(run, &run->embed, run->opts.embed_spec, url ? &url : NULL,
                         url ? 1 : 0, run->opts.local_parallel, -1)) != MN_OK)
      return rc;
    mn_wire w = mn_provider_find(mn_client_provider(run->embed))->wire;
    if(w != MN_WIRE_OLLAMA && w != MN_WIRE_OPENAI)
      return mn_proto_fail(run, MN_EUNSUPPORTED, "embedding provider '%s' is not supported "
                           "(use ollama or an OpenAI-compatible one)",
                           mn_client_provider(run->embed));
  }
  if((rc = load_prices(run)) != MN_OK)
    return rc;
  return setup_cache_and_cap(run);
}

void mn_proto_emit(mn_run *run, const mn_event *ev)
{
  if(run->opts.on_event)
    run->opts.on_event(ev, run->opts.event_userdata);
}

void mn_proto_message(mn_run *run, mn_side side, int to_model, const char *label,
                    const char *text)
{
  mn_event ev = { .type = MN_EVENT_MESSAGE, .round = run->rounds, .side = side,
                  .to_model = to_model, .label = label, .text = text };
  mn_proto_emit(run, &ev);
}

double mn_proto_cost_now(const mn_run *run)
{
  if(!run->remote)
    return 0;  /* local models cost nothing */
  if(run->price_in < 0)
    return -1;
  return mn_cost_usd(&run->usage[MN_SIDE_REMOTE], run->price_in,
                     run->price_cached, run->price_out);
}

void mn_proto_note_call(mn_run *run, mn_side side, const char *label, int job_id, int cached)
{
  if(!run->cache)
    return;
  mn_runlog_cache_call(run->log, run->rounds, side == MN_SIDE_LOCAL ? "local" : "remote",
                       label, job_id, cached);
  char *w = mn_cache_take_warning(run->cache);
  if(w) {
    mn_event ev = { .type = MN_EVENT_WARNING, .round = run->rounds, .side = side, .text = w };
    mn_proto_emit(run, &ev);
    free(w);
  }
}

/* What a remote call that went to the server cost, for the spend cap: its
 * price when its usage is known, else the estimate made before it (a 2xx
 * that could not be used was likely billed too). */
static void count_paid(mn_run *run, const mn_llm_result *out)
{
  if(run->opts.max_cost_usd <= 0 || out->cached || out->attempts == 0)
    return;
  if(out->code == MN_OK && out->usage.calls && !out->usage.unreported_calls)
    run->paid_usd += mn_cost_usd(&out->usage, run->price_in, run->price_cached, run->price_out);
  else if(out->code == MN_OK || (out->http_status >= 200 && out->http_status < 300))
    run->paid_usd += run->call_estimate;
}

void mn_proto_add_usage(mn_run *run, mn_side side, const mn_usage *u)
{
  mn_usage_add(&run->usage[side], u);
  mn_event ev = { .type = MN_EVENT_USAGE, .round = run->rounds, .side = side,
                  .usage_local = &run->usage[MN_SIDE_LOCAL],
                  .usage_remote = &run->usage[MN_SIDE_REMOTE],
                  .cost_usd = mn_proto_cost_now(run) };
  mn_proto_emit(run, &ev);
}

int mn_proto_chat(mn_run *run, mn_side side, const char *label,
                const mn_llm_req *req, mn_llm_result *out)
{
  mn_client *c = side == MN_SIDE_LOCAL ? run->local : run->remote;
  const char *who = side == MN_SIDE_LOCAL ? "local" : "remote";
  if(req->n_msgs)
    mn_proto_message(run, side, 1, label, req->msgs[req->n_msgs - 1].content);
  double t0 = mn_now();
  int rc = mn_client_chat(c, req, out);
  run->call_time[side] += mn_now() - t0;
  if(side == MN_SIDE_REMOTE)
    count_paid(run, out);
  if(out->cached || out->attempts > 0)   /* not a call refused before it was sent */
    mn_proto_note_call(run, side, label, -1, out->cached);
  mn_proto_add_usage(run, side, &out->usage);
  if(rc == MN_ECANCELLED || run->cancelled)
    return mn_proto_fail(run, MN_ECANCELLED, "cancelled");
  if(rc != MN_OK)
    return mn_proto_fail(run, rc, "%s model (%s): %s", who,
                       side == MN_SIDE_LOCAL ? run->opts.local_spec : run->opts.remote_spec,
                       out->error ? out->error : mn_strerror(rc));
  mn_proto_message(run, side, 0, label, out->text);
  if(out->finish_reason && !strcmp(out->finish_reason, "length")) {
    char *why = mn_xasprintf("the %s reply (%s) was cut at the token limit of %d; raise "
                             "--%s-max-tokens", who, label, req->max_tokens, who);
    mn_event ev = { .type = MN_EVENT_WARNING, .round = run->rounds, .side = side,
                    .text = why };
    mn_proto_emit(run, &ev);
    free(why);
  }
  return MN_OK;
}

char *mn_proto_documents_text(const mn_docs *docs)
{
  mn_buf b = MN_BUF_INIT(0);
  size_t n = mn_docs_count(docs);
  for(size_t i = 0; i < n; i++) {
    size_t len;
    const char *text = mn_docs_text(docs, i, &len);
    if(n > 1)
      mn_buf_printf(&b, "### Document %zu: %s\n\n", i + 1, mn_docs_name(docs, i));
    mn_buf_append(&b, text, len);
    mn_buf_puts(&b, i + 1 < n ? "\n\n" : "");
  }
  return mn_buf_steal(&b, NULL);
}

static void finish_timing(mn_run *run)
{
  mn_timing *t = &run->timing;
  t->local_call_time = run->call_time[MN_SIDE_LOCAL];
  t->remote_call_time = run->call_time[MN_SIDE_REMOTE];
  t->total_time = mn_now() - run->t_start;
  t->overhead_time = t->total_time - t->local_call_time - t->remote_call_time;
  if(t->overhead_time < 0)
    t->overhead_time = 0;
}

char *mn_proto_log_dir(const mn_run_opts *o)
{
  const char *dir = o->log_dir;
  if(!dir || !*dir)
    dir = getenv("MINIONS_LOG_DIR");
  if(dir && *dir)
    return mn_xstrdup(dir);
  /* XDG: run logs are state, kept across runs but not configuration */
  const char *state = getenv("XDG_STATE_HOME");
  if(state && state[0] == '/')
    return mn_xasprintf("%s/minions/logs", state);
  const char *home = getenv("HOME");
  if(home && *home)
    return mn_xasprintf("%s/.local/state/minions/logs", home);
  return mn_xstrdup("minions_logs");
}

static void write_log(mn_run *run, int rc)
{
  if(run->cache) {
    uint64_t hits, misses;
    mn_cache_stats(run->cache, &hits, &misses);
    mn_runlog_cache_totals(run->log, hits, misses);
  }
  mn_runlog_finish(run->log, run->answer, run->rounds, &run->usage[MN_SIDE_REMOTE],
                   &run->usage[MN_SIDE_LOCAL], &run->timing, mn_proto_cost_now(run),
                   rc == MN_OK ? NULL : run->errmsg);
  if(run->log_to_caller)
    return;
  char *path;
  if(run->opts.log_path) {
    path = mn_xstrdup(run->opts.log_path);
  } else {
    char *dir = mn_proto_log_dir(&run->opts);
    path = mn_runlog_default_path(dir, mn_protocol_name(run->opts.protocol));
    free(dir);
  }
  char *err = NULL;
  if(mn_runlog_write(run->log, path, &err) == MN_OK) {
    run->log_file = path;
  } else {
    free(path);
    mn_event ev = { .type = MN_EVENT_ERROR, .code = MN_EIO, .text = err };
    mn_proto_emit(run, &ev);
    free(err);
  }
}

/* Something other than white space in some document. */
static int docs_have_text(const mn_docs *docs)
{
  for(size_t i = 0; i < mn_docs_count(docs); i++) {
    size_t len;
    const char *t = mn_docs_text(docs, i, &len);
    for(size_t k = 0; k < len; k++)
      if(!strchr(" \t\r\n\f\v", t[k]))
        return 1;
  }
  return 0;
}

int mn_run_execute(mn_run *run, const mn_docs *docs)
{
  if(!run || !docs)
    return MN_EINVAL;
  const protocol_def *p = find_protocol(run->opts.protocol);
  if(!p || !run->llm || (p->needs_local && !run->local) || (p->needs_remote && !run->remote))
    return mn_proto_fail(run, MN_EINVAL, "the run was not set up (mn_run_new failed)");
  if(run->log)
    return mn_proto_fail(run, MN_EINVAL, "a run handle executes once");
  if(mn_docs_count(docs) == 0)
    return mn_proto_fail(run, MN_EINVAL, "no documents given");
  if(!docs_have_text(docs))   /* before any paid call */
    return mn_proto_fail(run, MN_EINVAL, "the documents hold no text to read (%s%s%s)",
                         mn_docs_name(docs, 0), mn_docs_count(docs) > 1 ? ", ..." : "",
                         mn_docs_count(docs) > 1 ? ": all empty or blank" : ": empty or blank");

  run->t_start = mn_now();
  run->log = mn_runlog_new(p->name, run->opts.task, run->opts.doc_metadata,
                           run->opts.local_spec, run->opts.remote_spec);
  for(size_t i = 0; i < mn_docs_count(docs); i++) {
    size_t len;
    mn_docs_text(docs, i, &len);
    mn_runlog_add_document(run->log, mn_docs_name(docs, i), len);
  }
  if(run->cache)
    mn_runlog_cache_begin(run->log, mn_cache_path(run->cache));
  mn_event ev = { .type = MN_EVENT_RUN_STARTED, .text = p->name };
  mn_proto_emit(run, &ev);

  int rc = run->cancelled ? mn_proto_fail(run, MN_ECANCELLED, "cancelled") : p->run(run, docs);
  finish_timing(run);
  if(rc == MN_OK) {
    mn_event fin = { .type = MN_EVENT_FINAL_ANSWER, .round = run->rounds, .text = run->answer };
    mn_proto_emit(run, &fin);
  } else {
    mn_event err = { .type = MN_EVENT_ERROR, .round = run->rounds, .code = rc, .text = run->errmsg };
    mn_proto_emit(run, &err);
  }
  write_log(run, rc);
  return rc;
}

void mn_run_cancel(mn_run *run)
{
  if(!run)
    return;
  run->cancelled = 1;
  mn_llm_cancel(run->llm);
}

const char *mn_run_answer(const mn_run *run) { return run->answer; }
const char *mn_run_protocol(const mn_run *run) { return mn_protocol_name(run->opts.protocol); }
int mn_run_rounds(const mn_run *run) { return run->rounds; }
const char *mn_run_log_file(const mn_run *run) { return run->log_file; }
double mn_run_cost_usd(const mn_run *run) { return mn_proto_cost_now(run); }
double mn_run_paid_usd(const mn_run *run) { return run->price_in < 0 ? -1 : run->paid_usd; }

const char *mn_run_errmsg(const mn_run *run)
{
  return run && run->errmsg ? run->errmsg : "";
}

void mn_run_usage(const mn_run *run, mn_usage *remote_out, mn_usage *local_out)
{
  if(remote_out)
    *remote_out = run->usage[MN_SIDE_REMOTE];
  if(local_out)
    *local_out = run->usage[MN_SIDE_LOCAL];
}

void mn_run_timing(const mn_run *run, mn_timing *out)
{
  *out = run->timing;
}

void mn_run_cache_stats(const mn_run *run, uint64_t *hits, uint64_t *misses)
{
  mn_cache_stats(run ? run->cache : NULL, hits, misses);
}

void mn_run_free(mn_run *run)
{
  if(!run)
    return;
  mn_client_free(run->local);
  mn_client_free(run->remote);
  mn_client_free(run->embed);
  mn_llm_free(run->llm);
  mn_cache_close(run->cache);   /* after the transport, which borrowed it */
  mn_runlog_free(run->log);
  for(size_t i = 0; i < run->n_owned; i++)
    free(run->owned[i]);
  free(run->owned);
  free((void *)run->opts.local_urls);
  free(run->answer);
  free(run->log_file);
  free(run->errmsg);
  free(run);
}
