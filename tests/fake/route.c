/* Routing: which API a request speaks, its key, what it asks for.
 *
 * Each provider's request shape is reduced to a mn_fk_chat (message texts,
 * last user message, stream, JSON wanted, model) so rules and the brain
 * work the same for all of them; the reply goes back in the shape the
 * request came in.
 */
#include "fakellm.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EMBED_DIMS 64
#define EMBED_MAX_DIMS 4096
#define EMBED_MAX_INPUTS 4096

const char *mn_fk_req_header(const mn_fk_req *r, const char *lname)
{
  for(size_t i = 0; i < r->n_headers; i++)
    if(strcmp(r->headers[i].name, lname) == 0)
      return r->headers[i].value;
  return NULL;
}

static int hexv(int ch)
{
  if(ch >= '0' && ch <= '9')
    return ch - '0';
  ch = tolower(ch);
  if(ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

char *mn_fk_query_param(const char *query, const char *name)
{
  size_t nl = strlen(name);
  const char *p = query ? query : "";
  while(*p) {
    const char *e = strchr(p, '&');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if(n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
      const char *v = p + nl + 1;
      size_t vn = n - nl - 1;
      char *out = mn_fk_xmalloc(vn + 1);
      size_t o = 0;
      for(size_t i = 0; i < vn; i++) {
        if(v[i] == '%' && i + 2 < vn && hexv(v[i + 1]) >= 0 &&
           hexv(v[i + 2]) >= 0) {
          out[o++] = (char)(hexv(v[i + 1]) * 16 + hexv(v[i + 2]));
          i += 2;
        }
        else
          out[o++] = v[i] == '+' ? ' ' : v[i];
      }
      out[o] = '\0';
      return out;
    }
    if(!e)
      break;
    p = e + 1;
  }
  return NULL;
}

/* ---- chat requests ---------------------------------------------------- */

typedef struct texts {
  char **v;
  size_t n, cap;
  ssize_t last_user;
} texts;

static void texts_add(texts *t, const char *s, size_t n, int user)
{
  if(t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 8;
    t->v = mn_fk_xrealloc(t->v, t->cap * sizeof *t->v);
  }
  if(user)
    t->last_user = (ssize_t)t->n;
  t->v[t->n++] = mn_fk_xstrndup(s, n);
}

static void texts_free(texts *t)
{
  for(size_t i = 0; i < t->n; i++)
    free(t->v[i]);
  free(t->v);
}

/* Text of a content value: a string, or an array of parts whose text is
 * under `key` (OpenAI/Anthropic {"type":"text","text":...}, Gemini
 * {"text":...}); other parts (images...) are skipped. */
static void content_text(const json_t *c, mn_fk_buf *b)
{
  if(json_is_string(c)) {
    mn_fk_buf_add(b, json_string_value(c), json_string_length(c));
    return;
  }
  if(!json_is_array(c))
    return;
  size_t i;
  json_t *part;
  json_array_foreach(c, i, part) {
    json_t *t = json_object_get(part, "text");
    if(!json_is_string(t))
      continue;
    if(b->len)
      mn_fk_buf_add(b, "\n", 1);
    mn_fk_buf_add(b, json_string_value(t), json_string_length(t));
  }
}

static void add_content(texts *t, const json_t *c, int user)
{
  mn_fk_buf b = { 0 };
  content_text(c, &b);
  texts_add(t, b.data ? b.data : "", b.len, user);
  mn_fk_buf_free(&b);
}

/* camelCase or snake_case member (Gemini accepts both) */
static json_t *get2(const json_t *o, const char *camel, const char *snake)
{
  json_t *v = json_object_get(o, camel);
  return v ? v : json_object_get(o, snake);
}

/* Fill chat from an OpenAI-style request; NULL or an error message. */
static const char *parse_openai(const json_t *b, mn_fk_chat *ch, texts *t)
{
  if(!ch->model) {   /* set already: Azure's deployment from the path */
    if(!json_is_string(json_object_get(b, "model")))
      return "you must provide a model parameter";
    ch->model = json_string_value(json_object_get(b, "model"));
  }
  const json_t *msgs = json_object_get(b, "messages");
  if(!msgs)
    return "Missing required parameter: 'messages'.";
  if(!json_is_array(msgs) || json_array_size(msgs) == 0)
    return "Invalid 'messages': expected a non-empty array.";
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    if(!role)
      return "Invalid 'messages': each message needs a 'role'.";
    add_content(t, json_object_get(m, "content"), strcmp(role, "user") == 0);
  }
  ch->stream = json_is_true(json_object_get(b, "stream"));
  const char *rf = json_string_value(json_object_get(json_object_get(b, "response_format"),
                                                     "type"));
  ch->json = rf && (strcmp(rf, "json_object") == 0 || strcmp(rf, "json_schema") == 0);
  return NULL;
}

static const char *parse_ollama(const json_t *b, mn_fk_chat *ch, texts *t)
{
  if(!json_is_string(json_object_get(b, "model")) ||
     !*json_string_value(json_object_get(b, "model")))
    return "model is required";
  ch->model = json_string_value(json_object_get(b, "model"));
  const json_t *msgs = json_object_get(b, "messages");
  if(msgs && !json_is_array(msgs))
    return "json: cannot unmarshal messages: want an array";
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    add_content(t, json_object_get(m, "content"), role && strcmp(role, "user") == 0);
  }
  const json_t *st = json_object_get(b, "stream");
  ch->stream = !json_is_false(st);   /* Ollama streams unless told not to */
  const json_t *fmt = json_object_get(b, "format");
  ch->json = (json_is_string(fmt) && strcmp(json_string_value(fmt), "json") == 0) ||
             json_is_object(fmt);
  return NULL;
}

static const char *parse_anthropic(const json_t *b, mn_fk_chat *ch, texts *t)
{
  if(!json_is_string(json_object_get(b, "model")))
    return "model: Field required";
  ch->model = json_string_value(json_object_get(b, "model"));
  const json_t *mt = json_object_get(b, "max_tokens");
  if(!mt)
    return "max_tokens: Field required";
  if(!json_is_integer(mt) || json_integer_value(mt) < 1)
    return "max_tokens: Input should be a valid integer greater than 0";
  const json_t *msgs = json_object_get(b, "messages");
  if(!msgs)
    return "messages: Field required";
  if(!json_is_array(msgs))
    return "messages: Input should be a valid list";
  const json_t *sys = json_object_get(b, "system");
  if(sys && !json_is_string(sys) && !json_is_array(sys))
    return "system: Input should be a valid string or list of text blocks";
  if(sys)
    add_content(t, sys, 0);
  size_t i;
  json_t *m;
  json_array_foreach(msgs, i, m) {
    const char *role = json_string_value(json_object_get(m, "role"));
    if(!role || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0))
      return "messages: roles must be \"user\" or \"assistant\"";
    add_content(t, json_object_get(m, "content"), strcmp(role, "user") == 0);
  }
  ch->stream = json_is_true(json_object_get(b, "stream"));
  /* structured outputs: output_config.format (GA) or output_format (beta) */
  ch->json = json_is_object(json_object_get(json_object_get(b, "output_config"), "format")) ||
             json_is_object(json_object_get(b, "output_format"));
  return NULL;
}

static const char *parse_gemini(const json_t *b, mn_fk_chat *ch, texts *t)
{
  const json_t *sys = get2(b, "systemInstruction", "system_instruction");
  if(sys)
    add_content(t, json_object_get(sys, "parts"), 0);
  const json_t *contents = json_object_get(b, "contents");
  if(!json_is_array(contents) || json_array_size(contents) == 0)
    return "* GenerateContentRequest.contents: contents is not specified";
  size_t i;
  json_t *c;
  json_array_foreach(contents, i, c) {
    const char *role = json_string_value(json_object_get(c, "role"));
    const json_t *parts = json_object_get(c, "parts");
    if(!json_is_array(parts))
      return "* GenerateContentRequest.contents: parts must be an array";
    add_content(t, parts, !role || strcmp(role, "user") == 0);
  }
  const json_t *gc = get2(b, "generationConfig", "generation_config");
  const char *mime = json_string_value(get2(gc, "responseMimeType", "response_mime_type"));
  ch->json = (mime && strcmp(mime, "application/json") == 0) ||
             get2(gc, "responseSchema", "response_schema") ||
             get2(gc, "responseJsonSchema", "response_json_schema");
  return NULL;
}

/* ---- embeddings ------------------------------------------------------- */

/* A hashed bag of lower-cased words: each word adds +-1 to one of `dims`
 * coordinates (FNV-1a picks both), then L2 normalisation; texts sharing
 * words get a positive cosine. */
static void embed_text(const char *t, int dims, double *v)
{
  for(int i = 0; i < dims; i++)
    v[i] = 0;
  const unsigned char *p = (const unsigned char *)t;
  while(*p) {
    while(*p && !(isalnum(*p) || *p >= 0x80))
      p++;
    if(!*p)
      break;
    uint64_t h = 1469598103934665603ull;
    while(*p && (isalnum(*p) || *p >= 0x80)) {
      h ^= (uint64_t)(*p < 0x80 ? tolower(*p) : *p);
      h *= 1099511628211ull;
      p++;
    }
    v[h % (uint64_t)dims] += (h >> 63) ? -1.0 : 1.0;
  }
  double norm = 0;
  for(int i = 0; i < dims; i++)
    norm += v[i] * v[i];
  norm = sqrt(norm);
  if(norm > 0)
    for(int i = 0; i < dims; i++)
      v[i] /= norm;
}

static json_t *embed_json(const char *t, int dims, int base64)
{
  double *v = mn_fk_xmalloc((size_t)dims * sizeof *v);
  embed_text(t, dims, v);
  json_t *out;
  if(base64) {
    /* little-endian float32, as OpenAI's encoding_format=base64 */
    static const char tab[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (size_t)dims * 4;
    unsigned char *raw = mn_fk_xmalloc(n);
    for(int i = 0; i < dims; i++) {
      float f = (float)v[i];
      uint32_t u;
      memcpy(&u, &f, 4);
      for(int k = 0; k < 4; k++)
        raw[i * 4 + k] = (unsigned char)(u >> (8 * k));
    }
    char *s = mn_fk_xmalloc((n + 2) / 3 * 4 + 1);
    size_t o = 0;
    for(size_t i = 0; i < n; i += 3) {
      uint32_t w = (uint32_t)raw[i] << 16;
      if(i + 1 < n)
        w |= (uint32_t)raw[i + 1] << 8;
      if(i + 2 < n)
        w |= raw[i + 2];
      s[o++] = tab[(w >> 18) & 63];
      s[o++] = tab[(w >> 12) & 63];
      s[o++] = i + 1 < n ? tab[(w >> 6) & 63] : '=';
      s[o++] = i + 2 < n ? tab[w & 63] : '=';
    }
    s[o] = '\0';
    out = json_string(s);
    free(s);
    free(raw);
  }
  else {
    out = json_array();
    for(int i = 0; i < dims; i++)
      json_array_append_new(out, json_real(v[i]));
  }
  free(v);
  return out;
}

/* Inputs of an embedding request: a string or an array of strings. */
static const char *embed_inputs(const json_t *in, texts *t)
{
  if(json_is_string(in)) {
    texts_add(t, json_string_value(in), json_string_length(in), 1);
    return NULL;
  }
  if(!json_is_array(in) || json_array_size(in) == 0)
    return "'input' must be a string or a non-empty array of strings";
  if(json_array_size(in) > EMBED_MAX_INPUTS)
    return "too many inputs";
  size_t i;
  json_t *e;
  json_array_foreach(in, i, e) {
    if(!json_is_string(e))
      return "'input' must be a string or a non-empty array of strings "
             "(token arrays are not supported by fakellm)";
    texts_add(t, json_string_value(e), json_string_length(e), 1);
  }
  return NULL;
}

/* ---- auth ------------------------------------------------------------- */

/* NULL if the request carries the key the way its provider sends it. */
static const char *auth_check(const mn_fk_server *s, const mn_fk_req *req,
                              mn_fk_route route, int openai_style)
{
  const char *key = s->require_key;
  if(!key)
    return NULL;
  if(route == MN_FK_OLLAMA)
    return NULL;
  if(route == MN_FK_ANTHROPIC) {
    const char *k = mn_fk_req_header(req, "x-api-key");
    if(!k || strcmp(k, key) != 0)
      return "invalid x-api-key";
    if(!mn_fk_req_header(req, "anthropic-version"))
      return "anthropic-version: header is required";
    return NULL;
  }
  if(route == MN_FK_GEMINI) {
    const char *k = mn_fk_req_header(req, "x-goog-api-key");
    if(k && strcmp(k, key) == 0)
      return NULL;
    char *q = mn_fk_query_param(req->query, "key");
    int ok = q && strcmp(q, key) == 0;
    free(q);
    return ok ? NULL : "API key not valid. Please pass a valid API key.";
  }
  if(!openai_style)
    return NULL;
  if(strncmp(req->path, "/openai/deployments/", 20) == 0) {
    const char *k = mn_fk_req_header(req, "api-key");
    return k && strcmp(k, key) == 0 ? NULL
           : "Access denied due to invalid subscription key or wrong API endpoint.";
  }
  const char *a = mn_fk_req_header(req, "authorization");
  if(!a)
    return "You didn't provide an API key (Authorization: Bearer KEY).";
  if(strncasecmp(a, "Bearer ", 7) != 0)
    return "Incorrect API key provided.";
  a += 7;
  while(*a == ' ')
    a++;
  return strcmp(a, key) == 0 ? NULL : "Incorrect API key provided.";
}

/* ---- handlers --------------------------------------------------------- */

static void reply_json(mn_fk_plan *plan, const mn_fk_req *req, int status,
                       json_t *j)
{
  char *s = mn_fk_dump(j);
  json_decref(j);
  mn_fk_render_simple(plan, req, status, "application/json", NULL, s,
                      strlen(s), 0, MN_FK_DONE);
  free(s);
}


/* splitmix64: small, seedable, the same on every platform */
static uint64_t next_random(uint64_t *state)
{
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* --fault-rate: a random fault for a model request no rule faulted (one
 * draw per request, so a seed fixes which requests fail and how). */
static void random_fault(mn_fk_server *s, mn_fk_answer *a, mn_fk_plan *plan)
{
  if(s->fault_rate <= 0 || s->n_fault_kinds == 0)
    return;
  double u = (double)(next_random(&s->rng) >> 11) * 0x1p-53;
  uint64_t pick = next_random(&s->rng);
  if(u >= s->fault_rate || a->fault != MN_FK_F_NONE || a->raw_body)
    return;
  int k = (int)(pick % (uint64_t)s->n_fault_kinds);
  a->fault = s->fault_kinds[k].fault;
  a->status = s->fault_kinds[k].status;
  if(a->fault == MN_FK_F_STALL || a->fault == MN_FK_F_STALL_MID)
    a->stall_s = s->fault_stall_s;
  s->faults_injected++;
  json_object_set_new(plan->record, "fault", json_string(s->fault_kinds[k].name));
}

/* Parse the body as JSON (NULL if it is not), for routing and records. */
static json_t *body_json(const mn_fk_req *req)
{
  if(req->body_len == 0)
    return NULL;
  return json_loadb(req->body, req->body_len, 0, NULL);
}

static void handle_chat(mn_fk_server *s, const mn_fk_req *req,
                        mn_fk_plan *plan, mn_fk_route route, const char *model,
                        int stream)
{
  json_t *b = body_json(req);
  mn_fk_record_start(s, plan, req, mn_fk_route_name(route), b);
  plan->model = 1;
  const char *why = auth_check(s, req, route, 1);
  if(why) {
    mn_fk_render_error(plan, req, route, 401, why);
    json_decref(b);
    return;
  }
  if(!json_is_object(b)) {
    mn_fk_render_error(plan, req, route, 400,
                       req->body_len ? "The request body is not valid JSON."
                                     : "The request body is empty.");
    json_decref(b);
    return;
  }
  mn_fk_chat ch;
  memset(&ch, 0, sizeof ch);
  ch.route = route;
  if(route == MN_FK_OPENAI)
    ch.model = model;   /* Azure's deployment, or NULL */
  texts t = { NULL, 0, 0, -1 };
  switch(route) {
  case MN_FK_OPENAI: why = parse_openai(b, &ch, &t); break;
  case MN_FK_OLLAMA: why = parse_ollama(b, &ch, &t); break;
  case MN_FK_ANTHROPIC: why = parse_anthropic(b, &ch, &t); break;
  default:
    why = parse_gemini(b, &ch, &t);
    ch.model = model;
    ch.stream = stream;
    break;
  }
  if(why) {
    mn_fk_render_error(plan, req, route, 400, why);
    texts_free(&t);
    json_decref(b);
    return;
  }
  ch.texts = t.v;
  ch.n_texts = t.n;
  ch.last_user = t.last_user >= 0 ? t.v[t.last_user] : "";
  for(size_t i = 0; i < t.n; i++)
    ch.prompt_bytes += strlen(t.v[i]);
  mn_fk_answer ans;
  mn_fk_rules_answer(s->rules, &ch, &ans);
  random_fault(s, &ans, plan);
  if(s->prefill_tps > 0) {   /* timed at dispatch: plan for 1 s, scale then */
    size_t n = ch.prompt_bytes + 1, at = 0;
    plan->prompt = mn_fk_xmalloc(n);
    for(size_t i = 0; i < t.n; i++) {
      size_t l = strlen(t.v[i]);
      memcpy(plan->prompt + at, t.v[i], l);
      at += l;
    }
    plan->prompt[at] = '\0';
    plan->out_tokens = ans.completion;
  }
  mn_fk_render_chat(plan, req, b, &ch, &ans, s->prefill_tps > 0 ? 1.0 : s->service_s,
                    ++s->next_id);
  if(ans.rule >= 0)
    json_object_set_new(plan->record, "rule", json_integer(ans.rule));
  mn_fk_answer_free(&ans);
  texts_free(&t);
  json_decref(b);
}

/* /v1/embeddings (OpenAI), /api/embed and /api/embeddings (Ollama). */
static void handle_embed(mn_fk_server *s, const mn_fk_req *req,
                         mn_fk_plan *plan, int ollama, int legacy)
{
  json_t *b = body_json(req);
  mn_fk_record_start(s, plan, req, "embed", b);
  plan->model = 1;
  const char *why = auth_check(s, req, MN_FK_EMBED, !ollama);
  if(why) {
    mn_fk_render_error(plan, req, MN_FK_EMBED, 401, why);
    json_decref(b);
    return;
  }
  texts t = { NULL, 0, 0, -1 };
  const char *model = json_string_value(json_object_get(b, "model"));
  if(!json_is_object(b))
    why = "The request body is not valid JSON.";
  else if(!model)
    why = ollama ? "model is required" : "you must provide a model parameter";
  else
    why = embed_inputs(json_object_get(b, legacy ? "prompt" : "input"), &t);
  int dims = EMBED_DIMS;
  json_t *dj = json_object_get(b, "dimensions");
  if(!why && dj) {
    if(!json_is_integer(dj) || json_integer_value(dj) < 1 ||
       json_integer_value(dj) > EMBED_MAX_DIMS)
      why = "'dimensions' must be an integer from 1 to 4096";
    else
      dims = (int)json_integer_value(dj);
  }
  const char *enc = json_string_value(json_object_get(b, "encoding_format"));
  int base64 = !ollama && enc && strcmp(enc, "base64") == 0;
  if(!why && !ollama && enc && !base64 && strcmp(enc, "float") != 0)
    why = "'encoding_format' must be \"float\" or \"base64\"";
  if(why) {
    mn_fk_render_error(plan, req, MN_FK_EMBED, 400, why);
    texts_free(&t);
    json_decref(b);
    return;
  }

  mn_fk_chat ch;
  memset(&ch, 0, sizeof ch);
  ch.route = MN_FK_EMBED;
  ch.model = model;
  ch.texts = t.v;
  ch.n_texts = t.n;
  ch.last_user = t.n ? t.v[t.n - 1] : "";
  for(size_t i = 0; i < t.n; i++)
    ch.prompt_bytes += strlen(t.v[i]);
  mn_fk_answer ans;
  mn_fk_rules_answer(s->rules, &ch, &ans);
  random_fault(s, &ans, plan);

  json_t *o;
  if(legacy)
    o = json_pack("{s:o}", "embedding", embed_json(t.v[0], dims, 0));
  else if(ollama) {
    json_t *arr = json_array();
    for(size_t i = 0; i < t.n; i++)
      json_array_append_new(arr, embed_json(t.v[i], dims, 0));
    long long ns = (long long)((s->service_s + ans.delay_s) * 1e9) + 1000000;
    o = json_pack("{s:s,s:o,s:I,s:I,s:I}", "model", model, "embeddings", arr,
                  "total_duration", (json_int_t)ns, "load_duration",
                  (json_int_t)(ns / 100), "prompt_eval_count",
                  (json_int_t)ans.prompt);
  }
  else {
    json_t *arr = json_array();
    for(size_t i = 0; i < t.n; i++)
      json_array_append_new(arr, json_pack("{s:s,s:I,s:o}", "object", "embedding",
                                           "index", (json_int_t)i, "embedding",
                                           embed_json(t.v[i], dims, base64)));
    o = json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", arr,
                  "model", model, "usage", "prompt_tokens", (json_int_t)ans.prompt,
                  "total_tokens", (json_int_t)ans.prompt);
  }
  char *body = mn_fk_dump(o);
  json_decref(o);
  mn_fk_render_body(plan, req, MN_FK_EMBED, &ans, s->service_s,
                    ollama ? "application/json; charset=utf-8" : "application/json",
                    body);
  if(ans.rule >= 0)
    json_object_set_new(plan->record, "rule", json_integer(ans.rule));
  free(body);
  mn_fk_answer_free(&ans);
  texts_free(&t);
  json_decref(b);
}

static void handle_models(mn_fk_server *s, const mn_fk_req *req,
                          mn_fk_plan *plan, int ollama)
{
  mn_fk_record_start(s, plan, req, "models", NULL);
  if(!ollama) {
    const char *why = auth_check(s, req, MN_FK_OPENAI, 1);
    if(why) {
      mn_fk_render_error(plan, req, MN_FK_OPENAI, 401, why);
      return;
    }
    reply_json(plan, req, 200,
               json_pack("{s:s,s:[{s:s,s:s,s:i,s:s}]}", "object", "list", "data",
                         "id", "fake", "object", "model", "created", 1700000000,
                         "owned_by", "fakellm"));
    return;
  }
  reply_json(plan, req, 200,
             json_pack("{s:[{s:s,s:s,s:s,s:i,s:s,s:{s:s,s:s,s:s,s:[s],s:s,s:s}}]}",
                       "models", "name", "fake", "model", "fake",
                       "modified_at", "2024-01-01T00:00:00Z", "size", 1000000,
                       "digest", "fa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4efa4e",
                       "details", "parent_model", "", "format", "gguf",
                       "family", "fake", "families", "fake", "parameter_size", "1B",
                       "quantization_level", "Q4_0"));
}

static void handle_control(mn_fk_server *s, const mn_fk_req *req,
                           mn_fk_plan *plan)
{
  const char *p = req->path + 7;   /* after "/_fake/" */
  int get = strcmp(req->method, "GET") == 0;
  int post = strcmp(req->method, "POST") == 0;
  if(strcmp(p, "stats") == 0 && get) {
    reply_json(plan, req, 200,
               json_pack("{s:I,s:I,s:I,s:I,s:i,s:i,s:i,s:i,s:i,s:I,s:I}",
                         "faults_injected", (json_int_t)s->faults_injected,
                         "prompt_tokens", (json_int_t)s->prompt_tokens,
                         "cached_tokens", (json_int_t)s->cached_tokens,
                         "requests", (json_int_t)s->requests,
                         "max_concurrent", s->max_concurrent,
                         "max_serving", s->max_serving,
                         "concurrent", s->concurrent,
                         "serving", s->serving,
                         "queued", s->queued,
                         "connections", (json_int_t)s->n_conns,
                         "accepted", (json_int_t)s->n_accepted));
    return;
  }
  if(strcmp(p, "requests") == 0 && get) {
    char *last = mn_fk_query_param(req->query, "last");
    size_t n = last ? (size_t)strtoull(last, NULL, 10) : (size_t)-1;
    free(last);
    reply_json(plan, req, 200, mn_fk_record_list(s, n));
    return;
  }
  if(strcmp(p, "rules") == 0 && post) {
    json_error_t je;
    json_t *j = json_loadb(req->body, req->body_len, 0, &je);
    char *err = NULL;
    if(!j)
      err = mn_fk_xstrdup("rules: the body is not valid JSON");
    else
      mn_fk_rules_add_runtime(s->rules, j, &err);
    json_decref(j);
    if(err) {
      reply_json(plan, req, 400, json_pack("{s:s}", "error", err));
      free(err);
      return;
    }
    reply_json(plan, req, 200, json_pack("{s:b}", "ok", 1));
    return;
  }
  if(strcmp(p, "reset") == 0 && post) {
    mn_fk_rules_reset(s->rules);
    mn_fk_record_clear(s);
    s->requests = 0;
    s->prompt_tokens = s->cached_tokens = 0;   /* slots keep their caches */
    s->max_concurrent = s->concurrent;   /* requests still in flight count */
    s->max_serving = s->serving;
    reply_json(plan, req, 200, json_pack("{s:b}", "ok", 1));
    return;
  }
  int known = strcmp(p, "stats") == 0 || strcmp(p, "requests") == 0 ||
              strcmp(p, "rules") == 0 || strcmp(p, "reset") == 0;
  reply_json(plan, req, known ? 405 : 404,
             json_pack("{s:s}", "error", known ? "method not allowed" : "no such control"));
}

/* Gemini: /v1beta/models/{model}:{method}; model and method out. */
/* "/openai/deployments/{deployment}/chat/completions": 1 and the deployment. */
static int azure_path(const char *p, char **deployment)
{
  static const char head[] = "/openai/deployments/", tail[] = "/chat/completions";
  size_t n = strlen(p), h = sizeof head - 1, t = sizeof tail - 1;
  if(n <= h + t || memcmp(p, head, h) != 0 || memcmp(p + n - t, tail, t) != 0)
    return 0;
  if(memchr(p + h, '/', n - h - t))
    return 0;   /* a deployment name has no slash */
  *deployment = mn_fk_xstrndup(p + h, n - h - t);
  return 1;
}

static int gemini_path(const char *p, char **model, const char **method)
{
  const char *rest = NULL;
  if(strncmp(p, "/v1beta/models/", 15) == 0)
    rest = p + 15;
  else if(strncmp(p, "/v1/models/", 11) == 0)
    rest = p + 11;
  if(!rest)
    return 0;
  const char *colon = strrchr(rest, ':');
  if(!colon || colon == rest)
    return 0;
  *method = colon + 1;
  *model = mn_fk_xstrndup(rest, (size_t)(colon - rest));
  return 1;
}

void mn_fk_handle(mn_fk_server *s, const mn_fk_req *req, mn_fk_plan *plan)
{
  const char *p = req->path;
  int post = strcmp(req->method, "POST") == 0;
  int get = strcmp(req->method, "GET") == 0;
  if(s->verbose)
    fprintf(stderr, "fakellm: %s %s\n", req->method, p);

  if(strncmp(p, "/_fake/", 7) == 0) {
    handle_control(s, req, plan);
    return;
  }

  mn_fk_route route = MN_FK_NROUTES;
  int is_post_route = 1;
  if(strcmp(p, "/v1/chat/completions") == 0 || strcmp(p, "/chat/completions") == 0)
    route = MN_FK_OPENAI;
  else if(strcmp(p, "/api/chat") == 0)
    route = MN_FK_OLLAMA;
  else if(strcmp(p, "/v1/messages") == 0)
    route = MN_FK_ANTHROPIC;
  else if(strcmp(p, "/v1/embeddings") == 0 || strcmp(p, "/embeddings") == 0 ||
          strcmp(p, "/api/embed") == 0 || strcmp(p, "/api/embeddings") == 0)
    route = MN_FK_EMBED;
  else
    is_post_route = 0;

  if(is_post_route) {
    if(!post) {
      mn_fk_record_start(s, plan, req, mn_fk_route_name(route), NULL);
      mn_fk_render_error(plan, req, route, 405, "Method not allowed; use POST.");
      return;
    }
    if(route == MN_FK_EMBED)
      handle_embed(s, req, plan, strncmp(p, "/api/", 5) == 0,
                   strcmp(p, "/api/embeddings") == 0);
    else
      handle_chat(s, req, plan, route, NULL, 0);
    return;
  }

  char *model = NULL;
  const char *method = NULL;
  if(azure_path(p, &model)) {
    /* Azure OpenAI: POST /openai/deployments/{deployment}/chat/completions?api-version=V */
    char *version = mn_fk_query_param(req->query, "api-version");
    if(!post) {
      mn_fk_record_start(s, plan, req, "openai", NULL);
      mn_fk_render_error(plan, req, MN_FK_OPENAI, 405, "Method not allowed; use POST.");
    }
    else if(!version || !*version) {
      mn_fk_record_start(s, plan, req, "openai", NULL);
      mn_fk_render_error(plan, req, MN_FK_OPENAI, 404,
                         "Resource not found (api-version query parameter missing)");
    }
    else
      handle_chat(s, req, plan, MN_FK_OPENAI, model, 0);
    free(version);
    free(model);
    return;
  }
  if(gemini_path(p, &model, &method)) {
    int gen = strcmp(method, "generateContent") == 0;
    int sgen = strcmp(method, "streamGenerateContent") == 0;
    if(!gen && !sgen) {
      mn_fk_record_start(s, plan, req, "gemini", NULL);
      mn_fk_render_error(plan, req, MN_FK_GEMINI, 404,
                         "Method not found (fakellm serves generateContent and "
                         "streamGenerateContent).");
    }
    else if(!post) {
      mn_fk_record_start(s, plan, req, "gemini", NULL);
      mn_fk_render_error(plan, req, MN_FK_GEMINI, 405, "Method not allowed; use POST.");
    }
    else
      handle_chat(s, req, plan, MN_FK_GEMINI, model, sgen);
    free(model);
    return;
  }

  if(get && (strcmp(p, "/v1/models") == 0 || strcmp(p, "/models") == 0)) {
    handle_models(s, req, plan, 0);
    return;
  }
  if(get && strcmp(p, "/api/tags") == 0) {
    handle_models(s, req, plan, 1);
    return;
  }
  if(get && strcmp(p, "/api/version") == 0) {
    reply_json(plan, req, 200, json_pack("{s:s}", "version", "0.0.0-fakellm"));
    return;
  }
  if(get && strcmp(p, "/") == 0) {
    const char *msg = "fakellm is running";
    mn_fk_render_simple(plan, req, 200, "text/plain; charset=utf-8", NULL, msg,
                        strlen(msg), 0, MN_FK_DONE);
    return;
  }
  json_t *b = body_json(req);
  mn_fk_record_start(s, plan, req, "unknown", b);
  json_decref(b);
  mn_fk_render_path_error(plan, req, 404, "Unknown route (fakellm).");
}
