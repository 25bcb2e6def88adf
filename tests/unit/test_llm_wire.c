/* Pure tests of the wire formats: specs, URLs, exact request bytes and
 * headers for every provider, parsing of whole and streamed replies, error
 * bodies. No server involved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "llm/wire.h"
#include "util/json.h"
#include "util/utf8.h"

#define SCHEMA "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":[\"string\",\"null\"]}}," \
               "\"required\":[\"answer\"],\"additionalProperties\":false}"

static const mn_llm_msg MSGS[] = {
  { "system", "You are terse." },
  { "user", "Question?" },
  { "assistant", "Earlier answer." },
  { "user", "And now?" },
};

static mn_llm_req base_req(void)
{
  mn_llm_req r;
  memset(&r, 0, sizeof r);
  r.msgs = MSGS;
  r.n_msgs = 4;
  r.temperature = 0.0;
  r.max_tokens = 100;
  return r;
}

static mn_wire_req build(const char *prov, const char *model, const char *key,
                         const mn_llm_req *req, int stream)
{
  mn_wire_target t = { mn_provider_find(prov), model, key };
  assert_non_null(t.prov);
  mn_wire_req w;
  char *err = NULL;
  int rc = mn_wire_build(&t, req, stream, &w, &err);
  if(rc)
    fail_msg("build failed: %s", err);
  return w;
}

static void expect_body(const mn_wire_req *w, const char *want)
{
  if(strcmp(w->body, want) != 0)
    fail_msg("body\n got  %s\n want %s", w->body, want);
  assert_int_equal(w->body_len, strlen(want));
}

static int has_header(const mn_wire_req *w, const char *h)
{
  for(size_t i = 0; w->headers[i]; i++) {
    if(strcmp(w->headers[i], h) == 0)
      return 1;
  }
  return 0;
}

static size_t n_headers(const mn_wire_req *w)
{
  size_t n = 0;
  while(w->headers[n])
    n++;
  return n;
}

/* ---- specs and URLs ------------------------------------------------------- */

static void spec_parsing(void **state)
{
  const mn_provider *p;
  char *model, *err;
  assert_int_equal(mn_spec_parse("ollama:llama3.2:3b", &p, &model, &err), MN_OK);
  assert_string_equal(p->name, "ollama");
  assert_string_equal(model, "llama3.2:3b");
  free(model);
  assert_int_equal(mn_spec_parse("together:meta-llama/Llama-3.3-70B-Instruct-Turbo",
                                 &p, &model, &err), MN_OK);
  assert_int_equal(p->wire, MN_WIRE_OPENAI);
  assert_string_equal(model, "meta-llama/Llama-3.3-70B-Instruct-Turbo");
  free(model);

  static const struct { const char *spec; int code; const char *part; } bad[] = {
    { "", MN_EINVAL, "empty model spec" },
    { "gpt-4o", MN_EINVAL, "lacks a provider" },
    { ":gpt-4o", MN_EINVAL, "both a provider and a model" },
    { "openai:", MN_EINVAL, "both a provider and a model" },
    { "openai:gpt 4o", MN_EINVAL, "space" },
    { "acme:model", MN_EUNSUPPORTED, "unknown provider 'acme'" },
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err = NULL;
    assert_int_equal(mn_spec_parse(bad[i].spec, &p, &model, &err), bad[i].code);
    assert_null(model);
    if(!strstr(err, bad[i].part))
      fail_msg("spec '%s': error [%s] lacks [%s]", bad[i].spec, err, bad[i].part);
    free(err);
  }
  /* the unknown-provider message lists the known ones */
  mn_spec_parse("acme:x", &p, &model, &err);
  assert_non_null(strstr(err, "openai-compatible"));
  assert_non_null(strstr(err, "gemini"));
  free(err);

  const mn_provider *const *all = mn_provider_all();
  size_t n = 0;
  while(all[n])
    n++;
  assert_int_equal(n, 11);
}

static void expect_url(const char *prov, const char *given, const char *want)
{
  char *out = NULL, *err = NULL;
  int rc = mn_base_url(mn_provider_find(prov), given, &out, &err);
  if(rc)
    fail_msg("%s %s: %s", prov, given ? given : "(env)", err);
  if(strcmp(out, want) != 0)
    fail_msg("%s %s: got %s want %s", prov, given ? given : "(env)", out, want);
  free(out);
}

static void expect_bad_url(const char *prov, const char *given)
{
  char *out = NULL, *err = NULL;
  assert_int_equal(mn_base_url(mn_provider_find(prov), given, &out, &err), MN_EINVAL);
  assert_null(out);
  assert_non_null(strstr(err, prov));
  free(err);
}

static void base_urls(void **state)
{
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OLLAMA_HOST");
  unsetenv("ANTHROPIC_BASE_URL");
  expect_url("openai", NULL, "https://api.openai.com/v1");
  expect_url("groq", NULL, "https://api.groq.com/openai/v1");
  expect_url("deepseek", NULL, "https://api.deepseek.com/v1");
  expect_url("ollama", NULL, "http://127.0.0.1:11434");
  expect_url("gemini", NULL, "https://generativelanguage.googleapis.com");
  /* bare host overrides get /v1 on the OpenAI family only */
  expect_url("openai-compatible", "http://127.0.0.1:8080", "http://127.0.0.1:8080/v1");
  expect_url("openai-compatible", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1");
  expect_url("openai", "https://proxy.example/openai/v1/", "https://proxy.example/openai/v1");
  expect_url("openai-compatible", "HTTP://h:9/x", "HTTP://h:9/x");
  expect_url("ollama", "http://127.0.0.1:11434/", "http://127.0.0.1:11434");
  expect_url("anthropic", "http://127.0.0.1:9000/v1", "http://127.0.0.1:9000");
  expect_url("gemini", "http://127.0.0.1:9000/v1beta/", "http://127.0.0.1:9000");
  expect_bad_url("openai", "ftp://example.com");
  expect_bad_url("openai", "localhost:8080");
  expect_bad_url("ollama", "127.0.0.1:11434");   /* overrides need a scheme */
  expect_bad_url("openai", "http://");
  expect_bad_url("openai", "http://h/a b");
  expect_bad_url("openai", "http://h/v1?key=x");

  /* variables */
  setenv("OPENAI_BASE_URL", "http://10.1.2.3:8000", 1);
  expect_url("openai", NULL, "http://10.1.2.3:8000/v1");
  expect_url("openai", "http://over:1/v1", "http://over:1/v1");   /* override wins */
  setenv("OPENAI_BASE_URL", "", 1);
  expect_url("openai", NULL, "https://api.openai.com/v1");
  unsetenv("OPENAI_BASE_URL");

  static const struct { const char *env, *want; } oh[] = {
    { "0.0.0.0", "http://127.0.0.1:11434" },
    { "0.0.0.0:9999", "http://127.0.0.1:9999" },
    { "gpubox", "http://gpubox:11434" },
    { "gpubox:1234", "http://gpubox:1234" },
    { "http://gpubox:11434/", "http://gpubox:11434" },
    { "https://ollama.example.com", "https://ollama.example.com" },
    { "http://0.0.0.0:5000", "http://127.0.0.1:5000" },
    { "[::1]:7000", "http://[::1]:7000" },
    { "::1", "http://[::1]:11434" },
  };
  for(size_t i = 0; i < sizeof oh / sizeof oh[0]; i++) {
    setenv("OLLAMA_HOST", oh[i].env, 1);
    expect_url("ollama", NULL, oh[i].want);
  }
  unsetenv("OLLAMA_HOST");
  setenv("ANTHROPIC_BASE_URL", "ftp://nope", 1);
  char *out, *err;
  assert_int_equal(mn_base_url(mn_provider_find("anthropic"), NULL, &out, &err), MN_EINVAL);
  assert_non_null(strstr(err, "ANTHROPIC_BASE_URL"));
  free(err);
  unsetenv("ANTHROPIC_BASE_URL");
}

static void request_urls(void **state)
{
  char *u;
  u = mn_wire_url(mn_provider_find("openai"), "gpt-4o", "https://api.openai.com/v1", 1);
  assert_string_equal(u, "https://api.openai.com/v1/chat/completions");
  free(u);
  u = mn_wire_url(mn_provider_find("ollama"), "llama3.2", "http://127.0.0.1:11434", 0);
  assert_string_equal(u, "http://127.0.0.1:11434/api/chat");
  free(u);
  u = mn_wire_url(mn_provider_find("anthropic"), "claude-x", "https://api.anthropic.com", 1);
  assert_string_equal(u, "https://api.anthropic.com/v1/messages");
  free(u);
  u = mn_wire_url(mn_provider_find("gemini"), "gemini-2.5-flash", "https://g", 0);
  assert_string_equal(u, "https://g/v1beta/models/gemini-2.5-flash:generateContent");
  free(u);
  u = mn_wire_url(mn_provider_find("gemini"), "models/gemini 2?", "https://g", 1);
  assert_string_equal(u, "https://g/v1beta/models/gemini%202%3F:streamGenerateContent?alt=sse");
  free(u);

  /* Azure: the deployment in the path, the dated API version in the query */
  const mn_provider *az = mn_provider_find("azure");
  unsetenv("AZURE_OPENAI_API_VERSION");
  u = mn_wire_url(az, "my gpt", "https://res.openai.azure.com", 1);
  assert_string_equal(u, "https://res.openai.azure.com/openai/deployments/my%20gpt/chat/completions"
                         "?api-version=2024-10-21");
  free(u);
  setenv("AZURE_OPENAI_API_VERSION", "2025-04-01-preview", 1);
  u = mn_wire_url(az, "d", "https://r", 0);
  assert_string_equal(u, "https://r/openai/deployments/d/chat/completions?api-version=2025-04-01-preview");
  free(u);
  setenv("AZURE_OPENAI_API_VERSION", "x&key=1", 1);   /* not a version word: the default */
  u = mn_wire_url(az, "d", "https://r", 0);
  assert_string_equal(u, "https://r/openai/deployments/d/chat/completions?api-version=2024-10-21");
  free(u);
  unsetenv("AZURE_OPENAI_API_VERSION");
  char *base = NULL, *err = NULL;
  unsetenv("AZURE_OPENAI_ENDPOINT");
  assert_int_equal(mn_base_url(az, NULL, &base, &err), MN_EINVAL);
  assert_string_equal(err, "azure needs its endpoint: set AZURE_OPENAI_ENDPOINT "
                           "(https://RESOURCE.openai.azure.com) or give the URL");
  free(err);
  setenv("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/openai/", 1);
  assert_int_equal(mn_base_url(az, NULL, &base, &err), MN_OK);
  assert_string_equal(base, "https://res.openai.azure.com");
  free(base);
  unsetenv("AZURE_OPENAI_ENDPOINT");
}

/* ---- request bodies ------------------------------------------------------- */

static void openai_requests(void **state)
{
  mn_llm_req r = base_req();
  r.json_schema = SCHEMA;
  r.schema_name = "job_output";
  mn_wire_req w = build("openai", "gpt-4o", "sk-test123", &r, 1);
  expect_body(&w,
    "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
    "{\"role\":\"user\",\"content\":\"Question?\"},{\"role\":\"assistant\",\"content\":"
    "\"Earlier answer.\"},{\"role\":\"user\",\"content\":\"And now?\"}],\"temperature\":0.0,"
    "\"max_completion_tokens\":100,\"stream\":true,\"stream_options\":{\"include_usage\":true},"
    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"job_output\","
    "\"schema\":" SCHEMA ",\"strict\":true}}}");
  assert_true(has_header(&w, "Content-Type: application/json"));
  assert_true(has_header(&w, "Authorization: Bearer sk-test123"));
  assert_true(has_header(&w, "Accept: text/event-stream"));
  assert_int_equal(n_headers(&w), 3);
  assert_int_equal(w.prefill, 0);
  mn_wire_req_free(&w);

  /* reasoning models: no temperature; not streamed: no stream fields */
  r = base_req();
  r.n_msgs = 2;
  r.temperature = 0.2;
  r.json_object = 1;
  w = build("openai", "o3-mini", "k", &r, 0);
  expect_body(&w,
    "{\"model\":\"o3-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
    "{\"role\":\"user\",\"content\":\"Question?\"}],\"max_completion_tokens\":100,"
    "\"response_format\":{\"type\":\"json_object\"}}");
  mn_wire_req_free(&w);

  /* groq and deepseek get json_object even with a schema; others max_tokens */
  r = base_req();
  r.n_msgs = 2;
  r.json_schema = SCHEMA;
  r.temperature = 0.7;
  r.max_tokens = 0;
  w = build("groq", "llama-3.3-70b-versatile", "gsk_x", &r, 0);
  expect_body(&w,
    "{\"model\":\"llama-3.3-70b-versatile\",\"messages\":[{\"role\":\"system\",\"content\":"
    "\"You are terse.\"},{\"role\":\"user\",\"content\":\"Question?\"}],\"temperature\":0.7,"
    "\"response_format\":{\"type\":\"json_object\"}}");
  mn_wire_req_free(&w);
  r.max_tokens = 64;
  r.temperature = -1;
  w = build("deepseek", "deepseek-chat", "k", &r, 0);
  assert_non_null(strstr(w.body, "\"max_tokens\":64,\"response_format\":{\"type\":\"json_object\"}"));
  assert_null(strstr(w.body, "temperature"));
  mn_wire_req_free(&w);
  w = build("together", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "k", &r, 0);
  assert_non_null(strstr(w.body, "\"max_tokens\":64,\"response_format\":{\"type\":\"json_schema\""));
  assert_non_null(strstr(w.body, "\"name\":\"response\""));
  mn_wire_req_free(&w);

  /* openai-compatible without a key: no Authorization header */
  r = base_req();
  w = build("openai-compatible", "qwen", NULL, &r, 0);
  assert_int_equal(n_headers(&w), 1);
  mn_wire_req_free(&w);

  /* invalid UTF-8 in a message is repaired, not dropped */
  mn_llm_msg bad[] = { { "user", "caf\xE9!" } };
  r = base_req();
  r.msgs = bad;
  r.n_msgs = 1;
  w = build("openai-compatible", "m", NULL, &r, 0);
  assert_non_null(strstr(w.body, "\"content\":\"caf\xEF\xBF\xBD!\""));
  mn_wire_req_free(&w);
}

static void ollama_requests(void **state)
{
  mn_llm_req r = base_req();
  r.n_msgs = 2;
  r.json_schema = SCHEMA;
  r.max_tokens = 50;
  mn_wire_req w = build("ollama", "llama3.2:3b", NULL, &r, 0);
  expect_body(&w,
    "{\"model\":\"llama3.2:3b\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
    "{\"role\":\"user\",\"content\":\"Question?\"}],\"stream\":false,\"format\":" SCHEMA ","
    "\"options\":{\"temperature\":0.0,\"num_predict\":50,\"num_ctx\":4096}}");
  assert_int_equal(n_headers(&w), 1);
  mn_wire_req_free(&w);

  r.json_schema = NULL;
  r.json_object = 1;
  r.num_ctx = 8192;
  r.temperature = -1;
  w = build("ollama", "qwen2.5", NULL, &r, 1);
  assert_non_null(strstr(w.body, "\"stream\":true,\"format\":\"json\",\"options\":{"
                                 "\"num_predict\":50,\"num_ctx\":8192}}"));
  assert_false(has_header(&w, "Accept: text/event-stream"));
  mn_wire_req_free(&w);

  /* num_ctx sized from the prompt: 30000 bytes -> 10000 + 50 + 512 -> 11264 */
  char *big = malloc(30001);
  memset(big, 'x', 30000);
  big[30000] = '\0';
  mn_llm_msg m[] = { { "user", big } };
  r = base_req();
  r.msgs = m;
  r.n_msgs = 1;
  r.max_tokens = 50;
  assert_int_equal(mn_ollama_num_ctx(&r), 11264);
  w = build("ollama", "x", NULL, &r, 0);
  assert_non_null(strstr(w.body, "\"num_ctx\":11264"));
  mn_wire_req_free(&w);
  r.max_tokens = 0;   /* 10000 + 2048 + 512 -> 13312 */
  assert_int_equal(mn_ollama_num_ctx(&r), 13312);
  free(big);
  /* at most 131072 */
  char *huge = malloc(1000001);
  memset(huge, 'y', 1000000);
  huge[1000000] = '\0';
  m[0].content = huge;
  assert_int_equal(mn_ollama_num_ctx(&r), 131072);
  free(huge);
}

static void anthropic_requests(void **state)
{
  mn_llm_req r = base_req();
  r.json_schema = SCHEMA;
  r.max_tokens = 0;
  r.temperature = 1.5;
  mn_wire_req w = build("anthropic", "claude-3-5-sonnet-20241022", "sk-ant-xyz", &r, 1);
  expect_body(&w,
    "{\"model\":\"claude-3-5-sonnet-20241022\",\"max_tokens\":4096,\"system\":\"You are terse.\\n\\n"
    "Reply with a single JSON object and nothing else. It must follow this JSON schema:\\n"
    "{\\\"type\\\":\\\"object\\\",\\\"properties\\\":{\\\"answer\\\":{\\\"type\\\":[\\\"string\\\","
    "\\\"null\\\"]}},\\\"required\\\":[\\\"answer\\\"],\\\"additionalProperties\\\":false}\","
    "\"messages\":[{\"role\":\"user\",\"content\":\"Question?\"},{\"role\":\"assistant\","
    "\"content\":\"Earlier answer.\"},{\"role\":\"user\",\"content\":\"And now?\"},"
    "{\"role\":\"assistant\",\"content\":\"{\"}],\"temperature\":1.0,\"stream\":true}");
  assert_int_equal(w.prefill, 1);
  assert_true(has_header(&w, "x-api-key: sk-ant-xyz"));
  assert_true(has_header(&w, "anthropic-version: 2023-06-01"));
  assert_true(has_header(&w, "Content-Type: application/json"));
  assert_false(has_header(&w, "Authorization: Bearer sk-ant-xyz"));
  mn_wire_req_free(&w);

  /* models that refuse prefill get only the instruction */
  r = base_req();
  r.json_object = 1;
  w = build("anthropic", "claude-sonnet-4-5-20250929", "k", &r, 0);
  assert_int_equal(w.prefill, 0);
  assert_non_null(strstr(w.body, "\"system\":\"You are terse.\\n\\nReply with a single JSON object and nothing else.\""));
  assert_non_null(strstr(w.body, "{\"role\":\"user\",\"content\":\"And now?\"}],\"temperature\":0.0}"));
  assert_null(strstr(w.body, "\"stream\""));
  mn_wire_req_free(&w);
  assert_true(mn_anthropic_prefill_ok("claude-3-7-sonnet-latest"));
  assert_true(mn_anthropic_prefill_ok("claude-opus-4-1-20250805"));
  assert_false(mn_anthropic_prefill_ok("claude-opus-4-6"));
  assert_false(mn_anthropic_prefill_ok("claude-haiku-4-5"));

  /* plain chat: no system field when there is no system message */
  mn_llm_msg one[] = { { "user", "hi" } };
  r = base_req();
  r.msgs = one;
  r.n_msgs = 1;
  w = build("anthropic", "claude-3-haiku-20240307", "k", &r, 0);
  expect_body(&w, "{\"model\":\"claude-3-haiku-20240307\",\"max_tokens\":100,\"messages\":"
                  "[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.0}");
  mn_wire_req_free(&w);
}

static void gemini_requests(void **state)
{
  mn_llm_req r = base_req();
  r.json_schema = SCHEMA;
  mn_wire_req w = build("gemini", "gemini-2.5-flash", "AIzaSyTEST", &r, 1);
  expect_body(&w,
    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Question?\"}]},{\"role\":\"model\","
    "\"parts\":[{\"text\":\"Earlier answer.\"}]},{\"role\":\"user\",\"parts\":[{\"text\":"
    "\"And now?\"}]}],\"systemInstruction\":{\"parts\":[{\"text\":\"You are terse.\"}]},"
    "\"generationConfig\":{\"temperature\":0.0,\"maxOutputTokens\":100,\"responseMimeType\":"
    "\"application/json\",\"responseJsonSchema\":" SCHEMA "}}");
  assert_true(has_header(&w, "x-goog-api-key: AIzaSyTEST"));
  assert_null(strstr(w.body, "AIzaSyTEST"));
  mn_wire_req_free(&w);

  mn_llm_msg one[] = { { "user", "hi" } };
  r = base_req();
  r.msgs = one;
  r.n_msgs = 1;
  r.temperature = -1;
  r.max_tokens = 0;
  w = build("gemini", "gemini-2.0-flash", "k", &r, 0);
  expect_body(&w, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}");
  mn_wire_req_free(&w);
  r.json_object = 1;
  w = build("gemini", "gemini-2.0-flash", "k", &r, 0);
  assert_non_null(strstr(w.body, "\"generationConfig\":{\"responseMimeType\":\"application/json\"}"));
  mn_wire_req_free(&w);
}

static void bad_requests(void **state)
{
  mn_wire_target t = { mn_provider_find("openai"), "gpt-4o", "k" };
  mn_wire_req w;
  char *err = NULL;
  mn_llm_req r = base_req();
  r.n_msgs = 0;
  assert_int_equal(mn_wire_build(&t, &r, 0, &w, &err), MN_EINVAL);
  assert_non_null(strstr(err, "no messages"));
  free(err);
  mn_llm_msg bad[] = { { "tool", "x" } };
  r = base_req();
  r.msgs = bad;
  r.n_msgs = 1;
  assert_int_equal(mn_wire_build(&t, &r, 0, &w, &err), MN_EINVAL);
  assert_non_null(strstr(err, "role 'tool'"));
  free(err);
  r = base_req();
  r.json_schema = "{not json";
  assert_int_equal(mn_wire_build(&t, &r, 0, &w, &err), MN_EINVAL);
  assert_non_null(strstr(err, "json_schema"));
  free(err);
}

/* ---- replies -------------------------------------------------------------- */

static void feed(mn_reply *r, const char *event, const char *data)
{
  int rc = mn_reply_stream_event(r, event, data, strlen(data));
  if(rc)
    fail_msg("event [%s] failed: %s", data, r->error);
}

static void openai_replies(void **state)
{
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_OPENAI, 0, 1 << 20);
  const char *body =
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hello \\u00e9\"},\"finish_reason\":\"length\"}],"
    "\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":30,\"total_tokens\":1230,"
    "\"prompt_tokens_details\":{\"cached_tokens\":1024}}}";
  assert_int_equal(mn_reply_parse_body(&r, body, strlen(body)), MN_OK);
  assert_string_equal(r.text.data, "Hello \xC3\xA9");
  assert_string_equal(r.finish, "length");
  assert_int_equal(r.usage.prompt_tokens, 1200);
  assert_int_equal(r.usage.completion_tokens, 30);
  assert_int_equal(r.usage.cached_prompt_tokens, 1024);

  /* streamed: deltas, finish, a usage-only chunk, [DONE] */
  mn_reply_reset(&r);
  feed(&r, NULL, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}");
  feed(&r, NULL, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}");
  feed(&r, NULL, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}");
  feed(&r, NULL, "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
  feed(&r, NULL, "{\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"prompt_cache_hit_tokens\":4}}");
  assert_int_equal(r.complete, 0);
  feed(&r, NULL, "[DONE]");
  assert_int_equal(mn_reply_stream_end(&r), MN_OK);
  assert_string_equal(r.text.data, "Hello");
  assert_string_equal(r.finish, "stop");
  assert_int_equal(r.usage.prompt_tokens, 9);
  assert_int_equal(r.usage.completion_tokens, 2);
  assert_int_equal(r.usage.cached_prompt_tokens, 4);

  /* cut off mid-stream */
  mn_reply_reset(&r);
  feed(&r, NULL, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}");
  assert_int_equal(mn_reply_stream_end(&r), MN_EPARSE);
  assert_non_null(strstr(r.error, "before the reply was complete"));

  /* an error object inside the stream */
  mn_reply_reset(&r);
  const char *e = "{\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\"}}";
  assert_int_equal(mn_reply_stream_event(&r, NULL, e, strlen(e)), MN_EHTTP);
  assert_non_null(strstr(r.error, "The server had an error"));

  /* not JSON at all */
  mn_reply_reset(&r);
  assert_int_equal(mn_reply_parse_body(&r, "<html>", 6), MN_EPARSE);
  mn_reply_reset(&r);
  assert_int_equal(mn_reply_parse_body(&r, "{\"object\":\"x\"}", 14), MN_EPARSE);
  assert_non_null(strstr(r.error, "no choices"));

  /* content as an array of parts, null content */
  mn_reply_reset(&r);
  const char *parts = "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                      "{\"type\":\"image\"},{\"type\":\"text\",\"text\":\"b\"}]},\"finish_reason\":\"stop\"}]}";
  assert_int_equal(mn_reply_parse_body(&r, parts, strlen(parts)), MN_OK);
  assert_string_equal(r.text.data, "ab");
  mn_reply_reset(&r);
  /* withheld by the content filter, or refused: an error, never "" */
  const char *nul = "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"content_filter\"}]}";
  assert_int_equal(mn_reply_parse_body(&r, nul, strlen(nul)), MN_EREFUSED);
  assert_string_equal(r.error, "the provider's content filter stopped the reply: "
                               "finish_reason content_filter");
  mn_reply_reset(&r);
  const char *refusal = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                        "\"content\":null,\"refusal\":\"I'm sorry,\\nI can't help with that.\"},"
                        "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4}}";
  assert_int_equal(mn_reply_parse_body(&r, refusal, strlen(refusal)), MN_EREFUSED);
  assert_string_equal(r.error, "the model refused: I'm sorry, I can't help with that.");
  assert_int_equal(r.usage.prompt_tokens, 9);   /* billed all the same */
  mn_reply_free(&r);
}

static void ollama_replies(void **state)
{
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_OLLAMA, 0, 1 << 20);
  const char *body =
    "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":{\"role\":"
    "\"assistant\",\"content\":\"{\\\"answer\\\": \\\"x\\\"}\"},\"done_reason\":\"stop\","
    "\"done\":true,\"total_duration\":5,\"prompt_eval_count\":321,\"eval_count\":12}";
  assert_int_equal(mn_reply_parse_body(&r, body, strlen(body)), MN_OK);
  assert_string_equal(r.text.data, "{\"answer\": \"x\"}");
  assert_string_equal(r.finish, "stop");
  assert_int_equal(r.usage.prompt_tokens, 321);
  assert_int_equal(r.usage.completion_tokens, 12);

  mn_reply_reset(&r);
  feed(&r, NULL, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The \"},\"done\":false}");
  feed(&r, NULL, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"end\"},\"done\":false}");
  assert_int_equal(mn_reply_stream_end(&r), MN_EPARSE);   /* no done line yet */
  mn_reply_reset(&r);
  feed(&r, NULL, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The \"},\"done\":false}");
  feed(&r, NULL, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"end\"},\"done\":false}");
  feed(&r, NULL, "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
                 "\"done_reason\":\"length\",\"prompt_eval_count\":40,\"eval_count\":2}");
  assert_int_equal(mn_reply_stream_end(&r), MN_OK);
  assert_string_equal(r.text.data, "The end");
  assert_string_equal(r.finish, "length");
  assert_int_equal(r.usage.prompt_tokens, 40);
  assert_int_equal(r.usage.completion_tokens, 2);

  mn_reply_reset(&r);
  const char *e = "{\"error\":\"model 'nope' not found\"}";
  assert_int_equal(mn_reply_stream_event(&r, NULL, e, strlen(e)), MN_EHTTP);
  assert_non_null(strstr(r.error, "model 'nope' not found"));
  mn_reply_free(&r);
}

static void anthropic_replies(void **state)
{
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_ANTHROPIC, 0, 1 << 20);
  const char *body =
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
    "\"text\":\"Hi \"},{\"type\":\"tool_use\",\"id\":\"t\"},{\"type\":\"text\",\"text\":\"there\"}],"
    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":100,\"cache_creation_input_tokens\":20,"
    "\"cache_read_input_tokens\":300,\"output_tokens\":15}}";
  assert_int_equal(mn_reply_parse_body(&r, body, strlen(body)), MN_OK);
  assert_string_equal(r.text.data, "Hi there");
  assert_string_equal(r.finish, "stop");
  assert_int_equal(r.usage.prompt_tokens, 420);
  assert_int_equal(r.usage.cached_prompt_tokens, 300);
  assert_int_equal(r.usage.completion_tokens, 15);
  mn_reply_free(&r);

  /* streamed, with the prefilled "{" re-attached */
  mn_reply_init(&r, MN_WIRE_ANTHROPIC, 1, 1 << 20);
  feed(&r, "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\","
       "\"role\":\"assistant\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":100,"
       "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":50,\"output_tokens\":1}}}");
  feed(&r, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
  feed(&r, "ping", "{\"type\":\"ping\"}");
  feed(&r, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\\"a\\\": \"}}");
  feed(&r, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"1}\"}}");
  feed(&r, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
  feed(&r, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}");
  assert_int_equal(mn_reply_stream_end(&r), MN_EPARSE);   /* message_stop missing */
  mn_reply_reset(&r);
  assert_string_equal(r.text.data, "{");
  feed(&r, "message_start", "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":100,"
       "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":50,\"output_tokens\":1}}}");
  feed(&r, "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"\\\"a\\\": 1}\"}}");
  feed(&r, "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":7}}");
  feed(&r, "message_stop", "{\"type\":\"message_stop\"}");
  assert_int_equal(mn_reply_stream_end(&r), MN_OK);
  assert_string_equal(r.text.data, "{\"a\": 1}");
  assert_string_equal(r.finish, "length");
  assert_int_equal(r.usage.prompt_tokens, 160);
  assert_int_equal(r.usage.cached_prompt_tokens, 50);
  assert_int_equal(r.usage.completion_tokens, 7);

  mn_reply_reset(&r);
  const char *e = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
  assert_int_equal(mn_reply_stream_event(&r, "error", e, strlen(e)), MN_EHTTP);
  assert_non_null(strstr(r.error, "Overloaded"));
  mn_reply_free(&r);
}

static void gemini_replies(void **state)
{
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_GEMINI, 0, 1 << 20);
  const char *body =
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"thinking...\",\"thought\":true},"
    "{\"text\":\"Paris\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":500,\"cachedContentTokenCount\":200,"
    "\"candidatesTokenCount\":3,\"thoughtsTokenCount\":40,\"totalTokenCount\":543}}";
  assert_int_equal(mn_reply_parse_body(&r, body, strlen(body)), MN_OK);
  assert_string_equal(r.text.data, "Paris");
  assert_string_equal(r.finish, "stop");
  assert_int_equal(r.usage.prompt_tokens, 500);
  assert_int_equal(r.usage.cached_prompt_tokens, 200);
  assert_int_equal(r.usage.completion_tokens, 43);

  mn_reply_reset(&r);
  feed(&r, NULL, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Par\"}],\"role\":\"model\"}}],"
                 "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":1}}");
  assert_int_equal(mn_reply_stream_end(&r), MN_EPARSE);
  mn_reply_reset(&r);
  feed(&r, NULL, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Par\"}],\"role\":\"model\"}}],"
                 "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":1}}");
  feed(&r, NULL, "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"is\"}],\"role\":\"model\"},"
                 "\"finishReason\":\"MAX_TOKENS\"}],\"usageMetadata\":{\"promptTokenCount\":10,"
                 "\"candidatesTokenCount\":2,\"totalTokenCount\":12}}");
  assert_int_equal(mn_reply_stream_end(&r), MN_OK);
  assert_string_equal(r.text.data, "Paris");
  assert_string_equal(r.finish, "length");
  assert_int_equal(r.usage.prompt_tokens, 10);
  assert_int_equal(r.usage.completion_tokens, 2);

  /* a refused prompt: no candidates, blockReason */
  mn_reply_reset(&r);
  const char *blocked = "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},\"usageMetadata\":{\"promptTokenCount\":5}}";
  assert_int_equal(mn_reply_parse_body(&r, blocked, strlen(blocked)), MN_EREFUSED);
  assert_string_equal(r.error, "the provider blocked the prompt: blockReason SAFETY");
  mn_reply_reset(&r);
  const char *safety = "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0,"
                       "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\","
                       "\"probability\":\"HIGH\"}]}],\"usageMetadata\":{\"promptTokenCount\":5}}";
  assert_int_equal(mn_reply_parse_body(&r, safety, strlen(safety)), MN_EREFUSED);
  assert_string_equal(r.error, "the provider blocked the reply: finishReason SAFETY");
  mn_reply_reset(&r);
  assert_int_equal(mn_reply_parse_body(&r, "{}", 2), MN_EPARSE);
  mn_reply_free(&r);
}

static void reply_caps_and_utf8(void **state)
{
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_OLLAMA, 0, 10);
  feed(&r, NULL, "{\"message\":{\"content\":\"12345\"},\"done\":false}");
  const char *more = "{\"message\":{\"content\":\"678901\"},\"done\":false}";
  assert_int_equal(mn_reply_stream_event(&r, NULL, more, strlen(more)), MN_ELIMIT);
  assert_non_null(strstr(r.error, "longer than 10 bytes"));
  /* after a failure further events are ignored */
  assert_int_equal(mn_reply_stream_event(&r, NULL, more, strlen(more)), MN_ELIMIT);
  mn_reply_free(&r);

  /* raw invalid UTF-8 inside a JSON string: repaired, never passed on */
  mn_reply_init(&r, MN_WIRE_OLLAMA, 0, 100);
  feed(&r, NULL, "{\"message\":{\"content\":\"a\xFF\xFE" "b\"},\"done\":true}");
  assert_string_equal(r.text.data, "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  assert_true(mn_utf8_valid(r.text.data, r.text.len));
  mn_reply_free(&r);
}

static void error_texts(void **state)
{
  static const struct { const char *body, *want; } cases[] = {
    { "{\"error\":{\"message\":\"Incorrect API key provided.\",\"type\":\"invalid_request_error\","
      "\"code\":\"invalid_api_key\"}}", "Incorrect API key provided." },
    { "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}",
      "invalid x-api-key" },
    { "[{\"error\":{\"code\":400,\"message\":\"API key not valid.\",\"status\":\"INVALID_ARGUMENT\"}}]",
      "API key not valid." },
    { "{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}",
      "model \"x\" not found, try pulling it first" },
    { "{\"object\":\"error\",\"message\":\"max_tokens too large\",\"type\":\"BadRequestError\"}",
      "max_tokens too large" },
    { "{\"detail\":\"Not Found\"}", "Not Found" },
    { "<html>\n<body>\r\n502   Bad\tGateway</body>\n</html>\n",
      "<html> <body> 502 Bad Gateway</body> </html>" },
    { "{\"error\":{\"message\":\"line one\\nline two\"}}", "line one line two" },
  };
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *t = mn_wire_error_text(cases[i].body, strlen(cases[i].body));
    if(!t || strcmp(t, cases[i].want) != 0)
      fail_msg("case %zu: got [%s] want [%s]", i, t ? t : "(null)", cases[i].want);
    free(t);
  }
  assert_null(mn_wire_error_text("", 0));
  assert_null(mn_wire_error_text(" \n ", 3));
  char big[2000];
  memset(big, 'z', sizeof big);
  char *t = mn_wire_error_text(big, sizeof big);
  assert_true(strlen(t) <= 310);
  free(t);
}

static void scrubbing(void **state)
{
  char m1[] = "HTTP 401: Incorrect API key provided: sk-proj-abcdefghijkl1234. key sk-proj-abcdefghijkl1234!";
  mn_scrub_secret(m1, "sk-proj-abcdefghijkl1234");
  assert_string_equal(m1, "HTTP 401: Incorrect API key provided: ***. key ***!");
  char m2[] = "bad key sk-ab**********wxyz and AIzaSyA1234567890abcdef here, task-x stays";
  mn_scrub_secret(m2, "unrelated-secret");
  assert_string_equal(m2, "bad key *** and *** here, task-x stays");
  char m3[] = "nothing secret";
  mn_scrub_secret(m3, NULL);
  assert_string_equal(m3, "nothing secret");
}

static void finish_reasons(void **state)
{
  static const struct { mn_wire w; const char *in, *out; } f[] = {
    { MN_WIRE_ANTHROPIC, "end_turn", "stop" }, { MN_WIRE_ANTHROPIC, "stop_sequence", "stop" },
    { MN_WIRE_ANTHROPIC, "max_tokens", "length" }, { MN_WIRE_ANTHROPIC, "tool_use", "tool_calls" },
    { MN_WIRE_GEMINI, "STOP", "stop" }, { MN_WIRE_GEMINI, "MAX_TOKENS", "length" },
    { MN_WIRE_GEMINI, "SAFETY", "content_filter" }, { MN_WIRE_GEMINI, "OTHER", "other" },
    { MN_WIRE_OPENAI, "length", "length" }, { MN_WIRE_OLLAMA, "stop", "stop" },
  };
  for(size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    char *s = mn_finish_normalise(f[i].w, f[i].in);
    assert_string_equal(s, f[i].out);
    free(s);
  }
  assert_null(mn_finish_normalise(MN_WIRE_OPENAI, NULL));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(spec_parsing),
    cmocka_unit_test(base_urls),
    cmocka_unit_test(request_urls),
    cmocka_unit_test(openai_requests),
    cmocka_unit_test(ollama_requests),
    cmocka_unit_test(anthropic_requests),
    cmocka_unit_test(gemini_requests),
    cmocka_unit_test(bad_requests),
    cmocka_unit_test(openai_replies),
    cmocka_unit_test(ollama_replies),
    cmocka_unit_test(anthropic_replies),
    cmocka_unit_test(gemini_replies),
    cmocka_unit_test(reply_caps_and_utf8),
    cmocka_unit_test(error_texts),
    cmocka_unit_test(scrubbing),
    cmocka_unit_test(finish_reasons),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
