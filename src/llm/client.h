/* Chat clients: one interface over every provider's wire format.
 *
 * A client is made from a model spec "PROVIDER:MODEL" and knows its
 * provider's base URL, key variable, request shape and reply shape. A chat
 * request (messages, temperature, max tokens, optional JSON schema) becomes
 * an HTTP request on the transport all clients of a run share (mn_llm); the
 * reply (whole or streamed) becomes text, a finish reason and token usage.
 * This layer is all the protocols see of the network.
 */
#ifndef MN_LLM_CLIENT_H
#define MN_LLM_CLIENT_H

#include <stddef.h>

#include "minions.h"

typedef enum mn_wire {
  MN_WIRE_OPENAI,      /* POST {base}/chat/completions, base ends in /v1 */
  MN_WIRE_OLLAMA,      /* POST {base}/api/chat */
  MN_WIRE_ANTHROPIC,   /* POST {base}/v1/messages */
  MN_WIRE_GEMINI       /* POST {base}/v1beta/models/{model}:generateContent */
} mn_wire;

/* What one provider accepts and sends, stated once (provider.c). Requests
 * carry only the fields their provider takes: Mistral answers a request
 * with stream_options with HTTP 422, api.openai.com's reasoning models
 * refuse max_tokens. */
typedef struct mn_provider {
  const char *name;          /* "openai", "together", "ollama", ... */
  mn_wire wire;
  const char *default_url;   /* base URL; NULL: must be configured (azure) */
  const char *url_env;       /* variable overriding the base URL, or NULL */
  const char *key_env;       /* variable holding the API key, or NULL */
  int key_required;          /* 0: sent only when set (openai-compatible, ollama) */
  /* OpenAI wire only: */
  int json_schema;           /* response_format json_schema accepted; 0: json_object */
  int stream_usage;          /* stream_options.include_usage accepted (else the
                                provider sends usage unasked, or not at all) */
  const char *max_tokens_field;  /* "max_tokens" or "max_completion_tokens" */
  int azure;                 /* deployment in the path, api-version query, api-key header */
} mn_provider;

/* The provider named `name`, or NULL. */
const mn_provider *mn_provider_find(const char *name);
/* All providers, NULL-terminated (for --help). */
const mn_provider *const *mn_provider_all(void);

typedef struct mn_llm_msg {
  const char *role;       /* "system", "user" or "assistant" */
  const char *content;    /* UTF-8 */
} mn_llm_msg;

typedef struct mn_llm_req {
  const mn_llm_msg *msgs;
  size_t n_msgs;
  double temperature;       /* < 0: leave to the server */
  int max_tokens;           /* <= 0: leave to the server (Anthropic: 4096) */
  const char *json_schema;  /* JSON text of a schema the reply must follow, or NULL */
  const char *schema_name;  /* name for providers that want one ("job_output") */
  int json_object;          /* no schema: still ask for a JSON object (JSON mode) */
  int num_ctx;              /* Ollama context window; 0: sized from the prompt */
  int sample;               /* 0: the request; n > 0: its n-th fresh sample,
                               e.g. a re-ask of the same request: not sent,
                               but a response cache keys it apart, so a
                               re-ask is not answered with the reply it
                               retries and a rerun meets the same replies */
} mn_llm_req;

typedef struct mn_llm_result {
  int code;                 /* MN_OK or MN_E*; on error only `error` is meaningful */
  char *text;               /* reply text, UTF-8, NUL-terminated */
  size_t text_len;
  char *finish_reason;      /* normalised: "stop", "length", "content_filter",
                               "tool_calls" or the provider's own word */
  mn_usage usage;           /* this call's tokens (calls = 1) */
  long http_status;
  int attempts;
  double elapsed_s;         /* submit to completion */
  double service_s;         /* in flight, no queueing */
  int cached;               /* 1: answered from the response cache (no
                               request; attempts 0, http_status 200) */
  char *error;              /* one line, no secrets */
} mn_llm_result;

void mn_llm_result_free(mn_llm_result *r);

/* t += u, field by field. */
void mn_usage_add(mn_usage *t, const mn_usage *u);

/* ---- The shared transport ---------------------------------------------- */

/* One loop driving every request of a run, with each endpoint's queue and
 * slots; failed attempts (connection errors, timeouts, 429, 5xx) are
 * retried with backoff, honouring Retry-After. */
typedef struct mn_llm mn_llm;

typedef struct mn_llm_opts {
  long connect_timeout_ms;   /* default 10 s */
  long request_timeout_ms;   /* one attempt, whole; default 600 s */
  long idle_timeout_ms;      /* no byte received; default 120 s */
  int max_retries;           /* extra attempts after the first; default 4 */
} mn_llm_opts;

#define MN_LLM_OPTS_INIT { 10000, 600000, 120000, 4 }

/* MN_EINVAL for negative retries; MN_ENOMEM if curl cannot start. */
int mn_llm_new(mn_llm **out, const mn_llm_opts *opts);
/* Finish every request soon with MN_ECANCELLED; safe from another thread or
 * a signal handler. */
void mn_llm_cancel(mn_llm *l);
/* Its clients must be freed first. */
void mn_llm_free(mn_llm *l);
/* The transport's cap on a reply body (also the response cache's cap). */
size_t mn_llm_max_body_bytes(const mn_llm *l);

struct mn_cache;
/* Answer requests of every client of the transport from `cache` (borrowed,
 * must outlive the transport's requests; NULL: none) and store each new
 * reply that parsed (llm/cache.h). A reply from the cache goes through the
 * parser a live one goes through (whole bodies, SSE and NDJSON streams
 * alike) and comes back with res->cached set; its done callback runs from
 * within the next mn_client_chat(), mn_client_batch() or completion on the
 * transport, never from inside mn_client_chat_async(). With several base
 * URLs a request is answered by a reply stored for any of them. */
void mn_llm_set_cache(mn_llm *l, struct mn_cache *cache);

/* ---- Clients ------------------------------------------------------------ */

typedef struct mn_client mn_client;

typedef struct mn_client_opts {
  int stream;               /* 1: ask for a streamed reply */
  int max_inflight;         /* per endpoint; default 8 */
  size_t max_reply_bytes;   /* cap on a reply's text; default 4 MiB */
  int share_server;         /* 1: each endpoint shares one in-flight limit
                               of max_inflight with every client of the
                               process on the same server (net/gate.h), so
                               runs on parallel threads together stay
                               within what the server takes; 0: its own cap
                               only; -1 (default): 1 for the providers that
                               talk to the user's own server (ollama,
                               openai-compatible), 0 for cloud APIs */
} mn_client_opts;

#define MN_CLIENT_OPTS_INIT { 1, 8, 4u << 20, -1 }

/* Make a client for `spec` on transport `llm` (borrowed; must outlive the
 * client). urls: base URL overrides (n_urls >= 2 spreads requests: each
 * goes to the endpoint with the fewest requests outstanding, so a faster
 * server, finishing sooner, gets more); NULL/0: the provider's variable or
 * default. Reads the key from the environment.
 * On failure returns MN_EINVAL (malformed spec or URL), MN_EUNSUPPORTED
 * (unknown provider) or MN_EAUTH (required key unset) and sets *errmsg
 * (caller frees). */
int mn_client_new(mn_client **out, mn_llm *llm, const char *spec,
                  const char *const *urls, size_t n_urls,
                  const mn_client_opts *opts, char **errmsg);
/* Free a client. Its requests must be finished (no call of it running). */
void mn_client_free(mn_client *c);

const char *mn_client_provider(const mn_client *c);  /* "openai", ... */
const char *mn_client_model(const mn_client *c);
const char *mn_client_url(const mn_client *c, size_t i); /* base URL i, NULL past the end */

/* Called once when the chat completes, from inside mn_client_chat() or
 * mn_client_batch(); it may queue more chats on the client. The result
 * is owned by the callee: take what you need (you may steal text by setting
 * res->text = NULL) before returning. */
typedef void (*mn_llm_done_cb)(void *userdata, mn_llm_result *res);

/* Queue a chat; it runs within the next mn_client_chat() or
 * mn_client_batch() on the same transport. The request is serialised at
 * once (req may be freed after). Transport faults are retried by the
 * transport; a 200 reply that cannot be parsed (or a stream that breaks off
 * or reports an error) is retried once more here, and its attempts count
 * in res->attempts. Returns MN_OK, or
 * MN_EINVAL for a bad request (no messages, unknown role, schema not JSON)
 * with mn_client_errmsg() saying why; `done` is then not called.
 * Result codes: MN_OK; MN_EAUTH (HTTP 401/403); MN_EHTTP (other statuses,
 * with the provider's own message); MN_EPARSE (reply unusable twice);
 * MN_ELIMIT (reply text over max_reply_bytes, or body over the transport's
 * cap); MN_ENET, MN_ETIMEOUT, MN_ECANCELLED from the transport. Error texts
 * name the provider and never contain the API key. */
int mn_client_chat_async(mn_client *c, const mn_llm_req *req,
                         mn_llm_done_cb done, void *userdata);

/* Why the last mn_client_chat_async() was refused ("" if it was not). */
const char *mn_client_errmsg(const mn_client *c);

/* Asked before each chat that would go to a server (not for one answered
 * from the cache, nor for the client's own re-request of a bad reply) with
 * the request and its body's size: return 0 to let it go, else a refusal,
 * with *why (one line, caller-allocated, freed by the client).
 * mn_client_chat_async() then returns MN_ELIMIT with mn_client_errmsg() =
 * *why, and nothing is sent. A spend cap lives here. */
typedef int (*mn_client_send_check_fn)(void *userdata, const mn_llm_req *req,
                                 size_t body_bytes, char **why);
void mn_client_set_send_check(mn_client *c, mn_client_send_check_fn check, void *userdata);

/* Run one chat to completion on the client's transport (which must have no
 * other work queued). Fills *out; returns out->code. */
int mn_client_chat(mn_client *c, const mn_llm_req *req, mn_llm_result *out);

/* Many chats, each made only when there is room for it: a request holds
 * its serialised body, and for thousands of jobs all of them at once would
 * be a round's largest memory use, so at most `window` are made and not
 * yet settled. */
typedef struct mn_llm_batch {
  size_t n;                 /* chats 0..n-1 */
  size_t window;            /* 0: two per slot over all endpoints, which
                               keeps every slot busy (a finished request is
                               replaced from its endpoint's queue) */
  /* Chat i's request, `attempt` from 1. What it points to must stay valid
   * until the next call of build (the client serialises it at once). */
  const mn_llm_req *(*build)(void *userdata, size_t i, int attempt);
  /* Chat i finished: return 1 to send it again (a reply the caller cannot
   * use), 0 when it is settled. */
  int (*done)(void *userdata, size_t i, int attempt, mn_llm_result *res);
  void *userdata;
  /* Optional: group[i] for chat i (chats whose prompts start alike: the
   * same chunk). Then the chats of a group go one after another, each made
   * when the one before it is answered, so it lands on the endpoint and the
   * server slot that just served its group and finds the prompt prefix in
   * that server's cache (llama.cpp cache_prompt, vLLM prefix caching,
   * Ollama's slot reuse); and only as many chats are made as there are
   * slots (window ignored), so no queue stands between a freed slot and
   * the group's next chat. Chats of a group are taken in index order. */
  const int *group;
} mn_llm_batch;

/* Requests one client keeps in flight at most: slots over all endpoints. */
size_t mn_client_capacity(const mn_client *c);

/* The Ollama context window a request needs (what its body would carry). */
int mn_llm_num_ctx(const mn_llm_req *req);

/* Run the batch to the end: every chat is settled or cancelled. Returns
 * MN_OK, MN_ECANCELLED, or the code of a request the client refused (with
 * mn_client_errmsg()), after which no new chat is started. */
int mn_client_batch(mn_client *c, const mn_llm_batch *b);

/* Embedding vectors for texts[0..n) from an Ollama (/api/embed) or
 * OpenAI-compatible (/v1/embeddings) client, in batches on its endpoints:
 * n * *dim floats in *out (caller frees), each of unit length; token usage
 * added to *usage. With a response cache, batches asked before are
 * answered from it: *cached (may be NULL) gets how many of the requests
 * were. MN_EUNSUPPORTED for other providers; on failure *errmsg (caller
 * frees) says why. */
int mn_client_embed(mn_client *c, const char *const *texts, size_t n, float **out,
                    size_t *dim, mn_usage *usage, size_t *cached, char **errmsg);

#endif
