/* Chat clients against the fake LLM server: every provider plain and
 * streamed (what the server received, what we parsed), the parse retry,
 * errors without keys, reply caps, and two base URLs of unequal speed. */
#include <curl/curl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "minions.h"
#include "llm/client_internal.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/time.h"

#define KEY "sk-test-0123456789abcdefSECRET"
#define WRONG_KEY "sk-wrong-9876543210zyxwvuSECRET"

#define SCHEMA "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":[\"string\",\"null\"]}}," \
               "\"required\":[\"answer\"],\"additionalProperties\":false}"

/* ---- tiny HTTP client for the fake's control routes ----------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
  mn_buf *b = ud;
  mn_buf_append(b, p, sz * n);
  return sz * n;
}

static char *http(const char *method, const char *url, const char *body)
{
  CURL *e = curl_easy_init();
  mn_buf b = MN_BUF_INIT(0);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  if(body)
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
  CURLcode cc = curl_easy_perform(e);
  curl_easy_cleanup(e);
  if(cc != CURLE_OK)
    fail_msg("%s %s: %s", method, url, curl_easy_strerror(cc));
  return mn_buf_steal(&b, NULL);
}

static json_t *fake_json(const mn_fake *f, const char *path)
{
  char url[256];
  snprintf(url, sizeof url, "%s%s", f->url, path);
  char *s = http("GET", url, NULL);
  json_t *v = mn_json_loadb(s, strlen(s), NULL);
  free(s);
  assert_non_null(v);
  return v;
}

static json_t *last_record(const mn_fake *f)
{
  json_t *arr = fake_json(f, "/_fake/requests?last=1");
  assert_int_equal(json_array_size(arr), 1);
  json_t *r = json_incref(json_array_get(arr, 0));
  json_decref(arr);
  return r;
}

static long fake_requests(const mn_fake *f)
{
  json_t *s = fake_json(f, "/_fake/stats");
  long n = (long)json_integer_value(json_object_get(s, "requests"));
  json_decref(s);
  return n;
}

static long fake_max_concurrent(const mn_fake *f)
{
  json_t *s = fake_json(f, "/_fake/stats");
  long n = (long)json_integer_value(json_object_get(s, "max_serving"));
  json_decref(s);
  return n;
}

static void fake_rules(const mn_fake *f, const char *rules)
{
  char url[256];
  snprintf(url, sizeof url, "%s/_fake/reset", f->url);
  free(http("POST", url, "{}"));
  if(rules) {
    snprintf(url, sizeof url, "%s/_fake/rules", f->url);
    char *r = http("POST", url, rules);
    if(!strstr(r, "\"ok\""))
      fail_msg("rules refused: %s", r);
    free(r);
  }
}

/* Fakes started by the current test; teardown stops them even when an
 * assertion failed half-way. */
static mn_fake started[4];
static size_t n_started;

static void start_fake_args(mn_fake *f, const char *const *args)
{
  assert_true(n_started < 4);
  assert_int_equal(mn_fake_start(f, args), 0);
  started[n_started++] = *f;
}

static int stop_fakes(void **state)
{
  for(size_t i = 0; i < n_started; i++)
    mn_fake_stop(&started[i]);
  n_started = 0;
  return 0;
}

static void start_fake(mn_fake *f, const char *const *extra)
{
  const char *args[16];
  size_t n = 0;
  args[n++] = "--require-key";
  args[n++] = KEY;
  for(size_t i = 0; extra && extra[i]; i++)
    args[n++] = extra[i];
  args[n] = NULL;
  start_fake_args(f, args);
}

static void set_keys(const char *key)
{
  static const char *const vars[] = {
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "TOGETHER_API_KEY",
    "GROQ_API_KEY", "DEEPSEEK_API_KEY", "MISTRAL_API_KEY", "OPENROUTER_API_KEY",
    "OPENAI_COMPATIBLE_API_KEY", NULL
  };
  for(int i = 0; vars[i]; i++)
    setenv(vars[i], key, 1);
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OLLAMA_HOST");
  unsetenv("ANTHROPIC_BASE_URL");
  unsetenv("OPENAI_COMPATIBLE_BASE_URL");
}

/* A transport with short backoffs, which mn_llm_opts does not offer */
static mn_llm *new_llm(int retries)
{
  mn_http_opts o = MN_HTTP_OPTS_INIT;
  o.max_retries = retries;
  o.backoff_base_ms = 10;
  o.backoff_max_ms = 50;
  o.request_timeout_ms = 20000;
  mn_llm *l = calloc(1, sizeof *l);
  assert_non_null(l);
  assert_int_equal(mn_http_new(&l->http, &o), 0);
  return l;
}

static mn_client *new_client(mn_llm *h, const char *spec, const char *url,
                             int stream, size_t max_reply)
{
  mn_client_opts o = MN_CLIENT_OPTS_INIT;
  o.stream = stream;
  if(max_reply)
    o.max_reply_bytes = max_reply;
  const char *urls[1] = { url };
  mn_client *c = NULL;
  char *err = NULL;
  int rc = mn_client_new(&c, h, spec, url ? urls : NULL, url ? 1 : 0, &o, &err);
  if(rc)
    fail_msg("client %s: %s", spec, err);
  return c;
}

static const mn_llm_msg MSGS[] = {
  { "system", "You answer briefly." },
  { "user", "What is the capital of France?" },
};

static mn_llm_req req_of(const char *schema)
{
  mn_llm_req r;
  memset(&r, 0, sizeof r);
  r.msgs = MSGS;
  r.n_msgs = 2;
  r.temperature = 0.0;
  r.max_tokens = 64;
  r.json_schema = schema;
  r.schema_name = schema ? "job_output" : NULL;
  return r;
}

static const char *hdr(json_t *rec, const char *name)
{
  return mn_json_path_str(json_object_get(rec, "headers"), name);
}

/* ---- every provider, plain and streamed ------------------------------------ */

typedef struct pcase {
  const char *spec;
  const char *path;       /* what the fake must see */
  int schema;
} pcase;

static void providers_plain_and_streamed(void **state)
{
  mn_fake f;
  set_keys(KEY);
  start_fake(&f, NULL);
  /* Anthropic with a schema is prefilled with "{": script the continuation
   * the way Claude would send it */
  fake_rules(&f,
    "{\"rules\":["
    "{\"when\":{\"route\":\"anthropic\",\"model\":\"claude-3-5-sonnet-20241022\"},"
    " \"reply\":\"\\\"answer\\\": \\\"Paris\\\"}\","
    " \"usage\":{\"prompt\":100,\"completion\":7,\"cached\":40}},"
    "{\"when\":{\"json\":true},\"reply\":\"{\\\"answer\\\": \\\"Paris\\\"}\","
    " \"usage\":{\"prompt\":100,\"completion\":7,\"cached\":40}},"
    "{\"reply\":\"Paris is the capital.\",\"usage\":{\"prompt\":100,\"completion\":7,\"cached\":40}}]}");

  static const pcase cases[] = {
    { "openai:gpt-4o", "/v1/chat/completions", 1 },
    { "openai:gpt-4o-mini", "/v1/chat/completions", 0 },
    { "groq:llama-3.3-70b-versatile", "/v1/chat/completions", 1 },
    { "together:meta-llama/Llama-3.3-70B-Instruct-Turbo", "/v1/chat/completions", 0 },
    { "deepseek:deepseek-chat", "/v1/chat/completions", 1 },
    { "openrouter:openai/gpt-4o", "/v1/chat/completions", 0 },
    { "mistral:mistral-small-latest", "/v1/chat/completions", 0 },
    { "openai-compatible:qwen2.5-7b", "/v1/chat/completions", 1 },
    { "ollama:llama3.2:3b", "/api/chat", 1 },
    { "ollama:llama3.2:3b", "/api/chat", 0 },
    { "anthropic:claude-3-5-sonnet-20241022", "/v1/messages", 1 },
    { "anthropic:claude-sonnet-4-5", "/v1/messages", 0 },
    { "gemini:gemini-2.5-flash", "/v1beta/models/gemini-2.5-flash:generateContent", 1 },
    { "gemini:gemini-2.0-flash", "/v1beta/models/gemini-2.0-flash:generateContent", 0 },
  };
  mn_llm *h = new_llm(0);
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const pcase *pc = &cases[i];
    for(int stream = 0; stream < 2; stream++) {
      mn_client *c = new_client(h, pc->spec, f.url, stream, 0);
      mn_llm_req req = req_of(pc->schema ? SCHEMA : NULL);
      mn_llm_result res;
      int rc = mn_client_chat(c, &req, &res);
      if(rc)
        fail_msg("%s stream=%d: %s", pc->spec, stream, res.error);
      const char *prov = mn_client_provider(c);
      int is_ollama = strcmp(prov, "ollama") == 0;
      int is_anth = strcmp(prov, "anthropic") == 0;
      int is_gem = strcmp(prov, "gemini") == 0;
      int is_oai = !is_ollama && !is_anth && !is_gem;

      /* what we parsed */
      if(pc->schema) {
        if(strcmp(res.text, "{\"answer\": \"Paris\"}") != 0)
          fail_msg("%s stream=%d: text [%s]", pc->spec, stream, res.text);
      }
      else
        assert_string_equal(res.text, "Paris is the capital.");
      assert_int_equal(res.text_len, strlen(res.text));
      assert_string_equal(res.finish_reason, "stop");
      /* Mistral and Together send stream usage unasked (the fake, like
       * OpenAI, only when asked): not asked, none came, reported unknown */
      int unasked = is_oai && stream && (strncmp(pc->spec, "mistral:", 8) == 0 ||
                                         strncmp(pc->spec, "together:", 9) == 0);
      assert_int_equal(res.usage.prompt_tokens, unasked ? 0 : 100);
      assert_int_equal(res.usage.completion_tokens, unasked ? 0 : 7);
      assert_int_equal(res.usage.cached_prompt_tokens, is_ollama || unasked ? 0 : 40);
      assert_int_equal(res.usage.calls, 1);
      assert_int_equal(res.usage.unreported_calls, unasked);
      assert_int_equal(res.http_status, 200);
      assert_int_equal(res.attempts, 1);
      assert_null(res.error);
      assert_true(res.elapsed_s >= res.service_s && res.service_s > 0);

      /* what the server received */
      json_t *rec = last_record(&f);
      const char *path = mn_json_str(rec, "path");
      if(is_gem && stream) {
        char want[200];
        snprintf(want, sizeof want, "%.*s:streamGenerateContent",
                 (int)(strlen(pc->path) - strlen(":generateContent")), pc->path);
        assert_string_equal(path, want);
        assert_string_equal(mn_json_str(rec, "query"), "alt=sse");
      }
      else
        assert_string_equal(path, pc->path);
      json_t *body = json_object_get(rec, "body");
      assert_true(json_is_object(body));
      if(is_oai) {
        assert_string_equal(hdr(rec, "authorization"), "Bearer [redacted]");
        assert_string_equal(mn_json_str(body, "model"), strchr(pc->spec, ':') + 1);
        assert_int_equal(json_is_true(json_object_get(body, "stream")), stream);
        if(stream && !unasked)
          assert_true(json_is_true(mn_json_path(body, "stream_options.include_usage")));
        else
          assert_null(json_object_get(body, "stream_options"));   /* Mistral: HTTP 422 */
        const char *rf = mn_json_path_str(body, "response_format.type");
        int only_object = strncmp(pc->spec, "groq:", 5) == 0 ||
                          strncmp(pc->spec, "deepseek:", 9) == 0;
        if(pc->schema)
          assert_string_equal(rf, only_object ? "json_object" : "json_schema");
        else
          assert_null(rf);
        if(pc->schema && !only_object) {
          assert_string_equal(mn_json_path_str(body, "response_format.json_schema.name"), "job_output");
          assert_true(json_is_true(mn_json_path(body, "response_format.json_schema.strict")));
        }
        assert_int_equal(mn_json_path_u64(body, strncmp(pc->spec, "openai:", 7) == 0
                                                ? "max_completion_tokens" : "max_tokens"), 64);
        assert_string_equal(mn_json_path_str(body, "messages.0.role"), "system");
      }
      else if(is_ollama) {
        assert_null(hdr(rec, "authorization"));
        assert_int_equal(json_is_true(json_object_get(body, "stream")), stream);
        assert_non_null(json_object_get(body, "stream"));   /* sent both ways */
        assert_int_equal(mn_json_path_u64(body, "options.num_ctx"), 4096);
        assert_int_equal(mn_json_path_u64(body, "options.num_predict"), 64);
        if(pc->schema)
          assert_string_equal(mn_json_path_str(body, "format.properties.answer.type.0"), "string");
        else
          assert_null(json_object_get(body, "format"));
      }
      else if(is_anth) {
        assert_string_equal(hdr(rec, "x-api-key"), "[redacted]");
        assert_string_equal(hdr(rec, "anthropic-version"), "2023-06-01");
        assert_int_equal(mn_json_path_u64(body, "max_tokens"), 64);
        assert_non_null(strstr(mn_json_str(body, "system"), "You answer briefly."));
        assert_string_equal(mn_json_path_str(body, "messages.0.role"), "user");
        const char *last_role = pc->schema ? "assistant" : "user";
        assert_string_equal(mn_json_path_str(body, pc->schema ? "messages.1.role"
                                                              : "messages.0.role"), last_role);
        assert_int_equal(json_is_true(json_object_get(body, "stream")), stream);
      }
      else {
        assert_string_equal(hdr(rec, "x-goog-api-key"), "[redacted]");
        assert_null(strstr(mn_json_str(rec, "query"), "key="));
        assert_string_equal(mn_json_path_str(body, "systemInstruction.parts.0.text"),
                            "You answer briefly.");
        assert_string_equal(mn_json_path_str(body, "contents.0.role"), "user");
        assert_int_equal(mn_json_path_u64(body, "generationConfig.maxOutputTokens"), 64);
        if(pc->schema) {
          assert_string_equal(mn_json_path_str(body, "generationConfig.responseMimeType"),
                              "application/json");
          assert_string_equal(mn_json_path_str(body, "generationConfig.responseJsonSchema.type"),
                              "object");
        }
      }
      json_decref(rec);
      mn_llm_result_free(&res);
      mn_client_free(c);
    }
  }
  mn_llm_free(h);
}

/* ---- retries of unparseable replies ---------------------------------------- */

static void parse_retry(void **state)
{
  mn_fake f;
  set_keys(KEY);
  start_fake(&f, NULL);
  mn_llm *h = new_llm(0);
  for(int stream = 0; stream < 2; stream++) {
    for(int wire = 0; wire < 2; wire++) {
      const char *spec = wire ? "anthropic:claude-3-haiku-20240307" : "openai:gpt-4o";
      /* once invalid, then fine: one client retry */
      fake_rules(&f, "[{\"fault\":\"invalid_json\",\"times\":1},{\"reply\":\"fine\"}]");
      mn_client *c = new_client(h, spec, f.url, stream, 0);
      mn_llm_req req = req_of(NULL);
      mn_llm_result res;
      int rc = mn_client_chat(c, &req, &res);
      if(rc)
        fail_msg("%s stream=%d: %s", spec, stream, res.error);
      assert_string_equal(res.text, "fine");
      assert_int_equal(res.attempts, 2);
      assert_int_equal(fake_requests(&f), 2);
      mn_llm_result_free(&res);

      /* always invalid: MN_EPARSE after two tries */
      fake_rules(&f, "[{\"fault\":\"invalid_json\"}]");
      rc = mn_client_chat(c, &req, &res);
      assert_int_equal(rc, MN_EPARSE);
      assert_int_equal(res.code, MN_EPARSE);
      assert_int_equal(res.attempts, 2);
      assert_int_equal(fake_requests(&f), 2);
      assert_non_null(res.error);
      assert_non_null(strstr(res.error, wire ? "anthropic" : "openai"));
      assert_null(strchr(res.error, '\n'));
      assert_null(res.text);
      mn_llm_result_free(&res);
      mn_client_free(c);
    }
  }
  /* a stream cut off mid-reply is retried (by the transport, as the
   * connection breaks) */
  mn_llm_free(h);
  h = new_llm(1);
  fake_rules(&f, "[{\"fault\":\"truncate\",\"times\":1},{\"reply\":\"whole\"}]");
  mn_client *c = new_client(h, "ollama:llama3.2", f.url, 1, 0);
  mn_llm_req req = req_of(NULL);
  mn_llm_result res;
  assert_int_equal(mn_client_chat(c, &req, &res), MN_OK);
  assert_string_equal(res.text, "whole");
  assert_true(res.attempts >= 2);
  mn_llm_result_free(&res);
  mn_client_free(c);
  mn_llm_free(h);
}

/* ---- errors ---------------------------------------------------------------------- */

static void auth_errors_never_show_the_key(void **state)
{
  mn_fake f;
  start_fake(&f, NULL);
  set_keys(WRONG_KEY);
  mn_llm *h = new_llm(2);
  static const char *const specs[] = {
    "openai:gpt-4o", "anthropic:claude-3-haiku-20240307", "gemini:gemini-2.5-flash",
    "together:x/y"
  };
  static const char *const msgs[] = {
    "Incorrect API key provided", "invalid x-api-key", "API key not valid", "Incorrect API key"
  };
  for(size_t i = 0; i < 4; i++) {
    for(int stream = 0; stream < 2; stream++) {
      mn_client *c = new_client(h, specs[i], f.url, stream, 0);
      mn_llm_req req = req_of(NULL);
      mn_llm_result res;
      assert_int_equal(mn_client_chat(c, &req, &res), MN_EAUTH);
      assert_int_equal(res.http_status, 401);
      assert_int_equal(res.attempts, 1);   /* 401 is not retried */
      if(!strstr(res.error, msgs[i]) || !strstr(res.error, "HTTP 401"))
        fail_msg("%s: error [%s]", specs[i], res.error);
      assert_null(strstr(res.error, WRONG_KEY));
      assert_null(strstr(res.error, "SECRET"));
      assert_null(strchr(res.error, '\n'));
      mn_llm_result_free(&res);
      mn_client_free(c);
    }
  }
  mn_llm_free(h);

  /* a required key that is unset */
  unsetenv("ANTHROPIC_API_KEY");
  mn_client *c = NULL;
  char *err = NULL;
  h = new_llm(0);
  assert_int_equal(mn_client_new(&c, h, "anthropic:claude-3-haiku-20240307", NULL, 0,
                                 NULL, &err), MN_EAUTH);
  assert_null(c);
  assert_non_null(strstr(err, "no API key: export ANTHROPIC_API_KEY="));
  free(err);
  /* optional ones may be unset */
  unsetenv("OPENAI_COMPATIBLE_API_KEY");
  assert_int_equal(mn_client_new(&c, h, "openai-compatible:m", NULL, 0, NULL, &err), MN_OK);
  assert_string_equal(mn_client_url(c, 0), "http://127.0.0.1:8080/v1");
  assert_null(mn_client_url(c, 1));
  assert_string_equal(mn_client_model(c), "m");
  mn_client_free(c);
  /* bad specs and URLs */
  const char *bad_url[1] = { "127.0.0.1:8080" };
  assert_int_equal(mn_client_new(&c, h, "ollama:x", bad_url, 1, NULL, &err), MN_EINVAL);
  assert_non_null(strstr(err, "http://"));
  free(err);
  assert_int_equal(mn_client_new(&c, h, "nope:x", NULL, 0, NULL, &err), MN_EUNSUPPORTED);
  free(err);
  mn_llm_free(h);
}

static void http_errors_and_caps(void **state)
{
  mn_fake f;
  set_keys(KEY);
  start_fake(&f, NULL);
  mn_llm *h = new_llm(1);
  /* a provider error message comes through, retried 5xx counts attempts */
  fake_rules(&f, "[{\"fault\":500}]");
  mn_client *c = new_client(h, "openai:gpt-4o", f.url, 0, 0);
  mn_llm_req req = req_of(NULL);
  mn_llm_result res;
  assert_int_equal(mn_client_chat(c, &req, &res), MN_EHTTP);
  assert_int_equal(res.http_status, 500);
  assert_int_equal(res.attempts, 2);
  assert_non_null(strstr(res.error, "openai: HTTP 500"));
  assert_non_null(strstr(res.error, "after 2 attempts"));
  mn_llm_result_free(&res);
  mn_client_free(c);

  /* the reply text cap, plain and streamed */
  fake_rules(&f, "[{\"reply\":\"a reply longer than twenty bytes\"}]");
  for(int stream = 0; stream < 2; stream++) {
    c = new_client(h, "ollama:llama3.2", f.url, stream, 20);
    assert_int_equal(mn_client_chat(c, &req, &res), MN_ELIMIT);
    assert_non_null(strstr(res.error, "longer than 20 bytes"));
    assert_int_equal(res.attempts, 1);
    mn_llm_result_free(&res);
    mn_client_free(c);
  }

  /* a malformed request is refused before sending */
  c = new_client(h, "openai:gpt-4o", f.url, 0, 0);
  mn_llm_msg bad[] = { { "robot", "x" } };
  req.msgs = bad;
  req.n_msgs = 1;
  long before = fake_requests(&f);
  assert_int_equal(mn_client_chat(c, &req, &res), MN_EINVAL);
  assert_non_null(strstr(res.error, "role 'robot'"));
  assert_non_null(strstr(mn_client_errmsg(c), "role 'robot'"));
  assert_int_equal(fake_requests(&f), before);
  mn_llm_result_free(&res);
  mn_client_free(c);
  mn_llm_free(h);
}

/* A reply cut at the token limit reads "length" on every wire. */
static void finish_length_every_wire(void **state)
{
  mn_fake f;
  set_keys(KEY);
  start_fake(&f, NULL);
  fake_rules(&f, "[{\"reply\":\"cut sho\",\"finish_reason\":\"length\","
                 "\"usage\":{\"prompt\":11,\"completion\":3}}]");
  static const char *const specs[] = {
    "openai:gpt-4o", "ollama:llama3.2", "anthropic:claude-3-haiku-20240307",
    "gemini:gemini-2.0-flash"
  };
  mn_llm *h = new_llm(0);
  for(size_t i = 0; i < 4; i++) {
    for(int stream = 0; stream < 2; stream++) {
      mn_client *c = new_client(h, specs[i], f.url, stream, 0);
      mn_llm_req req = req_of(NULL);
      mn_llm_result res;
      if(mn_client_chat(c, &req, &res))
        fail_msg("%s: %s", specs[i], res.error);
      assert_string_equal(res.text, "cut sho");
      assert_string_equal(res.finish_reason, "length");
      assert_int_equal(res.usage.prompt_tokens, 11);
      assert_int_equal(res.usage.completion_tokens, 3);
      assert_int_equal(res.usage.cached_prompt_tokens, 0);
      mn_llm_result_free(&res);
      mn_client_free(c);
    }
  }
  mn_llm_free(h);
}

/* ---- two base URLs, one slow ------------------------------------------------- */

typedef struct tally {
  int done, ok;
  mn_llm_req req;
} tally;

static const mn_llm_req *same_request(void *ud, size_t i, int attempt)
{
  return &((tally *)ud)->req;
}

static int count_done(void *ud, size_t i, int attempt, mn_llm_result *res)
{
  tally *t = ud;
  t->done++;
  if(res->code == MN_OK && strcmp(res->text, "OK") == 0)
    t->ok++;
  return 0;
}

static void two_urls_fast_gets_more(void **state)
{
  mn_fake slow, fast;
  set_keys(KEY);
  const char *slow_args[] = { "--slots", "2", "--service-ms", "300", NULL };
  const char *fast_args[] = { "--slots", "2", "--service-ms", "20", NULL };
  start_fake_args(&slow, slow_args);
  start_fake_args(&fast, fast_args);
  mn_llm *h = new_llm(0);
  mn_client_opts o = MN_CLIENT_OPTS_INIT;
  o.stream = 0;
  o.max_inflight = 2;
  const char *urls[2] = { slow.url, fast.url };
  mn_client *c = NULL;
  char *err = NULL;
  assert_int_equal(mn_client_new(&c, h, "ollama:llama3.2", urls, 2, &o, &err), MN_OK);
  assert_string_equal(mn_client_url(c, 0), slow.url);
  assert_string_equal(mn_client_url(c, 1), fast.url);
  const int N = 60;
  tally t = { 0, 0, req_of(NULL) };
  mn_llm_batch b = { .n = N, .build = same_request, .done = count_done, .userdata = &t };
  double t0 = mn_now();
  assert_int_equal(mn_client_batch(c, &b), MN_OK);
  double took = mn_now() - t0;
  assert_int_equal(t.done, N);
  assert_int_equal(t.ok, N);
  long ns = fake_requests(&slow), nf = fake_requests(&fast);
  assert_int_equal(ns + nf, N);
  /* the slow one serves ~2 per 300 ms; the fast one takes the rest */
  print_message("two URLs: slow served %ld, fast %ld, %d requests in %.2f s\n",
                ns, nf, N, took);
  assert_true(nf > 2 * ns);   /* by far more; the margin absorbs a loaded machine */
  assert_true(fake_max_concurrent(&slow) <= 2);
  assert_true(fake_max_concurrent(&fast) <= 2);
  mn_client_free(c);
  mn_llm_free(h);
}


/* Groups: a chunk's chats one after another, each on the slot its group
 * just used, so a server's per-slot prefix cache finds the chunk. */
typedef struct grouped {
  char prompt[4096];
  mn_llm_msg msg;
  mn_llm_req req;
  int done;
} grouped;

static const mn_llm_req *group_request(void *ud, size_t i, int attempt)
{
  grouped *g = ud;
  /* task by task, as remote programs write them: chat i reads group i % 4's
   * long text, then its own instruction i / 4 */
  int len = snprintf(g->prompt, sizeof g->prompt, "<excerpt>group %zu: ", i % 4);
  while(len < 3000)
    len += snprintf(g->prompt + len, sizeof g->prompt - (size_t)len, "text of group %zu. ", i % 4);
  snprintf(g->prompt + len, sizeof g->prompt - (size_t)len, "</excerpt> instruction %zu", i / 4);
  g->msg = (mn_llm_msg){ "user", g->prompt };
  g->req = (mn_llm_req){ .msgs = &g->msg, .n_msgs = 1, .temperature = 0, .max_tokens = 16 };
  return &g->req;
}

static int group_done(void *ud, size_t i, int attempt, mn_llm_result *res)
{
  assert_int_equal(res->code, MN_OK);
  ((grouped *)ud)->done++;
  return 0;
}

static double cache_share(const mn_fake *f)
{
  json_t *s = fake_json(f, "/_fake/stats");
  double share = json_number_value(json_object_get(s, "cached_tokens")) /
                 json_number_value(json_object_get(s, "prompt_tokens"));
  json_decref(s);
  return share;
}

static void grouped_batches_hit_the_prefix_cache(void **state)
{
  set_keys(KEY);
  for(int use_groups = 1; use_groups >= 0; use_groups--) {
    mn_fake f;
    const char *args[] = { "--slots", "2", "--prefill-tps", "50000", "--prefix-cache", "slot", NULL };
    start_fake_args(&f, args);
    mn_llm *h = new_llm(0);
    mn_client_opts o = MN_CLIENT_OPTS_INIT;
    o.stream = 0;
    o.max_inflight = 2;
    mn_client *c = NULL;
    char *err = NULL;
    const char *url = f.url;
    assert_int_equal(mn_client_new(&c, h, "openai-compatible:fake", &url, 1, &o, &err), MN_OK);
    enum { N = 12 };   /* 4 groups of 3, in the program's order: task by task */
    int group[N];
    for(size_t i = 0; i < N; i++)
      group[i] = (int)(i % 4);
    grouped g = { .done = 0 };
    mn_llm_batch b = { .n = N, .build = group_request, .done = group_done, .userdata = &g,
                       .group = use_groups ? group : NULL };
    assert_int_equal(mn_client_batch(c, &b), MN_OK);
    assert_int_equal(g.done, N);
    double share = cache_share(&f);
    if(use_groups) {
      /* at the tail a group may run two chats at once, to keep a slot busy */
      print_message("grouped: %.0f%% of prompt tokens from the slot caches\n", 100 * share);
      assert_true(share > 0.4);   /* up to 8 of 12 chats find their chunk */
    } else {
      print_message("program order: %.0f%% from the slot caches\n", 100 * share);
      assert_true(share < 0.2);   /* the chunk is always on the other slot or gone */
    }
    mn_client_free(c);
    mn_llm_free(h);
    stop_fakes(NULL);
  }
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown(providers_plain_and_streamed, stop_fakes),
    cmocka_unit_test_teardown(parse_retry, stop_fakes),
    cmocka_unit_test_teardown(auth_errors_never_show_the_key, stop_fakes),
    cmocka_unit_test_teardown(http_errors_and_caps, stop_fakes),
    cmocka_unit_test_teardown(finish_length_every_wire, stop_fakes),
    cmocka_unit_test_teardown(two_urls_fast_gets_more, stop_fakes),
    cmocka_unit_test_teardown(grouped_batches_hit_the_prefix_cache, stop_fakes),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
