/* Shared by the fuzz targets: invariant checks that abort with a message
 * (libFuzzer then saves the input), and a reader that takes option bytes
 * off the front of an input.
 *
 * Every target asserts properties of its parser's output, not just "no
 * crash": FUZZ_CHECK is how a broken property becomes a finding.
 */
#ifndef MN_FUZZ_H
#define MN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if(!(cond)) {                                                              \
      fprintf(stderr, "\nfuzz invariant broken at %s:%d: %s\n  ", __FILE__,   \
              __LINE__, #cond);                                                \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      abort();                                                                 \
    }                                                                          \
  } while(0)

/* An error message as the library hands it to users: one non-empty line
 * of valid UTF-8 (it is printed on a terminal, written into JSON logs and
 * sent back to models). */
static inline void fuzz_check_message(const char *what, const char *msg)
{
  FUZZ_CHECK(msg != NULL, "%s: no message", what);
  size_t n = strlen(msg);
  FUZZ_CHECK(n > 0, "%s: empty message", what);
  FUZZ_CHECK(!strchr(msg, '\n') && !strchr(msg, '\r'),
             "%s: message is not one line: [%s]", what, msg);
  FUZZ_CHECK(mn_utf8_valid(msg, n), "%s: message is not UTF-8: [%s]", what, msg);
}

/* Option bytes taken off the front of an input; past its end they read
 * as 0, so every input is usable. */
typedef struct fuzz_in {
  const uint8_t *p;
  size_t n;
} fuzz_in;

static inline unsigned fuzz_byte(fuzz_in *in)
{
  if(!in->n)
    return 0;
  in->n--;
  return *in->p++;
}

static inline unsigned fuzz_u16(fuzz_in *in)
{
  unsigned hi = fuzz_byte(in);
  return hi << 8 | fuzz_byte(in);
}

/* The next `want` bytes (fewer at the end), advancing. */
static inline const char *fuzz_take(fuzz_in *in, size_t want, size_t *got)
{
  const char *s = (const char *)in->p;
  *got = want < in->n ? want : in->n;
  in->p += *got;
  in->n -= *got;
  return s;
}

/* A NUL-terminated malloc'd copy (inputs are not terminated). */
static inline char *fuzz_strndup(const void *p, size_t n)
{
  char *s = malloc(n + 1);
  if(!s)
    abort();
  if(n)
    memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

/* Length of the UTF-8 sequence at s[0..n) as RFC 3629 defines it, written
 * independently of src/util/utf8.c so the two can be compared: 1-4, or 0
 * when s[0] starts no valid sequence. */
static inline size_t fuzz_ref_seq_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  size_t need;
  uint32_t cp, min;
  if(c < 0x80)
    return 1;
  if((c & 0xE0) == 0xC0) {
    need = 1;
    cp = c & 0x1F;
    min = 0x80;
  } else if((c & 0xF0) == 0xE0) {
    need = 2;
    cp = c & 0x0F;
    min = 0x800;
  } else if((c & 0xF8) == 0xF0) {
    need = 3;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if(n < need + 1)
    return 0;
  for(size_t i = 1; i <= need; i++) {
    if((s[i] & 0xC0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if(cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return need + 1;
}

#endif
