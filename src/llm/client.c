/* Chat clients on the shared transport: one endpoint per base URL; with
 * several, each request goes to the one with the fewest outstanding. The
 * transport's per-endpoint queues are the only scheduler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm/client_internal.h"
#include "net/gate.h"
#include "net/stream.h"
#include "util/mem.h"
#include "util/time.h"

typedef struct mn_call call;
struct mn_call {
  mn_client *c;
  mn_wire_req wreq;
  mn_reply reply;
  mn_llm_done_cb done;
  void *userdata;
  int reparse_left;           /* client-side retries of a bad 200 reply */
  int attempts;
  double t_submit;
  double service;
  size_t ep;
  /* response cache */
  int sample;                 /* mn_llm_req.sample */
  char *canon;                /* canonical body; NULL: not cached */
  size_t canon_len;
  mn_buf rec;                 /* a streamed reply's events, written again as
                                 SSE or NDJSON, for the cache */
  int rec_over;               /* they passed the cap: not stored */
  int cached;                 /* answered from the cache */
  call *next_ready;
};

#define CT_JSON "application/json"
#define CT_SSE "text/event-stream"
#define CT_NDJSON "application/x-ndjson"

#define MAX_INFLIGHT_CAP 1024

int mn_llm_new(mn_llm **out, const mn_llm_opts *opts)
{
  mn_llm_opts o = MN_LLM_OPTS_INIT;
  if(opts)
    o = *opts;
  mn_http_opts ho = MN_HTTP_OPTS_INIT;
  ho.connect_timeout_ms = o.connect_timeout_ms;
  ho.request_timeout_ms = o.request_timeout_ms;
  ho.idle_timeout_ms = o.idle_timeout_ms;
  ho.max_retries = o.max_retries;
  *out = NULL;
  mn_http *http = NULL;
  int rc = mn_http_new(&http, &ho);
  if(rc)
    return rc;
  *out = mn_xcalloc(1, sizeof **out);
  (*out)->http = http;
  (*out)->max_body = ho.max_body_bytes;
  return MN_OK;
}

size_t mn_llm_max_body_bytes(const mn_llm *l)
{
  return l->max_body;
}

void mn_llm_set_cache(mn_llm *l, mn_cache *cache)
{
  l->cache = cache;
}

void mn_llm_cancel(mn_llm *l)
{
  if(l)
    mn_http_cancel(l->http);
}

static void call_free(call *k);

void mn_llm_free(mn_llm *l)
{
  if(!l)
    return;
  while(l->ready) {   /* cached answers never run: dropped, as the transport drops its own */
    call *k = l->ready;
    l->ready = k->next_ready;
    call_free(k);
  }
  mn_http_free(l->http);
  free(l);
}

void mn_client_set_errmsg(mn_client *c, char *msg)
{
  free(c->errmsg);
  c->errmsg = msg;
}

const char *mn_client_errmsg(const mn_client *c)
{
  return c && c->errmsg ? c->errmsg : "";
}

void mn_client_set_send_check(mn_client *c, mn_client_send_check_fn check, void *userdata)
{
  c->send_check = check;
  c->send_check_ud = userdata;
}

void mn_llm_result_free(mn_llm_result *r)
{
  if(!r)
    return;
  free(r->text);
  free(r->finish_reason);
  free(r->error);
  r->text = NULL;
  r->finish_reason = NULL;
  r->error = NULL;
}

/* Providers whose server is the user's own, sized by --local-parallel;
 * cloud APIs have their own limits and are not gated. */
static int serves_own_models(const mn_provider *prov)
{
  return strcmp(prov->name, "ollama") == 0 || strcmp(prov->name, "openai-compatible") == 0;
}

/* Gate each endpoint with its server. A server given n times over asks for
 * n x max_inflight, what the client alone would put on it today: a single
 * run is never held below its own caps. */
static void share_servers(mn_client *c)
{
  for(size_t i = 0; i < c->n_eps; i++) {
    char *key = mn_gate_key(c->eps[i].base);
    if(!key)
      continue;   /* mn_base_url took it: curl says what is wrong on use */
    int same = 0;
    for(size_t j = 0; j < c->n_eps; j++) {
      char *kj = mn_gate_key(c->eps[j].base);
      same += kj && strcmp(kj, key) == 0;
      free(kj);
    }
    mn_http_endpoint_gate(c->eps[i].h, c->eps[i].base, same * c->opts.max_inflight);
    free(key);
  }
}

int mn_client_new(mn_client **out, mn_llm *llm, const char *spec,
                  const char *const *urls, size_t n_urls,
                  const mn_client_opts *opts, char **errmsg)
{
  const mn_provider *prov;
  char *model = NULL;
  *out = NULL;
  *errmsg = NULL;
  if(!llm) {
    *errmsg = mn_xstrdup("no transport given to the chat client");
    return MN_EINVAL;
  }
  int rc = mn_spec_parse(spec, &prov, &model, errmsg);
  if(rc)
    return rc;
  mn_client_opts o = MN_CLIENT_OPTS_INIT;
  if(opts)
    o = *opts;
  if(o.max_inflight <= 0)
    o.max_inflight = 8;
  if(o.max_inflight > MAX_INFLIGHT_CAP)
    o.max_inflight = MAX_INFLIGHT_CAP;
  if(o.max_reply_bytes == 0)
    o.max_reply_bytes = 4u << 20;

  const char *key = NULL;
  if(prov->key_env) {
    key = getenv(prov->key_env);
    if(key && !*key)
      key = NULL;
    if(!key && prov->key_required) {
      *errmsg = mn_xasprintf("%s: no API key: export %s=<your %s key> (nothing was sent)",
                             prov->name, prov->key_env, prov->name);
      free(model);
      return MN_EAUTH;
    }
    for(const char *k = key; k && *k; k++) {
      if((unsigned char)*k < ' ' || *k == 0x7F) {   /* would split a header */
        *errmsg = mn_xasprintf("%s: %s contains a control character",
                               prov->name, prov->key_env);
        free(model);
        return MN_EAUTH;
      }
    }
  }

  mn_client *c = mn_xcalloc(1, sizeof *c);
  c->llm = llm;
  c->prov = prov;
  c->model = model;
  c->key = key ? mn_xstrdup(key) : NULL;
  c->opts = o;
  c->tgt.prov = prov;
  c->tgt.model = c->model;
  c->tgt.key = c->key;
  size_t n = urls && n_urls ? n_urls : 1;
  c->eps = mn_xcalloc(n, sizeof *c->eps);
  for(size_t i = 0; i < n; i++) {
    rc = mn_base_url(prov, urls && n_urls ? urls[i] : NULL, &c->eps[i].base, errmsg);
    if(rc) {
      c->n_eps = i;
      mn_client_free(c);
      return rc;
    }
    c->n_eps = i + 1;
    c->eps[i].h = mn_http_endpoint_new(llm->http, c->eps[i].base, o.max_inflight);
  }
  if(o.share_server < 0 ? serves_own_models(prov) : o.share_server)
    share_servers(c);
  *out = c;
  return MN_OK;
}

void mn_client_free(mn_client *c)
{
  if(!c)
    return;
  for(size_t i = 0; i < c->n_eps; i++)
    free(c->eps[i].base);
  free(c->eps);
  free(c->model);
  if(c->key) {
    memset(c->key, 0, strlen(c->key));
    free(c->key);
  }
  free(c->errmsg);
  free(c);
}

const char *mn_client_provider(const mn_client *c)
{
  return c->prov->name;
}

const char *mn_client_model(const mn_client *c)
{
  return c->model;
}

const char *mn_client_url(const mn_client *c, size_t i)
{
  return i < c->n_eps ? c->eps[i].base : NULL;
}

void mn_usage_add(mn_usage *t, const mn_usage *u)
{
  t->prompt_tokens += u->prompt_tokens;
  t->completion_tokens += u->completion_tokens;
  t->cached_prompt_tokens += u->cached_prompt_tokens;
  t->calls += u->calls;
  t->unreported_calls += u->unreported_calls;
}

size_t mn_client_capacity(const mn_client *c)
{
  return (size_t)c->opts.max_inflight * c->n_eps;
}

int mn_llm_num_ctx(const mn_llm_req *req)
{
  return mn_ollama_num_ctx(req);
}

/* ---- Completion --------------------------------------------------------------- */

static void call_free(call *k)
{
  mn_wire_req_free(&k->wreq);
  mn_reply_free(&k->reply);
  free(k->canon);
  mn_buf_free(&k->rec);
  free(k);
}

/* Build the result, hand it to the caller, free the call. */
static void finish(call *k, int code, long status, char *error)
{
  mn_client *c = k->c;
  mn_llm_result res;
  memset(&res, 0, sizeof res);
  res.code = code;
  res.http_status = status;
  res.attempts = k->attempts;
  res.elapsed_s = mn_now() - k->t_submit;
  res.service_s = k->service;
  res.cached = k->cached;
  if(code == MN_OK) {
    res.text = mn_buf_steal(&k->reply.text, &res.text_len);
    res.finish_reason = k->reply.finish ? k->reply.finish : mn_xstrdup("stop");
    k->reply.finish = NULL;
    res.usage = k->reply.usage;
    res.usage.calls = 1;
    res.usage.unreported_calls = !k->reply.usage_seen;
  }
  else {
    mn_scrub_secret(error, c->key);
    res.error = error;
    error = NULL;
  }
  free(error);
  k->done(k->userdata, &res);
  mn_llm_result_free(&res);
  call_free(k);
}

static int submit(call *k, char **errmsg);

static void on_attempt(void *ud, int attempt)
{
  call *k = ud;
  mn_reply_reset(&k->reply);
  mn_buf_reset(&k->rec);
  k->rec_over = 0;
}

/* One streamed event into the reply: live and cached streams alike. */
static int parse_event(void *ud, const char *event, const char *data, size_t len)
{
  call *k = ud;
  int rc = mn_reply_stream_event(&k->reply, event, data, len);
  return rc == MN_ELIMIT ? MN_ELIMIT : rc ? MN_EPARSE : 0;
}

/* The event written again in its stream's format, which parses back to
 * the same event: SSE data holds no CR or LF but the joins of its lines,
 * an NDJSON line no LF. Comments and ids are not kept. */
static void record_event(call *k, const char *event, const char *data, size_t len)
{
  mn_buf *b = &k->rec;
  int rc = 0;
  if(k->c->prov->wire == MN_WIRE_OLLAMA) {
    rc = mn_buf_append(b, data, len) || mn_buf_putc(b, '\n');
  } else {
    if(event)
      rc = mn_buf_printf(b, "event: %s\n", event);
    size_t i = 0;
    do {
      size_t j = i;
      while(j < len && data[j] != '\n')
        j++;
      rc = rc || mn_buf_puts(b, "data: ") || mn_buf_append(b, data + i, j - i) ||
           mn_buf_putc(b, '\n');
      i = j + 1;
    } while(i <= len && !rc);
    rc = rc || mn_buf_putc(b, '\n');
  }
  if(rc)
    k->rec_over = 1;
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
  call *k = ud;
  if(k->canon && !k->rec_over)
    record_event(k, event, data, len);
  return parse_event(ud, event, data, len);
}

/* ---- the response cache ------------------------------------------------------ */

static void cache_key(const call *k, size_t ep, mn_cache_key *key)
{
  mn_client *c = k->c;
  char *url = mn_wire_url(c->prov, c->model, c->eps[ep].base, k->wreq.stream);
  mn_cache_key_make(key, "POST", url, c->model, k->sample, k->canon, k->canon_len);
  free(url);
}

/* A stored reply through the parser a live one of its content type goes
 * through. MN_OK when it parsed to a usable reply. */
static int replay(call *k, const mn_cache_entry *e)
{
  size_t cap = mn_cache_max_bytes(k->c->llm->cache);
  int rc;
  mn_reply_reset(&k->reply);
  if(strncasecmp(e->content_type, CT_SSE, strlen(CT_SSE)) == 0) {
    mn_sse p;
    mn_sse_init(&p, cap, parse_event, k);
    rc = mn_sse_feed(&p, e->body, e->body_len);
    mn_sse_free(&p);
    if(rc == MN_OK)
      rc = mn_reply_stream_end(&k->reply);
  } else if(strncasecmp(e->content_type, CT_NDJSON, strlen(CT_NDJSON)) == 0) {
    mn_ndjson p;
    mn_ndjson_init(&p, cap, parse_event, k);
    rc = mn_ndjson_feed(&p, e->body, e->body_len);
    if(rc == MN_OK)
      rc = mn_ndjson_finish(&p);
    mn_ndjson_free(&p);
    if(rc == MN_OK)
      rc = mn_reply_stream_end(&k->reply);
  } else {
    rc = mn_reply_parse_body(&k->reply, e->body, e->body_len);
  }
  return rc == MN_OK && k->reply.code == MN_OK ? MN_OK : MN_EPARSE;
}

/* 1 when a reply stored for any of the client's endpoints answers k. */
static int cache_lookup(call *k)
{
  mn_client *c = k->c;
  for(size_t i = 0; i < c->n_eps; i++) {
    mn_cache_key key;
    mn_cache_entry e;
    cache_key(k, i, &key);
    int found = mn_cache_get(c->llm->cache, &key, &e);
    mn_cache_key_free(&key);
    if(!found)
      continue;
    /* one that no longer parses (a newer parser, a smaller reply cap) is
     * a miss; the live reply replaces it */
    int rc = replay(k, &e);
    mn_cache_entry_free(&e);
    if(rc == MN_OK)
      return 1;
    mn_reply_reset(&k->reply);
  }
  return 0;
}

/* A reply that parsed, stored under the endpoint that gave it. */
static void cache_store(call *k, const mn_http_result *res)
{
  mn_cache *cache = k->c->llm->cache;
  if(!cache || !k->canon)
    return;
  mn_cache_key key;
  cache_key(k, k->ep, &key);
  if(k->wreq.stream && res->streamed) {
    if(!k->rec_over)
      mn_cache_put(cache, &key, k->c->prov->wire == MN_WIRE_OLLAMA ? CT_NDJSON : CT_SSE,
                   mn_buf_str(&k->rec), k->rec.len);
  } else {
    mn_cache_put(cache, &key, CT_JSON, res->body, res->body_len);
  }
  mn_cache_key_free(&key);
}

/* Done callbacks of cached answers, in order; they may queue more, which
 * this loop runs too. Never nested. */
static void drain_ready(mn_llm *l)
{
  if(l->draining)
    return;
  l->draining = 1;
  call *k;
  while((k = l->ready)) {
    l->ready = k->next_ready;
    if(!l->ready)
      l->ready_tail = NULL;
    finish(k, MN_OK, 200, NULL);
  }
  l->draining = 0;
}

int mn_llm_run(mn_llm *l)
{
  int rc;
  do {
    drain_ready(l);
    rc = mn_http_run(l->http);
  } while(l->ready);
  return rc;
}

static void on_done(void *ud, const mn_http_result *res)
{
  call *k = ud;
  mn_client *c = k->c;
  const char *pname = c->prov->name;
  endpoint *ep = &c->eps[k->ep];
  int code = res->code;
  char *error = NULL;
  ep->outstanding--;
  k->attempts += res->attempts;
  k->service += res->service_s;

  if(code == MN_OK) {
    if(k->wreq.stream && res->streamed)
      code = mn_reply_stream_end(&k->reply);
    else
      code = mn_reply_parse_body(&k->reply, res->body, res->body_len);
  }
  else if(code == MN_EPARSE || (code == MN_ELIMIT && k->reply.code == MN_ELIMIT)) {
    /* our stream consumer stopped the transfer: its reason says why */
    if(k->reply.code)
      code = k->reply.code;
  }

  if(code == MN_OK) {
    cache_store(k, res);
    finish(k, MN_OK, res->status, NULL);
    drain_ready(c->llm);
    return;
  }
  if((code == MN_EPARSE || (code == MN_EHTTP && res->code != MN_EHTTP)) &&
     k->reparse_left > 0) {
    /* a 2xx reply we could not use: ask once more */
    k->reparse_left--;
    char *err = NULL;
    int src = submit(k, &err);
    if(src)
      finish(k, src, 0, err);
    drain_ready(c->llm);
    return;
  }

  if(res->code == MN_EHTTP) {
    char *msg = mn_wire_error_text(res->body, res->body_len);
    if(res->status == 401 || res->status == 403)
      code = MN_EAUTH;
    else
      code = MN_EHTTP;
    char tries[48] = "";
    if(res->attempts > 1)
      snprintf(tries, sizeof tries, " (after %d attempts)", res->attempts);
    error = mn_xasprintf("%s: HTTP %ld: %s%s", pname, res->status,
                         msg ? msg : "(empty body)", tries);
    free(msg);
  }
  else if(code == MN_EREFUSED) {
    error = mn_xasprintf("%s: %s", pname, k->reply.error);
  }
  else if(res->code == MN_OK || k->reply.code) {
    /* a 2xx reply that did not parse, or a stream our consumer stopped */
    error = mn_xasprintf("%s: %s: %s", pname,
                         code == MN_ELIMIT ? "reply too long"
                         : code == MN_EHTTP ? "error in reply"
                         : "unusable reply",
                         k->reply.error ? k->reply.error : mn_strerror(code));
  }
  else {
    error = mn_xasprintf("%s: %s", pname, res->error ? res->error : mn_strerror(code));
  }
  finish(k, code, res->status, error);
  /* cached answers queued by the done callback run now, not once every
   * request in flight is over */
  drain_ready(c->llm);
}

/* Hand the call to the endpoint with the fewest outstanding requests. */
static int submit(call *k, char **errmsg)
{
  mn_client *c = k->c;
  size_t epi = 0;
  for(size_t i = 1; i < c->n_eps; i++)
    if(c->eps[i].outstanding < c->eps[epi].outstanding)
      epi = i;
  endpoint *ep = &c->eps[epi];
  char *url = mn_wire_url(c->prov, c->model, ep->base, k->wreq.stream);
  mn_http_req hr;
  memset(&hr, 0, sizeof hr);
  hr.endpoint = ep->h;
  hr.method = "POST";
  hr.url = url;
  hr.headers = (const char *const *)k->wreq.headers;
  hr.body = k->wreq.body;
  hr.body_len = k->wreq.body_len;
  hr.stream = !k->wreq.stream ? MN_HTTP_STREAM_NONE
              : c->prov->wire == MN_WIRE_OLLAMA ? MN_HTTP_STREAM_NDJSON
              : MN_HTTP_STREAM_SSE;
  hr.on_event = k->wreq.stream ? on_event : NULL;
  hr.on_attempt = on_attempt;
  hr.on_done = on_done;
  hr.userdata = k;
  k->ep = epi;
  ep->outstanding++;
  int rc = mn_http_submit(c->llm->http, &hr);
  free(url);
  if(rc) {
    ep->outstanding--;
    *errmsg = mn_xasprintf("%s: the transport refused the request (%s)",
                           c->prov->name, mn_strerror(rc));
  }
  return rc;
}

int mn_client_chat_async(mn_client *c, const mn_llm_req *req,
                         mn_llm_done_cb done, void *userdata)
{
  char *err = NULL;
  if(!done) {
    mn_client_set_errmsg(c, mn_xstrdup("chat request without a completion callback"));
    return MN_EINVAL;
  }
  call *k = mn_xcalloc(1, sizeof *k);
  int rc = mn_wire_build(&c->tgt, req, c->opts.stream, &k->wreq, &err);
  if(rc) {
    mn_client_set_errmsg(c, mn_xasprintf("%s: %s", c->prov->name, err));
    free(err);
    free(k);
    return rc;
  }
  k->c = c;
  k->done = done;
  k->userdata = userdata;
  k->reparse_left = 1;
  k->t_submit = mn_now();
  mn_reply_init(&k->reply, c->prov->wire, k->wreq.prefill, c->opts.max_reply_bytes);
  mn_cache *cache = c->llm->cache;
  if(cache) {
    if(mn_http_cancelled(c->llm->http)) {   /* as the transport refuses */
      mn_client_set_errmsg(c, mn_xasprintf("%s: the transport refused the request (%s)",
                                           c->prov->name, mn_strerror(MN_ECANCELLED)));
      call_free(k);
      return MN_ECANCELLED;
    }
    k->sample = req->sample;
    k->canon = mn_cache_canonical_body(k->wreq.body, k->wreq.body_len, &k->canon_len);
    mn_buf_init(&k->rec, mn_cache_max_bytes(cache));
    if(k->canon && cache_lookup(k)) {
      k->cached = 1;
      mn_cache_count(cache, 1);
      mn_llm *l = c->llm;
      if(l->ready_tail)
        l->ready_tail->next_ready = k;
      else
        l->ready = k;
      l->ready_tail = k;
      return MN_OK;
    }
  }
  if(c->send_check) {
    char *why = NULL;
    if(c->send_check(c->send_check_ud, req, k->wreq.body_len, &why)) {
      mn_client_set_errmsg(c, why ? why : mn_xasprintf("%s: the request was not allowed",
                                                       c->prov->name));
      call_free(k);
      return MN_ELIMIT;
    }
    free(why);
  }
  rc = submit(k, &err);
  if(rc) {
    mn_client_set_errmsg(c, err);
    call_free(k);
    return rc;
  }
  if(cache)
    mn_cache_count(cache, 0);
  return rc;
}

static void sync_done(void *ud, mn_llm_result *res)
{
  mn_llm_result *out = ud;
  *out = *res;
  /* the caller owns the strings now */
  res->text = NULL;
  res->finish_reason = NULL;
  res->error = NULL;
}

int mn_client_chat(mn_client *c, const mn_llm_req *req, mn_llm_result *out)
{
  memset(out, 0, sizeof *out);
  out->code = MN_ECANCELLED;   /* stays so only if the run never completed it */
  int rc = mn_client_chat_async(c, req, sync_done, out);
  if(rc) {
    out->code = rc;
    out->error = mn_xstrdup(mn_client_errmsg(c));
    return rc;
  }
  mn_llm_run(c->llm);
  if(out->code == MN_ECANCELLED && !out->error)
    out->error = mn_xasprintf("%s: cancelled", c->prov->name);
  return out->code;
}
