/* Small helpers for fakellm: buffers, allocation, clock, UTF-8, plans,
 * and the few string and fd functions POSIX lacks (fakellm does not link
 * libminions, so it cannot use util/str.h). */
#include "fakellm.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(void)
{
  fputs("fakellm: out of memory\n", stderr);
  abort();
}

void *mn_fk_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if(!p)
    oom();
  return p;
}

void *mn_fk_xcalloc(size_t n, size_t sz)
{
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if(!p)
    oom();
  return p;
}

void *mn_fk_xrealloc(void *p, size_t n)
{
  p = realloc(p, n ? n : 1);
  if(!p)
    oom();
  return p;
}

char *mn_fk_xstrdup(const char *s)
{
  return mn_fk_xstrndup(s, strlen(s));
}

char *mn_fk_xstrndup(const char *s, size_t n)
{
  char *p = mn_fk_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

static void buf_reserve(mn_fk_buf *b, size_t need)
{
  if(need + 1 <= b->cap)
    return;
  size_t n = b->cap ? b->cap : 256;
  while(n < need + 1)
    n *= 2;
  b->data = mn_fk_xrealloc(b->data, n);
  b->cap = n;
}

void mn_fk_buf_add(mn_fk_buf *b, const void *p, size_t n)
{
  buf_reserve(b, b->len + n);
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void mn_fk_buf_puts(mn_fk_buf *b, const char *s)
{
  mn_fk_buf_add(b, s, strlen(s));
}

void mn_fk_buf_printf(mn_fk_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if(n < 0)
    return;
  buf_reserve(b, b->len + (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

void mn_fk_buf_consume(mn_fk_buf *b, size_t n)
{
  if(n >= b->len) {
    b->len = 0;
  }
  else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if(b->data)
    b->data[b->len] = '\0';
}

char *mn_fk_buf_steal(mn_fk_buf *b, size_t *len_out)
{
  char *p = b->data ? b->data : mn_fk_xstrdup("");
  if(len_out)
    *len_out = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void mn_fk_buf_free(mn_fk_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

double mn_fk_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void *mn_fk_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
  const unsigned char *h = hay, *n = needle;
  if(nlen == 0)
    return (void *)h;
  if(hlen < nlen)
    return NULL;
  const unsigned char *last = h + (hlen - nlen);
  for(const unsigned char *p = h; p <= last; p++) {
    p = memchr(p, n[0], (size_t)(last - p) + 1);
    if(!p)
      return NULL;
    if(memcmp(p, n, nlen) == 0)
      return (void *)p;
  }
  return NULL;
}

char *mn_fk_strcasestr(const char *hay, const char *needle)
{
  size_t n = strlen(needle);
  for(; *hay; hay++) {
    size_t i = 0;
    while(i < n && hay[i] &&
          tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if(i == n)
      return (char *)hay;
  }
  return n == 0 ? (char *)hay : NULL;
}

int mn_fk_fd_flags(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if(fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
    return -1;
  int fdf = fcntl(fd, F_GETFD);
  if(fdf < 0 || fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) != 0)
    return -1;
  return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if bad. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if(c < 0x80)
    return 1;
  if(c >= 0xc2 && c <= 0xdf) {
    len = 2;
    min = 0x80;
  }
  else if(c >= 0xe0 && c <= 0xef) {
    len = 3;
    min = 0x800;
  }
  else if(c >= 0xf0 && c <= 0xf4) {
    len = 4;
    min = 0x10000;
  }
  else
    return 0;
  if(n < len)
    return 0;
  unsigned cp = c & (0x3f >> (len - 1));
  for(size_t i = 1; i < len; i++) {
    if((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if(cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

char *mn_fk_utf8_clean(const char *s, size_t n)
{
  char *out = mn_fk_xmalloc(n + 1);
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while(i < n) {
    size_t k = utf8_seq(u + i, n - i);
    if(k == 0 || (k == 1 && u[i] == 0)) {
      out[i] = '?';   /* NUL too: jansson strings are C strings here */
      i++;
    }
    else {
      memcpy(out + i, s + i, k);
      i += k;
    }
  }
  out[n] = '\0';
  return out;
}

size_t mn_fk_utf8_cut(const char *s, size_t n, size_t max)
{
  if(n <= max)
    return n;
  size_t i = max;
  /* back off continuation bytes so the cut lands on a sequence start */
  while(i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
    i--;
  return i;
}

char *mn_fk_dump(const json_t *j)
{
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
  if(!s)
    oom();
  return s;
}

void mn_fk_plan_step(mn_fk_plan *p, double at, char *data, size_t len,
                     unsigned flags)
{
  if(p->n == p->cap) {
    p->cap = p->cap ? p->cap * 2 : 4;
    p->steps = mn_fk_xrealloc(p->steps, p->cap * sizeof *p->steps);
  }
  mn_fk_step *st = &p->steps[p->n++];
  st->at = at;
  st->data = data;
  st->len = data ? len : 0;
  st->flags = flags;
}

void mn_fk_plan_free(mn_fk_plan *p)
{
  for(size_t i = 0; i < p->n; i++)
    free(p->steps[i].data);
  free(p->steps);
  free(p->huge_unit);
  free(p->huge_post);
  json_decref(p->record);
  json_decref(p->record_full);
  free(p->prompt);
  memset(p, 0, sizeof *p);
}
