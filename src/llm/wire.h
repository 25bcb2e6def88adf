/* Internal to src/llm: model specs, base URLs, and each provider's wire
 * format (request bodies and headers; whole and streamed replies; error
 * bodies). Pure functions, so tests check exact bytes without a server.
 * client.c puts them on the transport.
 */
#ifndef MN_LLM_WIRE_H
#define MN_LLM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "llm/client.h"
#include "util/buf.h"

/* ---- Specs, URLs, keys ------------------------------------------------- */

/* Split "PROVIDER:MODEL" at the first colon. Returns MN_OK with *model_out
 * (caller frees), MN_EINVAL (malformed) or MN_EUNSUPPORTED (unknown
 * provider); *errmsg is set on failure (caller frees). */
int mn_spec_parse(const char *spec, const mn_provider **prov_out,
                  char **model_out, char **errmsg);

/* The base URL to use: `given` (an override; NULL for none), else the
 * provider's URL variable when set and not empty, else its default.
 * Normalised: no trailing '/'; an OpenAI-family URL with an empty path gets
 * "/v1"; an Anthropic URL ending in "/v1" or a Gemini URL ending in "/v1beta"
 * loses it (we add those). OLLAMA_HOST may be "host", "host:port" or
 * "0.0.0.0" (-> http://127.0.0.1:11434 style). Anything else that is not
 * http:// or https:// fails with MN_EINVAL and *errmsg. */
int mn_base_url(const mn_provider *p, const char *given, char **out, char **errmsg);

/* Azure OpenAI's dated API version: $AZURE_OPENAI_API_VERSION when it is a
 * plain version word, else this (the GA version of the data-plane
 * inference API). */
#define MN_AZURE_API_VERSION "2024-10-21"
const char *mn_azure_api_version(void);

/* Full request URL for base URL `base`. Caller frees. */
char *mn_wire_url(const mn_provider *p, const char *model, const char *base,
                  int stream);

/* ---- Requests ------------------------------------------------------------ */

typedef struct mn_wire_target {
  const mn_provider *prov;
  const char *model;
  const char *key;          /* NULL when none */
} mn_wire_target;

typedef struct mn_wire_req {
  char *body;               /* JSON, NUL-terminated */
  size_t body_len;
  char **headers;           /* "Name: value", NULL-terminated */
  int stream;
  int prefill;              /* 1: the reply continues an assistant "{" */
} mn_wire_req;

/* Serialise a chat for target t. MN_EINVAL with *errmsg for a bad request
 * (no messages, unknown role, schema not JSON). */
int mn_wire_build(const mn_wire_target *t, const mn_llm_req *req, int stream,
                  mn_wire_req *out, char **errmsg);
void mn_wire_req_free(mn_wire_req *r);

/* Ollama context window for a request: req->num_ctx when > 0, else
 * bytes/3 + max tokens (2048 when unset) + 512, rounded up to a multiple of
 * 1024, within [4096, 131072]. */
int mn_ollama_num_ctx(const mn_llm_req *req);

/* Whether an Anthropic model accepts a prefilled assistant turn. */
int mn_anthropic_prefill_ok(const char *model);

/* ---- Replies ------------------------------------------------------------- */

typedef struct mn_reply {
  mn_wire wire;
  int prefill;              /* text starts with the prefilled "{" */
  mn_buf text;              /* capped at max_reply_bytes */
  char *finish;             /* normalised finish reason, or NULL */
  mn_usage usage;
  int usage_seen;           /* the provider reported token counts */
  uint64_t in_tokens, cache_read, cache_write;   /* Anthropic parts */
  mn_buf refusal;           /* OpenAI message.refusal / delta.refusal text */
  int complete;             /* the end of the reply was seen */
  int code;                 /* MN_OK, or what went wrong (MN_EPARSE,
                               MN_ELIMIT, MN_EHTTP for an in-stream error,
                               MN_EREFUSED for a refusal or a safety block) */
  char *error;              /* one line when code != MN_OK */
} mn_reply;

void mn_reply_init(mn_reply *r, mn_wire wire, int prefill, size_t max_text);
/* Forget a failed attempt's partial reply. */
void mn_reply_reset(mn_reply *r);
void mn_reply_free(mn_reply *r);

/* A whole (non-streamed) 2xx body. Returns r->code. */
int mn_reply_parse_body(mn_reply *r, const char *body, size_t len);
/* One streamed event (SSE event name or NULL, data). Returns r->code. */
int mn_reply_stream_event(mn_reply *r, const char *event, const char *data,
                          size_t len);
/* The stream ended cleanly: MN_OK if the reply was complete, else MN_EPARSE
 * with r->error. */
int mn_reply_stream_end(mn_reply *r);

/* The provider's own message in an error body (OpenAI error.message,
 * Anthropic error.message, Gemini error.message, Ollama error, vLLM
 * message...), else the body's start; one line, at most ~300 bytes, caller
 * frees. NULL for an empty body. */
char *mn_wire_error_text(const char *body, size_t len);

/* Normalise a provider's finish reason ("end_turn" -> "stop", "MAX_TOKENS"
 * -> "length", ...). Caller frees. */
char *mn_finish_normalise(mn_wire wire, const char *reason);

/* Replace every occurrence of `secret` (if non-empty) in msg by "***", in
 * place, and redact words that look like API keys ("sk-...", "AIza..."). */
void mn_scrub_secret(char *msg, const char *secret);

#endif
