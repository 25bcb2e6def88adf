/* minions serve: an HTTP server (libmicrohttpd) in front of the library.
 *
 * This part: the OpenAI-compatible API. `model` names a protocol
 * (minions, minion, remote-only, local-only); the models, URLs and tuning
 * are the server's (command line); documents are the request's messages
 * before the last user message, which is the task. Answers come whole or,
 * with "stream": true, as OpenAI's chat.completion.chunk events, the run's
 * progress in `delta.reasoning_content` (shown by chat front-ends as the
 * model's thinking) and the answer in `delta.content`.
 *
 * Safe by default: loopback only unless a bearer token is set (compared in
 * constant time); provider keys stay in the server's environment; caps on
 * the request body and on concurrent runs (429 beyond); a state-changing
 * request with an Origin other than the server's own is refused; no CORS.
 * Errors are in OpenAI's shape: {"error": {"message", "type", "param",
 * "code"}}.
 *
 * Only the public API (minions.h) is used.
 */
#ifndef MN_SERVER_H
#define MN_SERVER_H

#include <signal.h>
#include <stddef.h>

#include "minions.h"

typedef struct mn_server_opts {
  const char *host;            /* "127.0.0.1" */
  int port;                    /* 8765; 0: any free port */
  const char *token;           /* bearer token; NULL: none (loopback only) */
  const mn_run_opts *run;      /* models and settings of every run */
  size_t max_body_bytes;       /* request bodies; default 32 MiB */
  int max_runs;                /* runs at once; default 4 */
  /* called once listening, with the port (stdout "PORT n" for tests) */
  void (*on_listening)(int port, void *ud);
  void *ud;
  volatile sig_atomic_t *stop; /* set (e.g. by a signal handler) to stop */
} mn_server_opts;

/* Serve until *stop is set. MN_OK, or MN_EINVAL (bad options: a non-loopback
 * host without a token) / MN_EIO (cannot listen), with *errmsg (caller
 * frees). */
int mn_server_run(const mn_server_opts *o, char **errmsg);

#endif
