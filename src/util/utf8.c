#include "util/utf8.h"

#include <stdint.h>
#include <string.h>

#include "minions.h"
#include "util/mem.h"

#define HI8 0x8080808080808080ULL
#define LO8 0x0101010101010101ULL

/* Bytes from s[i] on that are plain ASCII and not NUL, counted a word at a
 * time; most document text is in such runs. */
static size_t ascii_run(const unsigned char *s, size_t i, size_t n)
{
  size_t start = i;
  while(i + 8 <= n) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    if((w & HI8) || ((w - LO8) & ~w & HI8))
      break;
    i += 8;
  }
  while(i < n && s[i] && s[i] < 0x80)
    i++;
  return i - start;
}

size_t mn_utf8_seq_len(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  if(c < 0x80)
    return 1;
  if(c < 0xC2)
    return 0;  /* continuation byte, or overlong 2-byte lead */
  if(c < 0xE0) {
    if(n < 2 || (s[1] & 0xC0) != 0x80)
      return 0;
    return 2;
  }
  if(c < 0xF0) {
    if(n < 3 || (s[2] & 0xC0) != 0x80)
      return 0;
    unsigned c1 = s[1];
    /* E0 needs A0..BF (no overlongs), ED needs 80..9F (no surrogates) */
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    if(c1 < lo || c1 > hi)
      return 0;
    return 3;
  }
  if(c < 0xF5) {
    if(n < 4 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
      return 0;
    unsigned c1 = s[1];
    /* F0 needs 90..BF (no overlongs), F4 needs 80..8F (<= U+10FFFF) */
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    if(c1 < lo || c1 > hi)
      return 0;
    return 4;
  }
  return 0;
}

size_t mn_utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
  size_t len = mn_utf8_seq_len(s, n);
  if(len == 1)
    *cp = s[0];
  else if(len == 2)
    *cp = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
  else if(len == 3)
    *cp = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
  else if(len == 4)
    *cp = ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
          ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
  return len;
}

int mn_utf8_valid(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while(i < len) {
    uint64_t w;
    if(len - i >= 8 && (memcpy(&w, p + i, 8), !(w & HI8))) {
      i += 8;
      continue;
    }
    size_t l = mn_utf8_seq_len(p + i, len - i);
    if(!l)
      return 0;
    i += l;
  }
  return 1;
}

static const char REPLACEMENT[] = "\xEF\xBF\xBD";

char *mn_utf8_repair(const char *s, size_t len, size_t *out_len)
{
  const unsigned char *p = (const unsigned char *)s;
  char *out = mn_xmalloc(len * 3 + 1);  /* worst case: every byte becomes 3 */
  size_t o = 0, i = 0;
  while(i < len) {
    size_t l = mn_utf8_seq_len(p + i, len - i);
    if(l) {
      memcpy(out + o, p + i, l);
      o += l;
      i += l;
    } else {
      memcpy(out + o, REPLACEMENT, 3);
      o += 3;
      i++;
    }
  }
  out[o] = '\0';
  if(out_len)
    *out_len = o;
  return out;
}

void mn_utf8_scan(const char *text, size_t len, mn_utf8_stats *out)
{
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0;
  out->invalid = out->nul = 0;
  while(i < len) {
    i += ascii_run(s, i, len);
    if(i >= len)
      break;
    if(s[i] == 0) {
      out->nul++;
      i++;
      continue;
    }
    size_t k = mn_utf8_seq_len(s + i, len - i);
    if(k == 0) {
      out->invalid++;
      k = 1;
    }
    i += k;
  }
}

static const char REPL[3] = { (char)0xEF, (char)0xBF, (char)0xBD };

int mn_utf8_clean(const char *text, size_t len, char **out, size_t *out_len,
                   size_t *n_invalid)
{
  mn_utf8_stats st;
  mn_utf8_scan(text, len, &st);
  if(n_invalid)
    *n_invalid = st.invalid;
  /* "under 1%" of the bytes: invalid * 100 < len, overflow-safe */
  if(st.invalid && st.invalid >= len / 100 + (len % 100 != 0))
    return MN_EPARSE;
  int bom = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0;
  if(!st.invalid && !st.nul && !bom) {
    *out = (char *)text;
    *out_len = len;
    return 0;
  }
  const unsigned char *s = (const unsigned char *)text;
  char *d = mn_xmalloc(len - st.nul + 2 * st.invalid + 1);
  size_t i = bom ? 3 : 0, o = 0;
  while(i < len) {
    size_t run = ascii_run(s, i, len);
    memcpy(d + o, s + i, run);
    o += run;
    i += run;
    if(i >= len)
      break;
    if(s[i] == 0) {
      i++;
      continue;
    }
    size_t k = mn_utf8_seq_len(s + i, len - i);
    if(k == 0) {
      memcpy(d + o, REPL, 3);
      o += 3;
      i++;
    } else {
      memcpy(d + o, s + i, k);
      o += k;
      i += k;
    }
  }
  d[o] = '\0';
  *out = d;
  *out_len = o;
  return 0;
}

char *mn_utf8_printable(const char *s, size_t len, size_t max_bytes)
{
  const unsigned char *u = (const unsigned char *)s;
  char *d = mn_xmalloc(max_bytes + 4);
  size_t i = 0, o = 0;
  while(i < len) {
    size_t k = mn_utf8_seq_len(u + i, len - i);
    const char *src = s + i;
    size_t outk = k;
    if(k == 0) {
      src = REPL;
      outk = 3;
      k = 1;
    } else if(k == 1 && (u[i] < 0x20 || u[i] == 0x7F)) {
      src = "?";
    }
    if(o + outk > max_bytes) {
      /* only whole characters were copied, so o is a boundary */
      memcpy(d + o, "...", 3);
      o += 3;
      break;
    }
    memcpy(d + o, src, outk);
    o += outk;
    i += k;
  }
  d[o] = '\0';
  return d;
}
