/* HTTP transport: one loop driving many requests at once through libcurl's
 * multi interface.
 *
 * Callers submit requests with a completion callback; mn_http_run() drives
 * them all from one thread until none is left. Each request belongs to an
 * endpoint, which caps how many of its requests are in flight (the rest wait
 * in the endpoint's FIFO queue). Failed attempts are retried with
 * exponential backoff and jitter on connection errors, timeouts, 429 and 5xx,
 * honouring Retry-After. Bodies are capped. Streaming replies (SSE, NDJSON)
 * are cut into events and handed over as they arrive.
 *
 * Not thread-safe except mn_http_cancel(); handles on different threads may
 * share gates (mn_http_endpoint_gate()), which are.
 */
#ifndef MN_NET_HTTP_H
#define MN_NET_HTTP_H

#include <stddef.h>

typedef struct mn_http mn_http;
typedef struct mn_http_endpoint mn_http_endpoint;

/* Time limits <= 0 mean "none" (connect: curl's own default, 300 s). */
typedef struct mn_http_opts {
  long connect_timeout_ms;   /* default 10000 */
  long request_timeout_ms;   /* one attempt, whole; default 600000 */
  long idle_timeout_ms;      /* no byte received for this long, counted from
                                the attempt's start; default 120000 */
  int max_retries;           /* extra attempts after the first; default 4 */
  long backoff_base_ms;      /* first backoff; doubles each retry; default 500 */
  long backoff_max_ms;       /* cap on one backoff (and on Retry-After); default 30000 */
  size_t max_body_bytes;     /* cap on a response body, streamed bytes
                                included (per attempt); default 64 MiB */
} mn_http_opts;

#define MN_HTTP_OPTS_INIT { 10000, 600000, 120000, 4, 500, 30000, 64u << 20 }

typedef enum mn_http_stream {
  MN_HTTP_STREAM_NONE = 0,   /* whole body handed over at the end */
  MN_HTTP_STREAM_SSE,        /* text/event-stream: one callback per event */
  MN_HTTP_STREAM_NDJSON      /* one callback per non-empty line */
} mn_http_stream;

/* One streamed event. For SSE: `event` is the event name (NULL if none) and
 * `data` the joined data lines; for NDJSON `event` is NULL and `data` the
 * line. `data` is NUL-terminated. Return 0 to go on, non-zero to abort the
 * request, which is not retried: it completes with the returned value if
 * that is a negative MN_E* code, else with MN_EPARSE. Called from inside
 * the transfer: it must not call mn_http_run() or mn_http_free(). */
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
                          mode), NUL-terminated; owned by the transport.
                          Never NULL; "" after a streamed success and for
                          codes other than MN_OK and MN_EHTTP */
  size_t body_len;
  int streamed;        /* 1 if the body went to the stream parser; 0 if a
                          stream was asked for but the server answered with
                          a whole application/json body (then in `body`) */
  int attempts;        /* attempts made */
  double elapsed_s;    /* from submit to completion, queueing included */
  double service_s;    /* time spent in flight (all attempts), no queueing */
  const char *error;   /* one-line description when code != MN_OK (method,
                          URL without query string, what failed, attempts);
                          never contains headers. NULL on success */
} mn_http_result;

/* Called once per request when it ends, from inside mn_http_run(). The
 * result and everything it points to are valid during the call only. The
 * callback may submit new requests. */
typedef void (*mn_http_done_cb)(void *userdata, const mn_http_result *res);

typedef struct mn_http_req {
  mn_http_endpoint *endpoint;     /* required */
  const char *method;             /* "POST" (default when body set) or "GET"
                                     (default otherwise); others are sent as
                                     they are */
  const char *url;                /* full http:// or https:// URL; copied */
  const char *const *headers;     /* "Name: value" strings, NULL-terminated; copied.
                                     With a body and no Content-Type header,
                                     "Content-Type: application/json" is sent */
  const char *body;               /* copied */
  size_t body_len;
  mn_http_stream stream;
  mn_http_event_cb on_event;      /* stream modes */
  mn_http_attempt_cb on_attempt;  /* optional */
  mn_http_done_cb on_done;        /* required */
  void *userdata;
} mn_http_req;

/* libcurl must be set up already (mn_global_init()). opts NULL: the
 * defaults. MN_EINVAL for negative retries or backoffs, a
 * zero body cap; MN_ENOMEM if curl cannot make its multi handle. */
int mn_http_new(mn_http **out, const mn_http_opts *opts);
/* Aborts requests still pending, without callbacks. Not from a callback. */
void mn_http_free(mn_http *http);

/* An endpoint: a name for messages (e.g. the base URL) and a cap on
 * requests in flight at once (values < 1 count as 1). Owned by the http
 * handle. Its queue is FIFO; a request coming back from a backoff goes to
 * the front, as it has waited longest. */
mn_http_endpoint *mn_http_endpoint_new(mn_http *http, const char *name, int max_inflight);
/* Make ep share the process-wide gate of the server `server_url` is on
 * (net/gate.h: keyed by scheme, host, port and base path) with every
 * gated endpoint of every transport of the process, asking for `capacity`
 * slots (< 1 counts as 1). Then a request of ep starts only when ep and
 * the gate both have room, else it waits in ep's queue and ep in the
 * gate's FIFO. The gate's capacity is the largest its endpoints ask for,
 * while they exist. Opt-in: endpoints not gated (remote APIs) are bound by
 * their own cap alone. Call before mn_http_run(); ep leaves its gate with
 * mn_http_free(), which gives back its slots. MN_EINVAL if ep is gated
 * already or the URL is not http(s) with a host. */
int mn_http_endpoint_gate(mn_http_endpoint *ep, const char *server_url, int capacity);
/* Requests of this endpoint in flight now, and queued. */
int mn_http_endpoint_inflight(const mn_http_endpoint *ep);
size_t mn_http_endpoint_queued(const mn_http_endpoint *ep);

/* Queue a request (may be called from a done callback). Returns 0,
 * MN_EINVAL for a malformed request (no endpoint, URL or on_done, a stream
 * mode without on_event, a non-http(s) URL, a header holding CR or LF, a
 * body on GET/HEAD), or MN_ECANCELLED once mn_http_cancel() was called. */
int mn_http_submit(mn_http *http, const mn_http_req *req);
/* Drive all requests until none is queued, in flight or backing off.
 * Returns MN_ECANCELLED if cancelled, MN_EINVAL if called from one of its
 * own callbacks, else 0. Requests submitted meanwhile (from callbacks) are
 * run too. */
int mn_http_run(mn_http *http);

/* Make mn_http_run() finish every request with MN_ECANCELLED soon. Safe from
 * another thread or a signal handler. */
void mn_http_cancel(mn_http *http);
int mn_http_cancelled(const mn_http *http);
/* Connections opened so far (curl's count): with keep-alive this stays
 * near the number of slots however many requests ran. */
unsigned long mn_http_connects(const mn_http *http);

/* `url` fit for messages and logs: scheme, host, port and path only (no
 * user:password@, query string or fragment, which can carry API keys),
 * control characters replaced, at most ~300 bytes. Caller frees. */
char *mn_http_url_for_log(const char *url);

#endif
