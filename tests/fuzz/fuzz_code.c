/* Source-code structure (src/doc/code.c) in every language on any bytes:
 * pieces start at 0, in strictly ascending order inside the text, never
 * before a byte 10xxxxxx; detection always names a language and looks at
 * no more than its first 64 KiB; hints map to known languages.
 *
 * Input: one byte picks the hint tried as a file name, the rest is the
 * source.
 */
#include "fuzz.h"

#include "doc/code.h"

static void check_pieces(const unsigned char *t, size_t n, mn_code_lang lang)
{
  size_t *st = NULL;
  size_t k = mn_code_pieces((const char *)t, n, lang, &st);
  if(n == 0) {
    FUZZ_CHECK(k == 0, "%zu pieces of nothing", k);
  } else {
    FUZZ_CHECK(k >= 1 && st[0] == 0, "%s: %zu pieces, first at %zu", mn_code_lang_name(lang), k,
               k ? st[0] : 0);
    for(size_t i = 1; i < k; i++) {
      FUZZ_CHECK(st[i] > st[i - 1] && st[i] < n, "%s: piece %zu at %zu after %zu (len %zu)",
                 mn_code_lang_name(lang), i, st[i], st[i - 1], n);
      FUZZ_CHECK((t[st[i]] & 0xC0) != 0x80, "%s: piece %zu starts inside a UTF-8 sequence",
                 mn_code_lang_name(lang), i);
    }
    /* the same again */
    size_t *st2 = NULL;
    FUZZ_CHECK(mn_code_pieces((const char *)t, n, lang, &st2) == k &&
               !memcmp(st, st2, k * sizeof *st), "%s: not deterministic", mn_code_lang_name(lang));
    free(st2);
  }
  free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned b0 = fuzz_byte(&in);
  const unsigned char *t = in.p;
  size_t n = in.n;

  mn_code_lang det = mn_code_detect((const char *)t, n);
  FUZZ_CHECK(det > MN_LANG_UNKNOWN && det <= MN_LANG_GENERIC, "detected %d", (int)det);
  FUZZ_CHECK(mn_code_lang_name(det) != NULL, "no name for language %d", (int)det);
  if(n > (64u << 10) + 16)
    FUZZ_CHECK(mn_code_detect((const char *)t, (64u << 10) + 16) == det,
               "detection read past its 64 KiB");
  for(int l = MN_LANG_UNKNOWN + 1; l <= MN_LANG_GENERIC; l++)
    check_pieces(t, n, (mn_code_lang)l);

  /* a hint is any string: the input's start as a name, and as a path */
  size_t hl = b0 % 16 < n ? b0 % 16 : n;
  char *hint = fuzz_strndup(t, hl);
  mn_code_lang h = mn_code_lang_from_hint(hint);
  FUZZ_CHECK(h >= MN_LANG_UNKNOWN && h <= MN_LANG_GENERIC, "hint gave %d", (int)h);
  free(hint);
  return 0;
}
