/* How long to wait before retrying a request: exponential backoff with full
 * jitter, or what the server asked for in Retry-After. Kept apart from the
 * curl loop so the arithmetic can be tested alone.
 */
#ifndef MN_NET_RETRY_H
#define MN_NET_RETRY_H

#include <stdint.h>
#include <time.h>

/* Milliseconds a Retry-After header value asks for: delay-seconds
 * ("120") or an HTTP-date, relative to `now`. A date in the past gives 0.
 * Returns -1 when the value is neither. */
long mn_retry_after_ms(const char *value, time_t now);

/* The wait before retry number `retry` (1 for the first retry): a uniform
 * draw from [0, min(max_ms, base_ms * 2^(retry-1))] ("full jitter", which
 * spreads clients that failed together). `rng` is the caller's generator
 * state (any non-zero seed); it is advanced. */
long mn_backoff_ms(long base_ms, long max_ms, int retry, uint64_t *rng);

/* A step of a small fast generator (xorshift64*); *state must be non-zero. */
uint64_t mn_rand64(uint64_t *state);

#endif
