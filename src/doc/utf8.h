/* UTF-8 checks and repair for document text.
 *
 * Everything that becomes a document passes through mn_doc_utf8_repair(), so
 * the rest of the program (chunkers, JSON bodies, the sandbox) can rely on
 * document text being valid UTF-8 without NUL bytes. Hand-written rather
 * than utf8proc because it runs over every byte ingested: valid ASCII is
 * skipped eight bytes at a time.
 */
#ifndef MN_DOC_UTF8_H
#define MN_DOC_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s[0..n) (1-4), or 0 if s[0] does
 * not start one (stray continuation byte, overlong form, surrogate, value
 * above U+10FFFF, or a sequence cut short by n). n must be >= 1. */
size_t mn_doc_utf8_seq_len(const unsigned char *s, size_t n);

/* Counts over text[0..len): bytes that start no valid sequence, and NULs. */
typedef struct mn_doc_utf8_stats {
  size_t invalid;
  size_t nul;
} mn_doc_utf8_stats;

void mn_doc_utf8_scan(const char *text, size_t len, mn_doc_utf8_stats *out);

/* Make text[0..len) clean: each invalid byte becomes U+FFFD, NUL bytes are
 * dropped, and a leading byte-order mark is dropped. Refuses (MN_EPARSE,
 * nothing allocated) when invalid bytes are 1% of the input or more, since
 * such input is binary or in another encoding rather than damaged UTF-8.
 * On success *out is `text` itself when nothing had to change (then
 * *out_len == len), else a new NUL-terminated malloc'd string the caller
 * frees. *n_invalid (may be NULL) receives the number of bytes replaced. */
int mn_doc_utf8_repair(const char *text, size_t len, char **out, size_t *out_len,
                   size_t *n_invalid);

/* A copy of s[0..len) fit for a one-line message: invalid bytes become
 * U+FFFD, control characters '?', and when longer than max_bytes it is cut
 * on a character boundary and "..." appended. Caller frees. */
char *mn_doc_utf8_printable(const char *s, size_t len, size_t max_bytes);

#endif
