/* Byte-string searches that C11 and POSIX lack (memmem, memrchr and
 * strcasestr are GNU/BSD extensions), so the library builds on any POSIX
 * system without feature macros.
 */
#ifndef MN_UTIL_STR_H
#define MN_UTIL_STR_H

#include <stddef.h>

/* First occurrence of needle (nlen bytes) in hay (hlen bytes); hay when
 * nlen is 0; NULL if none. */
void *mn_memmem(const void *hay, size_t hlen, const void *needle, size_t nlen);
/* Last byte equal to c in the n bytes at s; NULL if none. */
void *mn_memrchr(const void *s, int c, size_t n);
/* First occurrence of needle in hay, ASCII letters compared without case;
 * NULL if none. */
char *mn_strcasestr(const char *hay, const char *needle);

#endif
