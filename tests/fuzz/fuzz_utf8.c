/* UTF-8 checks and repair (src/util/utf8.c) against an independent
 * RFC 3629 decoder: validity, the repaired and cleaned texts byte for byte,
 * the counts, and that printable text is one line of valid UTF-8. */
#include "fuzz.h"

#include "minions.h"

/* What mn_utf8_repair must produce: each byte that starts no valid
 * sequence becomes U+FFFD. When `clean`, NULs are dropped as well and a
 * leading BOM too (mn_utf8_clean). */
static char *expected(const unsigned char *s, size_t len, int clean, size_t *out_len,
                      size_t *invalid, size_t *nul)
{
  char *out = malloc(len * 3 + 1);
  size_t o = 0, i = 0;
  *invalid = *nul = 0;
  if(clean && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
    i = 3;
  for(size_t k = 0; k < len;) {   /* counts are over the whole input */
    size_t l = fuzz_ref_seq_len(s + k, len - k);
    *invalid += l == 0;
    *nul += s[k] == 0;
    k += l ? l : 1;
  }
  while(i < len) {
    size_t l = fuzz_ref_seq_len(s + i, len - i);
    if(!l) {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    } else if(clean && s[i] == 0) {
      i++;
    } else {
      memcpy(out + o, s + i, l);
      o += l;
      i += l;
    }
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

static void check_printable(const char *s, size_t len, size_t max)
{
  char *p = mn_utf8_printable(s, len, max);
  size_t n = strlen(p);
  FUZZ_CHECK(n <= max + 3, "printable: %zu bytes for max %zu", n, max);
  FUZZ_CHECK(mn_utf8_valid(p, n), "printable text is not UTF-8");
  for(size_t i = 0; i < n; i++)
    FUZZ_CHECK((unsigned char)p[i] >= 0x20 && p[i] != 0x7F,
               "printable text has control byte 0x%02x at %zu", (unsigned char)p[i], i);
  free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  const unsigned char *u = data;

  /* sequence lengths and code points at every position */
  for(size_t i = 0; i < size; i++) {
    uint32_t cp = 0;
    size_t ref = fuzz_ref_seq_len(u + i, size - i);
    size_t got = mn_utf8_seq_len(u + i, size - i);
    FUZZ_CHECK(got == ref, "seq_len at %zu: %zu, RFC 3629 says %zu", i, got, ref);
    FUZZ_CHECK(mn_utf8_decode(u + i, size - i, &cp) == ref, "decode length at %zu", i);
    if(ref)
      FUZZ_CHECK(cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF) &&
                 (ref == 1 || cp >= 0x80), "decoded U+%X at %zu", (unsigned)cp, i);
  }

  size_t exp_len, invalid, nul;
  char *exp = expected(u, size, 0, &exp_len, &invalid, &nul);
  FUZZ_CHECK(mn_utf8_valid(s, size) == (invalid == 0), "valid() says %d with %zu bad bytes",
             mn_utf8_valid(s, size), invalid);

  mn_utf8_stats st;
  mn_utf8_scan(s, size, &st);
  FUZZ_CHECK(st.invalid == invalid && st.nul == nul, "scan: %zu invalid %zu nul, want %zu %zu",
             st.invalid, st.nul, invalid, nul);

  size_t rep_len;
  char *rep = mn_utf8_repair(s, size, &rep_len);
  FUZZ_CHECK(rep_len == exp_len && !memcmp(rep, exp, exp_len) && rep[rep_len] == '\0',
             "repair differs from the expected text");
  FUZZ_CHECK(mn_utf8_valid(rep, rep_len), "repaired text is not UTF-8");
  free(rep);
  free(exp);

  char *clean = NULL;
  size_t clean_len = 0, n_invalid = 0;
  int rc = mn_utf8_clean(s, size, &clean, &clean_len, &n_invalid);
  FUZZ_CHECK(n_invalid == invalid, "clean counted %zu invalid, want %zu", n_invalid, invalid);
  if(invalid && invalid * 100 >= size) {
    FUZZ_CHECK(rc == MN_EPARSE, "clean accepted %zu invalid of %zu bytes", invalid, size);
  } else {
    FUZZ_CHECK(rc == 0, "clean refused %zu invalid of %zu bytes", invalid, size);
    exp = expected(u, size, 1, &exp_len, &invalid, &nul);
    FUZZ_CHECK(clean_len == exp_len && !memcmp(clean, exp, exp_len),
               "cleaned text differs from the expected text");
    FUZZ_CHECK(mn_utf8_valid(clean, clean_len) && !memchr(clean, 0, clean_len),
               "cleaned text is not NUL-free UTF-8");
    if(clean == s)
      FUZZ_CHECK(clean_len == size, "unchanged text with another length");
    else
      free(clean);
    free(exp);
  }

  check_printable(s, size, 0);
  check_printable(s, size, 7);
  check_printable(s, size, size);
  check_printable(s, size, 3 * size + 3);
  return 0;
}
