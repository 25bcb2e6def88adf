#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minions.h"
#include "util/mem.h"

void mn_buf_init(mn_buf *b, size_t max)
{
  b->data = NULL;
  b->len = b->cap = 0;
  b->max = max;
}

static void reserve(mn_buf *b, size_t need)
{
  if(need + 1 <= b->cap)
    return;
  size_t n = b->cap ? b->cap : 64;
  while(n < need + 1)
    n *= 2;
  b->data = mn_xrealloc(b->data, n);
  b->cap = n;
}

int mn_buf_append(mn_buf *b, const void *p, size_t n)
{
  if(b->max && (n > b->max || b->len > b->max - n))
    return MN_ELIMIT;
  reserve(b, b->len + n);
  if(n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

int mn_buf_puts(mn_buf *b, const char *s)
{
  return mn_buf_append(b, s, strlen(s));
}

int mn_buf_putc(mn_buf *b, char c)
{
  return mn_buf_append(b, &c, 1);
}

int mn_buf_vprintf(mn_buf *b, const char *fmt, va_list ap)
{
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if(n < 0)
    return MN_EINVAL;
  if(b->max && ((size_t)n > b->max || b->len > b->max - (size_t)n))
    return MN_ELIMIT;
  reserve(b, b->len + (size_t)n);
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return 0;
}

int mn_buf_printf(mn_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = mn_buf_vprintf(b, fmt, ap);
  va_end(ap);
  return rc;
}

const char *mn_buf_str(const mn_buf *b)
{
  return b->data ? b->data : "";
}

char *mn_buf_steal(mn_buf *b, size_t *len_out)
{
  char *p = b->data ? b->data : mn_xstrdup("");
  if(len_out)
    *len_out = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

void mn_buf_consume(mn_buf *b, size_t n)
{
  if(n >= b->len) {
    mn_buf_reset(b);
    return;
  }
  memmove(b->data, b->data + n, b->len - n);
  b->len -= n;
  b->data[b->len] = '\0';
}

void mn_buf_reset(mn_buf *b)
{
  b->len = 0;
  if(b->data)
    b->data[0] = '\0';
}

void mn_buf_free(mn_buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
