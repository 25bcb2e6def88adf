/* The transport: every request of a handle runs on one curl multi handle,
 * driven by mn_http_run() on the caller's thread with curl_multi_perform()
 * and curl_multi_poll(), which need nothing beyond POSIX poll(): the same
 * code runs on Linux, macOS and the BSDs.
 *
 * A request is in exactly one place at a time: its endpoint's FIFO queue,
 * in flight (an easy handle on the multi, and a node of the in-flight list),
 * or the backoff heap (waiting for its next attempt). The in-flight list is
 * kept ordered by the time of the last byte received (a received byte moves
 * its request to the tail), so the idle timeout is a look at the head, and
 * the heap's top says when the next backoff ends: the loop never scans all
 * requests per wake-up.
 *
 * mn_http_cancel() may run in a signal handler, where curl_multi_wakeup()
 * is not said to be safe: it sets a flag and writes a byte to a pipe the
 * loop polls beside curl's sockets (write() is async-signal-safe).
 *
 * An endpoint attached to a gate (net/gate.h) takes a gate slot with each
 * attempt it starts and gives it back when the attempt leaves the multi
 * handle, so a request in backoff holds none. A slot freed on another
 * thread's transport may be granted to one of ours: that thread sets
 * gate_kick and calls curl_multi_wakeup() (safe from any thread, and a
 * wake-up sent before the poll starts still ends it: none is lost), and the
 * loop fills its endpoints again.
 */
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "minions.h"
#include "net/gate.h"
#include "net/retry.h"
#include "net/stream.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

typedef enum req_state { RS_QUEUED, RS_INFLIGHT, RS_BACKOFF } req_state;

typedef enum req_method { RM_GET, RM_HEAD, RM_POST, RM_OTHER } req_method;

typedef struct req req;
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

  /* the current attempt */
  CURL *easy;
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
  int gate_slot;              /* this attempt holds a slot of the endpoint's gate */
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
  int gated;                  /* gm joined a gate */
  mn_gate_member gm;
  mn_http_endpoint *next;
};

struct mn_http {
  CURLM *multi;
  mn_http_opts o;
  atomic_int cancelled;
  atomic_int gate_kick;       /* a gate granted one of our endpoints a slot */
  int running;
  int in_curl;                /* inside curl_multi_perform(): no multi calls */
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
  int wake[2];                /* pipe: mn_http_cancel() wakes the loop */
  unsigned long connects;     /* connections opened */
  uint64_t rng;
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
  curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_body_bytes);
  if(o->connect_timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
  if(o->request_timeout_ms > 0)
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->request_timeout_ms);
}

/* Give back the gate slot r's attempt held, if any. */
static void gate_put(req *r)
{
  if(r->gate_slot) {
    r->gate_slot = 0;
    mn_gate_release(&r->ep->gm);
  }
}

/* Start the next attempt of r, which holds a slot of its endpoint (and of
 * its gate if it has one). */
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
  gate_put(r);
  complete(r, MN_ENOMEM, "could not start a transfer");
}

static void dispatch_all(mn_http *h);

/* Fill the endpoint's free slots from its queue. A gated endpoint stops
 * at a full gate and waits in the gate's FIFO; its grant wakes the loop. */
static void dispatch(mn_http_endpoint *ep)
{
  mn_http *h = ep->http;
  if(h->in_curl) {
    h->need_dispatch = 1;
    return;
  }
  while(ep->inflight < ep->max_inflight && ep->qhead &&
        !atomic_load(&h->cancelled)) {
    if(ep->gated && !mn_gate_acquire(&ep->gm))
      break;
    req *r = queue_pop(ep);
    r->gate_slot = ep->gated;
    start_attempt(r);
  }
}

/* Take r off the multi handle, into no list; counts its service time. */
static void detach(req *r)
{
  mn_http *h = r->http;
  long opened = 0;
  if(curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &opened) == CURLE_OK && opened > 0)
    h->connects += (unsigned long)opened;
  curl_multi_remove_handle(h->multi, r->easy);
  pool_put(h, r->easy);
  r->easy = NULL;
  ilist_unlink(h, r);
  r->ep->inflight--;
  gate_put(r);
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

/* An attempt of r ended (curl finished it, or the loop saw it idle). */
static void attempt_done(req *r, CURLcode cc, int idle)
{
  mn_http *h = r->http;
  mn_http_endpoint *ep = r->ep;
  long os_errno = 0;
  curl_off_t connect_us = 0;   /* stays 0 until connected */
  if(!r->status_known)
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->status);
  if(cc == CURLE_COULDNT_CONNECT)
    curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
  curl_easy_getinfo(r->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
  r->os_errno = (int)os_errno;
  r->connected = connect_us > 0;
  char why[160] = "";
  int retry;
  int code = classify(r, cc, idle, &retry, why, sizeof why);
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


/* Requests are completed one at a time, and only after the transfers that
 * refill their slots were started: a done callback parses a reply and
 * builds new requests, and the slot it frees should not wait for that. */
static void perform(mn_http *h)
{
  int still;
  h->started = 0;
  h->in_curl = 1;
  curl_multi_perform(h->multi, &still);
  h->in_curl = 0;
  if(h->need_dispatch)
    dispatch_all(h);
}

static void kick(mn_http *h)
{
  if(h->started)
    perform(h);
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

/* Milliseconds until the loop has something of its own to do (a backoff
 * ending, an idle timeout); curl_multi_poll() shortens it to curl's timers. */
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
  if(wait <= 0)
    return 0;
  return (int)ceil(wait * 1000.0);
}

/* Nothing of ours waits any more: slots granted to us go to the next
 * waiter (on another transport) instead of sitting idle. */
static void gates_withdraw(mn_http *h)
{
  for(mn_http_endpoint *ep = h->eps; ep; ep = ep->next)
    if(ep->gated)
      mn_gate_withdraw(&ep->gm);
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
  gates_withdraw(h);
}

static void dispatch_all(mn_http *h)
{
  h->need_dispatch = 0;
  for(mn_http_endpoint *ep = h->eps; ep; ep = ep->next)
    dispatch(ep);
}

/* Let curl work on every transfer, then hand out what finished. */
static void curl_step(mn_http *h)
{
  perform(h);
  drain_messages(h);
}

static void drain_wake_pipe(mn_http *h)
{
  char buf[64];
  while(read(h->wake[0], buf, sizeof buf) > 0) {
  }
}

int mn_http_run(mn_http *h)
{
  if(!h || h->running)
    return MN_EINVAL;
  h->running = 1;
  dispatch_all(h);
  while(h->pending) {
    if(atomic_load(&h->cancelled)) {
      cancel_all(h);
      continue;
    }
    if(atomic_exchange(&h->gate_kick, 0))
      dispatch_all(h);
    double now = mn_now();
    wake_backoffs(h, now);
    check_idle(h, now);
    curl_step(h);
    if(h->dhead) {
      finish_one(h);
      continue;
    }
    if(!h->pending || atomic_load(&h->cancelled))
      continue;
    if(h->started)   /* a callback queued transfers */
      continue;
    struct curl_waitfd wake;
    memset(&wake, 0, sizeof wake);
    wake.fd = h->wake[0];
    wake.events = CURL_WAIT_POLLIN;
    curl_multi_poll(h->multi, &wake, 1, next_wait_ms(h, mn_now()), NULL);
    if(wake.revents)
      drain_wake_pipe(h);
  }
  gates_withdraw(h);   /* nothing is queued: no slot may stay granted */
  h->running = 0;
  return atomic_load(&h->cancelled) ? MN_ECANCELLED : 0;
}

void mn_http_cancel(mn_http *h)
{
  if(!h)
    return;
  int saved = errno;   /* a signal handler must leave errno as it was */
  atomic_store(&h->cancelled, 1);
  /* fails only when the pipe is full, and then a wake is pending anyway */
  if(write(h->wake[1], "", 1) < 0) {
  }
  errno = saved;
}

unsigned long mn_http_connects(const mn_http *h)
{
  return h ? h->connects : 0;
}

int mn_http_cancelled(const mn_http *h)
{
  return h ? atomic_load(&((mn_http *)h)->cancelled) : 0;
}

/* ---- handles -------------------------------------------------------------- */

static int nonblocking_pipe(int fds[2])
{
  if(pipe(fds) != 0)
    return -1;
  for(int i = 0; i < 2; i++) {
    int fl = fcntl(fds[i], F_GETFL);
    if(fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
       fcntl(fds[i], F_SETFD, FD_CLOEXEC) != 0) {
      close(fds[0]);
      close(fds[1]);
      return -1;
    }
  }
  return 0;
}

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
  atomic_init(&h->gate_kick, 0);
  h->multi = curl_multi_init();
  if(!h->multi || nonblocking_pipe(h->wake) != 0) {
    if(h->multi)
      curl_multi_cleanup(h->multi);
    free(h);
    return MN_ENOMEM;
  }
  /* Per-endpoint caps are ours; let curl keep enough idle connections
   * around that a busy endpoint's connections all stay open. */
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
  /* first, while the multi handle is still there to be woken: once out of
   * its gates no other thread calls gate_wake() on it */
  for(mn_http_endpoint *ep = h->eps; ep; ep = ep->next)
    if(ep->gated)
      mn_gate_leave(&ep->gm);
  req *r;
  while((r = h->ihead)) {
    if(r->easy) {
      curl_multi_remove_handle(h->multi, r->easy);
      curl_easy_cleanup(r->easy);
    }
    ilist_unlink(h, r);
    req_free(r);
  }
  while((r = heap_pop(h)))
    req_free(r);
  while((r = h->dhead)) {
    h->dhead = r->dnext;
    req_free(r);
  }
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
  curl_multi_cleanup(h->multi);
  close(h->wake[0]);
  close(h->wake[1]);
  free(h);
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
  /* Keep a connection per slot: when curl's cache is smaller than the
   * slots, finished connections are closed and new ones opened. */
  h->total_slots += (size_t)ep->max_inflight;
  if(h->total_slots > 256)
    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->total_slots + 16);
  return ep;
}

/* Runs on the thread that freed the slot, under the gate's lock. */
static void gate_wake(void *ctx)
{
  mn_http *h = ctx;
  atomic_store(&h->gate_kick, 1);
  curl_multi_wakeup(h->multi);
}

int mn_http_endpoint_gate(mn_http_endpoint *ep, const char *server_url, int capacity)
{
  if(!ep || ep->gated)
    return MN_EINVAL;
  if(mn_gate_join(&ep->gm, server_url, capacity, gate_wake, ep->http) != 0)
    return MN_EINVAL;
  ep->gated = 1;
  return MN_OK;
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
  for(size_t i = 0; q->headers && q->headers[i]; i++)
    r->headers = slist_add(r->headers, q->headers[i]);
  if(!has_header(q->headers, "Expect"))
    r->headers = slist_add(r->headers, "Expect:");   /* no 100-continue wait */
  if(content_type)
    r->headers = slist_add(r->headers, content_type);
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
