#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die_oom(size_t n)
{
  fprintf(stderr, "minions: out of memory (allocating %zu bytes)\n", n);
  abort();
}

void *mn_xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if(!p)
    die_oom(n);
  return p;
}

void *mn_xcalloc(size_t count, size_t size)
{
  void *p = calloc(count ? count : 1, size ? size : 1);
  if(!p)
    die_oom(count * size);
  return p;
}

void *mn_xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if(!q)
    die_oom(n);
  return q;
}

char *mn_xstrdup(const char *s)
{
  return mn_xstrndup(s, strlen(s));
}

char *mn_xstrndup(const char *s, size_t n)
{
  char *p = mn_xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *mn_xasprintf(const char *fmt, ...)
{
  va_list ap, again;
  char small[512];
  /* short strings take one pass; longer ones (prompts carrying whole
   * chunks) a sizing pass and a second one into a buffer of that size */
  va_start(ap, fmt);
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if(n < 0) {
    va_end(again);
    fprintf(stderr, "minions: bad format string\n");
    abort();
  }
  char *p = mn_xmalloc((size_t)n + 1);
  if((size_t)n < sizeof small)
    memcpy(p, small, (size_t)n + 1);
  else
    vsnprintf(p, (size_t)n + 1, fmt, again);
  va_end(again);
  return p;
}

void mn_xgrow(void **items, size_t *cap, size_t need, size_t sz)
{
  if(need <= *cap)
    return;
  size_t n = *cap ? *cap : 8;
  while(n < need)
    n *= 2;
  *items = mn_xrealloc(*items, n * sz);
  *cap = n;
}
