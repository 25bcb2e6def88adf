/* Replies in each provider's wire format, as timed plans.
 *
 * Field names, event sequences and content types follow the providers'
 * API references: OpenAI chat completions (SSE `data:` chunks, usage chunk
 * with empty choices when stream_options.include_usage, `data: [DONE]`),
 * Ollama /api/chat (NDJSON, final object with done_reason and durations),
 * Anthropic messages (named SSE events message_start ... message_stop) and
 * Gemini generateContent (SSE with CRLF line ends, or a JSON array).
 */
#include "fakellm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_PIECES 64              /* content events per streamed reply */
#define HUGE_MARK "@@FAKELLM_HUGE@@"
#define HUGE_UNIT (64u << 10)

const char *mn_fk_route_name(mn_fk_route r)
{
  static const char *const names[] = { "openai", "ollama", "anthropic",
                                       "gemini", "embed" };
  return r < MN_FK_NROUTES ? names[r] : "unknown";
}

const char *mn_fk_reason(int status)
{
  switch(status) {
  case 200: return "OK";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Payload Too Large";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  case 529: return "Site Overloaded";
  default:
    return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "OK";
  }
}

/* ---- HTTP framing ----------------------------------------------------- */

static int wants_close(const mn_fk_req *req)
{
  const char *c = mn_fk_req_header(req, "connection");
  return req->http10 || (c && mn_fk_strcasestr(c, "close"));
}

/* Status line and headers. clen < 0: a stream (chunked on HTTP/1.1). */
static void put_head(mn_fk_buf *b, const mn_fk_req *req, int status,
                     const char *ctype, const char *extra, long long clen)
{
  mn_fk_buf_printf(b, "HTTP/1.1 %d %s\r\ncontent-type: %s\r\n", status,
                   mn_fk_reason(status), ctype);
  if(clen >= 0)
    mn_fk_buf_printf(b, "content-length: %lld\r\n", clen);
  else {
    if(!req->http10)
      mn_fk_buf_puts(b, "transfer-encoding: chunked\r\n");
    mn_fk_buf_puts(b, "cache-control: no-cache\r\n");
  }
  if(extra)
    mn_fk_buf_puts(b, extra);
  if(wants_close(req))
    mn_fk_buf_puts(b, "connection: close\r\n");
  mn_fk_buf_puts(b, "server: fakellm\r\n\r\n");
}

/* One piece of a streamed body, chunk-framed on HTTP/1.1. */
static void put_chunk(mn_fk_buf *b, const mn_fk_req *req, const char *p,
                      size_t n)
{
  if(n == 0)
    return;   /* an empty chunk would end the body */
  if(req->http10) {
    mn_fk_buf_add(b, p, n);
    return;
  }
  mn_fk_buf_printf(b, "%zx\r\n", n);
  mn_fk_buf_add(b, p, n);
  mn_fk_buf_add(b, "\r\n", 2);
}

static void put_last_chunk(mn_fk_buf *b, const mn_fk_req *req)
{
  if(!req->http10)
    mn_fk_buf_add(b, "0\r\n\r\n", 5);
}

static void step_buf(mn_fk_plan *p, double at, mn_fk_buf *b, unsigned flags)
{
  size_t len;
  char *data = mn_fk_buf_steal(b, &len);
  if(len == 0) {
    free(data);
    data = NULL;
  }
  mn_fk_plan_step(p, at, data, len, flags);
}

void mn_fk_render_simple(mn_fk_plan *plan, const mn_fk_req *req, int status,
                         const char *ctype, const char *extra_headers,
                         const char *body, size_t len, double at,
                         unsigned flags)
{
  mn_fk_buf b = { 0 };
  put_head(&b, req, status, ctype, extra_headers, (long long)len);
  mn_fk_buf_add(&b, body, len);
  plan->status = status;
  step_buf(plan, at, &b, flags);
}

/* ---- errors ----------------------------------------------------------- */

typedef enum { ES_OPENAI, ES_OLLAMA, ES_ANTHROPIC, ES_GEMINI } err_style;

static err_style style_of(mn_fk_route r, const char *path)
{
  switch(r) {
  case MN_FK_OLLAMA: return ES_OLLAMA;
  case MN_FK_ANTHROPIC: return ES_ANTHROPIC;
  case MN_FK_GEMINI: return ES_GEMINI;
  case MN_FK_EMBED:
    return path && strncmp(path, "/api/", 5) == 0 ? ES_OLLAMA : ES_OPENAI;
  default: return ES_OPENAI;
  }
}

static const char *openai_type(int status)
{
  switch(status) {
  case 401: return "invalid_request_error";
  case 403: return "permission_error";
  case 404: return "invalid_request_error";
  case 429: return "requests";
  default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

static const char *openai_code(int status)
{
  switch(status) {
  case 401: return "invalid_api_key";
  case 404: return "not_found";
  case 429: return "rate_limit_exceeded";
  default: return NULL;
  }
}

static const char *anthropic_type(int status)
{
  switch(status) {
  case 401: return "authentication_error";
  case 403: return "permission_error";
  case 404: return "not_found_error";
  case 413: return "request_too_large";
  case 429: return "rate_limit_error";
  case 503:
  case 529: return "overloaded_error";
  default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

static const char *gemini_status(int status)
{
  switch(status) {
  case 400: return "INVALID_ARGUMENT";
  case 401: return "UNAUTHENTICATED";
  case 403: return "PERMISSION_DENIED";
  case 404: return "NOT_FOUND";
  case 409: return "ABORTED";
  case 429: return "RESOURCE_EXHAUSTED";
  case 501: return "UNIMPLEMENTED";
  case 503: return "UNAVAILABLE";
  case 504: return "DEADLINE_EXCEEDED";
  default: return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
  }
}

static char *error_body(err_style st, int status, const char *msg,
                        const char **ctype)
{
  json_t *j;
  switch(st) {
  case ES_OLLAMA:
    j = json_pack("{s:s}", "error", msg);
    *ctype = "application/json; charset=utf-8";
    break;
  case ES_ANTHROPIC:
    j = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type",
                  anthropic_type(status), "message", msg);
    *ctype = "application/json";
    break;
  case ES_GEMINI:
    j = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", status, "message", msg,
                  "status", gemini_status(status));
    *ctype = "application/json; charset=UTF-8";
    break;
  default: {
    const char *code = openai_code(status);
    j = json_pack("{s:{s:s,s:s,s:n,s:o}}", "error", "message", msg, "type",
                  openai_type(status), "param", "code",
                  code ? json_string(code) : json_null());
    *ctype = "application/json";
    break;
  }
  }
  char *s = mn_fk_dump(j);
  json_decref(j);
  return s;
}

static void error_step(mn_fk_plan *plan, const mn_fk_req *req, err_style st,
                       int status, const char *msg, const char *extra,
                       double at, unsigned flags)
{
  const char *ctype;
  char *body = error_body(st, status, msg, &ctype);
  mn_fk_render_simple(plan, req, status, ctype, extra, body, strlen(body), at,
                      flags);
  free(body);
}

void mn_fk_render_error(mn_fk_plan *plan, const mn_fk_req *req,
                        mn_fk_route route, int status, const char *msg)
{
  error_step(plan, req, style_of(route, req->path), status, msg, NULL, 0,
             MN_FK_DONE);
}

void mn_fk_render_path_error(mn_fk_plan *plan, const mn_fk_req *req,
                             int status, const char *msg)
{
  const char *p = req->path ? req->path : "/";
  err_style st = ES_OPENAI;
  if(strncmp(p, "/v1/messages", 12) == 0)
    st = ES_ANTHROPIC;
  else if(strncmp(p, "/v1beta/", 8) == 0 || strstr(p, ":generateContent") ||
          strstr(p, ":streamGenerateContent"))
    st = ES_GEMINI;
  else if(strncmp(p, "/api/", 5) == 0)
    st = ES_OLLAMA;
  error_step(plan, req, st, status, msg, NULL, 0, MN_FK_DONE);
}

/* ---- reply content ---------------------------------------------------- */

typedef struct rctx {
  const mn_fk_req *req;
  const mn_fk_chat *chat;
  const mn_fk_answer *ans;
  const char *model;
  char id[48];
  long long created;         /* unix seconds */
  char created_at[48];       /* RFC 3339 with nanoseconds (Ollama) */
  int include_usage;
  int gemini_sse;
  double service_s;
} rctx;

/* One streamed event: an SSE event name (Anthropic) and its JSON. */
typedef struct ev {
  const char *name;
  char *json;
} ev;

typedef struct evlist {
  ev *v;
  size_t n, cap;
} evlist;

static void ev_push(evlist *l, const char *name, json_t *j)
{
  if(l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = mn_fk_xrealloc(l->v, l->cap * sizeof *l->v);
  }
  l->v[l->n].name = name;
  l->v[l->n].json = j ? mn_fk_dump(j) : mn_fk_xstrdup("[DONE]");
  l->n++;
  json_decref(j);
}

static void ev_free(evlist *l)
{
  for(size_t i = 0; i < l->n; i++)
    free(l->v[i].json);
  free(l->v);
  memset(l, 0, sizeof *l);
}

static const char *finish_word(const rctx *x)
{
  int len = x->ans->length;
  switch(x->chat->route) {
  case MN_FK_ANTHROPIC: return len ? "max_tokens" : "end_turn";
  case MN_FK_GEMINI: return len ? "MAX_TOKENS" : "STOP";
  default: return len ? "length" : "stop";
  }
}

static json_t *openai_usage(const rctx *x)
{
  const mn_fk_answer *a = x->ans;
  return json_pack("{s:I,s:I,s:I,s:{s:I,s:i},s:{s:i,s:i,s:i,s:i}}",
                   "prompt_tokens", (json_int_t)a->prompt,
                   "completion_tokens", (json_int_t)a->completion,
                   "total_tokens", (json_int_t)(a->prompt + a->completion),
                   "prompt_tokens_details", "cached_tokens",
                   (json_int_t)a->cached, "audio_tokens", 0,
                   "completion_tokens_details", "reasoning_tokens", 0,
                   "audio_tokens", 0, "accepted_prediction_tokens", 0,
                   "rejected_prediction_tokens", 0);
}

static json_t *anthropic_usage(const rctx *x, long output)
{
  const mn_fk_answer *a = x->ans;
  /* input_tokens counts what was not read from the cache */
  long in = a->prompt > a->cached ? a->prompt - a->cached : 0;
  return json_pack("{s:I,s:i,s:I,s:I}", "input_tokens", (json_int_t)in,
                   "cache_creation_input_tokens", 0,
                   "cache_read_input_tokens", (json_int_t)a->cached,
                   "output_tokens", (json_int_t)output);
}

static json_t *gemini_usage(const rctx *x, long completion)
{
  const mn_fk_answer *a = x->ans;
  json_t *u = json_pack("{s:I,s:I,s:I}", "promptTokenCount",
                        (json_int_t)a->prompt, "candidatesTokenCount",
                        (json_int_t)completion, "totalTokenCount",
                        (json_int_t)(a->prompt + completion));
  if(a->cached > 0)
    json_object_set_new(u, "cachedContentTokenCount", json_integer(a->cached));
  json_object_set_new(u, "promptTokensDetails",
                      json_pack("[{s:s,s:I}]", "modality", "TEXT",
                                "tokenCount", (json_int_t)a->prompt));
  return u;
}

/* Ollama's durations (ns), made up from the service time. */
static void ollama_durations(const rctx *x, json_t *o)
{
  long long total = (long long)(x->service_s * 1e9);
  if(total < 1000000)
    total = 1000000;
  json_object_set_new(o, "total_duration", json_integer(total));
  json_object_set_new(o, "load_duration", json_integer(total / 100));
  json_object_set_new(o, "prompt_eval_count", json_integer(x->ans->prompt));
  json_object_set_new(o, "prompt_eval_duration", json_integer(total / 5));
  json_object_set_new(o, "eval_count", json_integer(x->ans->completion));
  json_object_set_new(o, "eval_duration", json_integer(total - total / 5 - total / 100));
}

static json_t *openai_chunk_base(const rctx *x)
{
  return json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", x->id, "object",
                   "chat.completion.chunk", "created", (json_int_t)x->created,
                   "model", x->model, "system_fingerprint", "fp_fakellm");
}

static json_t *openai_chunk(const rctx *x, json_t *delta, const char *finish)
{
  json_t *o = openai_chunk_base(x);
  json_object_set_new(o, "choices",
                      json_pack("[{s:i,s:o,s:n,s:o}]", "index", 0, "delta", delta,
                                "logprobs", "finish_reason",
                                finish ? json_string(finish) : json_null()));
  if(x->include_usage)
    json_object_set_new(o, "usage", json_null());
  return o;
}

static json_t *gemini_obj(const rctx *x, const char *text, size_t n,
                          int last, long completion)
{
  json_t *cand = json_pack("{s:{s:[{s:s%}],s:s}}", "content", "parts", "text",
                           text, n, "role", "model");
  if(last)
    json_object_set_new(cand, "finishReason", json_string(finish_word(x)));
  json_object_set_new(cand, "index", json_integer(0));
  json_t *o = json_pack("{s:[o]}", "candidates", cand);
  json_object_set_new(o, "usageMetadata", gemini_usage(x, completion));
  json_object_set_new(o, "modelVersion", json_string(x->model));
  json_object_set_new(o, "responseId", json_string(x->id));
  return o;
}

static json_t *ollama_obj(const rctx *x, const char *text, size_t n, int done)
{
  json_t *o = json_pack("{s:s,s:s,s:{s:s,s:s%}}", "model", x->model,
                        "created_at", x->created_at, "message", "role",
                        "assistant", "content", text, n);
  if(done) {
    json_object_set_new(o, "done_reason", json_string(finish_word(x)));
    json_object_set_new(o, "done", json_true());
    ollama_durations(x, o);
  }
  else
    json_object_set_new(o, "done", json_false());
  return o;
}

/* The whole reply body, not streamed. */
static char *plain_body(const rctx *x, const char *text, size_t n)
{
  const mn_fk_answer *a = x->ans;
  json_t *o = NULL;
  switch(x->chat->route) {
  case MN_FK_OLLAMA:
    o = ollama_obj(x, text, n, 1);
    break;
  case MN_FK_ANTHROPIC:
    o = json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s%}],s:s,s:n}", "id", x->id,
                  "type", "message", "role", "assistant", "model", x->model,
                  "content", "type", "text", "text", text, n, "stop_reason",
                  finish_word(x), "stop_sequence");
    json_object_set_new(o, "usage", anthropic_usage(x, a->completion));
    break;
  case MN_FK_GEMINI:
    o = gemini_obj(x, text, n, 1, a->completion);
    break;
  default:
    o = json_pack("{s:s,s:s,s:I,s:s}", "id", x->id, "object", "chat.completion",
                  "created", (json_int_t)x->created, "model", x->model);
    json_object_set_new(o, "choices",
                        json_pack("[{s:i,s:{s:s,s:s%,s:n,s:[]},s:n,s:s}]", "index",
                                  0, "message", "role", "assistant", "content",
                                  text, n, "refusal", "annotations", "logprobs",
                                  "finish_reason", finish_word(x)));
    json_object_set_new(o, "usage", openai_usage(x));
    json_object_set_new(o, "service_tier", json_string("default"));
    json_object_set_new(o, "system_fingerprint", json_string("fp_fakellm"));
    break;
  }
  char *s = mn_fk_dump(o);
  json_decref(o);
  return s;
}

static void stream_start(const rctx *x, evlist *l)
{
  switch(x->chat->route) {
  case MN_FK_OPENAI:
    ev_push(l, NULL, openai_chunk(x, json_pack("{s:s,s:s,s:n}", "role",
                                               "assistant", "content", "",
                                               "refusal"), NULL));
    break;
  case MN_FK_ANTHROPIC: {
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:[],s:n,s:n}", "id", x->id, "type",
                          "message", "role", "assistant", "model", x->model,
                          "content", "stop_reason", "stop_sequence");
    json_object_set_new(m, "usage", anthropic_usage(x, 1));
    ev_push(l, "message_start", json_pack("{s:s,s:o}", "type", "message_start",
                                          "message", m));
    ev_push(l, "content_block_start",
            json_pack("{s:s,s:i,s:{s:s,s:s}}", "type", "content_block_start",
                      "index", 0, "content_block", "type", "text", "text", ""));
    ev_push(l, "ping", json_pack("{s:s}", "type", "ping"));
    break;
  }
  default:
    break;
  }
}

/* Content event; `done_so_far`: bytes of text sent including this piece. */
static void stream_delta(const rctx *x, evlist *l, const char *p, size_t n,
                         int last, size_t done_so_far)
{
  switch(x->chat->route) {
  case MN_FK_OPENAI:
    ev_push(l, NULL, openai_chunk(x, json_pack("{s:s%}", "content", p, n), NULL));
    break;
  case MN_FK_OLLAMA:
    ev_push(l, NULL, ollama_obj(x, p, n, 0));
    break;
  case MN_FK_ANTHROPIC:
    ev_push(l, "content_block_delta",
            json_pack("{s:s,s:i,s:{s:s,s:s%}}", "type", "content_block_delta",
                      "index", 0, "delta", "type", "text_delta", "text", p, n));
    break;
  case MN_FK_GEMINI: {
    long c = last ? x->ans->completion : (long)((done_so_far + 3) / 4);
    if(c > x->ans->completion)
      c = x->ans->completion;
    ev_push(l, NULL, gemini_obj(x, p, n, last, c));
    break;
  }
  default:
    break;
  }
}

static void stream_end(const rctx *x, evlist *l)
{
  switch(x->chat->route) {
  case MN_FK_OPENAI:
    ev_push(l, NULL, openai_chunk(x, json_object(), finish_word(x)));
    if(x->include_usage) {
      json_t *o = openai_chunk_base(x);
      json_object_set_new(o, "choices", json_array());
      json_object_set_new(o, "usage", openai_usage(x));
      ev_push(l, NULL, o);
    }
    ev_push(l, NULL, NULL);   /* data: [DONE] */
    break;
  case MN_FK_OLLAMA:
    ev_push(l, NULL, ollama_obj(x, "", 0, 1));
    break;
  case MN_FK_ANTHROPIC:
    ev_push(l, "content_block_stop", json_pack("{s:s,s:i}", "type",
                                               "content_block_stop", "index", 0));
    ev_push(l, "message_delta",
            json_pack("{s:s,s:{s:s,s:n},s:{s:I}}", "type", "message_delta",
                      "delta", "stop_reason", finish_word(x), "stop_sequence",
                      "usage", "output_tokens", (json_int_t)x->ans->completion));
    ev_push(l, "message_stop", json_pack("{s:s}", "type", "message_stop"));
    break;
  default:
    break;
  }
}

/* Wire bytes of one event (not yet chunk-framed). `pos`: its index in a
 * Gemini JSON-array stream (0 first), `last`: closes that array. */
static void frame_event(const rctx *x, mn_fk_buf *b, const ev *e, size_t pos,
                        int last)
{
  switch(x->chat->route) {
  case MN_FK_OLLAMA:
    mn_fk_buf_printf(b, "%s\n", e->json);
    break;
  case MN_FK_ANTHROPIC:
    mn_fk_buf_printf(b, "event: %s\ndata: %s\n\n", e->name, e->json);
    break;
  case MN_FK_GEMINI:
    if(x->gemini_sse)
      mn_fk_buf_printf(b, "data: %s\r\n\r\n", e->json);
    else
      mn_fk_buf_printf(b, "%s%s%s", pos == 0 ? "[" : ",\r\n", e->json,
                       last ? "]" : "");
    break;
  default:
    mn_fk_buf_printf(b, "data: %s\n\n", e->json);
    break;
  }
}

static void put_event(const rctx *x, mn_fk_buf *out, const evlist *l, size_t i)
{
  mn_fk_buf tmp = { 0 };
  frame_event(x, &tmp, &l->v[i], i, i + 1 == l->n);
  put_chunk(out, x->req, tmp.data, tmp.len);
  mn_fk_buf_free(&tmp);
}

static const char *stream_ctype(const rctx *x)
{
  switch(x->chat->route) {
  case MN_FK_OLLAMA: return "application/x-ndjson";
  case MN_FK_GEMINI:
    return x->gemini_sse ? "text/event-stream" : "application/json; charset=UTF-8";
  default: return "text/event-stream; charset=utf-8";
  }
}

static const char *plain_ctype(const rctx *x)
{
  switch(x->chat->route) {
  case MN_FK_OLLAMA: return "application/json; charset=utf-8";
  case MN_FK_GEMINI: return "application/json; charset=UTF-8";
  default: return "application/json";
  }
}

static void extra_headers(const rctx *x, mn_fk_buf *b)
{
  switch(x->chat->route) {
  case MN_FK_OPENAI:
    mn_fk_buf_printf(b, "x-request-id: req_%s\r\nopenai-processing-ms: %ld\r\n",
                     x->id + 9, (long)(x->service_s * 1000));
    break;
  case MN_FK_ANTHROPIC:
    mn_fk_buf_printf(b, "request-id: req_%s\r\n", x->id + 4);
    break;
  default:
    break;
  }
}

/* Cut text into at most MAX_PIECES pieces at word starts (never inside a
 * UTF-8 sequence, since only ASCII blanks split). */
static size_t split_pieces(const char *t, size_t n, size_t *starts)
{
  size_t words = 0;
  for(size_t i = 0; i < n; i++) {
    int blank_before = i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\n' ||
                                 t[i - 1] == '\t' || t[i - 1] == '\r');
    int blank = t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r';
    if(i == 0 || (blank_before && !blank))
      words++;
  }
  if(words == 0) {
    starts[0] = 0;
    return 1;
  }
  size_t per = (words + MAX_PIECES - 1) / MAX_PIECES;
  size_t np = 0, w = 0;
  for(size_t i = 0; i < n; i++) {
    int blank_before = i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\n' ||
                                 t[i - 1] == '\t' || t[i - 1] == '\r');
    int blank = t[i] == ' ' || t[i] == '\n' || t[i] == '\t' || t[i] == '\r';
    if(i == 0 || (blank_before && !blank)) {
      if(w % per == 0)
        starts[np++] = i;
      w++;
    }
  }
  return np;
}

/* All events of a normal stream. */
static void build_events(const rctx *x, evlist *l, const char *text, size_t n)
{
  size_t starts[MAX_PIECES + 1];
  size_t np = split_pieces(text, n, starts);
  starts[np] = n;
  stream_start(x, l);
  for(size_t i = 0; i < np; i++)
    stream_delta(x, l, text + starts[i], starts[i + 1] - starts[i], i + 1 == np,
                 starts[i + 1]);
  stream_end(x, l);
}

/* ---- plans ------------------------------------------------------------ */

/* The stream from event `from` on, all in one buffer (+ last chunk). */
static void put_events(const rctx *x, mn_fk_buf *b, const evlist *l,
                       size_t from, size_t to)
{
  for(size_t i = from; i < to; i++)
    put_event(x, b, l, i);
}

static void plan_stream(mn_fk_plan *plan, const rctx *x, double e,
                        const char *extra)
{
  const mn_fk_answer *a = x->ans;
  evlist l = { 0 };
  build_events(x, &l, a->text, strlen(a->text));
  mn_fk_buf b = { 0 };
  size_t half = l.n / 2;

  if(a->fault == MN_FK_F_INVALID_JSON) {
    /* the middle event is cut short: bad JSON, the stream goes on */
    size_t k = half < l.n ? half : 0;
    if(strcmp(l.v[k].json, "[DONE]") == 0 && k > 0)
      k--;
    size_t len = strlen(l.v[k].json);
    l.v[k].json[len / 2] = '\0';
  }

  switch(a->fault) {
  case MN_FK_F_STALL:
    mn_fk_plan_step(plan, e, NULL, 0,
                    MN_FK_RELEASE | (a->stall_s < 0 ? MN_FK_HOLD : 0));
    if(a->stall_s >= 0) {
      put_head(&b, x->req, 200, stream_ctype(x), extra, -1);
      put_events(x, &b, &l, 0, l.n);
      put_last_chunk(&b, x->req);
      step_buf(plan, e + a->stall_s, &b, MN_FK_DONE);
    }
    break;
  case MN_FK_F_STALL_MID:
  case MN_FK_F_TRUNCATE:
    put_head(&b, x->req, 200, stream_ctype(x), extra, -1);
    put_events(x, &b, &l, 0, half > 0 ? half : 1);
    if(a->fault == MN_FK_F_TRUNCATE) {
      step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_CLOSE);
      break;
    }
    step_buf(plan, e, &b, MN_FK_RELEASE | (a->stall_s < 0 ? MN_FK_HOLD : 0));
    if(a->stall_s >= 0) {
      put_events(x, &b, &l, half > 0 ? half : 1, l.n);
      put_last_chunk(&b, x->req);
      step_buf(plan, e + a->stall_s, &b, MN_FK_DONE);
    }
    break;
  default:
    /* first event at once, the others spread evenly until the end */
    put_head(&b, x->req, 200, stream_ctype(x), extra, -1);
    put_event(x, &b, &l, 0);
    if(e <= 0 || l.n <= 1) {
      put_events(x, &b, &l, 1, l.n);
      put_last_chunk(&b, x->req);
      step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_DONE);
      break;
    }
    step_buf(plan, 0, &b, 0);
    for(size_t i = 1; i < l.n; i++) {
      put_event(x, &b, &l, i);
      if(i + 1 == l.n) {
        put_last_chunk(&b, x->req);
        step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_DONE);
      }
      else
        step_buf(plan, e * (double)i / (double)(l.n - 1), &b, 0);
    }
    break;
  }
  mn_fk_buf_free(&b);
  ev_free(&l);
}

static void plan_plain(mn_fk_plan *plan, const mn_fk_req *req,
                       const char *ctype, const char *extra,
                       const mn_fk_answer *a, double e, const char *body)
{
  size_t n = strlen(body), half = n / 2;
  mn_fk_buf b = { 0 };
  switch(a->fault) {
  case MN_FK_F_STALL:
    mn_fk_plan_step(plan, e, NULL, 0,
                    MN_FK_RELEASE | (a->stall_s < 0 ? MN_FK_HOLD : 0));
    if(a->stall_s >= 0) {
      put_head(&b, req, 200, ctype, extra, (long long)n);
      mn_fk_buf_add(&b, body, n);
      step_buf(plan, e + a->stall_s, &b, MN_FK_DONE);
    }
    break;
  case MN_FK_F_STALL_MID:
  case MN_FK_F_TRUNCATE:
    put_head(&b, req, 200, ctype, extra, (long long)n);
    mn_fk_buf_add(&b, body, half);
    if(a->fault == MN_FK_F_TRUNCATE) {
      step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_CLOSE);
      break;
    }
    step_buf(plan, e, &b, MN_FK_RELEASE | (a->stall_s < 0 ? MN_FK_HOLD : 0));
    if(a->stall_s >= 0) {
      mn_fk_buf_add(&b, body + half, n - half);
      step_buf(plan, e + a->stall_s, &b, MN_FK_DONE);
    }
    break;
  case MN_FK_F_INVALID_JSON:
    /* a body cut in half: well framed, but not JSON */
    put_head(&b, req, 200, ctype, extra, (long long)half);
    mn_fk_buf_add(&b, body, half);
    step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_DONE);
    break;
  default:
    put_head(&b, req, 200, ctype, extra, (long long)n);
    mn_fk_buf_add(&b, body, n);
    step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_DONE);
    break;
  }
  mn_fk_buf_free(&b);
}

/* A body around HUGE_MARK, the mark standing for 100 MiB of 'x'. */
static void plan_huge_body(mn_fk_plan *plan, const mn_fk_req *req,
                           const char *ctype, const char *extra, double e,
                           const char *body)
{
  mn_fk_buf b = { 0 };
  const char *m = strstr(body, HUGE_MARK);
  size_t pre = (size_t)(m - body);
  const char *suf = m + strlen(HUGE_MARK);
  size_t suf_len = strlen(suf);
  put_head(&b, req, 200, ctype, extra, (long long)MN_FK_HUGE_BYTES);
  mn_fk_buf_add(&b, body, pre);
  plan->huge_unit = mn_fk_xmalloc(HUGE_UNIT);
  memset(plan->huge_unit, 'x', HUGE_UNIT);
  plan->huge_unit_len = HUGE_UNIT;
  plan->huge_left = MN_FK_HUGE_BYTES - pre - suf_len;
  plan->huge_post = mn_fk_xstrdup(suf);
  plan->huge_post_len = suf_len;
  step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_HUGE);
}

/* 100 MiB made on the fly: the plan keeps one unit and a count. */
static void plan_huge(mn_fk_plan *plan, const rctx *x, double e,
                      const char *extra)
{
  mn_fk_buf b = { 0 };
  if(!x->chat->stream) {
    char *body = plain_body(x, HUGE_MARK, strlen(HUGE_MARK));
    plan_huge_body(plan, x->req, plain_ctype(x), extra, e, body);
    free(body);
    return;
  }
  else {
    char *fill = mn_fk_xmalloc(HUGE_UNIT + 1);
    memset(fill, 'x', HUGE_UNIT);
    fill[HUGE_UNIT] = '\0';
    evlist start = { 0 }, unit = { 0 }, end = { 0 };
    stream_start(x, &start);
    stream_delta(x, &unit, fill, HUGE_UNIT, 0, 0);
    stream_delta(x, &end, "", 0, 1, 0);
    stream_end(x, &end);
    free(fill);
    int array = x->chat->route == MN_FK_GEMINI && !x->gemini_sse;
    put_head(&b, x->req, 200, stream_ctype(x), extra, -1);
    if(array)
      put_chunk(&b, x->req, "[", 1);
    for(size_t i = 0; i < start.n; i++) {
      mn_fk_buf t = { 0 };
      frame_event(x, &t, &start.v[i], 1, 0);
      put_chunk(&b, x->req, t.data, t.len);
      mn_fk_buf_free(&t);
    }
    mn_fk_buf u = { 0 }, t = { 0 };
    if(array)
      mn_fk_buf_printf(&t, "%s,\r\n", unit.v[0].json);
    else
      frame_event(x, &t, &unit.v[0], 1, 0);
    put_chunk(&u, x->req, t.data, t.len);
    mn_fk_buf_free(&t);
    mn_fk_buf post = { 0 };
    for(size_t i = 0; i < end.n; i++) {
      mn_fk_buf f = { 0 };
      if(array)
        mn_fk_buf_printf(&f, "%s%s", end.v[i].json, i + 1 == end.n ? "]" : ",\r\n");
      else
        frame_event(x, &f, &end.v[i], 1, 0);
      put_chunk(&post, x->req, f.data, f.len);
      mn_fk_buf_free(&f);
    }
    put_last_chunk(&post, x->req);
    uint64_t units = (MN_FK_HUGE_BYTES + u.len - 1) / u.len;
    plan->huge_unit = mn_fk_buf_steal(&u, &plan->huge_unit_len);
    plan->huge_left = units * plan->huge_unit_len;
    plan->huge_post = mn_fk_buf_steal(&post, &plan->huge_post_len);
    ev_free(&start);
    ev_free(&unit);
    ev_free(&end);
  }
  step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_HUGE);
}

/* Scripted HTTP errors and resets. */
static void plan_failure(mn_fk_plan *plan, const mn_fk_req *req,
                         mn_fk_route route, const mn_fk_answer *ans, double e,
                         mn_fk_buf *extra, const char *model)
{
  if(ans->fault == MN_FK_F_RESET) {
    plan->status = 0;
    mn_fk_plan_step(plan, e, NULL, 0, MN_FK_RELEASE | MN_FK_RST);
    return;
  }
  if(ans->retry_after >= 0 || ans->status == 429 || ans->status == 503 ||
     ans->status == 529) {
    double ra = ans->retry_after >= 0 ? ans->retry_after : 1;
    if(ra == floor(ra))
      mn_fk_buf_printf(extra, "retry-after: %.0f\r\n", ra);
    else
      mn_fk_buf_printf(extra, "retry-after: %g\r\n", ra);
  }
  char msg[200];
  switch(ans->status) {
  case 429:
    snprintf(msg, sizeof msg, "Rate limit reached for %.100s (fakellm).", model);
    break;
  case 503:
  case 529:
    snprintf(msg, sizeof msg, "The server is overloaded (fakellm).");
    break;
  default:
    snprintf(msg, sizeof msg, "fakellm: scripted %d error.", ans->status);
    break;
  }
  error_step(plan, req, style_of(route, req->path), ans->status, msg,
             extra->data, e, MN_FK_RELEASE | MN_FK_DONE);
}

void mn_fk_render_chat(mn_fk_plan *plan, const mn_fk_req *req,
                       const json_t *body, const mn_fk_chat *chat,
                       const mn_fk_answer *ans, double service_s,
                       unsigned long id)
{
  rctx x;
  memset(&x, 0, sizeof x);
  x.req = req;
  x.chat = chat;
  x.ans = ans;
  x.model = chat->model ? chat->model : "fake";
  x.service_s = service_s + ans->delay_s;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  x.created = (long long)ts.tv_sec;
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(x.created_at, sizeof x.created_at, "%s.%09ldZ", day, ts.tv_nsec);
  switch(chat->route) {
  case MN_FK_ANTHROPIC:
    snprintf(x.id, sizeof x.id, "msg_fake%016lx", id);
    break;
  case MN_FK_GEMINI:
    snprintf(x.id, sizeof x.id, "fake%016lx", id);
    break;
  default:
    snprintf(x.id, sizeof x.id, "chatcmpl-fake%016lx", id);
    break;
  }
  json_t *so = json_object_get(body, "stream_options");
  x.include_usage = json_is_true(json_object_get(so, "include_usage"));
  if(chat->route == MN_FK_GEMINI) {
    char *alt = mn_fk_query_param(req->query, "alt");
    x.gemini_sse = alt && strcmp(alt, "sse") == 0;
    free(alt);
  }
  double e = x.service_s;
  plan->needs_slot = 1;
  plan->model = 1;
  plan->status = 200;

  mn_fk_buf extra = { 0 };
  extra_headers(&x, &extra);
  if(ans->raw_body) {   /* a recorded or documented reply, byte for byte */
    mn_fk_buf b = { 0 };
    size_t n = strlen(ans->raw_body);
    put_head(&b, req, ans->raw_status, ans->raw_ctype, NULL, (long long)n);
    mn_fk_buf_add(&b, ans->raw_body, n);
    plan->status = ans->raw_status;
    step_buf(plan, e, &b, MN_FK_RELEASE | MN_FK_DONE);
  }
  else if(ans->fault == MN_FK_F_STATUS || ans->fault == MN_FK_F_RESET)
    plan_failure(plan, req, chat->route, ans, e, &extra, x.model);
  else if(ans->fault == MN_FK_F_HUGE)
    plan_huge(plan, &x, e, extra.data);
  else if(chat->stream && !ans->ignore_stream)
    plan_stream(plan, &x, e, extra.data);
  else {
    char *b = plain_body(&x, ans->text, strlen(ans->text));
    plan_plain(plan, req, plain_ctype(&x), extra.data, ans, e, b);
    free(b);
  }
  mn_fk_buf_free(&extra);
}

void mn_fk_render_body(mn_fk_plan *plan, const mn_fk_req *req,
                       mn_fk_route route, const mn_fk_answer *ans,
                       double service_s, const char *ctype, const char *body)
{
  double e = service_s + ans->delay_s;
  plan->needs_slot = 1;
  plan->model = 1;
  plan->status = 200;
  mn_fk_buf extra = { 0 };
  if(ans->fault == MN_FK_F_STATUS || ans->fault == MN_FK_F_RESET)
    plan_failure(plan, req, route, ans, e, &extra, "fake");
  else if(ans->fault == MN_FK_F_HUGE)
    plan_huge_body(plan, req, ctype, NULL, e,
                   "{\"object\":\"list\",\"data\":[],\"padding\":\"" HUGE_MARK "\"}");
  else
    plan_plain(plan, req, ctype, NULL, ans, e, body);
  mn_fk_buf_free(&extra);
}
