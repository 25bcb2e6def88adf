/* UTF-8 checks and repair: the one validator of the project.
 *
 * Everything that becomes a document passes through mn_utf8_clean(), and
 * every server body or model output through mn_utf8_repair() before it can
 * reach a JSON body, so the rest of the program (chunkers, requests, the
 * sandbox) can rely on valid UTF-8. Hand-written rather than utf8proc
 * because it runs over every byte ingested: valid ASCII is skipped eight
 * bytes at a time.
 */
#ifndef MN_UTIL_UTF8_H
#define MN_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 if s[0] does
 * not start one (stray continuation byte, overlong form, surrogate, value
 * above U+10FFFF, or a sequence cut short by n). n must be >= 1. */
size_t mn_utf8_seq_len(const unsigned char *s, size_t n);

/* Like mn_utf8_seq_len, and the code point in *cp when valid. */
size_t mn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* 1 if s[0..len) is valid UTF-8 (NUL bytes allowed). */
int mn_utf8_valid(const char *s, size_t len);

/* Copy of s[0..len) with every byte that starts no valid sequence replaced
 * by U+FFFD; NUL-terminated, caller frees; *out_len (may be NULL) gets the
 * length. For server bodies and model output, which are kept whatever their
 * damage; documents go through mn_utf8_clean() instead. */
char *mn_utf8_repair(const char *s, size_t len, size_t *out_len);

/* Counts over text[0..len): bytes that start no valid sequence, and NULs. */
typedef struct mn_utf8_stats {
  size_t invalid;
  size_t nul;
} mn_utf8_stats;

void mn_utf8_scan(const char *text, size_t len, mn_utf8_stats *out);

/* Make text[0..len) clean: each invalid byte becomes U+FFFD, NUL bytes are
 * dropped, and a leading byte-order mark is dropped. Refuses (MN_EPARSE,
 * nothing allocated) when invalid bytes are 1% of the input or more, since
 * such input is binary or in another encoding rather than damaged UTF-8.
 * On success *out is `text` itself when nothing had to change (then
 * *out_len == len), else a new NUL-terminated malloc'd string the caller
 * frees. *n_invalid (may be NULL) receives the number of bytes replaced. */
int mn_utf8_clean(const char *text, size_t len, char **out, size_t *out_len,
                   size_t *n_invalid);

/* A copy of s[0..len) fit for a one-line message: invalid bytes become
 * U+FFFD, control characters '?', and when longer than max_bytes it is cut
 * on a character boundary and "..." appended. Caller frees. */
char *mn_utf8_printable(const char *s, size_t len, size_t max_bytes);

#endif
