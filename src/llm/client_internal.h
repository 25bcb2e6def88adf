/* Inside a chat client: shared by the chat calls (client.c), batches
 * (batch.c) and embeddings (embed.c). Not for the layers above. */
#ifndef MN_LLM_CLIENT_INTERNAL_H
#define MN_LLM_CLIENT_INTERNAL_H

#include "llm/client.h"
#include "llm/wire.h"
#include "net/http.h"

struct mn_llm {
  mn_http *http;
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
  char *errmsg;
};

/* Replace the client's message (takes msg). */
void mn_client_set_errmsg(mn_client *c, char *msg);

#endif
