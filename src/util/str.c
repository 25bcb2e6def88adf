#include "util/str.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

void *mn_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen)
{
  const unsigned char *h = hay, *n = needle;
  if(nlen == 0)
    return (void *)h;
  while(hlen >= nlen) {
    const unsigned char *p = memchr(h, n[0], hlen - nlen + 1);
    if(!p)
      return NULL;
    if(memcmp(p, n, nlen) == 0)
      return (void *)p;
    hlen -= (size_t)(p - h) + 1;
    h = p + 1;
  }
  return NULL;
}

void *mn_memrchr(const void *s, int c, size_t n)
{
  const unsigned char *p = s;
  while(n--)
    if(p[n] == (unsigned char)c)
      return (void *)(p + n);
  return NULL;
}

char *mn_strcasestr(const char *hay, const char *needle)
{
  size_t n = strlen(needle);
  for(; *hay; hay++)
    if(strncasecmp(hay, needle, n) == 0)
      return (char *)hay;
  return n == 0 ? (char *)hay : NULL;
}
