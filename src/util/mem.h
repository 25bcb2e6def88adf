/* Allocation that cannot fail quietly.
 *
 * Out-of-memory is not a recoverable condition for a command-line tool or
 * for this library's callers in practice, so every allocation goes through
 * these wrappers, which print one line and abort. Limits on what outside
 * input may make us allocate are enforced separately (mn_buf caps, job caps),
 * so hostile input reaches a clear error long before it reaches malloc's end.
 */
#ifndef MN_UTIL_MEM_H
#define MN_UTIL_MEM_H

#include <stddef.h>

void *mn_xmalloc(size_t n);
void *mn_xcalloc(size_t count, size_t size);
void *mn_xrealloc(void *p, size_t n);
char *mn_xstrdup(const char *s);
char *mn_xstrndup(const char *s, size_t n);
/* printf into a fresh string. */
char *mn_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow a dynamic array so that it holds at least `need` items of size `sz`.
 * The array and its capacity are updated in place; growth is geometric. */
void mn_xgrow(void **items, size_t *cap, size_t need, size_t sz);
#define MN_GROW(arr, cap, need) mn_xgrow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

#endif
