/* Framing for the sandbox helper's socket; see wire.h. */
#include "sandbox/wire.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

#ifdef MSG_NOSIGNAL
#define SEND_FLAGS MSG_NOSIGNAL
#else
#define SEND_FLAGS 0   /* macOS: isolate.c sets SO_NOSIGPIPE instead */
#endif

static void put_le(unsigned char out[8], uint64_t v)
{
  for(int i = 0; i < 8; i++)
    out[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char in[8])
{
  uint64_t v = 0;
  for(int i = 7; i >= 0; i--)
    v = v << 8 | in[i];
  return v;
}

void mn_sbw_init(mn_sbw *w)
{
  memset(w, 0, sizeof *w);
  mn_buf_init(&w->meta, 0);
}

void mn_sbw_free(mn_sbw *w)
{
  mn_buf_free(&w->meta);
  free(w->segs);
  memset(w, 0, sizeof *w);
}

static void add_seg(mn_sbw *w, const char *ext, size_t off, size_t len)
{
  if(!ext && w->n && !w->segs[w->n - 1].ext) {   /* meta runs merge */
    w->segs[w->n - 1].len += len;
  } else {
    MN_GROW(w->segs, w->cap, w->n + 1);
    w->segs[w->n++] = (mn_sbw_seg){ ext, off, len };
  }
  w->total += len;
}

void mn_sbw_raw(mn_sbw *w, const void *p, size_t n)
{
  size_t off = w->meta.len;
  mn_buf_append(&w->meta, p, n);
  add_seg(w, NULL, off, n);
}

void mn_sbw_u64(mn_sbw *w, uint64_t v)
{
  unsigned char b[8];
  put_le(b, v);
  mn_sbw_raw(w, b, sizeof b);
}

void mn_sbw_i64(mn_sbw *w, int64_t v)
{
  mn_sbw_u64(w, (uint64_t)v);
}

void mn_sbw_str(mn_sbw *w, const char *s, size_t len)
{
  if(!s) {
    mn_sbw_u64(w, MN_SBW_NONE);
    return;
  }
  mn_sbw_u64(w, len);
  if(len)
    add_seg(w, s, 0, len);
  mn_sbw_raw(w, "", 1);
}

/* Wait until fd is ready for `events`; MN_ETIMEOUT past the deadline. */
static int wait_fd(int fd, short events, double deadline)
{
  for(;;) {
    int ms = -1;
    if(deadline > 0) {
      double left = deadline - mn_now();
      if(left <= 0)
        return MN_ETIMEOUT;
      ms = (int)(left * 1000.0) + 1;
    }
    struct pollfd p = { .fd = fd, .events = events };
    int k = poll(&p, 1, ms);
    if(k > 0)
      return MN_OK;
    if(k < 0 && errno != EINTR)
      return MN_EIO;
  }
}

static int send_all(int fd, const char *p, size_t n, double deadline)
{
  while(n) {
    ssize_t k = send(fd, p, n, SEND_FLAGS);
    if(k < 0 && errno == ENOTSOCK)
      k = write(fd, p, n);
    if(k > 0) {
      p += k;
      n -= (size_t)k;
      continue;
    }
    if(k < 0 && errno == EINTR)
      continue;
    if(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int rc = wait_fd(fd, POLLOUT, deadline);
      if(rc)
        return rc;
      continue;
    }
    return MN_EIO;
  }
  return MN_OK;
}

int mn_sbw_send(mn_sbw *w, int fd, double deadline)
{
  for(size_t i = 0; i < w->n; i++) {
    const mn_sbw_seg *s = &w->segs[i];
    const char *p = s->ext ? s->ext : w->meta.data + s->off;
    int rc = send_all(fd, p, s->len, deadline);
    if(rc)
      return rc;
  }
  return MN_OK;
}

void mn_sbr_init(mn_sbr *r, int fd, double deadline)
{
  r->fd = fd;
  r->deadline = deadline;
  r->pos = r->len = 0;
  r->err = 0;
}

/* Read more bytes into buf (which the caller has emptied). */
static int fill(mn_sbr *r)
{
  while(!r->err) {
    ssize_t k = read(r->fd, r->buf, sizeof r->buf);
    if(k > 0) {
      r->pos = 0;
      r->len = (size_t)k;
      return MN_OK;
    }
    if(k < 0 && errno == EINTR)
      continue;
    if(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      r->err = wait_fd(r->fd, POLLIN, r->deadline);
      continue;
    }
    r->err = MN_EIO;   /* EOF or a broken socket */
  }
  return r->err;
}

int mn_sbr_raw(mn_sbr *r, void *out, size_t n)
{
  unsigned char *o = out;
  while(n && !r->err) {
    if(r->pos == r->len && fill(r))
      break;
    size_t k = r->len - r->pos < n ? r->len - r->pos : n;
    memcpy(o, r->buf + r->pos, k);
    r->pos += k;
    o += k;
    n -= k;
  }
  return r->err;
}

int mn_sbr_u64(mn_sbr *r, uint64_t *v)
{
  unsigned char b[8];
  *v = 0;
  if(mn_sbr_raw(r, b, sizeof b))
    return r->err;
  *v = get_le(b);
  return MN_OK;
}

int mn_sbr_i64(mn_sbr *r, int64_t *v)
{
  uint64_t u;
  int rc = mn_sbr_u64(r, &u);
  *v = (int64_t)u;
  return rc;
}

int mn_sbr_str(mn_sbr *r, size_t max, char **out, size_t *len)
{
  uint64_t n;
  *out = NULL;
  if(len)
    *len = 0;
  if(mn_sbr_u64(r, &n))
    return r->err;
  if(n == MN_SBW_NONE)
    return MN_OK;
  if(n > max) {
    r->err = MN_EPARSE;
    return r->err;
  }
  char *s = mn_xmalloc((size_t)n + 1);
  char nul = 1;
  if(mn_sbr_raw(r, s, (size_t)n) || mn_sbr_raw(r, &nul, 1) || nul != '\0') {
    free(s);
    if(!r->err)
      r->err = MN_EPARSE;
    return r->err;
  }
  s[n] = '\0';
  *out = s;
  if(len)
    *len = (size_t)n;
  return MN_OK;
}
