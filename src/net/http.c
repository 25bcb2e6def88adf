/* The transport: every request of a handle runs on one curl multi handle,
 * driven by mn_http_run() on the caller's thread.
 *
 * A request is in exactly one place at a time: its endpoint's FIFO queue,
 * in flight (an easy handle on the multi, and a node of the in-flight list),
 * or the backoff heap (waiting for its next attempt). The in-flight list is
 * kept ordered by the time of the last byte received (a received byte moves
 * its request to the tail), so the idle timeout is a look at the head, and
 * the heap's top says when the next backoff ends: the loop never scans all
 * requests per event.
 *
 * curl is driven through curl_multi_socket_action() on our own epoll set,
 * so an event costs work on its own connection only. curl_multi_perform()
 * looks at every transfer on each call; with many slots ending together,
 * the first freed slot waited until all replies had been read, and the
 * fan-out lost a slot-time in every wave.
 *
 * The direct path: a plain-http request to a literal address (a local model
 * server) is sent on our own keep-alive connections on the same epoll set
 * (see h1.h), not through curl: curl spends some 35 us of CPU per request
 * there, and when a round sends one request per slot at once, the slot
 * served last waits for all of them. Both paths share the queues, retries,
 * timeouts, caps and results; attempt outcomes are told in curl's codes, so
 * one classify() reads both. MINIONS_HTTP=curl, or a proxy set in the
 * environment, sends everything through curl.
 */
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "minions.h"
#include "net/h1.h"
#include "net/retry.h"
#include "net/stream.h"
#include "net/warm.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

typedef enum req_state { RS_QUEUED, RS_INFLIGHT, RS_BACKOFF } req_state;

typedef enum req_method { RM_GET, RM_HEAD, RM_POST, RM_OTHER } req_method;

typedef struct req req;
typedef struct dconn dconn;
struct req {
  mn_http *http;
  mn_http_endpoint *ep;
  req_state state;
  req *qnext;                 /* endpoint queue */
  req *iprev, *inext;         /* in-flight list */
  size_t heap_idx;            /* backoff heap */
  double wake_at;

  req_method kind;
  char *method;               /* as sent, for messages */
  char *url;
  char *url_log;              /* redacted, for messages */
  int tls;                    /* https: HTTP/2 may multiplex */
  struct curl_slist *headers;
  char *body;
  size_t body_len;
  mn_http_stream stream;
  mn_http_event_cb on_event;
  mn_http_attempt_cb on_attempt;
  mn_http_done_cb on_done;
  void *userdata;

  /* direct path: the request head, and where it goes */
  int direct;
  char *head;
  size_t head_len;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  struct sockaddr_storage alt;   /* "localhost": ::1, if 127.0.0.1 refuses */
  socklen_t alt_len;

  /* the current attempt */
  CURL *easy;                 /* curl path */
  dconn *conn;                /* direct path */
  req *tprev, *tnext;         /* direct path: list by start time, for timeouts */
  int start_err;              /* direct path: errno of a start that failed */
  int connected;              /* a connection was up */
  int os_errno;               /* of a failed connect or transfer */
  int attempts;
  double t_submit, t_start, t_last;
  double service;
  long status;
  int status_known;
  int streaming;              /* 2xx in a stream mode: bytes go to the parser */
  size_t rx;                  /* body bytes received */
  int fail;                   /* our own reason to stop: MN_ELIMIT or a callback's code */
  long retry_after_ms;        /* -1: no Retry-After */
  mn_buf resp;                /* body (NONE mode or non-2xx) */
  mn_sse sse;
  mn_ndjson nd;

  /* set aside by attempt_done until finish_done() */
  req *dnext;
  int done_code;
  char done_why[160];
};

struct mn_http_endpoint {
  mn_http *http;
  char *name;
  int max_inflight;
  int inflight;
  req *qhead, *qtail;
  size_t queued;
  mn_http_endpoint *next;
  /* service times of its successful attempts: smoothed, and the shortest
   * (see wait_events) */
  double svc_mean, svc_min;
  unsigned long svc_n;
};

struct mn_http {
  CURLM *multi;
  mn_http_opts o;
  atomic_int cancelled;
  int running;
  int in_curl;                /* inside curl_multi_socket_action(): no multi calls */
  int need_dispatch;          /* a submit happened while in_curl */
  mn_http_endpoint *eps;
  CURL **pool;                /* idle easy handles, reset */
  size_t npool, cap_pool;
  req **heap;                 /* backoff min-heap on wake_at */
  size_t nheap, cap_heap;
  req *ihead, *itail;         /* in flight, least recent byte first */
  size_t pending;             /* submitted, not completed */
  size_t total_slots;         /* sum of the endpoints' caps */
  req *dhead, *dtail;         /* ended, done callback not called yet */
  int started;                /* transfers added since curl last ran */
  int epfd;                   /* the sockets curl asked us to watch */
  int wakefd;                 /* eventfd: mn_http_cancel() wakes the loop */
  double timer_at;            /* when curl wants to be called back; < 0: never */
  mn_http_idle_cb idle;       /* work to do before waiting */
  void *idle_ud;
  unsigned long connects;     /* connections opened */
  uint64_t rng;
  mn_warm_pool warm;          /* connections opened ahead (mn_http_warm) */
  curl_socket_t handed;       /* the warm socket curl was just given */
  /* direct path */
  int direct_ok;              /* not turned off (MINIONS_HTTP=curl, a proxy) */
  dconn **byfd;               /* connections by socket */
  size_t nbyfd;
  uint32_t conn_gen;          /* tells a connection from an earlier one on its fd */
  dconn *kept;                /* kept-alive connections, most recent first */
  size_t nkept;
  req *thead, *ttail;         /* direct attempts in flight, oldest first */
  int start_failed;           /* a direct attempt failed to start: see run loop */
  unsigned long direct_sent;  /* attempts sent on the direct path */
  char *url_seen;             /* the last URL parsed for the direct path */
  mn_h1_url url_parsed;       /* and what it gave (target NULL: not direct) */
};

/* A connection of the direct path. */
struct dconn {
  mn_http *http;
  int fd;
  uint32_t gen;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  req *r;                     /* the request it carries; NULL while idle */
  int connecting;             /* connect() not finished */
  int reused;                 /* carried a whole exchange before */
  size_t sent;                /* bytes of r's head and body written */
  uint32_t events;            /* the epoll mask it is registered with */
  mn_h1_parser p;
  dconn *next;                /* idle list */
};

/* ---- small helpers ------------------------------------------------------ */

static struct curl_slist *slist_add(struct curl_slist *l, const char *s)
{
  struct curl_slist *n = curl_slist_append(l, s);
  if(!n) {
    fprintf(stderr, "minions: out of memory (curl header list)\n");
    abort();
  }
  return n;
}

char *mn_http_url_for_log(const char *url)
{
  enum { MAXLOG = 300 };
  mn_buf out = MN_BUF_INIT(0);
  if(!url)
    url = "";
  const char *p = url;
  const char *sep = strstr(url, "://");
  if(sep && strcspn(url, "/?#") > (size_t)(sep - url)) {
    size_t auth_start = (size_t)(sep - url) + 3;
    size_t auth_len = strcspn(url + auth_start, "/?#");
    const char *host = url + auth_start;
    for(size_t i = 0; i < auth_len; i++)   /* userinfo ends at the last '@' */
      if(url[auth_start + i] == '@')
        host = url + auth_start + i + 1;
    mn_buf_append(&out, url, auth_start);
    mn_buf_append(&out, host, (size_t)(url + auth_start + auth_len - host));
    p = url + auth_start + auth_len;
  }
  mn_buf_append(&out, p, strcspn(p, "?#"));
  for(size_t i = 0; i < out.len; i++)
    if((unsigned char)out.data[i] < 0x20 || out.data[i] == 0x7f)
      out.data[i] = '?';
  if(out.len > MAXLOG) {
    out.len = MAXLOG;
    out.data[out.len] = '\0';
    mn_buf_puts(&out, "...");
  }
  return mn_buf_steal(&out, NULL);
}

/* ---- in-flight list (ordered by last byte received) --------------------- */

static void ilist_push(mn_http *h, req *r)
{
  r->inext = NULL;
  r->iprev = h->itail;
  if(h->itail)
    h->itail->inext = r;
  else
    h->ihead = r;
  h->itail = r;
}

static void ilist_unlink(mn_http *h, req *r)
{
  if(r->iprev)
    r->iprev->inext = r->inext;
  else
    h->ihead = r->inext;
  if(r->inext)
    r->inext->iprev = r->iprev;
  else
    h->itail = r->iprev;
  r->iprev = r->inext = NULL;
}

/* A byte arrived: note the time and keep the list ordered. */
static void touch(req *r)
{
  mn_http *h = r->http;
  if(h->o.idle_timeout_ms <= 0)
    return;
  r->t_last = mn_now();
  if(h->itail != r) {
    ilist_unlink(h, r);
    ilist_push(h, r);
  }
}

/* ---- backoff heap --------------------------------------------------------- */

static void heap_swap(mn_http *h, size_t a, size_t b)
{
  req *t = h->heap[a];
  h->heap[a] = h->heap[b];
  h->heap[b] = t;
  h->heap[a]->heap_idx = a;
  h->heap[b]->heap_idx = b;
}

static void heap_push(mn_http *h, req *r)
{
  MN_GROW(h->heap, h->cap_heap, h->nheap + 1);
  size_t i = h->nheap++;
  h->heap[i] = r;
  r->heap_idx = i;
  while(i > 0) {
    size_t parent = (i - 1) / 2;
    if(h->heap[parent]->wake_at <= h->heap[i]->wake_at)
      break;
    heap_swap(h, parent, i);
    i = parent;
  }
}

static req *heap_pop(mn_http *h)
{
  if(!h->nheap)
    return NULL;
  req *top = h->heap[0];
  h->nheap--;
  if(h->nheap) {
    h->heap[0] = h->heap[h->nheap];
    h->heap[0]->heap_idx = 0;
    size_t i = 0;
    for(;;) {
      size_t l = 2 * i + 1, r = l + 1, m = i;
      if(l < h->nheap && h->heap[l]->wake_at < h->heap[m]->wake_at)
        m = l;
      if(r < h->nheap && h->heap[r]->wake_at < h->heap[m]->wake_at)
        m = r;
      if(m == i)
        break;
      heap_swap(h, i, m);
      i = m;
    }
  }
  return top;
}

/* ---- endpoint queues ------------------------------------------------------ */

static void queue_push(mn_http_endpoint *ep, req *r, int front)
{
  r->state = RS_QUEUED;
  r->qnext = NULL;
  if(!ep->qhead) {
    ep->qhead = ep->qtail = r;
  } else if(front) {
    r->qnext = ep->qhead;
    ep->qhead = r;
  } else {
    ep->qtail->qnext = r;
    ep->qtail = r;
  }
  ep->queued++;
}

static req *queue_pop(mn_http_endpoint *ep)
{
  req *r = ep->qhead;
  if(!r)
    return NULL;
  ep->qhead = r->qnext;
  if(!ep->qhead)
    ep->qtail = NULL;
  r->qnext = NULL;
  ep->queued--;
  return r;
}

/* ---- easy handle pool ------------------------------------------------------ */

static CURL *pool_get(mn_http *h)
{
  if(h->npool)
    return h->pool[--h->npool];
  return curl_easy_init();
}

static void pool_put(mn_http *h, CURL *e)
{
  /* Reset drops our options but keeps what makes reuse pay: curl's caches
   * live in the multi handle. */
  curl_easy_reset(e);
  MN_GROW(h->pool, h->cap_pool, h->npool + 1);
  h->pool[h->npool++] = e;
}

/* ---- requests ------------------------------------------------------------- */

static void req_free(req *r)
{
  free(r->method);
  free(r->url);
  free(r->url_log);
  curl_slist_free_all(r->headers);
  free(r->head);
  free(r->body);
  mn_buf_free(&r->resp);
  if(r->stream == MN_HTTP_STREAM_SSE)
    mn_sse_free(&r->sse);
  else if(r->stream == MN_HTTP_STREAM_NDJSON)
    mn_ndjson_free(&r->nd);
  free(r);
}

/* Hand the result over and free the request. `why` says what failed. */
static void complete(req *r, int code, const char *why)
{
  mn_http *h = r->http;
  char *msg = NULL;
  mn_http_result res;
  memset(&res, 0, sizeof res);
  res.code = code;
  res.status = r->status;
  if(code == MN_OK || code == MN_EHTTP) {
    res.body = mn_buf_str(&r->resp);
    res.body_len = r->resp.len;
  } else {
    res.body = "";
  }
  res.streamed = r->streaming;
  res.attempts = r->attempts;
  res.elapsed_s = mn_now() - r->t_submit;
  res.service_s = r->service;
  if(code != MN_OK) {
    if(r->attempts > 1)
      msg = mn_xasprintf("%s %s: %s after %d attempts", r->method, r->url_log,
                         why, r->attempts);
    else
      msg = mn_xasprintf("%s %s: %s", r->method, r->url_log, why);
    res.error = msg;
  }
  h->pending--;
  r->on_done(r->userdata, &res);
  free(msg);
  req_free(r);
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
  req *r = ud;
  size_t n = size * nitems;
  touch(r);
  if(n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
    r->retry_after_ms = -1;   /* a new response (after a 1xx) starts */
  } else if(n > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
    char v[64];
    size_t len = n - 12 < sizeof v - 1 ? n - 12 : sizeof v - 1;
    memcpy(v, buf + 12, len);
    v[len] = '\0';
    r->retry_after_ms = mn_retry_after_ms(v, time(NULL));
  }
  return n;
}

/* The reply's status and type are known: where its body goes. */
static void reply_begins(req *r, long status, const char *content_type)
{
  r->status = status;
  r->status_known = 1;
  r->streaming = r->stream != MN_HTTP_STREAM_NONE && status >= 200 && status < 300;
  /* servers that ignore "stream": true answer with one JSON body: keep it
   * whole so the caller can parse it as a plain reply */
  if(r->streaming && content_type && strncasecmp(content_type, "application/json", 16) == 0)
    r->streaming = 0;
}

/* Body bytes of the reply, from either path: 0, or the code that stops
 * the attempt (also kept in r->fail). */
static int reply_bytes(req *r, const char *ptr, size_t n)
{
  int rc;
  touch(r);
  if(n > r->http->o.max_body_bytes - r->rx) {
    r->fail = MN_ELIMIT;
    return MN_ELIMIT;
  }
  r->rx += n;
  if(!r->streaming)
    rc = mn_buf_append(&r->resp, ptr, n);
  else if(r->stream == MN_HTTP_STREAM_SSE)
    rc = mn_sse_feed(&r->sse, ptr, n);
  else
    rc = mn_ndjson_feed(&r->nd, ptr, n);
  if(rc)
    r->fail = rc;
  return rc;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
  req *r = ud;
  size_t n = size * nmemb;
  if(!r->status_known) {
    long st = 0;
    const char *ct = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
    reply_begins(r, st, ct);
  }
  return reply_bytes(r, ptr, n) ? CURL_WRITEFUNC_ERROR : n;
}

/* curl wants a socket for a new connection: a warm one to the same
 * address if there is one (sock_opt then tells curl it is connected). */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
  mn_http *h = ud;
  if(purpose == CURLSOCKTYPE_IPCXN) {
    int fd = mn_warm_take(&h->warm, &a->addr, a->addrlen);
    if(fd >= 0)
      return h->handed = fd;
  }
  h->handed = CURL_SOCKET_BAD;   /* a number curl may have closed unasked */
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int sock_opt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
  mn_http *h = ud;
  (void)purpose;
  if(fd != h->handed)
    return CURL_SOCKOPT_OK;
  h->handed = CURL_SOCKET_BAD;
  return CURL_SOCKOPT_ALREADY_CONNECTED;
}

static void set_options(req *r, CURL *e)
{
  const mn_http_opts *o = &r->http->o;
  curl_easy_setopt(e, CURLOPT_URL, r->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, r);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
  switch(r->kind) {
  case RM_GET:
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    break;
  case RM_HEAD:
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    break;
  case RM_POST:
  case RM_OTHER:
    if(r->body || r->kind == RM_POST) {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
    }
    if(r->kind == RM_OTHER)
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    break;
  }
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  /* h2 where TLS can negotiate it; plain http stays HTTP/1.1 (no h2c
   * upgrade dance with local servers). */
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  if(r->tls)   /* wait to multiplex on a TLS connection being set up */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  if(r->tls)   /* keep-alive probes keep long-lived remote connections open */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if(r->http->warm.n) {
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r->http);
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, sock_opt);
    curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, r->http);
  }
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body_bytes);
  if(o->connect_timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if(o->request_timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->request_timeout_ms);
}

static void direct_start(req *r);
static void conn_close(dconn *c);
static void tlist_unlink(mn_http *h, req *r);

/* Start the next attempt of r, which holds a slot of its endpoint. */
static void start_attempt(req *r)
{
  mn_http *h = r->http;
  r->state = RS_INFLIGHT;
  r->ep->inflight++;   /* before on_attempt, which may submit to this endpoint */
  r->attempts++;
  r->t_start = r->t_last = mn_now();
  r->status = 0;
  r->status_known = 0;
  r->streaming = 0;
  r->rx = 0;
  r->fail = 0;
  r->retry_after_ms = -1;
  r->start_err = 0;
  r->connected = 0;
  r->os_errno = 0;
  mn_buf_reset(&r->resp);
  if(r->stream == MN_HTTP_STREAM_SSE)
    mn_sse_reset(&r->sse);
  else if(r->stream == MN_HTTP_STREAM_NDJSON)
    mn_ndjson_reset(&r->nd);
  ilist_push(h, r);
  if(r->on_attempt)
    r->on_attempt(r->userdata, r->attempts);
  if(r->direct) {
    direct_start(r);
    return;
  }
  r->easy = pool_get(h);
  if(r->easy) {
    set_options(r, r->easy);
    if(curl_multi_add_handle(h->multi, r->easy) == CURLM_OK) {
      h->started = 1;
      return;
    }
    curl_easy_cleanup(r->easy);
    r->easy = NULL;
  }
  ilist_unlink(h, r);
  r->ep->inflight--;
  complete(r, MN_ENOMEM, "could not start a transfer");
}

static void dispatch_all(mn_http *h);

/* Fill the endpoint's free slots from its queue. */
static void dispatch(mn_http_endpoint *ep)
{
  mn_http *h = ep->http;
  if(h->in_curl) {
    h->need_dispatch = 1;
    return;
  }
  while(ep->inflight < ep->max_inflight && ep->qhead &&
        !atomic_load(&h->cancelled))
    start_attempt(queue_pop(ep));
}

/* Take r off the multi handle, into no list; counts its service time. */
static void detach(req *r)
{
  mn_http *h = r->http;
  if(r->direct) {
    if(r->conn)   /* cut off mid-exchange: the connection is of no further use */
      conn_close(r->conn);
    tlist_unlink(h, r);
  } else {
    long opened = 0;
    if(curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
      h->connects += (unsigned long)opened;
    curl_multi_remove_handle(h->multi, r->easy);
    pool_put(h, r->easy);
    r->easy = NULL;
  }
  ilist_unlink(h, r);
  r->ep->inflight--;
  r->service += mn_now() - r->t_start;
}

/* What an attempt's outcome means: the code, whether to retry, and why. */
static int classify(req *r, CURLcode cc, int idle, int *retry, char *why, size_t why_size)
{
  mn_http *h = r->http;
  *retry = 0;
  if(r->fail == MN_ELIMIT) {
    snprintf(why, why_size, "response body larger than %zu bytes",
             h->o.max_body_bytes);
    return MN_ELIMIT;
  }
  if(r->fail) {
    snprintf(why, why_size, "stream consumer stopped the transfer (%s)",
             mn_strerror(r->fail));
    return r->fail;
  }
  if(idle) {
    *retry = 1;
    snprintf(why, why_size, "no data received for %ld ms (idle timeout)",
             h->o.idle_timeout_ms);
    return MN_ETIMEOUT;
  }
  *retry = 1;
  switch(cc) {
  case CURLE_OK:
    if(r->status >= 200 && r->status < 300) {
      *retry = 0;
      return MN_OK;
    }
    *retry = r->status == 429 || r->status >= 500;
    snprintf(why, why_size, "HTTP %ld", r->status);
    return MN_EHTTP;
  case CURLE_OPERATION_TIMEDOUT: {
    /* an attempt that ended unconnected before the request limit can only
     * have hit the connect limit */
    double took_ms = (mn_now() - r->t_start) * 1000.0;
    if(!r->connected && h->o.connect_timeout_ms > 0 &&
       (h->o.request_timeout_ms <= 0 || took_ms < (double)h->o.request_timeout_ms))
      snprintf(why, why_size, "could not connect within %ld ms",
               h->o.connect_timeout_ms);
    else
      snprintf(why, why_size, "no complete reply within %ld ms (request timeout)",
               h->o.request_timeout_ms);
    return MN_ETIMEOUT;
  }
  case CURLE_COULDNT_CONNECT:
    if(r->os_errno == ECONNREFUSED)
      snprintf(why, why_size, "connection refused");
    else
      snprintf(why, why_size, "could not connect (%s)",
               r->os_errno ? strerror(r->os_errno) : "unreachable");
    return MN_ENET;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    snprintf(why, why_size, "could not resolve the host name");
    return MN_ENET;
  case CURLE_GOT_NOTHING:
    snprintf(why, why_size, "connection closed without a reply");
    return MN_ENET;
  case CURLE_PARTIAL_FILE:
    snprintf(why, why_size, "reply cut short");
    return MN_ENET;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    snprintf(why, why_size, "connection reset or broken (%s)",
             cc == CURLE_SEND_ERROR ? "while sending" : "while receiving");
    return MN_ENET;
  case CURLE_WEIRD_SERVER_REPLY:
    *retry = 0;
    snprintf(why, why_size, "malformed HTTP reply");
    return MN_ENET;
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_BAD_CONTENT_ENCODING:
    snprintf(why, why_size, "%s", curl_easy_strerror(cc));
    return MN_ENET;
  case CURLE_FILESIZE_EXCEEDED:
    *retry = 0;
    snprintf(why, why_size, "response body larger than %zu bytes",
             h->o.max_body_bytes);
    return MN_ELIMIT;
  default:
    *retry = 0;
    snprintf(why, why_size, "%s", curl_easy_strerror(cc));
    return MN_ENET;
  }
}

static void learn_service_time(mn_http_endpoint *ep, double x)
{
  ep->svc_mean = ep->svc_n ? ep->svc_mean + (x - ep->svc_mean) / 8 : x;
  ep->svc_min = ep->svc_n && ep->svc_min < x ? ep->svc_min : x;
  ep->svc_n++;
}

/* An attempt of r ended (curl finished it, or the loop saw it idle). */
static void attempt_done(req *r, CURLcode cc, int idle)
{
  mn_http *h = r->http;
  mn_http_endpoint *ep = r->ep;
  if(!r->direct) {
    long os_errno = 0;
    curl_off_t connect_us = 0;   /* stays 0 until connected */
    if(!r->status_known)
      curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
    if(cc == CURLE_COULDNT_CONNECT)
      curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
    curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    r->os_errno = (int)os_errno;
    r->connected = connect_us > 0;
  }
  char why[160] = "";
  int retry;
  int code = classify(r, cc, idle, &retry, why, sizeof why);
  if(code == MN_OK)
    learn_service_time(ep, mn_now() - r->t_start);
  detach(r);
  if(code == MN_OK && r->streaming && r->stream == MN_HTTP_STREAM_NDJSON) {
    code = mn_ndjson_finish(&r->nd);
    if(code)
      snprintf(why, sizeof why, "stream consumer stopped the transfer (%s)",
               mn_strerror(code));
  }
  /* Refill the slot before the done callback, which may take a while. */
  if(retry && r->attempts <= h->o.max_retries && !atomic_load(&h->cancelled)) {
    long wait;
    if(r->retry_after_ms >= 0)
      wait = r->retry_after_ms < h->o.backoff_max_ms ? r->retry_after_ms
                                                     : h->o.backoff_max_ms;
    else
      wait = mn_backoff_ms(h->o.backoff_base_ms, h->o.backoff_max_ms,
                           r->attempts, &h->rng);
    r->state = RS_BACKOFF;
    r->wake_at = mn_now() + (double)wait / 1000.0;
    heap_push(h, r);
    dispatch(ep);
    return;
  }
  dispatch(ep);
  r->done_code = code;
  snprintf(r->done_why, sizeof r->done_why, "%s", why);
  r->dnext = NULL;
  if(h->dtail)
    h->dtail->dnext = r;
  else
    h->dhead = r;
  h->dtail = r;
}

/* ---- the direct path (plain http to a literal address; see h1.h) ---------- */

static void tlist_push(mn_http *h, req *r)
{
  r->tnext = NULL;
  r->tprev = h->ttail;
  if(h->ttail)
    h->ttail->tnext = r;
  else
    h->thead = r;
  h->ttail = r;
}

static void tlist_unlink(mn_http *h, req *r)
{
  if(r->tprev)
    r->tprev->tnext = r->tnext;
  else
    h->thead = r->tnext;
  if(r->tnext)
    r->tnext->tprev = r->tprev;
  else
    h->ttail = r->tprev;
  r->tprev = r->tnext = NULL;
}

/* epoll data of a connection: its generation above its fd, so an event
 * read before the fd was closed and reused is known as stale. curl's
 * sockets and the wake-up fd carry generation 0. */
static uint64_t conn_key(const dconn *c)
{
  return (uint64_t)c->gen << 32 | (uint32_t)c->fd;
}

/* Kept-alive connections: at most as many as curl keeps (see
 * mn_http_endpoint_new). */
static size_t kept_cap(const mn_http *h)
{
  return h->total_slots + 16 > 256 ? h->total_slots + 16 : 256;
}

static void kept_unlink(mn_http *h, dconn *c)
{
  for(dconn **pp = &h->kept; *pp; pp = &(*pp)->next)
    if(*pp == c) {
      *pp = c->next;
      c->next = NULL;
      h->nkept--;
      return;
    }
}

static void conn_close(dconn *c)
{
  mn_http *h = c->http;
  if(c->r)
    c->r->conn = NULL;
  else
    kept_unlink(h, c);
  h->byfd[c->fd] = NULL;
  close(c->fd);   /* which also takes it out of the epoll set */
  mn_h1_free(&c->p);
  free(c);
}

static int conn_watch(dconn *c, uint32_t events)
{
  if(c->events == events)
    return 0;
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = events;
  ev.data.u64 = conn_key(c);
  if(epoll_ctl(c->http->epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) != 0)
    return errno;
  c->events = events;
  return 0;
}

/* What c must be watched for: always the server's bytes and its close
 * (also while idle), and room to write while the request is not out. */
static uint32_t conn_wants(const dconn *c)
{
  uint32_t ev = EPOLLIN | EPOLLRDHUP;
  if(c->r && (c->connecting || c->sent < c->r->head_len + c->r->body_len))
    ev |= EPOLLOUT;
  return ev;
}

static int conn_head(void *ud);
static int conn_body(void *ud, const char *data, size_t n);

static dconn *conn_new(mn_http *h, int fd, const req *r, int connecting)
{
  int one = 1;   /* head and body go out at once: no waiting for an ACK */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if((size_t)fd >= h->nbyfd) {
    size_t n = h->nbyfd ? h->nbyfd : 64;
    while(n <= (size_t)fd)
      n *= 2;
    h->byfd = mn_xrealloc(h->byfd, n * sizeof *h->byfd);
    memset(h->byfd + h->nbyfd, 0, (n - h->nbyfd) * sizeof *h->byfd);
    h->nbyfd = n;
  }
  dconn *c = mn_xcalloc(1, sizeof *c);
  c->http = h;
  c->fd = fd;
  if(++h->conn_gen == 0)
    ++h->conn_gen;
  c->gen = h->conn_gen;
  c->addr = r->addr;
  c->addr_len = r->addr_len;
  c->connecting = connecting;
  mn_h1_init(&c->p, conn_head, conn_body, c);
  h->byfd[fd] = c;
  h->connects++;
  return c;
}

/* A connection for r: a kept-alive one (unless `fresh`), a warm one, or a
 * new connect. NULL with *err set when none can be had. */
static dconn *conn_for(mn_http *h, req *r, int fresh, int *err)
{
  for(dconn **pp = &h->kept; !fresh && *pp; pp = &(*pp)->next) {
    dconn *c = *pp;
    if(c->addr_len == r->addr_len && memcmp(&c->addr, &r->addr, r->addr_len) == 0) {
      *pp = c->next;
      c->next = NULL;
      h->nkept--;
      return c;
    }
  }
  int fd = mn_warm_take(&h->warm, (const struct sockaddr *)&r->addr, r->addr_len);
  if(fd >= 0)
    return conn_new(h, fd, r, 0);
  fd = socket(r->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if(fd < 0) {
    *err = errno;
    return NULL;
  }
  int connecting = 0;
  if(connect(fd, (const struct sockaddr *)&r->addr, r->addr_len) != 0) {
    if(errno != EINPROGRESS) {
      *err = errno;
      close(fd);
      return NULL;
    }
    connecting = 1;
  }
  return conn_new(h, fd, r, connecting);
}

/* Write what is left of the request as far as the socket takes it: 0, or
 * an errno. */
static int conn_send(dconn *c)
{
  req *r = c->r;
  size_t total = r->head_len + r->body_len;
  while(c->sent < total) {
    struct iovec iov[2];
    int n = 0;
    if(c->sent < r->head_len) {
      iov[n].iov_base = r->head + c->sent;
      iov[n++].iov_len = r->head_len - c->sent;
    }
    size_t body_at = c->sent > r->head_len ? c->sent - r->head_len : 0;
    if(body_at < r->body_len) {
      iov[n].iov_base = r->body + body_at;
      iov[n++].iov_len = r->body_len - body_at;
    }
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = iov;
    m.msg_iovlen = (size_t)n;
    ssize_t k = sendmsg(c->fd, &m, MSG_NOSIGNAL);
    if(k < 0) {
      if(errno == EINTR)
        continue;
      return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
    }
    c->sent += (size_t)k;
  }
  return 0;
}

/* Put r's attempt on a connection and send what the socket takes. A
 * request that goes out on a kept-alive connection the server has just
 * closed is sent again at once on a fresh one. Failures are not reported
 * from here (we may be inside dispatch()): the run loop does it. */
static void direct_send(req *r, int fresh)
{
  mn_http *h = r->http;
  int err = 0;
  r->connected = 0;
  for(;;) {
    dconn *c = conn_for(h, r, fresh, &err);
    if(!c)
      break;
    c->r = r;
    r->conn = c;
    c->sent = 0;
    mn_h1_reset(&c->p, r->kind == RM_HEAD);
    if(!c->connecting) {
      r->connected = 1;
      err = conn_send(c);
    }
    if(!err)
      err = conn_watch(c, conn_wants(c));
    if(!err)
      return;
    int stale = c->reused && !fresh;
    conn_close(c);
    if(!stale)
      break;
    fresh = 1;
    err = 0;
  }
  r->start_err = err ? err : EIO;
  h->start_failed = 1;
}

static void direct_start(req *r)
{
  tlist_push(r->http, r);
  r->http->direct_sent++;
  direct_send(r, 0);
}

/* "localhost" refused on one address: try its other one (curl tries both
 * too), and make it the first choice of the URL's later requests. 1 if
 * the request went there. */
static int try_alt_address(req *r, int err)
{
  mn_http *h = r->http;
  if(err != ECONNREFUSED || !r->alt_len)
    return 0;
  if(r->conn)
    conn_close(r->conn);
  struct sockaddr_storage a = r->addr;
  socklen_t alen = r->addr_len;
  r->addr = r->alt;
  r->addr_len = r->alt_len;
  r->alt_len = 0;   /* once per request */
  if(h->url_seen && strcmp(h->url_seen, r->url) == 0) {
    h->url_parsed.addr = r->addr;
    h->url_parsed.addr_len = r->addr_len;
    h->url_parsed.alt = a;
    h->url_parsed.alt_len = alen;
  }
  direct_send(r, 1);
  return 1;
}

/* Attempts whose start failed: only attempts in this state have no
 * connection while in the list. */
static void report_failed_starts(mn_http *h)
{
  while(h->start_failed) {
    h->start_failed = 0;
    for(req *r = h->thead, *next; r; r = next) {
      next = r->tnext;
      if(r->conn || (!r->connected && try_alt_address(r, r->start_err)))
        continue;
      r->os_errno = r->start_err;
      attempt_done(r, r->connected ? CURLE_SEND_ERROR : CURLE_COULDNT_CONNECT, 0);
    }
  }
}

/* The attempt on r's connection ended: keep the connection for the next
 * request when the exchange ended cleanly, then judge the attempt. */
static void direct_end(req *r, CURLcode cc)
{
  mn_http *h = r->http;
  dconn *c = r->conn;
  if(cc == CURLE_OK && c->p.keep_alive && c->sent == r->head_len + r->body_len &&
     h->nkept < kept_cap(h)) {
    c->r = NULL;
    r->conn = NULL;
    c->reused = 1;
    c->next = h->kept;
    h->kept = c;
    h->nkept++;
    if(conn_watch(c, conn_wants(c)))
      conn_close(c);
  } else {
    conn_close(c);
  }
  attempt_done(r, cc, 0);
}

/* The exchange on c broke. When no byte of a reply came on a kept-alive
 * connection, the server closed it as the request went out: not the
 * request's fault, so it goes again at once on a fresh connection (as curl
 * does too). */
static void direct_broken(dconn *c, CURLcode cc, int err)
{
  req *r = c->r;
  int stale = c->reused && !c->p.got_bytes;
  conn_close(c);
  if(stale && !atomic_load(&r->http->cancelled)) {
    direct_send(r, 1);
    return;
  }
  r->os_errno = err;
  attempt_done(r, cc, 0);
}

static int conn_head(void *ud)
{
  dconn *c = ud;
  req *r = c->r;
  reply_begins(r, c->p.status, c->p.content_type);
  if(c->p.retry_after[0])
    r->retry_after_ms = mn_retry_after_ms(c->p.retry_after, time(NULL));
  if(c->p.has_length && c->p.length > r->http->o.max_body_bytes)
    return r->fail = MN_ELIMIT;
  return 0;
}

static int conn_body(void *ud, const char *data, size_t n)
{
  dconn *c = ud;
  return reply_bytes(c->r, data, n);
}

/* Read what has arrived. 1 if the attempt ended (c may be gone). */
static int conn_read(dconn *c)
{
  char buf[32768];
  for(;;) {
    ssize_t k = recv(c->fd, buf, sizeof buf, 0);
    if(k > 0) {
      size_t used = 0;
      touch(c->r);
      int rc = mn_h1_feed(&c->p, buf, (size_t)k, &used);
      if(rc) {
        direct_end(c->r, c->r->fail ? CURLE_WRITE_ERROR : CURLE_WEIRD_SERVER_REPLY);
        return 1;
      }
      if(c->p.state == MN_H1_DONE) {
        if(used < (size_t)k)
          c->p.keep_alive = 0;   /* the server sent what nobody asked for */
        direct_end(c->r, CURLE_OK);
        return 1;
      }
      if((size_t)k < sizeof buf)
        return 0;
    } else if(k == 0) {
      if(mn_h1_eof(&c->p) == 0) {
        c->p.keep_alive = 0;
        direct_end(c->r, CURLE_OK);
      } else {
        direct_broken(c, c->p.got_bytes ? CURLE_PARTIAL_FILE : CURLE_GOT_NOTHING, 0);
      }
      return 1;
    } else if(errno == EAGAIN || errno == EWOULDBLOCK) {
      return 0;
    } else if(errno != EINTR) {
      direct_broken(c, CURLE_RECV_ERROR, errno);
      return 1;
    }
  }
}

static void conn_event(dconn *c, uint32_t ev)
{
  req *r = c->r;
  if(!r) {   /* idle: the server closed it, or spoke unasked */
    conn_close(c);
    return;
  }
  if(c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if(getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if(!err && (ev & (EPOLLERR | EPOLLHUP)))
      err = ECONNREFUSED;
    if(err && try_alt_address(r, err))
      return;
    if(err) {
      r->os_errno = err;
      direct_end(r, CURLE_COULDNT_CONNECT);
      return;
    }
    if(!(ev & EPOLLOUT))
      return;
    c->connecting = 0;
    r->connected = 1;
  }
  int err = conn_send(c);
  if(err) {
    direct_broken(c, CURLE_SEND_ERROR, err);
    return;
  }
  if((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && conn_read(c))
    return;
  err = conn_watch(c, conn_wants(c));
  if(err)
    direct_broken(c, CURLE_SEND_ERROR, err);
}

/* The direct path's connect and request time limits in seconds, as curl
 * reads the same options (connect: 300 s when unset). */
static void direct_limits(const mn_http *h, double *ct, double *rt)
{
  *ct = h->o.connect_timeout_ms > 0 ? (double)h->o.connect_timeout_ms / 1000.0 : 300.0;
  *rt = h->o.request_timeout_ms > 0 ? (double)h->o.request_timeout_ms / 1000.0 : INFINITY;
}

/* Attempts past the connect or request time limit (curl keeps its own). */
static void check_direct_deadlines(mn_http *h, double now)
{
  double ct, rt;
  direct_limits(h, &ct, &rt);
  double first = ct < rt ? ct : rt;
  for(req *r = h->thead, *next; r && now - r->t_start >= first; r = next) {
    next = r->tnext;
    double age = now - r->t_start;
    if(r->conn && (age >= rt || (!r->connected && age >= ct)))
      attempt_done(r, CURLE_OPERATION_TIMEDOUT, 0);
  }
}

/* When the oldest direct attempt runs out of time. */
static double direct_deadline(const mn_http *h)
{
  const req *r = h->thead;
  double ct, rt;
  direct_limits(h, &ct, &rt);
  return r->t_start + (r->connected || rt < ct ? rt : ct);
}

/* The direct path is on unless MINIONS_HTTP=curl turns it off, or a proxy
 * is set for http:// URLs: curl would use it, and the direct path does not
 * speak to proxies. */
static int direct_allowed(void)
{
  static const char *const proxy_vars[] = { "http_proxy", "all_proxy", "ALL_PROXY" };
  const char *v = getenv("MINIONS_HTTP");
  if(v && strcmp(v, "curl") == 0)
    return 0;
  for(size_t i = 0; i < sizeof proxy_vars / sizeof proxy_vars[0]; i++) {
    v = getenv(proxy_vars[i]);
    if(v && *v)
      return 0;
  }
  return 1;
}

/* Requests are completed one at a time, and only after the transfers that
 * refill their slots were started: a done callback parses a reply and
 * builds new requests, and when many slots end together, a slot whose
 * reply came last would otherwise idle through every earlier callback.
 * Between two callbacks the loop looks for newly arrived replies first. */
static void kick(mn_http *h)
{
  if(!h->started)
    return;
  int still;
  h->started = 0;
  h->in_curl = 1;   /* new transfers are due at once: this starts them */
  curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &still);
  h->in_curl = 0;
  if(h->need_dispatch)
    dispatch_all(h);
}

static void finish_one(mn_http *h)
{
  kick(h);
  req *r = h->dhead;
  if(!r)
    return;
  h->dhead = r->dnext;
  if(!h->dhead)
    h->dtail = NULL;
  complete(r, r->done_code, r->done_why);
}

/* ---- the loop ------------------------------------------------------------- */

static void drain_messages(mn_http *h)
{
  CURLMsg *m;
  int left;
  while((m = curl_multi_info_read(h->multi, &left))) {
    if(m->msg != CURLMSG_DONE)
      continue;
    CURLcode cc = m->data.result;
    char *priv = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
    if(priv)
      attempt_done((req *)priv, cc, 0);
  }
}

static void wake_backoffs(mn_http *h, double now)
{
  while(h->nheap && h->heap[0]->wake_at <= now) {
    req *r = heap_pop(h);
    queue_push(r->ep, r, 1);
    dispatch(r->ep);
  }
}

static void check_idle(mn_http *h, double now)
{
  double idle = (double)h->o.idle_timeout_ms / 1000.0;
  if(h->o.idle_timeout_ms <= 0)
    return;
  while(h->ihead && now - h->ihead->t_last >= idle)
    attempt_done(h->ihead, CURLE_OK, 1);
}

/* Milliseconds until the loop has something to do: a backoff ending, an
 * idle timeout, curl's timer. */
static int next_wait_ms(mn_http *h, double now)
{
  double wait = 1.0;
  if(h->nheap && h->heap[0]->wake_at - now < wait)
    wait = h->heap[0]->wake_at - now;
  if(h->o.idle_timeout_ms > 0 && h->ihead) {
    double d = h->ihead->t_last + (double)h->o.idle_timeout_ms / 1000.0 - now;
    if(d < wait)
      wait = d;
  }
  if(h->timer_at >= 0 && h->timer_at - now < wait)
    wait = h->timer_at - now;
  if(h->thead && direct_deadline(h) - now < wait)
    wait = direct_deadline(h) - now;
  if(wait <= 0)
    return 0;
  return (int)ceil(wait * 1000.0);
}

static void cancel_all(mn_http *h)
{
  req *r;
  while(h->dhead)   /* these ended before the cancel: their own results */
    finish_one(h);
  while((r = h->ihead)) {
    detach(r);
    complete(r, MN_ECANCELLED, "cancelled");
  }
  while((r = heap_pop(h)))
    complete(r, MN_ECANCELLED, "cancelled");
  for(mn_http_endpoint *ep = h->eps; ep; ep = ep->next)
    while((r = queue_pop(ep)))
      complete(r, MN_ECANCELLED, "cancelled");
}

static void dispatch_all(mn_http *h)
{
  h->need_dispatch = 0;
  for(mn_http_endpoint *ep = h->eps; ep; ep = ep->next)
    dispatch(ep);
}

/* curl tells which sockets to watch for what. */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
  mn_http *h = userp;
  if(what == CURL_POLL_REMOVE) {
    epoll_ctl(h->epfd, EPOLL_CTL_DEL, fd, NULL);   /* fails if already closed: fine */
    return 0;
  }
  struct epoll_event ev;
  memset(&ev, 0, sizeof ev);
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
  ev.data.fd = fd;
  /* socketp is set (to h) once the socket is in the epoll set: one
   * epoll_ctl per change, not a failing MOD before each ADD */
  int op = socketp ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if(epoll_ctl(h->epfd, op, fd, &ev) != 0) {
    op = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if(epoll_ctl(h->epfd, op, fd, &ev) != 0)
      return -1;
  }
  if(!socketp)
    curl_multi_assign(h->multi, fd, h);
  return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
  mn_http *h = userp;
  h->timer_at = timeout_ms < 0 ? -1 : mn_now() + (double)timeout_ms / 1000.0;
  return 0;
}

/* Let curl work on socket fd (CURL_SOCKET_TIMEOUT: on its due timers),
 * then hand out what finished. */
static void curl_action(mn_http *h, curl_socket_t fd, int flags)
{
  int still;
  h->in_curl = 1;
  curl_multi_socket_action(h->multi, fd, flags, &still);
  h->in_curl = 0;
  if(h->need_dispatch)
    dispatch_all(h);
  drain_messages(h);
}

#define MAX_EVENTS 64

/* A thread asleep in epoll_wait() is woken by the server's send, and the
 * scheduler queues it behind the sender on the sender's CPU ("sync" socket
 * wake-ups) until that has finished its burst; then the server, woken by
 * our requests, waits behind us in turn. With a fast local server whose
 * slots end together, that cost each slot some 2 ms a wave (S = 32,
 * T = 20 ms: a tenth of the slots' time). So the loop polls instead of
 * sleeping while a request younger than POLL_FOR_S is in flight on an
 * endpoint whose every reply took at least POLL_SERVICE_MIN_S and which
 * answers within POLL_FOR_S on average (learnt from its replies; unknown
 * before the first). Slower replies (real models: seconds) and a stalled
 * server cost no polling, nor does a server that answers some request at
 * once: replies that are slow only for waiting in its queue mean the
 * server is the bottleneck, and waiting on it faster gains nothing. */
#define POLL_SERVICE_MIN_S 0.005
#define POLL_FOR_S 0.050

/* How long polling is worth it from now; 0: sleep. */
static double poll_span(const mn_http *h, double now)
{
  double until = now;
  for(const req *r = h->ihead; r; r = r->inext) {
    const mn_http_endpoint *ep = r->ep;
    if(ep->svc_n && (ep->svc_min < POLL_SERVICE_MIN_S || ep->svc_mean > POLL_FOR_S))
      continue;
    if(r->t_start + POLL_FOR_S > until)
      until = r->t_start + POLL_FOR_S;
  }
  return until - now;
}

/* Wait up to wait_ms for events: sleep, or poll while it is worth it. */
static int wait_events(mn_http *h, struct epoll_event *evs, int wait_ms)
{
  double now = mn_now();
  double span = poll_span(h, now);
  if(span <= 0)
    return epoll_wait(h->epfd, evs, MAX_EVENTS, wait_ms);
  if(span > (double)wait_ms / 1000.0)
    span = (double)wait_ms / 1000.0;
  do {
    int n = epoll_wait(h->epfd, evs, MAX_EVENTS, 0);
    if(n != 0)
      return n;
    sched_yield();   /* a server queued on this CPU runs at once */
  } while(mn_now() < now + span);
  return 0;
}

int mn_http_run(mn_http *h)
{
  if(!h || h->running)
    return MN_EINVAL;
  h->running = 1;
  dispatch_all(h);
  struct epoll_event evs[MAX_EVENTS];
  while(h->pending) {
    if(atomic_load(&h->cancelled)) {
      cancel_all(h);
      continue;
    }
    double now = mn_now();
    if(h->timer_at >= 0 && h->timer_at <= now) {
      h->timer_at = -1;
      curl_action(h, CURL_SOCKET_TIMEOUT, 0);
      continue;
    }
    report_failed_starts(h);
    wake_backoffs(h, now);
    check_idle(h, now);
    check_direct_deadlines(h, now);
    if(!h->pending || atomic_load(&h->cancelled) || (h->timer_at >= 0 && h->timer_at <= now))
      continue;
    int wait = h->dhead ? 0 : next_wait_ms(h, now);
    int n = epoll_wait(h->epfd, evs, MAX_EVENTS, 0);
    if(n == 0 && wait > 0) {
      /* nothing ready: the idle work, else wait */
      if(h->idle && h->idle(h->idle_ud))
        continue;
      n = wait_events(h, evs, wait);
    }
    for(int i = 0; i < n; i++) {
      uint64_t key = evs[i].data.u64;
      int fd = (int)(uint32_t)key;
      if(key >> 32) {   /* a direct connection, if not stale (conn_key) */
        dconn *c = (size_t)fd < h->nbyfd ? h->byfd[fd] : NULL;
        if(c && c->gen == (uint32_t)(key >> 32))
          conn_event(c, evs[i].events);
        kick(h);
        continue;
      }
      if(fd == h->wakefd) {   /* mn_http_cancel(): the loop's top sees it */
        uint64_t v;
        if(read(h->wakefd, &v, sizeof v) < 0) {
        }
        continue;
      }
      uint32_t e = evs[i].events;
      int flags = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) | ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                  ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
      curl_action(h, fd, flags);
      kick(h);   /* a refill leaves before the next reply is read */
    }
    finish_one(h);
  }
  h->running = 0;
  return atomic_load(&h->cancelled) ? MN_ECANCELLED : 0;
}

void mn_http_set_idle(mn_http *h, mn_http_idle_cb cb, void *userdata)
{
  if(!h)
    return;
  h->idle = cb;
  h->idle_ud = userdata;
}

void mn_http_cancel(mn_http *h)
{
  if(!h)
    return;
  int saved = errno;   /* a signal handler must leave errno as it was */
  atomic_store(&h->cancelled, 1);
  /* write() is async-signal-safe (curl_multi_wakeup() is not said to be);
   * it fails only when the counter is full, and then a wake is pending */
  uint64_t one = 1;
  if(write(h->wakefd, &one, sizeof one) < 0) {
  }
  errno = saved;
}

unsigned long mn_http_connects(const mn_http *h)
{
  return h ? h->connects : 0;
}

unsigned long mn_http_direct_sent(const mn_http *h)
{
  return h ? h->direct_sent : 0;
}

int mn_http_cancelled(const mn_http *h)
{
  return h ? atomic_load(&((mn_http *)h)->cancelled) : 0;
}

/* ---- handles -------------------------------------------------------------- */

int mn_http_new(mn_http **out, const mn_http_opts *opts)
{
  static const mn_http_opts defaults = MN_HTTP_OPTS_INIT;
  *out = NULL;
  if(!opts)
    opts = &defaults;
  if(opts->max_retries < 0 || opts->backoff_base_ms < 0 ||
     opts->backoff_max_ms < 0 || opts->max_body_bytes == 0)
    return MN_EINVAL;
  mn_http *h = mn_xcalloc(1, sizeof *h);
  h->o = *opts;
  atomic_init(&h->cancelled, 0);
  h->timer_at = -1;
  h->handed = CURL_SOCKET_BAD;
  h->direct_ok = direct_allowed();
  h->multi = curl_multi_init();
  h->epfd = epoll_create1(EPOLL_CLOEXEC);
  h->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event wake;
  memset(&wake, 0, sizeof wake);
  wake.events = EPOLLIN;
  wake.data.fd = h->wakefd;
  if(!h->multi || h->epfd < 0 || h->wakefd < 0 ||
     epoll_ctl(h->epfd, EPOLL_CTL_ADD, h->wakefd, &wake) != 0) {
    if(h->multi)
      curl_multi_cleanup(h->multi);
    if(h->epfd >= 0)
      close(h->epfd);
    if(h->wakefd >= 0)
      close(h->wakefd);
    free(h);
    return MN_ENOMEM;
  }
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
  /* Per-endpoint caps are ours; let curl keep enough idle connections
   * around that a busy endpoint's connections all stay warm. */
  curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 256L);
  uint64_t seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
                  (uint64_t)(uintptr_t)h;
  h->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
  *out = h;
  return MN_OK;
}

void mn_http_free(mn_http *h)
{
  if(!h)
    return;
  req *r;
  while((r = h->ihead)) {
    if(r->easy) {
      curl_multi_remove_handle(h->multi, r->easy);
      curl_easy_cleanup(r->easy);
    }
    if(r->conn)
      conn_close(r->conn);
    ilist_unlink(h, r);
    req_free(r);
  }
  for(size_t fd = 0; fd < h->nbyfd; fd++)   /* kept alive */
    if(h->byfd[fd])
      conn_close(h->byfd[fd]);
  free(h->byfd);
  free(h->url_seen);
  free(h->url_parsed.target);
  while((r = heap_pop(h)))
    req_free(r);
  mn_http_endpoint *ep = h->eps;
  while(ep) {
    while((r = queue_pop(ep)))
      req_free(r);
    mn_http_endpoint *next = ep->next;
    free(ep->name);
    free(ep);
    ep = next;
  }
  for(size_t i = 0; i < h->npool; i++)
    curl_easy_cleanup(h->pool[i]);
  free(h->pool);
  free(h->heap);
  curl_multi_cleanup(h->multi);   /* may still tell on_socket to forget sockets */
  close(h->epfd);
  close(h->wakefd);
  mn_warm_free(&h->warm);
  free(h);
}

size_t mn_http_warm(mn_http *h, const char *url, size_t n)
{
  return h ? mn_warm_open(&h->warm, url, n) : 0;
}

mn_http_endpoint *mn_http_endpoint_new(mn_http *h, const char *name, int max_inflight)
{
  if(!h)
    return NULL;
  mn_http_endpoint *ep = mn_xcalloc(1, sizeof *ep);
  ep->http = h;
  ep->name = mn_xstrdup(name ? name : "");
  ep->max_inflight = max_inflight < 1 ? 1 : max_inflight;
  ep->next = h->eps;
  h->eps = ep;
  /* Keep a warm connection per slot: when curl's cache is smaller than the
   * slots, finished connections are closed and new ones opened. */
  h->total_slots += (size_t)ep->max_inflight;
  if(h->total_slots > 256)
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->total_slots + 16);
  return ep;
}

int mn_http_endpoint_inflight(const mn_http_endpoint *ep)
{
  return ep ? ep->inflight : 0;
}

size_t mn_http_endpoint_queued(const mn_http_endpoint *ep)
{
  return ep ? ep->queued : 0;
}

static int header_ok(const char *s)
{
  return s[strcspn(s, "\r\n")] == '\0' && strchr(s, ':') != NULL;
}

static int has_header(const char *const *headers, const char *name)
{
  size_t n = strlen(name);
  for(size_t i = 0; headers && headers[i]; i++)
    if(strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
      return 1;
  return 0;
}

/* Does url go by the direct path? (h->url_parsed then says where.) The
 * last URL's answer is kept: a round sends many requests to one URL. */
static int direct_target(mn_http *h, const char *url)
{
  if(!h->direct_ok || strncasecmp(url, "http://", 7) != 0)
    return 0;
  if(!h->url_seen || strcmp(h->url_seen, url) != 0) {
    free(h->url_seen);
    free(h->url_parsed.target);
    h->url_seen = mn_xstrdup(url);
    mn_h1_url_parse(url, &h->url_parsed);   /* target stays NULL if not */
  }
  return h->url_parsed.target != NULL;
}

int mn_http_submit(mn_http *h, const mn_http_req *q)
{
  if(!h || !q || !q->endpoint || q->endpoint->http != h || !q->url || !q->on_done)
    return MN_EINVAL;
  if(q->stream != MN_HTTP_STREAM_NONE && q->stream != MN_HTTP_STREAM_SSE &&
     q->stream != MN_HTTP_STREAM_NDJSON)
    return MN_EINVAL;
  if(q->stream != MN_HTTP_STREAM_NONE && !q->on_event)
    return MN_EINVAL;
  if(strncasecmp(q->url, "http://", 7) != 0 && strncasecmp(q->url, "https://", 8) != 0)
    return MN_EINVAL;
  if(q->url[strcspn(q->url, "\r\n")] != '\0')
    return MN_EINVAL;
  if(q->body_len && !q->body)
    return MN_EINVAL;
  const char *method = q->method ? q->method : (q->body ? "POST" : "GET");
  size_t mlen = strlen(method);
  if(mlen == 0 || mlen > 16)
    return MN_EINVAL;
  for(size_t i = 0; i < mlen; i++)
    if(!isupper((unsigned char)method[i]))
      return MN_EINVAL;
  req_method kind = strcmp(method, "GET") == 0    ? RM_GET
                    : strcmp(method, "HEAD") == 0 ? RM_HEAD
                    : strcmp(method, "POST") == 0 ? RM_POST
                                                  : RM_OTHER;
  if((kind == RM_GET || kind == RM_HEAD) && q->body)
    return MN_EINVAL;
  for(size_t i = 0; q->headers && q->headers[i]; i++)
    if(!header_ok(q->headers[i]))
      return MN_EINVAL;
  if(atomic_load(&h->cancelled))
    return MN_ECANCELLED;

  req *r = mn_xcalloc(1, sizeof *r);
  r->http = h;
  r->ep = q->endpoint;
  r->kind = kind;
  r->method = mn_xstrdup(method);
  r->url = mn_xstrdup(q->url);
  r->url_log = mn_http_url_for_log(q->url);
  r->tls = strncasecmp(q->url, "https://", 8) == 0;
  const char *content_type = q->body && !has_header(q->headers, "Content-Type")
                               ? "Content-Type: application/json" : NULL;
  if(direct_target(h, q->url)) {
    size_t n = 0;
    while(q->headers && q->headers[n])
      n++;
    const char **all = mn_xcalloc(n + 2, sizeof *all);
    for(size_t i = 0; i < n; i++)
      all[i] = q->headers[i];
    all[n] = content_type;
    mn_buf head = MN_BUF_INIT(0);
    mn_h1_request_head(&head, method, &h->url_parsed, all, q->body || kind == RM_POST,
                       q->body_len);
    free(all);
    r->direct = 1;
    r->head = mn_buf_steal(&head, &r->head_len);
    r->addr = h->url_parsed.addr;
    r->addr_len = h->url_parsed.addr_len;
    r->alt = h->url_parsed.alt;
    r->alt_len = h->url_parsed.alt_len;
  } else {
    for(size_t i = 0; q->headers && q->headers[i]; i++)
      r->headers = slist_add(r->headers, q->headers[i]);
    if(!has_header(q->headers, "Expect"))
      r->headers = slist_add(r->headers, "Expect:");   /* no 100-continue wait */
    if(content_type)
      r->headers = slist_add(r->headers, content_type);
  }
  if(q->body) {
    r->body = mn_xmalloc(q->body_len + 1);
    memcpy(r->body, q->body, q->body_len);
    r->body[q->body_len] = '\0';
    r->body_len = q->body_len;
  }
  r->stream = q->stream;
  r->on_event = q->on_event;
  r->on_attempt = q->on_attempt;
  r->on_done = q->on_done;
  r->userdata = q->userdata;
  r->retry_after_ms = -1;
  mn_buf_init(&r->resp, h->o.max_body_bytes);
  if(r->stream == MN_HTTP_STREAM_SSE)
    mn_sse_init(&r->sse, h->o.max_body_bytes, q->on_event, q->userdata);
  else if(r->stream == MN_HTTP_STREAM_NDJSON)
    mn_ndjson_init(&r->nd, h->o.max_body_bytes, q->on_event, q->userdata);
  r->t_submit = mn_now();
  h->pending++;
  queue_push(r->ep, r, 0);
  if(h->running)
    dispatch(r->ep);
  return MN_OK;
}
