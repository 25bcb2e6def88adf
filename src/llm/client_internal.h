/* Inside a chat client: shared by the chat calls (client.c), batches
 * (batch.c) and embeddings (embed.c). Not for the layers above. */
#ifndef MN_LLM_CLIENT_INTERNAL_H
#define MN_LLM_CLIENT_INTERNAL_H

#include "llm/cache.h"
#include "llm/client.h"
#include "llm/wire.h"
#include "net/http.h"

struct mn_call;

struct mn_llm {
  mn_http *http;
  size_t max_body;            /* the transport's body cap */
  mn_cache *cache;            /* borrowed; NULL: none */
  struct mn_call *ready, *ready_tail;  /* answered from the cache, their
                                          done callbacks not called yet */
  int draining;
};

typedef struct endpoint {
  char *base;                 /* normalised base URL */
  mn_http_endpoint *h;
  int outstanding;            /* our requests on it now, queued or in flight */
} endpoint;

struct mn_client {
  mn_llm *llm;
  const mn_provider *prov;
  char *model;
  char *key;
  mn_wire_target tgt;
  endpoint *eps;
  size_t n_eps;
  mn_client_opts opts;
  mn_client_send_check_fn send_check;  /* the spend cap, or NULL */
  void *send_check_ud;
  char *errmsg;
};

/* Replace the client's message (takes msg). */
void mn_client_set_errmsg(mn_client *c, char *msg);

/* Drive the transport until no request is left, calling the done callbacks
 * of chats answered from the cache as they come (they may queue more).
 * Returns what mn_http_run() returns. */
int mn_llm_run(mn_llm *l);

#endif
