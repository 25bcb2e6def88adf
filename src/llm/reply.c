/* Replies of each wire format, whole or streamed, into text, finish reason
 * and usage. */
#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"
#include "util/json.h"
#include "util/mem.h"

void mn_reply_init(mn_reply *r, mn_wire wire, int prefill, size_t max_text)
{
  memset(r, 0, sizeof *r);
  r->wire = wire;
  r->prefill = prefill;
  mn_buf_init(&r->text, max_text);
  mn_buf_init(&r->refusal, 4096);
  mn_reply_reset(r);
}

void mn_reply_reset(mn_reply *r)
{
  mn_buf_reset(&r->text);
  mn_buf_reset(&r->refusal);
  r->usage_seen = 0;
  free(r->finish);
  free(r->error);
  r->finish = NULL;
  r->error = NULL;
  memset(&r->usage, 0, sizeof r->usage);
  r->in_tokens = r->cache_read = r->cache_write = 0;
  r->complete = 0;
  r->code = MN_OK;
  /* the prefilled "{" is part of the answer but not of what the model sends */
  if(r->prefill)
    mn_buf_putc(&r->text, '{');
}

void mn_reply_free(mn_reply *r)
{
  mn_buf_free(&r->text);
  mn_buf_free(&r->refusal);
  free(r->finish);
  free(r->error);
  r->finish = NULL;
  r->error = NULL;
}

static int fail(mn_reply *r, int code, char *msg)
{
  if(r->code == MN_OK) {
    r->code = code;
    free(r->error);
    r->error = msg;
  }
  else
    free(msg);
  return r->code;
}

static int add_text(mn_reply *r, const char *s)
{
  if(!s || !*s)
    return MN_OK;
  if(mn_buf_puts(&r->text, s) != 0)
    return fail(r, MN_ELIMIT, mn_xasprintf("reply longer than %zu bytes", r->text.max));
  return MN_OK;
}

static void set_finish(mn_reply *r, const char *reason)
{
  char *f = mn_finish_normalise(r->wire, reason);
  if(f) {
    free(r->finish);
    r->finish = f;
  }
}

static json_t *load(mn_reply *r, const char *data, size_t len, const char *what)
{
  char *err = NULL;
  json_t *v = mn_json_loadb(data, len, &err);
  if(!v) {
    fail(r, MN_EPARSE, mn_xasprintf("%s is not JSON (%s)", what, err));
    free(err);
    return NULL;
  }
  if(!json_is_object(v)) {
    json_decref(v);
    fail(r, MN_EPARSE, mn_xasprintf("%s is not a JSON object", what));
    return NULL;
  }
  return v;
}

/* An error object inside a 2xx reply or stream. */
static int embedded_error(mn_reply *r, json_t *v)
{
  json_t *e = json_object_get(v, "error");
  if(!e || json_is_null(e))
    return 0;
  const char *msg = json_is_string(e) ? json_string_value(e)
                                      : mn_json_path_str(e, "message");
  char *dump = msg ? NULL : mn_json_dump(e);
  char *line = mn_wire_error_text(msg ? msg : dump, strlen(msg ? msg : dump));
  fail(r, MN_EHTTP, mn_xasprintf("server reported an error: %s", line ? line : "(no message)"));
  free(line);
  free(dump);
  return 1;
}

/* The model declined, or the provider's filter stopped the prompt or the
 * reply: not retried (the same request gets the same answer), and never an
 * empty answer. `why` is the provider's own word or text. */
static int refused(mn_reply *r, const char *what, const char *why)
{
  char *line = why && *why ? mn_wire_error_text(why, strlen(why)) : NULL;
  int rc = fail(r, MN_EREFUSED, line ? mn_xasprintf("%s: %s", what, line) : mn_xstrdup(what));
  free(line);
  return rc;
}

/* ---- OpenAI chat completions ---------------------------------------------- */

static void openai_usage(mn_reply *r, json_t *u)
{
  if(!json_is_object(u))
    return;
  r->usage_seen = 1;
  r->usage.prompt_tokens = mn_json_path_u64(u, "prompt_tokens");
  r->usage.completion_tokens = mn_json_path_u64(u, "completion_tokens");
  r->usage.cached_prompt_tokens = mn_json_path_u64(u, "prompt_tokens_details.cached_tokens");
  if(!r->usage.cached_prompt_tokens)   /* DeepSeek's own field */
    r->usage.cached_prompt_tokens = mn_json_path_u64(u, "prompt_cache_hit_tokens");
}

/* content is a string, null, or (some servers) an array of text parts */
static int openai_content(mn_reply *r, json_t *c)
{
  if(json_is_string(c))
    return add_text(r, json_string_value(c));
  if(json_is_array(c)) {
    size_t i;
    json_t *part;
    json_array_foreach(c, i, part) {
      const char *type = mn_json_str(part, "type");
      if((!type || strcmp(type, "text") == 0) && add_text(r, mn_json_str(part, "text")))
        return r->code;
    }
  }
  return MN_OK;
}

/* finish_reason "content_filter" (OpenAI, Azure): the reply was cut or
 * withheld by the provider's filter. */
static int openai_filtered(mn_reply *r)
{
  if(r->finish && !strcmp(r->finish, "content_filter"))
    return refused(r, "the provider's content filter stopped the reply",
                   "finish_reason content_filter");
  return MN_OK;
}

static int openai_body(mn_reply *r, json_t *v)
{
  json_t *choice = mn_json_path(v, "choices.0");
  if(!json_is_object(choice)) {
    if(embedded_error(r, v))
      return r->code;
    return fail(r, MN_EPARSE, mn_xstrdup("reply has no choices"));
  }
  json_t *msg = json_object_get(choice, "message");
  if(!json_is_object(msg))
    return fail(r, MN_EPARSE, mn_xstrdup("reply choice has no message"));
  openai_usage(r, json_object_get(v, "usage"));
  const char *refusal = mn_json_str(msg, "refusal");
  if(refusal && *refusal)
    return refused(r, "the model refused", refusal);
  if(openai_content(r, json_object_get(msg, "content")))
    return r->code;
  set_finish(r, mn_json_str(choice, "finish_reason"));
  r->complete = 1;
  return openai_filtered(r);
}

static int openai_event(mn_reply *r, const char *data, size_t len)
{
  if(len == 6 && memcmp(data, "[DONE]", 6) == 0) {
    r->complete = 1;
    return MN_OK;
  }
  json_t *v = load(r, data, len, "stream event");
  if(!v)
    return r->code;
  if(embedded_error(r, v)) {
    json_decref(v);
    return r->code;
  }
  json_t *choice = mn_json_path(v, "choices.0");
  if(json_is_object(choice)) {
    if(openai_content(r, mn_json_path(choice, "delta.content"))) {
      json_decref(v);
      return r->code;
    }
    const char *rf = mn_json_path_str(choice, "delta.refusal");
    if(rf && *rf && mn_buf_puts(&r->refusal, rf) != 0) {
      json_decref(v);
      return refused(r, "the model refused", r->refusal.data);
    }
    const char *fr = mn_json_str(choice, "finish_reason");
    if(fr)
      set_finish(r, fr);
  }
  json_t *u = json_object_get(v, "usage");
  if(json_is_object(u))
    openai_usage(r, u);
  else   /* Groq without include_usage: the last chunk's x_groq.usage */
    openai_usage(r, mn_json_path(v, "x_groq.usage"));
  json_decref(v);
  return MN_OK;
}

/* ---- Ollama /api/chat ------------------------------------------------------- */

static int ollama_chunk(mn_reply *r, json_t *v)
{
  if(embedded_error(r, v))
    return r->code;
  if(add_text(r, mn_json_path_str(v, "message.content")))
    return r->code;
  if(json_is_true(json_object_get(v, "done"))) {
    const char *why = mn_json_str(v, "done_reason");
    set_finish(r, why ? why : "stop");
    /* prompt_eval_count is absent when the whole prompt came from
     * Ollama's cache: then it is 0, and still reported */
    r->usage_seen = json_object_get(v, "eval_count") != NULL;
    r->usage.prompt_tokens = mn_json_path_u64(v, "prompt_eval_count");
    r->usage.completion_tokens = mn_json_path_u64(v, "eval_count");
    r->complete = 1;
  }
  return MN_OK;
}

/* ---- Anthropic messages ----------------------------------------------------- */

static void anthropic_usage(mn_reply *r, json_t *u)
{
  if(!json_is_object(u))
    return;
  r->usage_seen = 1;
  /* input_tokens excludes cache reads and writes; ours includes them */
  if(json_object_get(u, "input_tokens"))
    r->in_tokens = mn_json_path_u64(u, "input_tokens");
  if(json_object_get(u, "cache_read_input_tokens"))
    r->cache_read = mn_json_path_u64(u, "cache_read_input_tokens");
  if(json_object_get(u, "cache_creation_input_tokens"))
    r->cache_write = mn_json_path_u64(u, "cache_creation_input_tokens");
  if(json_object_get(u, "output_tokens"))
    r->usage.completion_tokens = mn_json_path_u64(u, "output_tokens");
  r->usage.prompt_tokens = r->in_tokens + r->cache_read + r->cache_write;
  r->usage.cached_prompt_tokens = r->cache_read;
}

/* stop_reason "refusal": the model declined (Claude's safety classifier
 * stops the reply, possibly part way). */
static int anthropic_stop(mn_reply *r, const char *reason)
{
  if(!reason)
    return MN_OK;
  if(!strcmp(reason, "refusal"))
    return refused(r, "the model refused", "stop_reason refusal");
  set_finish(r, reason);
  return MN_OK;
}

static int anthropic_body(mn_reply *r, json_t *v)
{
  json_t *content = json_object_get(v, "content");
  if(!json_is_array(content)) {
    if(embedded_error(r, v))
      return r->code;
    return fail(r, MN_EPARSE, mn_xstrdup("reply has no content array"));
  }
  size_t i;
  json_t *block;
  json_array_foreach(content, i, block) {
    const char *type = mn_json_str(block, "type");
    if(type && strcmp(type, "text") == 0 && add_text(r, mn_json_str(block, "text")))
      return r->code;
  }
  anthropic_usage(r, json_object_get(v, "usage"));
  if(anthropic_stop(r, mn_json_str(v, "stop_reason")))
    return r->code;
  r->complete = 1;
  return MN_OK;
}

static int anthropic_event(mn_reply *r, const char *event, const char *data, size_t len)
{
  json_t *v = load(r, data, len, "stream event");
  if(!v)
    return r->code;
  const char *type = mn_json_str(v, "type");
  if(!type)
    type = event ? event : "";
  if(strcmp(type, "error") == 0)
    embedded_error(r, v);
  else if(strcmp(type, "message_start") == 0)
    anthropic_usage(r, mn_json_path(v, "message.usage"));
  else if(strcmp(type, "content_block_start") == 0) {
    json_t *cb = json_object_get(v, "content_block");
    const char *ct = mn_json_str(cb, "type");
    if(ct && strcmp(ct, "text") == 0)
      add_text(r, mn_json_str(cb, "text"));
  }
  else if(strcmp(type, "content_block_delta") == 0) {
    json_t *d = json_object_get(v, "delta");
    const char *dt = mn_json_str(d, "type");
    if(dt && strcmp(dt, "text_delta") == 0)
      add_text(r, mn_json_str(d, "text"));
  }
  else if(strcmp(type, "message_delta") == 0) {
    anthropic_usage(r, json_object_get(v, "usage"));
    anthropic_stop(r, mn_json_path_str(v, "delta.stop_reason"));
  }
  else if(strcmp(type, "message_stop") == 0)
    r->complete = 1;
  /* ping, content_block_stop and future events carry nothing we need */
  json_decref(v);
  return r->code;
}

/* ---- Gemini generateContent --------------------------------------------------- */

/* Gemini's finish reasons that mean the reply was withheld or cut by a
 * filter (FinishReason in the API reference). */
static int gemini_blocked(const char *reason)
{
  static const char *const blocked[] = {
    "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
    "LANGUAGE", NULL
  };
  for(int i = 0; blocked[i]; i++)
    if(!strcmp(reason, blocked[i]))
      return 1;
  return 0;
}

static int gemini_chunk(mn_reply *r, json_t *v)
{
  if(embedded_error(r, v))
    return r->code;
  json_t *u = json_object_get(v, "usageMetadata");
  if(json_is_object(u)) {
    /* promptTokenCount includes cachedContentTokenCount; thoughts are
     * billed as output */
    r->usage_seen = 1;
    r->usage.prompt_tokens = mn_json_path_u64(u, "promptTokenCount");
    r->usage.cached_prompt_tokens = mn_json_path_u64(u, "cachedContentTokenCount");
    r->usage.completion_tokens = mn_json_path_u64(u, "candidatesTokenCount") +
                                 mn_json_path_u64(u, "thoughtsTokenCount");
  }
  const char *block = mn_json_path_str(v, "promptFeedback.blockReason");
  if(block) {   /* the prompt itself was refused: no candidates */
    const char *said = mn_json_path_str(v, "promptFeedback.blockReasonMessage");
    char *why = mn_xasprintf("blockReason %s%s%s", block, said ? ": " : "", said ? said : "");
    refused(r, "the provider blocked the prompt", why);
    free(why);
    return r->code;
  }
  json_t *cand = mn_json_path(v, "candidates.0");
  json_t *parts = mn_json_path(cand, "content.parts");
  size_t i;
  json_t *part;
  json_array_foreach(parts, i, part) {
    if(json_is_true(json_object_get(part, "thought")))
      continue;   /* thinking summaries are not the answer */
    if(add_text(r, mn_json_str(part, "text")))
      return r->code;
  }
  const char *fr = mn_json_str(cand, "finishReason");
  if(fr && gemini_blocked(fr)) {
    char *why = mn_xasprintf("finishReason %s", fr);
    refused(r, "the provider blocked the reply", why);
    free(why);
    return r->code;
  }
  if(fr) {
    set_finish(r, fr);
    r->complete = 1;
  }
  return MN_OK;
}

/* ---- Dispatch ----------------------------------------------------------------- */

int mn_reply_parse_body(mn_reply *r, const char *body, size_t len)
{
  json_t *v = load(r, body, len, "reply");
  if(!v)
    return r->code;
  switch(r->wire) {
  case MN_WIRE_OPENAI:
    openai_body(r, v);
    break;
  case MN_WIRE_OLLAMA:
    ollama_chunk(r, v);
    if(!r->code && !r->complete)
      fail(r, MN_EPARSE, mn_xstrdup("reply is not marked done"));
    break;
  case MN_WIRE_ANTHROPIC:
    anthropic_body(r, v);
    break;
  case MN_WIRE_GEMINI:
    gemini_chunk(r, v);
    if(!r->code && !json_object_get(v, "candidates") &&
       !json_object_get(v, "promptFeedback"))
      fail(r, MN_EPARSE, mn_xstrdup("reply has no candidates"));
    r->complete = r->code == MN_OK;
    break;
  }
  json_decref(v);
  return r->code;
}

int mn_reply_stream_event(mn_reply *r, const char *event, const char *data, size_t len)
{
  if(r->code)
    return r->code;
  json_t *v;
  switch(r->wire) {
  case MN_WIRE_OPENAI:
    return openai_event(r, data, len);
  case MN_WIRE_ANTHROPIC:
    return anthropic_event(r, event, data, len);
  case MN_WIRE_OLLAMA:
  case MN_WIRE_GEMINI:
    v = load(r, data, len, "stream event");
    if(!v)
      return r->code;
    if(r->wire == MN_WIRE_OLLAMA)
      ollama_chunk(r, v);
    else
      gemini_chunk(r, v);
    json_decref(v);
    return r->code;
  }
  return r->code;
}

int mn_reply_stream_end(mn_reply *r)
{
  if(r->code)
    return r->code;
  if(r->refusal.len)
    return refused(r, "the model refused", r->refusal.data);
  if(r->wire == MN_WIRE_OPENAI && openai_filtered(r))
    return r->code;
  /* OpenAI: [DONE], or at least a finish_reason (some servers omit [DONE]) */
  if(r->wire == MN_WIRE_OPENAI && r->finish)
    r->complete = 1;
  if(!r->complete)
    return fail(r, MN_EPARSE, mn_xstrdup("stream ended before the reply was complete"));
  return MN_OK;
}
