/* HTTP transport: one libcurl multi loop driving many requests at once.
 *
 * Callers submit requests with a completion callback; mn_http_run() drives
 * them all from one thread until none is left. Each request belongs to an
 * endpoint, which caps how many of its requests are in flight (the rest wait
 * in the endpoint's FIFO queue). Failed attempts are retried with
 * exponential backoff and jitter on connection errors, timeouts, 429 and 5xx,
 * honouring Retry-After. Bodies are capped. Streaming replies (SSE, NDJSON)
 * are cut into events and handed over as they arrive.
 *
 * Not thread-safe except mn_http_cancel().
 */
#ifndef MN_NET_HTTP_H
#define MN_NET_HTTP_H

#include <stddef.h>

typedef struct mn_http mn_http;
typedef struct mn_http_endpoint mn_http_endpoint;

typedef struct mn_http_opts {
  long connect_timeout_ms;   /* default 10000 */
  long request_timeout_ms;   /* one attempt, whole; default 600000 */
  long idle_timeout_ms;      /* no byte received for this long; default 120000 */
  int max_retries;           /* extra attempts after the first; default 4 */
  long backoff_base_ms;      /* first backoff; doubles each retry; default 500 */
  long backoff_max_ms;       /* cap on one backoff (and on Retry-After); default 30000 */
  size_t max_body_bytes;     /* cap on a response body; default 64 MiB */
} mn_http_opts;

#define MN_HTTP_OPTS_INIT { 10000, 600000, 120000, 4, 500, 30000, 64u << 20 }

typedef enum mn_http_stream {
  MN_HTTP_STREAM_NONE = 0,   /* whole body handed over at the end */
  MN_HTTP_STREAM_SSE,        /* text/event-stream: one callback per event */
  MN_HTTP_STREAM_NDJSON      /* one callback per non-empty line */
} mn_http_stream;

/* One streamed event. For SSE: `event` is the event name (NULL if none) and
 * `data` the joined data lines; for NDJSON `event` is NULL and `data` the
 * line. Return 0 to go on, non-zero to abort the request (it then completes
 * with MN_EPARSE unless the callback set a code through mn_http_req). */
typedef int (*mn_http_event_cb)(void *userdata, const char *event,
                                const char *data, size_t len);

/* Called when a new attempt starts (first one included), so a stream
 * consumer can drop what a failed attempt left behind. */
typedef void (*mn_http_attempt_cb)(void *userdata, int attempt);

typedef struct mn_http_result {
  int code;            /* MN_OK, MN_ENET, MN_ETIMEOUT, MN_EHTTP, MN_ELIMIT,
                          MN_ECANCELLED, MN_EPARSE (stream callback abort) */
  long status;         /* HTTP status of the last attempt, 0 if none */
  const char *body;    /* whole body (NONE mode, or error bodies in stream
                          mode), NUL-terminated; owned by the transport */
  size_t body_len;
  int attempts;        /* attempts made */
  double elapsed_s;    /* from submit to completion, queueing included */
  double service_s;    /* time spent in flight (all attempts), no queueing */
  const char *error;   /* one-line description when code != MN_OK */
} mn_http_result;

/* Called once per request when it ends, from inside mn_http_run(). The
 * result and everything it points to are valid during the call only. The
 * callback may submit new requests. */
typedef void (*mn_http_done_cb)(void *userdata, const mn_http_result *res);

typedef struct mn_http_req {
  mn_http_endpoint *endpoint;     /* required */
  const char *method;             /* "POST" (default when body set) or "GET" */
  const char *url;                /* full URL; copied */
  const char *const *headers;     /* "Name: value" strings, NULL-terminated; copied */
  const char *body;               /* copied */
  size_t body_len;
  mn_http_stream stream;
  mn_http_event_cb on_event;      /* stream modes */
  mn_http_attempt_cb on_attempt;  /* optional */
  mn_http_done_cb on_done;        /* required */
  void *userdata;
} mn_http_req;

int mn_http_new(mn_http **out, const mn_http_opts *opts);
void mn_http_free(mn_http *http);   /* aborts requests still pending, no callbacks */

/* An endpoint: a name for messages (e.g. the base URL) and a cap on
 * requests in flight at once (>= 1). Owned by the http handle. */
mn_http_endpoint *mn_http_endpoint_new(mn_http *http, const char *name, int max_inflight);
/* Requests of this endpoint in flight now, and queued. */
int mn_http_endpoint_inflight(const mn_http_endpoint *ep);
size_t mn_http_endpoint_queued(const mn_http_endpoint *ep);

/* Queue a request. Returns 0, or MN_EINVAL for a malformed request. */
int mn_http_submit(mn_http *http, const mn_http_req *req);
/* Drive all requests until none is queued, in flight or backing off.
 * Returns MN_ECANCELLED if cancelled, else 0. */
int mn_http_run(mn_http *http);
/* Make mn_http_run() finish every request with MN_ECANCELLED soon. Safe from
 * another thread or a signal handler. */
void mn_http_cancel(mn_http *http);
int mn_http_cancelled(const mn_http *http);

#endif
