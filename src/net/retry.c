#include "net/retry.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#include <curl/curl.h>

long mn_retry_after_ms(const char *value, time_t now)
{
  if(!value)
    return -1;
  while(*value == ' ' || *value == '\t')
    value++;
  size_t len = strlen(value);
  while(len && isspace((unsigned char)value[len - 1]))
    len--;
  if(len == 0)
    return -1;
  if(isdigit((unsigned char)value[0])) {
    long secs = 0;
    for(size_t i = 0; i < len; i++) {
      if(!isdigit((unsigned char)value[i]))
        return -1;
      if(secs < LONG_MAX / 10000)   /* saturate; callers cap the wait anyway */
        secs = secs * 10 + (value[i] - '0');
    }
    return secs >= LONG_MAX / 1000 ? LONG_MAX : secs * 1000;
  }
  char date[64];
  if(len >= sizeof date)
    return -1;
  memcpy(date, value, len);
  date[len] = '\0';
  time_t t = curl_getdate(date, NULL);
  if(t == (time_t)-1)
    return -1;
  if(t <= now)
    return 0;
  double ms = ((double)t - (double)now) * 1000.0;
  return ms >= (double)LONG_MAX ? LONG_MAX : (long)ms;
}

uint64_t mn_rand64(uint64_t *state)
{
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

long mn_backoff_ms(long base_ms, long max_ms, int retry, uint64_t *rng)
{
  if(base_ms <= 0 || max_ms <= 0)
    return 0;
  long cap = base_ms;
  for(int i = 1; i < retry && cap < max_ms; i++)
    cap = cap > LONG_MAX / 2 ? LONG_MAX : cap * 2;
  if(cap > max_ms)
    cap = max_ms;
  return (long)(mn_rand64(rng) % ((uint64_t)cap + 1));
}
