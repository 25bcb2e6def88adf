/* Growable byte buffer with a hard size cap.
 *
 * Every buffer filled from outside (HTTP bodies, documents, model output,
 * sandbox strings) is an mn_buf with a named maximum, so a hostile or broken
 * peer gets MN_ELIMIT instead of our memory. The data is always
 * NUL-terminated (the NUL is not counted in len), so text can be handed to
 * string functions directly.
 */
#ifndef MN_UTIL_BUF_H
#define MN_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct mn_buf {
  char *data;   /* NULL until the first append; NUL-terminated after */
  size_t len;   /* bytes used, not counting the terminating NUL */
  size_t cap;   /* bytes allocated */
  size_t max;   /* hard cap on len; 0 means no cap */
} mn_buf;

#define MN_BUF_INIT(maxbytes) { NULL, 0, 0, (maxbytes) }

void mn_buf_init(mn_buf *b, size_t max);
/* Append n bytes. 0 on success, MN_ELIMIT if len would pass max (nothing is
 * appended then). */
int mn_buf_append(mn_buf *b, const void *p, size_t n);
int mn_buf_puts(mn_buf *b, const char *s);
int mn_buf_putc(mn_buf *b, char c);
int mn_buf_printf(mn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mn_buf_vprintf(mn_buf *b, const char *fmt, va_list ap);
/* The contents as a C string: "" for an empty buffer, never NULL. */
const char *mn_buf_str(const mn_buf *b);
/* Hand the data to the caller (free() it); the buffer is left empty. Returns
 * a valid empty string for an empty buffer. */
char *mn_buf_steal(mn_buf *b, size_t *len_out);
/* Drop the first n bytes (e.g. a consumed line of a stream). */
void mn_buf_consume(mn_buf *b, size_t n);
void mn_buf_reset(mn_buf *b);   /* len = 0, keeps memory */
void mn_buf_free(mn_buf *b);    /* releases memory, keeps max */

#endif
