/* The HTTP transport against fakellm (and a closed port): bodies, streams,
 * retries, timeouts, caps, per-endpoint caps, cancellation, secrets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "minions.h"
#include "net/http.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"
#include "util/time.h"

/* ---- helpers ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

typedef struct outcome {
  int done;
  int code;
  long status;
  char *body;
  size_t body_len;
  int attempts;
  double elapsed, service;
  char *error;
  mn_buf events;        /* "event|data\n" per event, of the last attempt */
  int attempt_calls;
  double t_done;        /* mn_now() at completion */
} outcome;

static void outcome_free(outcome *o)
{
  free(o->body);
  free(o->error);
  mn_buf_free(&o->events);
  memset(o, 0, sizeof *o);
}

static void on_done(void *ud, const mn_http_result *res)
{
  outcome *o = ud;
  o->done++;
  o->code = res->code;
  o->status = res->status;
  assert_non_null(res->body);
  o->body = strndup(res->body, res->body_len);
  o->body_len = res->body_len;
  o->attempts = res->attempts;
  o->elapsed = res->elapsed_s;
  o->service = res->service_s;
  o->error = res->error ? strdup(res->error) : NULL;
  o->t_done = mn_now();
  if(res->code == MN_OK)
    assert_null(res->error);
  else
    assert_true(res->error && !strchr(res->error, '\n'));
}

static int on_event(void *ud, const char *event, const char *data, size_t len)
{
  outcome *o = ud;
  mn_buf_printf(&o->events, "%s|", event ? event : "-");
  mn_buf_append(&o->events, data, len);
  mn_buf_putc(&o->events, '\n');
  return 0;
}

static void on_attempt(void *ud, int attempt)
{
  outcome *o = ud;
  o->attempt_calls++;
  assert_int_equal(attempt, o->attempt_calls);
  mn_buf_reset(&o->events);   /* what a failed attempt streamed is void */
}

static mn_http *new_http(long req_ms, long idle_ms, int retries, long base_ms,
                         long max_ms, size_t max_body)
{
  mn_http_opts o = MN_HTTP_OPTS_INIT;
  o.connect_timeout_ms = 2000;
  o.request_timeout_ms = req_ms;
  o.idle_timeout_ms = idle_ms;
  o.max_retries = retries;
  o.backoff_base_ms = base_ms;
  o.backoff_max_ms = max_ms;
  if(max_body)
    o.max_body_bytes = max_body;
  mn_http *h = NULL;
  assert_int_equal(mn_http_new(&h, &o), MN_OK);
  return h;
}

static void submit(mn_http *h, mn_http_endpoint *ep, const char *method,
                   const char *url, const char *body, mn_http_stream stream,
                   const char *const *headers, outcome *o)
{
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = ep;
  q.method = method;
  q.url = url;
  q.headers = headers;
  q.body = body;
  q.body_len = body ? strlen(body) : 0;
  q.stream = stream;
  q.on_event = on_event;
  q.on_attempt = on_attempt;
  q.on_done = on_done;
  q.userdata = o;
  mn_buf_init(&o->events, 0);
  assert_int_equal(mn_http_submit(h, &q), MN_OK);
}

/* One request, run to completion on a fresh transport with default opts. */
static void simple(const char *method, const char *url, const char *body, outcome *o)
{
  mn_http *h = new_http(10000, 10000, 0, 10, 100, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "ctl", 1);
  submit(h, ep, method, url, body, MN_HTTP_STREAM_NONE, NULL, o);
  assert_int_equal(mn_http_run(h), 0);
  mn_http_free(h);
  assert_int_equal(o->done, 1);
}

/* Prepend fakellm rules (a JSON array). */
static void add_rules(const mn_fake *f, const char *rules_json)
{
  char url[128];
  snprintf(url, sizeof url, "%s/_fake/rules", f->url);
  outcome o = { 0 };
  simple("POST", url, rules_json, &o);
  if(o.code != MN_OK)
    fail_msg("rules refused: %s %s", o.error ? o.error : "", o.body);
  outcome_free(&o);
}

static long fake_stat(const mn_fake *f, const char *key)
{
  char url[128];
  snprintf(url, sizeof url, "%s/_fake/stats", f->url);
  outcome o = { 0 };
  simple("GET", url, NULL, &o);
  assert_int_equal(o.code, MN_OK);
  json_t *j = json_loads(o.body, 0, NULL);
  assert_non_null(j);
  json_t *v = json_object_get(j, key);
  assert_true(json_is_integer(v));
  long n = (long)json_integer_value(v);
  json_decref(j);
  outcome_free(&o);
  return n;
}

static char *chat_body(const char *text, int stream)
{
  return mn_xasprintf("{\"model\":\"m\",\"stream\":%s,\"messages\":"
                           "[{\"role\":\"user\",\"content\":\"%s\"}]}",
                           stream ? "true" : "false", text);
}

/* Concatenated text of an OpenAI SSE stream (events of the outcome), or of
 * an Ollama NDJSON stream; also checks the stream's end marker. */
static char *stream_text(const outcome *o, int ollama)
{
  mn_buf text = MN_BUF_INIT(0);
  const char *p = mn_buf_str(&o->events);
  int ended = 0;
  while(*p) {
    const char *nl = strchr(p, '\n');
    /* events are one line here (chat chunks hold no raw newlines) */
    assert_non_null(nl);
    const char *data = strchr(p, '|') + 1;
    size_t len = (size_t)(nl - data);
    assert_false(ended);
    if(!ollama && len == 6 && memcmp(data, "[DONE]", 6) == 0) {
      ended = 1;
    } else {
      json_error_t err;
      json_t *j = json_loadb(data, len, 0, &err);
      if(!j)
        fail_msg("event is not JSON: %.*s", (int)len, data);
      json_t *c;
      if(ollama) {
        c = json_object_get(json_object_get(j, "message"), "content");
        if(json_is_true(json_object_get(j, "done")))
          ended = 1;
      } else {
        c = json_object_get(json_object_get(json_array_get(
              json_object_get(j, "choices"), 0), "delta"), "content");
      }
      if(json_is_string(c))
        mn_buf_puts(&text, json_string_value(c));
      json_decref(j);
    }
    p = nl + 1;
  }
  assert_true(ended);
  return mn_buf_steal(&text, NULL);
}

/* A port nothing listens on. */
static int closed_port(void)
{
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  getsockname(s, (struct sockaddr *)&a, &al);
  close(s);
  return ntohs(a.sin_port);
}

static long maxrss_kb(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* One fakellm for most tests; rules are keyed by a unique word per test. */
static mn_fake fake;

/* Fakes started by single tests are listed here too, so that the group
 * teardown stops those a failed assertion left running. */
static mn_fake extra[8];

static void extra_start(mn_fake *f, const char *const *args)
{
  assert_int_equal(mn_fake_start(f, args), 0);
  for(size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if(extra[i].pid == 0) {
      extra[i] = *f;
      return;
    }
  fail_msg("too many fakes");
}

static void extra_stop(mn_fake *f)
{
  for(size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if(extra[i].pid == f->pid)
      extra[i].pid = 0;
  mn_fake_stop(f);
}
static char openai_url[128], ollama_url[128];

static int setup_fake(void **state)
{
  const char *args[] = { "--slots", "16", "--service-ms", "20", NULL };
  if(mn_fake_start(&fake, args) != 0)
    return -1;
  snprintf(openai_url, sizeof openai_url, "%s/v1/chat/completions", fake.url);
  snprintf(ollama_url, sizeof ollama_url, "%s/api/chat", fake.url);
  return 0;
}

static int teardown_fake(void **state)
{
  for(size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    if(extra[i].pid)
      mn_fake_stop(&extra[i]);
  mn_fake_stop(&fake);
  return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void plain_post(void **state)
{
  add_rules(&fake, "[{\"when\":{\"route\":\"openai\",\"contains\":\"case-plain\"},"
                   "\"reply\":\"Plain reply.\"}]");
  char *body = chat_body("case-plain", 0);
  outcome o = { 0 };
  simple(NULL, openai_url, body, &o);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.attempts, 1);
  assert_true(o.elapsed >= o.service && o.service >= 0.015);
  json_t *j = json_loads(o.body, 0, NULL);
  assert_non_null(j);
  json_t *c = json_object_get(json_object_get(json_array_get(
                json_object_get(j, "choices"), 0), "message"), "content");
  assert_string_equal(json_string_value(c), "Plain reply.");
  json_decref(j);
  assert_string_equal(mn_buf_str(&o.events), "");
  outcome_free(&o);
  free(body);
}

static void sse_stream(void **state)
{
  add_rules(&fake, "[{\"when\":{\"route\":\"openai\",\"contains\":\"case-sse\"},"
                   "\"reply\":\"Streaming works, one token at a time.\"}]");
  char *body = chat_body("case-sse", 1);
  mn_http *h = new_http(10000, 10000, 0, 10, 100, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_SSE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.body_len, 0);   /* streamed, not collected */
  char *text = stream_text(&o, 0);
  assert_string_equal(text, "Streaming works, one token at a time.");
  free(text);
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void ndjson_stream(void **state)
{
  add_rules(&fake, "[{\"when\":{\"route\":\"ollama\",\"contains\":\"case-ndjson\"},"
                   "\"reply\":\"Ollama streams lines.\"}]");
  char *body = chat_body("case-ndjson", 1);
  mn_http *h = new_http(10000, 10000, 0, 10, 100, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "ollama", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, ollama_url, body, MN_HTTP_STREAM_NDJSON, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  char *text = stream_text(&o, 1);
  assert_string_equal(text, "Ollama streams lines.");
  free(text);
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void retry_after_429(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-429\"},\"times\":1,"
                   "\"fault\":\"429\",\"retry_after\":1}]");
  char *body = chat_body("case-429", 0);
  /* jittered backoff alone would wait <= 20 ms: the wait comes from the header */
  mn_http *h = new_http(10000, 10000, 3, 20, 5000, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.attempts, 2);
  assert_true(o.elapsed >= 0.95);   /* the header asked for 1 s */
  assert_true(o.service < 0.5);   /* the wait is not service time */
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void retry_after_capped(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-429cap\"},\"times\":1,"
                   "\"fault\":\"429\",\"retry_after\":30}]");
  char *body = chat_body("case-429cap", 0);
  mn_http *h = new_http(10000, 10000, 3, 20, 300, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.attempts, 2);
  assert_true(o.elapsed >= 0.28 && o.elapsed < 20.0);   /* 300 ms cap, not the 30 s asked */
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void retry_500_twice(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-500\"},\"times\":2,\"fault\":\"500\"}]");
  char *body = chat_body("case-500", 0);
  mn_http *h = new_http(10000, 10000, 4, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.attempts, 3);
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void retries_exhausted_503(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-503\"},\"times\":10,\"fault\":\"503\"}]");
  char *body = chat_body("case-503", 0);
  mn_http *h = new_http(10000, 10000, 2, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_EHTTP);
  assert_int_equal(o.status, 503);
  assert_int_equal(o.attempts, 3);
  assert_true(o.body_len > 0);   /* the error body is handed over */
  assert_non_null(strstr(o.error, "HTTP 503 after 3 attempts"));
  assert_non_null(strstr(o.error, "POST http://127.0.0.1:"));
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void reset_then_ok(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-reset\"},\"times\":1,\"fault\":\"reset\"}]");
  char *body = chat_body("case-reset", 0);
  mn_http *h = new_http(10000, 10000, 2, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.attempts, 2);
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void truncate_retried(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-truncA\"},\"times\":1,"
                   "\"fault\":\"truncate\",\"reply\":\"Whole at last.\"},"
                   "{\"when\":{\"contains\":\"case-truncB\"},\"times\":1,"
                   "\"fault\":\"truncate\",\"reply\":\"Whole at last.\"},"
                   "{\"when\":{\"contains\":\"case-trunc\"},\"reply\":\"Whole at last.\"}]");
  /* whole body */
  char *body = chat_body("case-truncA", 0);
  mn_http *h = new_http(10000, 10000, 3, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.attempts, 2);
  json_t *j = json_loads(o.body, 0, NULL);
  assert_non_null(j);
  json_decref(j);
  outcome_free(&o);
  free(body);
  /* a stream: the consumer is told a new attempt starts */
  body = chat_body("case-truncB", 1);
  outcome s = { 0 };
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_SSE, NULL, &s);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(s.code, MN_OK);
  assert_int_equal(s.attempts, 2);
  assert_int_equal(s.attempt_calls, 2);
  char *text = stream_text(&s, 0);
  assert_string_equal(text, "Whole at last.");
  free(text);
  outcome_free(&s);
  mn_http_free(h);
  free(body);
}

static void stall_request_timeout(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-stall\"},\"fault\":\"stall\"}]");
  char *body = chat_body("case-stall", 0);
  mn_http *h = new_http(400, 60000, 1, 10, 20, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  double t0 = mn_now();
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  double t = mn_now() - t0;
  assert_int_equal(o.code, MN_ETIMEOUT);
  assert_int_equal(o.attempts, 2);   /* timeouts are retried */
  assert_true(t >= 0.78 && t < 2.0);
  assert_non_null(strstr(o.error, "request timeout"));
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void stall_mid_idle_timeout(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-midstall\"},\"fault\":\"stall_mid\"}]");
  char *body = chat_body("case-midstall", 1);
  mn_http *h = new_http(30000, 300, 0, 10, 20, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  double t0 = mn_now();
  submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_SSE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  double t = mn_now() - t0;
  assert_int_equal(o.code, MN_ETIMEOUT);
  assert_int_equal(o.attempts, 1);
  assert_true(t >= 0.29);
  assert_true(o.events.len > 0);   /* it stalled after some events */
  assert_non_null(strstr(o.error, "idle timeout"));
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void idle_timeout_retried(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-idleretry\"},\"times\":1,"
                   "\"fault\":\"stall_mid\",\"reply\":\"After the stall, all of it.\"},"
                   "{\"when\":{\"contains\":\"case-idleretry\"},"
                   "\"reply\":\"After the stall, all of it.\"}]");
  char *body = chat_body("case-idleretry", 1);
  mn_http *h = new_http(30000, 300, 2, 10, 20, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "ollama", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, ollama_url, body, MN_HTTP_STREAM_NDJSON, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_int_equal(o.attempts, 2);
  assert_int_equal(o.attempt_calls, 2);
  assert_true(o.elapsed >= 0.29);
  char *text = stream_text(&o, 1);   /* only the second attempt's lines */
  assert_string_equal(text, "After the stall, all of it.");
  free(text);
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void huge_body_limit(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-huge\"},\"fault\":\"huge\"}]");
  long rss0 = maxrss_kb();
  for(int stream = 0; stream < 2; stream++) {
    char *body = chat_body("case-huge", stream);
    mn_http *h = new_http(30000, 30000, 3, 10, 20, 1u << 20);
    mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
    outcome o = { 0 };
    submit(h, ep, NULL, openai_url, body,
           stream ? MN_HTTP_STREAM_SSE : MN_HTTP_STREAM_NONE, NULL, &o);
    assert_int_equal(mn_http_run(h), 0);
    assert_int_equal(o.code, MN_ELIMIT);
    assert_int_equal(o.attempts, 1);   /* not retried */
    assert_non_null(strstr(o.error, "larger than 1048576 bytes"));
    outcome_free(&o);
    mn_http_free(h);
    free(body);
  }
  assert_true(maxrss_kb() - rss0 < 24 * 1024);   /* of a 100 MiB body */
}

static void refused_after_retries(void **state)
{
  char url[160];
  snprintf(url, sizeof url,
           "http://127.0.0.1:%d/v1/chat/completions?key=SECRET-QUERY-KEY",
           closed_port());
  const char *headers[] = { "Authorization: Bearer sk-SECRET-HEADER-KEY",
                            "x-api-key: SECRET-OTHER", NULL };
  mn_http *h = new_http(10000, 10000, 3, 20, 100, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "closed", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, url, "{}", MN_HTTP_STREAM_NONE, headers, &o);
  double t0 = mn_now();
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_ENET);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.attempts, 4);
  assert_true(mn_now() - t0 < 2.0);
  assert_non_null(strstr(o.error, "connection refused after 4 attempts"));
  assert_null(strstr(o.error, "SECRET"));
  assert_null(strstr(o.error, "key="));
  assert_non_null(strstr(o.error, "/v1/chat/completions"));
  outcome_free(&o);
  mn_http_free(h);
}

static void secret_not_in_http_error(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-secret\"},\"fault\":\"500\"}]");
  char url[192];
  snprintf(url, sizeof url, "%s?key=SECRET-QUERY-KEY", openai_url);
  const char *headers[] = { "Authorization: Bearer sk-SECRET-HEADER-KEY", NULL };
  char *body = chat_body("case-secret", 0);
  mn_http *h = new_http(10000, 10000, 1, 5, 10, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o = { 0 };
  submit(h, ep, NULL, url, body, MN_HTTP_STREAM_NONE, headers, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_EHTTP);
  assert_null(strstr(o.error, "SECRET"));
  assert_non_null(strstr(o.error, "HTTP 500"));
  outcome_free(&o);
  mn_http_free(h);
  free(body);
}

static void client_errors_not_retried(void **state)
{
  mn_http *h = new_http(10000, 10000, 4, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  /* a body that is not JSON, and an unknown path; the stream request's
   * error body is collected, not streamed */
  char url404[160];
  snprintf(url404, sizeof url404, "%s/v1/no/such/route", fake.url);
  outcome a = { 0 }, b = { 0 }, c = { 0 };
  submit(h, ep, NULL, openai_url, "this is not json", MN_HTTP_STREAM_NONE, NULL, &a);
  submit(h, ep, NULL, openai_url, "this is not json", MN_HTTP_STREAM_SSE, NULL, &b);
  submit(h, ep, NULL, url404, "{}", MN_HTTP_STREAM_NONE, NULL, &c);
  assert_int_equal(mn_http_run(h), 0);
  outcome *all[] = { &a, &b, &c };
  for(int i = 0; i < 3; i++) {
    assert_int_equal(all[i]->code, MN_EHTTP);
    assert_true(all[i]->status >= 400 && all[i]->status < 500 && all[i]->status != 429);
    assert_int_equal(all[i]->attempts, 1);
    assert_true(all[i]->body_len > 0);
    assert_string_equal(mn_buf_str(&all[i]->events), "");
    outcome_free(all[i]);
  }
  mn_http_free(h);
}

/* Both endpoints' done callbacks note whether the other one had requests
 * in flight at the time: proof that they ran side by side. */
typedef struct pair_ctx {
  mn_http_endpoint *other;
  int overlap;
  int over_cap;
  mn_http_endpoint *self;
  int cap;
  outcome o;
} pair_ctx;

static void pair_done(void *ud, const mn_http_result *res)
{
  pair_ctx *p = ud;
  if(res->code == MN_OK)
    p->o.done++;
  if(mn_http_endpoint_inflight(p->other) > 0)
    p->overlap = 1;
  if(mn_http_endpoint_inflight(p->self) > p->cap)
    p->over_cap = 1;
}

static void endpoint_caps_two_servers(void **state)
{
  /* fresh servers, so their max_* counters show only this test */
  mn_fake fa, fb;
  const char *args_a[] = { "--slots", "16", "--service-ms", "20", NULL };
  const char *args_b[] = { "--slots", "16", "--service-ms", "40", NULL };
  extra_start(&fa, args_a);
  extra_start(&fb, args_b);
  char url_a[128], url_b[128];
  snprintf(url_a, sizeof url_a, "%s/v1/chat/completions", fa.url);
  snprintf(url_b, sizeof url_b, "%s/api/chat", fb.url);
  mn_http *h = new_http(10000, 10000, 0, 10, 50, 0);
  mn_http_endpoint *a = mn_http_endpoint_new(h, "A", 3);
  mn_http_endpoint *b = mn_http_endpoint_new(h, "B", 5);
  pair_ctx pa = { b, 0, 0, a, 3, { 0 } }, pb = { a, 0, 0, b, 5, { 0 } };
  char *body_a = chat_body("case-cap", 0);
  char *body_b = chat_body("case-cap", 0);
  for(int i = 0; i < 30; i++) {
    mn_http_req q;
    memset(&q, 0, sizeof q);
    q.endpoint = a;
    q.url = url_a;
    q.body = body_a;
    q.body_len = strlen(body_a);
    q.on_done = pair_done;
    q.userdata = &pa;
    assert_int_equal(mn_http_submit(h, &q), 0);
    q.endpoint = b;
    q.url = url_b;
    q.body = body_b;
    q.userdata = &pb;
    assert_int_equal(mn_http_submit(h, &q), 0);
  }
  assert_int_equal(mn_http_endpoint_queued(a), 30);
  assert_int_equal(mn_http_endpoint_inflight(a), 0);
  double t0 = mn_now();
  assert_int_equal(mn_http_run(h), 0);
  double t = mn_now() - t0;
  assert_int_equal(pa.o.done, 30);
  assert_int_equal(pb.o.done, 30);
  assert_false(pa.over_cap);
  assert_false(pb.over_cap);
  assert_true(pa.overlap && pb.overlap);
  assert_int_equal(mn_http_endpoint_queued(a), 0);
  assert_int_equal(mn_http_endpoint_inflight(b), 0);
  /* A: 30 x 20 ms / 3 = 0.2 s; B: 30 x 40 ms / 5 = 0.24 s; in series 0.44 s */
  assert_true(t < 0.42);
  assert_int_equal(fake_stat(&fa, "max_serving"), 3);
  assert_int_equal(fake_stat(&fa, "max_concurrent"), 3);
  assert_int_equal(fake_stat(&fb, "max_serving"), 5);
  assert_int_equal(fake_stat(&fb, "max_concurrent"), 5);
  assert_int_equal(fake_stat(&fa, "requests"), 30);
  assert_int_equal(fake_stat(&fb, "requests"), 30);
  mn_http_free(h);
  extra_stop(&fa);
  extra_stop(&fb);
  free(body_a);
  free(body_b);
}

static void fresh_fake_cap(void **state)
{
  /* the shared fake's max_* counters remember earlier tests; a fresh one
   * shows the cap exactly for a single endpoint, with retries in between */
  mn_fake f3;
  const char *args[] = { "--slots", "8", "--service-ms", "30", NULL };
  extra_start(&f3, args);
  add_rules(&f3, "[{\"when\":{\"contains\":\"case-flaky\"},\"times\":5,\"fault\":\"503\"}]");
  char url[128];
  snprintf(url, sizeof url, "%s/v1/chat/completions", f3.url);
  mn_http *h = new_http(10000, 10000, 3, 5, 20, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "f3", 4);
  outcome o[24];
  memset(o, 0, sizeof o);
  char *body = chat_body("case-flaky", 0);
  for(int i = 0; i < 24; i++)
    submit(h, ep, NULL, url, body, MN_HTTP_STREAM_NONE, NULL, &o[i]);
  assert_int_equal(mn_http_run(h), 0);
  int attempts = 0;
  for(int i = 0; i < 24; i++) {
    assert_int_equal(o[i].code, MN_OK);
    attempts += o[i].attempts;
    outcome_free(&o[i]);
  }
  assert_int_equal(attempts, 24 + 5);
  assert_int_equal(fake_stat(&f3, "max_serving"), 4);
  assert_int_equal(fake_stat(&f3, "max_concurrent"), 4);
  mn_http_free(h);
  extra_stop(&f3);
  free(body);
}

typedef struct canceller {
  mn_http *h;
  int delay_ms;
} canceller;

static void *cancel_later(void *arg)
{
  canceller *c = arg;
  sleep_ms(c->delay_ms);
  mn_http_cancel(c->h);
  return NULL;
}

static void cancel_mid_flight(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-cancel\"},\"fault\":\"stall\"}]");
  char *body = chat_body("case-cancel", 1);
  mn_http *h = new_http(60000, 60000, 4, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 2);
  outcome o[5];
  memset(o, 0, sizeof o);
  for(int i = 0; i < 5; i++)   /* 2 in flight, 3 queued */
    submit(h, ep, NULL, openai_url, body, MN_HTTP_STREAM_SSE, NULL, &o[i]);
  canceller c = { h, 200 };
  pthread_t th;
  pthread_create(&th, NULL, cancel_later, &c);
  double t0 = mn_now();
  assert_int_equal(mn_http_run(h), MN_ECANCELLED);
  double t = mn_now() - t0;
  pthread_join(th, NULL);
  assert_true(t >= 0.19 && t < 0.5);
  for(int i = 0; i < 5; i++) {
    assert_int_equal(o[i].done, 1);
    assert_int_equal(o[i].code, MN_ECANCELLED);
    assert_non_null(strstr(o[i].error, "cancelled"));
    outcome_free(&o[i]);
  }
  assert_true(mn_http_cancelled(h));
  outcome late = { 0 };
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = ep;
  q.url = openai_url;
  q.on_done = on_done;
  q.userdata = &late;
  assert_int_equal(mn_http_submit(h, &q), MN_ECANCELLED);
  assert_int_equal(mn_http_run(h), MN_ECANCELLED);
  mn_http_free(h);
  free(body);
}

static void cancel_during_backoff(void **state)
{
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-cbo\"},\"fault\":\"429\",\"retry_after\":30}]");
  char *slow = chat_body("case-cbo", 0);
  char *fast = chat_body("case-cbo-neighbour", 0);
  add_rules(&fake, "[{\"when\":{\"contains\":\"case-cbo-neighbour\"},\"reply\":\"ok\"}]");
  mn_http *h = new_http(60000, 60000, 4, 10, 60000, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "openai", 4);
  outcome a = { 0 }, b = { 0 };
  submit(h, ep, NULL, openai_url, slow, MN_HTTP_STREAM_NONE, NULL, &a);
  canceller c = { h, 400 };
  pthread_t th;
  pthread_create(&th, NULL, cancel_later, &c);
  double t0 = mn_now();
  /* b finishes while a waits out its 30 s Retry-After */
  submit(h, ep, NULL, openai_url, fast, MN_HTTP_STREAM_NONE, NULL, &b);
  assert_int_equal(mn_http_run(h), MN_ECANCELLED);
  double t = mn_now() - t0;
  pthread_join(th, NULL);
  assert_int_equal(b.code, MN_OK);
  assert_true(b.t_done - t0 < 0.3);
  assert_int_equal(a.code, MN_ECANCELLED);
  assert_int_equal(a.attempts, 1);
  assert_true(t >= 0.39 && t < 0.7);
  outcome_free(&a);
  outcome_free(&b);
  mn_http_free(h);
  free(slow);
  free(fast);
}

static mn_http *signal_target;

static void on_alarm(int sig)
{
  (void)sig;
  mn_http_cancel(signal_target);
}

static void cancel_from_signal_handler(void **state)
{
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/x", closed_port());
  /* refused connections in a long backoff */
  mn_http *h = new_http(60000, 60000, 10, 20000, 20000, 0);
  signal_target = h;
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "closed", 1);
  outcome o = { 0 };
  submit(h, ep, "GET", url, NULL, MN_HTTP_STREAM_NONE, NULL, &o);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = { { 0, 0 }, { 0, 300000 } };
  setitimer(ITIMER_REAL, &it, NULL);
  double t0 = mn_now();
  int rc = mn_http_run(h);
  double t = mn_now() - t0;
  signal(SIGALRM, SIG_DFL);
  assert_int_equal(rc, MN_ECANCELLED);
  assert_int_equal(o.code, MN_ECANCELLED);
  assert_true(t < 0.8);
  outcome_free(&o);
  mn_http_free(h);
}

/* A done callback submits the next request: 50 in a row on one slot. */
typedef struct chain {
  mn_http *h;
  mn_http_endpoint *ep;
  const char *url;
  const char *body;
  int left, ok;
} chain;

static void chain_done(void *ud, const mn_http_result *res);

static void chain_next(chain *c)
{
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = c->ep;
  q.url = c->url;
  q.body = c->body;
  q.body_len = strlen(c->body);
  q.on_done = chain_done;
  q.userdata = c;
  assert_int_equal(mn_http_submit(c->h, &q), 0);
}

static void chain_done(void *ud, const mn_http_result *res)
{
  chain *c = ud;
  if(res->code == MN_OK)
    c->ok++;
  if(--c->left > 0)
    chain_next(c);
}

static void submit_from_callback(void **state)
{
  mn_fake f;
  extra_start(&f, NULL);
  char url[128];
  snprintf(url, sizeof url, "%s/v1/chat/completions", f.url);
  char *body = chat_body("case-chain", 0);
  mn_http *h = new_http(10000, 10000, 0, 10, 50, 0);
  chain c = { h, mn_http_endpoint_new(h, "openai", 1), url, body, 50, 0 };
  chain_next(&c);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(c.ok, 50);
  /* one warm connection served all 50 */
  assert_int_equal(mn_http_connects(h), 1);
  assert_int_equal(fake_stat(&f, "requests"), 50);
  assert_true(fake_stat(&f, "connections") <= 2);   /* ours + the stats query's */
  mn_http_free(h);
  extra_stop(&f);
  free(body);
}

/* A socket listening on 127.0.0.1 (with v6: on ::1 only) at a free port;
 * -1 if that cannot be had. */
static int loopback_listener(int backlog, int v6, int *port)
{
  struct sockaddr_in a;
  struct sockaddr_in6 a6;
  memset(&a, 0, sizeof a);
  memset(&a6, 0, sizeof a6);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a6.sin6_family = AF_INET6;
  a6.sin6_addr = in6addr_loopback;
  struct sockaddr *sa = v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a;
  socklen_t len = v6 ? sizeof a6 : sizeof a;
  int fd = socket(sa->sa_family, SOCK_STREAM, 0);
  if(fd < 0 || bind(fd, sa, len) != 0 || listen(fd, backlog) != 0 ||
     getsockname(fd, sa, &len) != 0) {
    if(fd >= 0)
      close(fd);
    return -1;
  }
  *port = ntohs(v6 ? a6.sin6_port : a.sin_port);
  return fd;
}

static struct sockaddr_in loopback_addr(int port)
{
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  return a;
}

static void bad_requests_and_free_pending(void **state)
{
  mn_http *h = new_http(10000, 10000, 0, 10, 50, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "x", 0);
  mn_http *other = new_http(10000, 10000, 0, 10, 50, 0);
  mn_http_endpoint *foreign = mn_http_endpoint_new(other, "y", 1);
  outcome o = { 0 };
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = ep;
  q.url = openai_url;
  q.on_done = on_done;
  q.userdata = &o;
  const char *crlf[] = { "X-A: b\r\nX-Injected: 1", NULL };
  mn_http_req bad[7];
  for(int i = 0; i < 7; i++)
    bad[i] = q;
  bad[0].endpoint = NULL;
  bad[1].url = "file:///etc/passwd";
  bad[2].on_done = NULL;
  bad[3].stream = MN_HTTP_STREAM_SSE;   /* without on_event */
  bad[4].headers = crlf;
  bad[5].method = "GET";
  bad[5].body = "x";
  bad[5].body_len = 1;
  bad[6].endpoint = foreign;
  for(int i = 0; i < 7; i++)
    assert_int_equal(mn_http_submit(h, &bad[i]), MN_EINVAL);
  mn_http_opts bado = MN_HTTP_OPTS_INIT;
  bado.max_retries = -1;
  mn_http *x = (mn_http *)1;
  assert_int_equal(mn_http_new(&x, &bado), MN_EINVAL);
  assert_null(x);
  /* queued requests are dropped by free without callbacks (and no leak:
   * run under valgrind/ASan) */
  for(int i = 0; i < 5; i++)
    assert_int_equal(mn_http_submit(h, &q), 0);
  assert_int_equal(mn_http_endpoint_queued(ep), 5);
  mn_http_free(h);
  mn_http_free(other);
  assert_int_equal(o.done, 0);
  mn_http_free(NULL);
}

/* ---- a raw server, for replies fakellm does not give ----------------------- */

/* One thread accepting on 127.0.0.1 and handing each connection, in turn,
 * to `serve` with its index; the connection is closed when serve returns. */
typedef struct raw_server {
  int lfd;
  int port;
  pthread_t thread;
  void (*serve)(int index, int fd);
  int served;
} raw_server;

static void *raw_accept(void *arg)
{
  raw_server *s = arg;
  for(;;) {
    int fd = accept(s->lfd, NULL, NULL);
    if(fd < 0)
      return NULL;   /* raw_stop() shut the listener */
    s->serve(s->served++, fd);
    close(fd);
  }
}

/* Listens on 127.0.0.1, or with v6 on ::1 only; 0 if it cannot. */
static int raw_listen(raw_server *s, void (*serve)(int, int), int v6)
{
  memset(s, 0, sizeof *s);
  s->serve = serve;
  s->lfd = loopback_listener(8, v6, &s->port);
  if(s->lfd < 0)
    return 0;
  assert_int_equal(pthread_create(&s->thread, NULL, raw_accept, s), 0);
  return 1;
}

static void raw_start(raw_server *s, void (*serve)(int, int))
{
  assert_true(raw_listen(s, serve, 0));
}


static void raw_stop(raw_server *s)
{
  shutdown(s->lfd, SHUT_RDWR);
  pthread_join(s->thread, NULL);
  close(s->lfd);
}

/* Read one request (head and Content-Length body); 0 at the peer's end. */
static int raw_read_request(int fd)
{
  char buf[8192];
  size_t n = 0;
  for(;;) {
    char *end = n ? mn_memmem(buf, n, "\r\n\r\n", 4) : NULL;
    if(end) {
      const char *cl = mn_strcasestr(buf, "\r\ncontent-length:");
      size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
      if(n >= want)
        return 1;
    }
    assert_true(n < sizeof buf - 1);
    ssize_t k = recv(fd, buf + n, sizeof buf - 1 - n, 0);
    if(k <= 0)
      return 0;
    n += (size_t)k;
    buf[n] = '\0';
  }
}

static void raw_send(int fd, const char *s)
{
  /* SIGPIPE is ignored (main), so a closed peer fails here, not kills */
  assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* Connection 0 answers one request and keeps alive, then closes as the
 * second arrives; connection 1 answers. */
static void serve_stale(int index, int fd)
{
  if(!raw_read_request(fd))
    return;
  if(index == 0) {
    raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok1");
    raw_read_request(fd);
    return;
  }
  raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok2");
  while(raw_read_request(fd))
    raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok3");
}

/* A kept-alive connection the server closes as the next request goes out
 * costs no attempt and no backoff: the request goes again on a new one. */
static void stale_connection_resent(void **state)
{
  raw_server s;
  raw_start(&s, serve_stale);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/x", s.port);
  mn_http *h = new_http(5000, 5000, 2, 3000, 3000, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "raw", 1);
  outcome a = { 0 }, b = { 0 };
  submit(h, ep, "POST", url, "{}", MN_HTTP_STREAM_NONE, NULL, &a);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(a.code, MN_OK);
  assert_string_equal(a.body, "ok1");
  submit(h, ep, "POST", url, "{\"second\":1}", MN_HTTP_STREAM_NONE, NULL, &b);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(b.code, MN_OK);
  assert_string_equal(b.body, "ok2");
  assert_int_equal(b.attempts, 1);
  assert_int_equal(mn_http_connects(h), 2);
  mn_http_free(h);
  raw_stop(&s);
  outcome_free(&a);
  outcome_free(&b);
}


/* "localhost" on a server that listens on ::1 only: 127.0.0.1 refuses, and
 * the request goes to ::1 (curl tries both addresses too). */
static void localhost_on_ipv6_only(void **state)
{
  raw_server s;
  if(!raw_listen(&s, serve_stale, 1))
    skip();   /* no IPv6 loopback here */
  char url[96];
  snprintf(url, sizeof url, "http://localhost:%d/v1/x", s.port);
  mn_http *h = new_http(5000, 5000, 0, 10, 10, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "v6", 1);
  outcome a = { 0 };
  submit(h, ep, "POST", url, "{}", MN_HTTP_STREAM_NONE, NULL, &a);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(a.code, MN_OK);
  assert_string_equal(a.body, "ok1");
  assert_int_equal(a.attempts, 1);
  mn_http_free(h);
  raw_stop(&s);
  outcome_free(&a);
}

/* Framings: 100 Continue, then a chunked stream with an extension and a
 * trailer, sent in pieces; then a body that runs to the connection's end;
 * then a reply that is not HTTP. */
static void serve_framings(int index, int fd)
{
  if(!raw_read_request(fd))
    return;
  if(index == 0) {
    raw_send(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    raw_send(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n");
    sleep_ms(5);
    raw_send(fd, "9;ext=1\r\ndata: a\n\n\r\n");
    sleep_ms(5);
    raw_send(fd, "9\r\ndata: b\n\n\r\n0\r\nX-Done: yes\r\n\r\n");
    if(!raw_read_request(fd))
      return;
    raw_send(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end");
    return;   /* closing ends that body */
  }
  raw_send(fd, "HTTP/1.1 2xx Fine\r\n\r\n");
}

static void framings(void **state)
{
  raw_server s;
  raw_start(&s, serve_framings);
  char url[96];
  snprintf(url, sizeof url, "http://localhost:%d/stream", s.port);
  mn_http *h = new_http(5000, 5000, 2, 10, 10, 0);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, "raw", 1);
  outcome a = { 0 }, b = { 0 }, c = { 0 };
  submit(h, ep, "POST", url, "{}", MN_HTTP_STREAM_SSE, NULL, &a);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(a.code, MN_OK);
  assert_string_equal(mn_buf_str(&a.events), "-|a\n-|b\n");
  submit(h, ep, "GET", url, NULL, MN_HTTP_STREAM_NONE, NULL, &b);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(b.code, MN_OK);
  assert_string_equal(b.body, "to the end");
  submit(h, ep, "GET", url, NULL, MN_HTTP_STREAM_NONE, NULL, &c);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(c.code, MN_ENET);
  assert_int_equal(c.attempts, 1);   /* not retried: the server is broken */
  mn_http_free(h);
  raw_stop(&s);
  outcome_free(&a);
  outcome_free(&b);
  outcome_free(&c);
}


/* A request body far larger than the socket takes at once; the server
 * answers with the number of body bytes it read. */
static void serve_count(int index, int fd)
{
  (void)index;
  char head[4096];
  size_t n = 0;
  char *end = NULL;
  while(!end) {
    ssize_t k = recv(fd, head + n, sizeof head - 1 - n, 0);
    if(k <= 0)
      return;
    n += (size_t)k;
    head[n] = '\0';
    end = strstr(head, "\r\n\r\n");
  }
  const char *cl = mn_strcasestr(head, "\r\ncontent-length:");
  size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
  size_t got = n - (size_t)(end + 4 - head);
  char buf[65536];
  while(got < want) {
    ssize_t k = recv(fd, buf, sizeof buf, 0);
    if(k <= 0)
      return;
    got += (size_t)k;
  }
  char reply[128];
  snprintf(reply, sizeof reply, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%zu",
           snprintf(NULL, 0, "%zu", got), got);
  raw_send(fd, reply);
}

static void big_request_body(void **state)
{
  raw_server s;
  raw_start(&s, serve_count);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/upload", s.port);
  size_t n = 8u << 20;
  char *body = malloc(n + 1);
  memset(body, 'x', n);
  body[n] = '\0';
  mn_http *h = new_http(10000, 10000, 0, 10, 10, 0);
  outcome o = { 0 };
  submit(h, mn_http_endpoint_new(h, "raw", 1), "POST", url, body, MN_HTTP_STREAM_NONE, NULL, &o);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(o.code, MN_OK);
  assert_string_equal(o.body, "8388608");
  mn_http_free(h);
  raw_stop(&s);
  outcome_free(&o);
  free(body);
}

/* A listener whose accept queue is full drops new SYNs: a connect then
 * hangs until the connect time limit. */
static void connect_timeout(void **state)
{
  int port;
  int lfd = loopback_listener(0, 0, &port);
  assert_true(lfd >= 0);
  struct sockaddr_in a = loopback_addr(port);
  int fill[3];
  for(int i = 0; i < 3; i++) {   /* never accepted: the queue fills */
    fill[i] = socket(AF_INET, SOCK_STREAM, 0);
    fcntl(fill[i], F_SETFL, fcntl(fill[i], F_GETFL) | O_NONBLOCK);
    connect(fill[i], (struct sockaddr *)&a, sizeof a);
  }
  sleep_ms(20);
  char url[96];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/v1", port);
  mn_http_opts o = MN_HTTP_OPTS_INIT;
  o.connect_timeout_ms = 300;
  o.max_retries = 0;
  mn_http *h = NULL;
  assert_int_equal(mn_http_new(&h, &o), MN_OK);
  outcome out = { 0 };
  submit(h, mn_http_endpoint_new(h, "full", 1), "POST", url, "{}", MN_HTTP_STREAM_NONE, NULL,
         &out);
  assert_int_equal(mn_http_run(h), 0);
  assert_int_equal(out.code, MN_ETIMEOUT);
  assert_non_null(strstr(out.error, "could not connect within 300 ms"));
  assert_true(out.elapsed >= 0.29);
  mn_http_free(h);
  for(int i = 0; i < 3; i++)
    close(fill[i]);
  close(lfd);
  outcome_free(&out);
}

int main(void)
{
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, NULL);   /* raw_send() to a closed peer: EPIPE, not death */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(plain_post),
    cmocka_unit_test(sse_stream),
    cmocka_unit_test(ndjson_stream),
    cmocka_unit_test(retry_after_429),
    cmocka_unit_test(retry_after_capped),
    cmocka_unit_test(retry_500_twice),
    cmocka_unit_test(retries_exhausted_503),
    cmocka_unit_test(reset_then_ok),
    cmocka_unit_test(truncate_retried),
    cmocka_unit_test(stall_request_timeout),
    cmocka_unit_test(stall_mid_idle_timeout),
    cmocka_unit_test(idle_timeout_retried),
    cmocka_unit_test(huge_body_limit),
    cmocka_unit_test(refused_after_retries),
    cmocka_unit_test(secret_not_in_http_error),
    cmocka_unit_test(client_errors_not_retried),
    cmocka_unit_test(endpoint_caps_two_servers),
    cmocka_unit_test(fresh_fake_cap),
    cmocka_unit_test(cancel_mid_flight),
    cmocka_unit_test(cancel_during_backoff),
    cmocka_unit_test(cancel_from_signal_handler),
    cmocka_unit_test(submit_from_callback),
    cmocka_unit_test(bad_requests_and_free_pending),
    cmocka_unit_test(stale_connection_resent),
    cmocka_unit_test(framings),
    cmocka_unit_test(localhost_on_ipv6_only),
    cmocka_unit_test(big_request_body),
    cmocka_unit_test(connect_timeout),
  };
  int rc = cmocka_run_group_tests(tests, setup_fake, teardown_fake);
  curl_global_cleanup();
  return rc;
}
