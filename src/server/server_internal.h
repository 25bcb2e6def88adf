/* Shared by the server's files: the server state and reply helpers. */
#ifndef MN_SERVER_INTERNAL_H
#define MN_SERVER_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>

#include "server/server.h"

typedef struct srv {
  mn_server_opts o;
  mn_run_opts run;
  pthread_mutex_t mu;
  int runs;                  /* under way */
  char origin[300];          /* http://host:port, for the Origin check */
} srv;

/* An error reply in OpenAI's shape. */
struct MHD_Response *mn_srv_error(const char *type, const char *code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
/* A JSON reply (takes the reference). */
struct MHD_Response *mn_srv_json(json_t *body);

/* Room for one more run? 1 and counted, or 0 (then 429). */
int mn_srv_run_acquire(srv *s);
void mn_srv_run_release(srv *s);

/* POST /v1/chat/completions with its body: the response and its status. */
struct MHD_Response *mn_srv_completions(srv *s, const char *body, size_t len, int *status);

#endif
