/* Chat clients on the shared transport: one endpoint per base URL, and for
 * several URLs one client-side queue feeding whichever endpoint frees a
 * slot first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/client.h"
#include "llm/wire.h"
#include "util/mem.h"
#include "util/time.h"

typedef struct endpoint {
  char *base;                 /* normalised base URL */
  mn_http_endpoint *h;
  int inflight;               /* our requests on it now */
} endpoint;

typedef struct call call;

struct mn_client {
  mn_http *http;
  const mn_provider *prov;
  char *model;
  char *key;
  mn_wire_target tgt;
  endpoint *eps;
  size_t n_eps;
  mn_client_opts opts;
  call *qhead, *qtail;        /* waiting for a slot (n_eps >= 2 only) */
  char *errmsg;
};

struct call {
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
  call *next;
};

#define MAX_INFLIGHT_CAP 1024

static void set_errmsg(mn_client *c, char *msg)
{
  free(c->errmsg);
  c->errmsg = msg;
}

const char *mn_client_errmsg(const mn_client *c)
{
  return c && c->errmsg ? c->errmsg : "";
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

int mn_client_new(mn_client **out, mn_http *http, const char *spec,
                  const char *const *urls, size_t n_urls,
                  const mn_client_opts *opts, char **errmsg)
{
  const mn_provider *prov;
  char *model = NULL;
  *out = NULL;
  *errmsg = NULL;
  if(!http) {
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
      *errmsg = mn_xasprintf("%s: %s is not set", prov->name, prov->key_env);
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
  c->http = http;
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
    c->eps[i].h = mn_http_endpoint_new(http, c->eps[i].base, o.max_inflight);
  }
  *out = c;
  return MN_OK;
}

void mn_client_free(mn_client *c)
{
  if(!c)
    return;
  call *q = c->qhead;
  while(q) {
    call *next = q->next;
    mn_wire_req_free(&q->wreq);
    mn_reply_free(&q->reply);
    free(q);
    q = next;
  }
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

/* ---- Completion --------------------------------------------------------------- */

static void call_free(call *k)
{
  mn_wire_req_free(&k->wreq);
  mn_reply_free(&k->reply);
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
  if(code == MN_OK) {
    res.text = mn_buf_steal(&k->reply.text, &res.text_len);
    res.finish_reason = k->reply.finish ? k->reply.finish : mn_xstrdup("stop");
    k->reply.finish = NULL;
    res.usage = k->reply.usage;
    res.usage.calls = 1;
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

static void pump(mn_client *c);
static int submit(call *k, size_t ep, char **errmsg);

static void queue_push(mn_client *c, call *k, int front)
{
  k->next = NULL;
  if(!c->qhead) {
    c->qhead = c->qtail = k;
  }
  else if(front) {
    k->next = c->qhead;
    c->qhead = k;
  }
  else {
    c->qtail->next = k;
    c->qtail = k;
  }
}

/* Send a call (again); on a failed submit, complete it with the error. */
static void dispatch(call *k, int front)
{
  mn_client *c = k->c;
  if(c->n_eps == 1) {
    char *err = NULL;
    int rc = submit(k, 0, &err);
    if(rc)
      finish(k, rc, 0, err);
    return;
  }
  queue_push(c, k, front);
  pump(c);
}

static void on_attempt(void *ud, int attempt)
{
  call *k = ud;
  mn_reply_reset(&k->reply);
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
  call *k = ud;
  int rc = mn_reply_stream_event(&k->reply, event, data, len);
  return rc == MN_ELIMIT ? MN_ELIMIT : rc ? MN_EPARSE : 0;
}

static void on_done(void *ud, const mn_http_result *res)
{
  call *k = ud;
  mn_client *c = k->c;
  const char *pname = c->prov->name;
  endpoint *ep = &c->eps[k->ep];
  int code = res->code;
  char *error = NULL;
  ep->inflight--;
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
    pump(c);
    finish(k, MN_OK, res->status, NULL);
    return;
  }
  if((code == MN_EPARSE || (code == MN_EHTTP && res->code != MN_EHTTP)) &&
     k->reparse_left > 0) {
    /* a 2xx reply we could not use: ask once more */
    k->reparse_left--;
    dispatch(k, 1);
    pump(c);
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
  pump(c);
  finish(k, code, res->status, error);
}

static int submit(call *k, size_t epi, char **errmsg)
{
  mn_client *c = k->c;
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
  ep->inflight++;
  int rc = mn_http_submit(c->http, &hr);
  free(url);
  if(rc) {
    ep->inflight--;
    *errmsg = mn_xasprintf("%s: the transport refused the request (%s)",
                           c->prov->name, mn_strerror(rc));
  }
  return rc;
}

/* Start queued calls while some endpoint has a free slot; the least busy
 * endpoint first, so a faster server, freeing slots sooner, gets more. */
static void pump(mn_client *c)
{
  while(c->qhead) {
    size_t best = c->n_eps;
    for(size_t i = 0; i < c->n_eps; i++) {
      if(c->eps[i].inflight >= c->opts.max_inflight)
        continue;
      if(best == c->n_eps || c->eps[i].inflight < c->eps[best].inflight)
        best = i;
    }
    if(best == c->n_eps)
      return;
    call *k = c->qhead;
    c->qhead = k->next;
    if(!c->qhead)
      c->qtail = NULL;
    k->next = NULL;
    char *err = NULL;
    int rc = submit(k, best, &err);
    if(rc)
      finish(k, rc, 0, err);
  }
}

int mn_client_chat_async(mn_client *c, const mn_llm_req *req,
                         mn_llm_done_cb done, void *userdata)
{
  char *err = NULL;
  if(!done) {
    set_errmsg(c, mn_xstrdup("chat request without a completion callback"));
    return MN_EINVAL;
  }
  call *k = mn_xcalloc(1, sizeof *k);
  int rc = mn_wire_build(&c->tgt, req, c->opts.stream, &k->wreq, &err);
  if(rc) {
    set_errmsg(c, mn_xasprintf("%s: %s", c->prov->name, err));
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
  if(c->n_eps == 1) {
    rc = submit(k, 0, &err);
    if(rc) {
      set_errmsg(c, err);
      call_free(k);
      return rc;
    }
    return MN_OK;
  }
  queue_push(c, k, 0);
  pump(c);
  return MN_OK;
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
  mn_http_run(c->http);
  if(out->code == MN_ECANCELLED && !out->error)
    out->error = mn_xasprintf("%s: cancelled", c->prov->name);
  return out->code;
}
