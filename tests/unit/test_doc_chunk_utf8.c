/* Chunk boundaries in invalid UTF-8 (found by tests/fuzz/fuzz_chunk and
 * fuzz_code): a cut found after a newline, a space or a form feed used to
 * fall before stray bytes 10xxxxxx, which chunk.h promises never happens.
 * Such bytes now go with the character before them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/chunk.h"
#include "doc/code.h"
#include "minions.h"

static int is_cont(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

/* Chunk text[0..n) and check that no chunk starts or ends before a byte
 * 10xxxxxx; returns the list (caller frees). */
static mn_chunk_list chunk_checked(const char *text, size_t n, mn_chunk_method m, size_t max,
                                   size_t overlap)
{
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = m;
  o.max_chars = max;
  o.overlap = overlap;
  o.lang = m == MN_CHUNK_CODE ? "python" : NULL;
  mn_chunk_list l = { NULL, 0, 0 };
  assert_int_equal(mn_chunk_text(text, n, 0, &o, &l), 0);
  for(size_t k = 0; k < l.n; k++) {
    size_t a = l.items[k].off, b = a + l.items[k].len;
    if(a > 0 && is_cont((unsigned char)text[a]))
      fail_msg("%s: chunk %zu starts before byte 0x%02x at %zu", mn_chunk_method_name(m), k,
               (unsigned char)text[a], a);
    if(b < n && is_cont((unsigned char)text[b]))
      fail_msg("%s: chunk %zu ends before byte 0x%02x at %zu", mn_chunk_method_name(m), k,
               (unsigned char)text[b], b);
  }
  return l;
}

static void section_cut_after_newline(void **state)
{
  (void)state;
  static const char t[] = "aaaa\n\x80\x80" "bbbb cccc";
  mn_chunk_list l = chunk_checked(t, sizeof t - 1, MN_CHUNK_SECTION, 5, 0);
  /* the stray bytes stay with the newline: nothing is lost */
  assert_true(l.n >= 2);
  assert_int_equal(l.items[0].off, 0);
  assert_int_equal(l.items[0].len, 7);
  assert_int_equal(l.items[0].chars, 5);
  assert_int_equal(l.items[1].off, 7);
  mn_chunk_list_free(&l);
  l = chunk_checked(t, sizeof t - 1, MN_CHUNK_SECTION, 6, 2);
  mn_chunk_list_free(&l);
}

static void page_after_form_feed(void **state)
{
  (void)state;
  static const char t[] = "one\f\x80\x80two";
  mn_chunk_list l = chunk_checked(t, sizeof t - 1, MN_CHUNK_PAGE, 0, 0);
  assert_int_equal(l.n, 2);
  /* the stray bytes go with the form feed, which no page keeps */
  assert_int_equal(l.items[1].off, 6);
  assert_int_equal(l.items[1].len, 3);
  assert_int_equal(l.items[1].page_start, 1);
  mn_chunk_list_free(&l);
}

static void page_markers(void **state)
{
  (void)state;
  static const char t[] = "Page 1\nfirst\n\x80Page 2\nsecond\n";
  mn_chunk_list l = chunk_checked(t, sizeof t - 1, MN_CHUNK_PAGE, 0, 0);
  mn_chunk_list_free(&l);
}

static void paragraph_after_blank_line(void **state)
{
  (void)state;
  /* the fuzzer's input: a paragraph whose first byte is a stray one */
  static const char t1[] = "\n\xb2";
  mn_chunk_list l = chunk_checked(t1, sizeof t1 - 1, MN_CHUNK_PARAGRAPH, 465, 0);
  assert_int_equal(l.n, 0);
  mn_chunk_list_free(&l);
  static const char t2[] = "first\n\n\x80second line\n\n\xbf\xbfthird";
  l = chunk_checked(t2, sizeof t2 - 1, MN_CHUNK_PARAGRAPH, 8, 0);
  assert_true(l.n >= 2);
  assert_memory_equal(t2 + l.items[1].off, "second", 6);
  mn_chunk_list_free(&l);
}

static void code_pieces(void **state)
{
  (void)state;
  /* the fuzzer's input: a class, a blank line, a stray byte */
  static const char t1[] = "class y\n\n\xb3";
  size_t *st = NULL;
  size_t n = mn_code_pieces(t1, sizeof t1 - 1, MN_LANG_PYTHON, &st);
  for(size_t i = 0; i < n; i++)
    assert_false(st[i] > 0 && is_cont((unsigned char)t1[st[i]]));
  free(st);
  static const char t2[] = "import os\n\n\x80\x80" "def f():\n    return 1\n\n\x80" "def g():\n  pass\n";
  for(int lang = MN_LANG_C; lang <= MN_LANG_GENERIC; lang++) {
    n = mn_code_pieces(t2, sizeof t2 - 1, (mn_code_lang)lang, &st);
    assert_true(n >= 1);
    for(size_t i = 1; i < n; i++) {
      assert_true(st[i] > st[i - 1]);
      assert_false(is_cont((unsigned char)t2[st[i]]));
    }
    free(st);
  }
  mn_chunk_list l = chunk_checked(t1, sizeof t1 - 1, MN_CHUNK_CODE, 0, 0);
  assert_int_equal(l.n, 1);
  mn_chunk_list_free(&l);
  l = chunk_checked(t2, sizeof t2 - 1, MN_CHUNK_CODE, 12, 0);
  assert_true(l.n >= 2);
  mn_chunk_list_free(&l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(section_cut_after_newline),
    cmocka_unit_test(page_after_form_feed),
    cmocka_unit_test(page_markers),
    cmocka_unit_test(paragraph_after_blank_line),
    cmocka_unit_test(code_pieces),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
