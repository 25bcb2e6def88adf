/* Request bodies and headers for each wire format. */
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"
#include "util/json.h"
#include "util/utf8.h"
#include "util/mem.h"

#define ANTHROPIC_VERSION "2023-06-01"
#define ANTHROPIC_DEFAULT_MAX_TOKENS 4096

/* A JSON string from caller text; invalid UTF-8 is repaired, not dropped. */
static json_t *jstr(const char *s)
{
  size_t n = strlen(s);
  if(mn_utf8_valid(s, n))
    return json_stringn_nocheck(s, n);  /* checked just now: once is enough */
  char *fixed = mn_utf8_repair(s, n, &n);
  json_t *v = json_stringn(fixed, n);
  free(fixed);
  return v;
}

static int check_req(const mn_llm_req *req, json_t **schema_out, char **errmsg)
{
  *schema_out = NULL;
  if(!req || !req->msgs || req->n_msgs == 0) {
    *errmsg = mn_xstrdup("chat request has no messages");
    return MN_EINVAL;
  }
  for(size_t i = 0; i < req->n_msgs; i++) {
    const char *r = req->msgs[i].role;
    if(!r || (strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "assistant"))) {
      *errmsg = mn_xasprintf("chat message %zu has role '%.40s' (want system, "
                             "user or assistant)", i, r ? r : "(null)");
      return MN_EINVAL;
    }
    if(!req->msgs[i].content) {
      *errmsg = mn_xasprintf("chat message %zu has no content", i);
      return MN_EINVAL;
    }
  }
  if(req->json_schema) {
    char *jerr = NULL;
    json_t *s = mn_json_loadb(req->json_schema, strlen(req->json_schema), &jerr);
    if(!s || !json_is_object(s)) {
      *errmsg = mn_xasprintf("json_schema is not a JSON object%s%s",
                             jerr ? ": " : "", jerr ? jerr : "");
      free(jerr);
      json_decref(s);
      return MN_EINVAL;
    }
    *schema_out = s;
  }
  return MN_OK;
}

static int is_role(const mn_llm_msg *m, const char *role)
{
  return strcmp(m->role, role) == 0;
}

/* All system messages joined by blank lines, or NULL if none. */
static char *system_text(const mn_llm_req *req)
{
  mn_buf b = MN_BUF_INIT(0);
  int any = 0;
  for(size_t i = 0; i < req->n_msgs; i++) {
    if(!is_role(&req->msgs[i], "system"))
      continue;
    if(any)
      mn_buf_puts(&b, "\n\n");
    mn_buf_puts(&b, req->msgs[i].content);
    any = 1;
  }
  if(!any)
    return NULL;
  return mn_buf_steal(&b, NULL);
}

/* [{role, content}...]: the message list of OpenAI and Ollama alike. */
static json_t *role_content_messages(const mn_llm_req *req)
{
  json_t *msgs = json_array();
  for(size_t i = 0; i < req->n_msgs; i++)
    json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", req->msgs[i].role,
                                          "content", jstr(req->msgs[i].content)));
  return msgs;
}

/* OpenAI's reasoning models reject any temperature but the default. */
static int openai_fixed_temperature(const char *model)
{
  return strncmp(model, "o1", 2) == 0 || strncmp(model, "o3", 2) == 0 ||
         strncmp(model, "o4", 2) == 0 || strncmp(model, "gpt-5", 5) == 0;
}

static json_t *openai_body(const mn_wire_target *t, const mn_llm_req *req,
                           json_t *schema, int stream)
{
  const mn_provider *p = t->prov;
  json_t *b = json_object();
  if(!p->azure)   /* Azure: the deployment in the URL names the model */
    json_object_set_new(b, "model", jstr(t->model));
  json_object_set_new(b, "messages", role_content_messages(req));
  int fixed_temperature = (!strcmp(p->name, "openai") || p->azure) &&
                          openai_fixed_temperature(t->model);
  if(req->temperature >= 0 && !fixed_temperature)
    json_object_set_new(b, "temperature", json_real(req->temperature));
  if(req->max_tokens > 0)
    json_object_set_new(b, p->max_tokens_field, json_integer(req->max_tokens));
  if(stream) {
    json_object_set_new(b, "stream", json_true());
    if(p->stream_usage)
      json_object_set_new(b, "stream_options", json_pack("{s:b}", "include_usage", 1));
  }
  if(schema && t->prov->json_schema) {
    json_object_set_new(b, "response_format",
      json_pack("{s:s,s:{s:s,s:O,s:b}}", "type", "json_schema", "json_schema",
                "name", req->schema_name ? req->schema_name : "response",
                "schema", schema, "strict", 1));
  }
  else if(schema || req->json_object) {
    json_object_set_new(b, "response_format", json_pack("{s:s}", "type", "json_object"));
  }
  return b;
}

int mn_ollama_num_ctx(const mn_llm_req *req)
{
  if(req->num_ctx > 0)
    return req->num_ctx;
  size_t bytes = req->json_schema ? strlen(req->json_schema) : 0;
  for(size_t i = 0; i < req->n_msgs; i++)
    bytes += req->msgs[i].content ? strlen(req->msgs[i].content) : 0;
  /* bytes/3 overestimates tokens for English a little, which is the safe
   * side: Ollama silently drops what does not fit. */
  size_t tokens = bytes / 3 + (size_t)(req->max_tokens > 0 ? req->max_tokens : 2048) + 512;
  tokens = (tokens + 1023) / 1024 * 1024;
  if(tokens < 4096)
    tokens = 4096;
  if(tokens > 131072)
    tokens = 131072;
  return (int)tokens;
}

static json_t *ollama_body(const mn_wire_target *t, const mn_llm_req *req,
                           json_t *schema, int stream)
{
  json_t *b = json_object();
  json_object_set_new(b, "model", jstr(t->model));
  json_object_set_new(b, "messages", role_content_messages(req));
  /* explicit both ways: Ollama streams unless told not to */
  json_object_set_new(b, "stream", json_boolean(stream));
  if(schema)
    json_object_set(b, "format", schema);
  else if(req->json_object)
    json_object_set_new(b, "format", json_string("json"));
  json_t *opt = json_object();
  if(req->temperature >= 0)
    json_object_set_new(opt, "temperature", json_real(req->temperature));
  if(req->max_tokens > 0)
    json_object_set_new(opt, "num_predict", json_integer(req->max_tokens));
  json_object_set_new(opt, "num_ctx", json_integer(mn_ollama_num_ctx(req)));
  json_object_set_new(b, "options", opt);
  return b;
}

int mn_anthropic_prefill_ok(const char *model)
{
  /* Newer Claude models answer a prefilled assistant turn with HTTP 400
   * ("Prefilling assistant messages is not supported for this model"), so
   * prefill only models known to take it; the rest get the instruction in
   * the system prompt alone, which the lenient parser copes with. */
  static const char *const ok[] = {
    "claude-3", "claude-sonnet-4-0", "claude-sonnet-4-2025", "claude-opus-4-0",
    "claude-opus-4-1", "claude-opus-4-2025", NULL
  };
  for(int i = 0; ok[i]; i++) {
    if(strncmp(model, ok[i], strlen(ok[i])) == 0)
      return 1;
  }
  return 0;
}

static json_t *anthropic_body(const mn_wire_target *t, const mn_llm_req *req,
                              json_t *schema, int stream, int *prefill)
{
  json_t *b = json_object();
  json_object_set_new(b, "model", jstr(t->model));
  json_object_set_new(b, "max_tokens",
                      json_integer(req->max_tokens > 0 ? req->max_tokens
                                                       : ANTHROPIC_DEFAULT_MAX_TOKENS));
  /* The stable Messages API has no JSON mode: the schema goes into the
   * system prompt, and where allowed the reply is started with "{". */
  char *sys = system_text(req);
  if(schema || req->json_object) {
    mn_buf s = MN_BUF_INIT(0);
    if(sys)
      mn_buf_printf(&s, "%s\n\n", sys);
    mn_buf_puts(&s, "Reply with a single JSON object and nothing else");
    if(schema) {
      char *sch = mn_json_dump(schema);
      mn_buf_printf(&s, ". It must follow this JSON schema:\n%s", sch);
      free(sch);
    }
    else
      mn_buf_puts(&s, ".");
    free(sys);
    sys = mn_buf_steal(&s, NULL);
  }
  if(sys)
    json_object_set_new(b, "system", jstr(sys));
  free(sys);
  json_t *msgs = json_array();
  const mn_llm_msg *last = NULL;
  for(size_t i = 0; i < req->n_msgs; i++) {
    if(is_role(&req->msgs[i], "system"))
      continue;
    last = &req->msgs[i];
    json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", req->msgs[i].role,
                                          "content", jstr(req->msgs[i].content)));
  }
  *prefill = 0;
  if((schema || req->json_object) && last && is_role(last, "user") &&
     mn_anthropic_prefill_ok(t->model)) {
    json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "assistant",
                                          "content", "{"));
    *prefill = 1;
  }
  json_object_set_new(b, "messages", msgs);
  if(req->temperature >= 0)   /* Anthropic accepts 0..1 */
    json_object_set_new(b, "temperature",
                        json_real(req->temperature > 1.0 ? 1.0 : req->temperature));
  if(stream)
    json_object_set_new(b, "stream", json_true());
  return b;
}

static json_t *gemini_body(const mn_wire_target *t, const mn_llm_req *req,
                           json_t *schema)
{
  json_t *b = json_object();
  json_t *contents = json_array();
  for(size_t i = 0; i < req->n_msgs; i++) {
    const mn_llm_msg *m = &req->msgs[i];
    if(is_role(m, "system"))
      continue;
    json_array_append_new(contents,
      json_pack("{s:s,s:[{s:o}]}", "role", is_role(m, "assistant") ? "model" : "user",
                "parts", "text", jstr(m->content)));
  }
  json_object_set_new(b, "contents", contents);
  char *sys = system_text(req);
  if(sys) {
    json_object_set_new(b, "systemInstruction",
                        json_pack("{s:[{s:o}]}", "parts", "text", jstr(sys)));
    free(sys);
  }
  json_t *gc = json_object();
  if(req->temperature >= 0)
    json_object_set_new(gc, "temperature", json_real(req->temperature));
  if(req->max_tokens > 0)
    json_object_set_new(gc, "maxOutputTokens", json_integer(req->max_tokens));
  /* responseJsonSchema takes standard JSON Schema (type arrays for nullable
   * fields, additionalProperties), unlike responseSchema's OpenAPI subset. */
  if(schema || req->json_object)
    json_object_set_new(gc, "responseMimeType", json_string("application/json"));
  if(schema)
    json_object_set(gc, "responseJsonSchema", schema);
  if(json_object_size(gc))
    json_object_set_new(b, "generationConfig", gc);
  else
    json_decref(gc);
  return b;
}

static char **headers_for(const mn_wire_target *t, int stream)
{
  char **h = mn_xcalloc(6, sizeof *h);
  size_t n = 0;
  h[n++] = mn_xstrdup("Content-Type: application/json");
  switch(t->prov->wire) {
  case MN_WIRE_OPENAI:
  case MN_WIRE_OLLAMA:
    if(t->key && *t->key)
      h[n++] = t->prov->azure ? mn_xasprintf("api-key: %s", t->key)
                              : mn_xasprintf("Authorization: Bearer %s", t->key);
    break;
  case MN_WIRE_ANTHROPIC:
    if(t->key && *t->key)
      h[n++] = mn_xasprintf("x-api-key: %s", t->key);
    h[n++] = mn_xstrdup("anthropic-version: " ANTHROPIC_VERSION);
    break;
  case MN_WIRE_GEMINI:
    /* in a header, never in the URL, so it cannot leak into logs */
    if(t->key && *t->key)
      h[n++] = mn_xasprintf("x-goog-api-key: %s", t->key);
    break;
  }
  if(stream && t->prov->wire != MN_WIRE_OLLAMA)
    h[n++] = mn_xstrdup("Accept: text/event-stream");
  h[n] = NULL;
  return h;
}

/* The body of req as a JSON tree; *prefill as for mn_wire_req. */
static json_t *body_json(const mn_wire_target *t, const mn_llm_req *req, json_t *schema,
                         int stream, int *prefill)
{
  *prefill = 0;
  switch(t->prov->wire) {
  case MN_WIRE_OPENAI:
    return openai_body(t, req, schema, stream);
  case MN_WIRE_OLLAMA:
    return ollama_body(t, req, schema, stream);
  case MN_WIRE_ANTHROPIC:
    return anthropic_body(t, req, schema, stream, prefill);
  case MN_WIRE_GEMINI:
    return gemini_body(t, req, schema);
  }
  return NULL;
}

int mn_wire_build(const mn_wire_target *t, const mn_llm_req *req, int stream,
                  mn_wire_req *out, char **errmsg)
{
  json_t *schema = NULL;
  memset(out, 0, sizeof *out);
  *errmsg = NULL;
  int rc = check_req(req, &schema, errmsg);
  if(rc)
    return rc;
  int prefill = 0;
  json_t *body = body_json(t, req, schema, stream, &prefill);
  json_decref(schema);
  out->body = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
  json_decref(body);
  if(!out->body) {
    *errmsg = mn_xstrdup("could not serialise the chat request");
    return MN_EINVAL;
  }
  out->body_len = strlen(out->body);
  out->headers = headers_for(t, stream);
  out->stream = stream;
  out->prefill = prefill;
  return MN_OK;
}

void mn_wire_req_free(mn_wire_req *r)
{
  if(!r)
    return;
  free(r->body);
  if(r->headers) {
    for(size_t i = 0; r->headers[i]; i++)
      free(r->headers[i]);
    free(r->headers);
  }
  memset(r, 0, sizeof *r);
}
