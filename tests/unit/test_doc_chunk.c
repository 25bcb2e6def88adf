/* Chunkers: exact spans on small inputs, UTF-8 boundaries, pages, code
 * structure per language, and properties over the FinanceBench filings. */
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
#include "testutil.h"
#include "util/mem.h"

/* The chunks of text joined with '|' (the inputs have no '|'). */
static char *joined(const char *text, const mn_chunk_opts *o)
{
  mn_chunk_list l = { NULL, 0, 0 };
  int rc = mn_chunk_text(text, strlen(text), 0, o, &l);
  assert_int_equal(rc, 0);
  size_t total = 1;
  for(size_t i = 0; i < l.n; i++)
    total += l.items[i].len + 1;
  char *s = malloc(total), *p = s;
  for(size_t i = 0; i < l.n; i++) {
    if(i)
      *p++ = '|';
    memcpy(p, text + l.items[i].off, l.items[i].len);
    p += l.items[i].len;
  }
  *p = '\0';
  mn_chunk_list_free(&l);
  return s;
}

static void expect(const char *text, mn_chunk_method m, size_t max, size_t overlap,
                   const char *want)
{
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = m;
  o.max_chars = max;
  o.overlap = overlap;
  char *got = joined(text, &o);
  if(strcmp(got, want) != 0)
    fail_msg("method %s max %zu overlap %zu\n got: [%s]\nwant: [%s]",
             mn_chunk_method_name(m), max, overlap, got, want);
  free(got);
}

/* ---- section -------------------------------------------------------------- */

static void section_prefers_line_then_sentence_then_space(void **state)
{
  /* window of 20: the newline at 17 is in its last fifth */
  expect("The cat sat on it\nthe mat and the dog", MN_CHUNK_SECTION, 20, 0,
         "The cat sat on it\n|the mat and the dog");
  /* a newline before the last fifth does not count; a sentence end does */
  expect("Hello\nthere. General Kenobi said hi.", MN_CHUNK_SECTION, 15, 0,
         "Hello\nthere. |General Kenobi |said hi.");
  /* sentence beats a later space; abbreviations are not sentence ends */
  expect("Our sales were up strongly over the year. So we grew a lot more", MN_CHUNK_SECTION,
         50, 0, "Our sales were up strongly over the year. |So we grew a lot more");
  expect("Sales went up by a lot, and more so the U.S. in an odd year", MN_CHUNK_SECTION,
         50, 0, "Sales went up by a lot, and more so the U.S. in |an odd year");
  /* no break at all: hard cut at the limit */
  expect("abcdefghijklmnopqrstuvwxyz", MN_CHUNK_SECTION, 10, 0, "abcdefghij|klmnopqrst|uvwxyz");
  /* whitespace-only pieces are dropped */
  expect("abcdefghij          \n\n\n       klm", MN_CHUNK_SECTION, 10, 0, "abcdefghij|klm");
}

static void section_overlap(void **state)
{
  expect("abcdefghijklmnopqrstuvwxyz", MN_CHUNK_SECTION, 10, 3, 0 ? "" :
         "abcdefghij|hijklmnopq|opqrstuvwx|vwxyz");
  /* each chunk starts 5 characters before the previous one ended */
  expect("line one\nline two\nline three\nline four\nline five\n", MN_CHUNK_SECTION, 20, 5,
         "line one\nline two\n| two\nline three\nline|\nline four\nline five| five\n");
  /* overlap max-1 still moves forward */
  expect("abcde", MN_CHUNK_SECTION, 2, 1, "ab|bc|cd|de");
}

static void bad_options(void **state)
{
  mn_chunk_list l = { NULL, 0, 0 };
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.max_chars = 0;
  assert_int_equal(mn_chunk_text("abc", 3, 0, &o, &l), MN_EINVAL);
  o.method = MN_CHUNK_PARAGRAPH;
  assert_int_equal(mn_chunk_text("abc", 3, 0, &o, &l), MN_EINVAL);
  o.method = MN_CHUNK_SECTION;
  o.max_chars = 5;
  o.overlap = 5;
  assert_int_equal(mn_chunk_text("abc", 3, 0, &o, &l), MN_EINVAL);
  o.method = (mn_chunk_method)7;
  o.overlap = 0;
  assert_int_equal(mn_chunk_text("abc", 3, 0, &o, &l), MN_EINVAL);
  assert_int_equal(l.n, 0);
  /* page and code take 0 as "no limit" */
  o.method = MN_CHUNK_PAGE;
  o.max_chars = 0;
  assert_int_equal(mn_chunk_text("abc\fdef", 7, 0, &o, &l), 0);
  assert_int_equal(l.n, 2);
  /* max_chunks: the list is left as it was */
  o.method = MN_CHUNK_SECTION;
  o.max_chars = 2;
  o.max_chunks = 3;
  assert_int_equal(mn_chunk_text("abcdefgh", 8, 0, &o, &l), MN_ELIMIT);
  assert_int_equal(l.n, 2);
  o.max_chunks = 4;
  assert_int_equal(mn_chunk_text("abcdefgh", 8, 5, &o, &l), 0);
  assert_int_equal(l.n, 6);
  assert_int_equal(l.items[5].doc, 5);
  assert_int_equal(l.items[5].off, 6);
  mn_chunk_list_free(&l);
  assert_int_equal(mn_chunk_method_parse("paragraph"), MN_CHUNK_PARAGRAPH);
  assert_int_equal(mn_chunk_method_parse("Code"), MN_CHUNK_CODE);
  assert_int_equal(mn_chunk_method_parse("lines"), -1);
  assert_string_equal(mn_chunk_method_name(MN_CHUNK_PAGE), "page");
}

/* ---- UTF-8 boundaries ----------------------------------------------------- */

static int valid_utf8(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while(i < n) {
    size_t k = p[i] < 0x80 ? 1 : p[i] < 0xE0 ? 2 : p[i] < 0xF0 ? 3 : 4;
    if(p[i] >= 0x80 && p[i] < 0xC0)
      return 0;
    if(i + k > n)
      return 0;
    for(size_t j = 1; j < k; j++)
      if((p[i + j] & 0xC0) != 0x80)
        return 0;
    i += k;
  }
  return 1;
}

static void multibyte_never_split(void **state)
{
  const char *base = "é€😀";
  char text[200] = "";
  for(int rep = 1; rep <= 5; rep++) {
    strcat(text, base);
    if(rep == 3)
      strcat(text, " ");
    size_t len = strlen(text);
    for(int m = 0; m < 4; m++) {
      for(size_t max = 1; max <= 5; max++) {
        mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
        o.method = (mn_chunk_method)m;
        o.max_chars = max;
        mn_chunk_list l = { NULL, 0, 0 };
        assert_int_equal(mn_chunk_text(text, len, 0, &o, &l), 0);
        size_t pos = 0;
        char back[200];
        size_t bl = 0;
        for(size_t i = 0; i < l.n; i++) {
          mn_chunk *c = &l.items[i];
          assert_true(valid_utf8(text + c->off, c->len));
          assert_true(c->chars >= 1 && c->chars <= max);
          assert_int_equal(c->chars, mn_chunk_count_chars(text + c->off, c->len));
          /* in order; only blanks between */
          assert_true(c->off >= pos);
          for(size_t k = pos; k < c->off; k++)
            assert_int_equal(text[k], ' ');
          memcpy(back + bl, text + c->off, c->len);
          bl += c->len;
          pos = c->off + c->len;
        }
        if(rep < 3) {  /* no space: the chunks reassemble to the input */
          assert_int_equal(bl, len);
          assert_memory_equal(back, text, len);
        }
        mn_chunk_list_free(&l);
      }
    }
  }
  expect("é€😀", MN_CHUNK_SECTION, 1, 0, "é|€|😀");
  expect("é€😀", MN_CHUNK_SECTION, 2, 0, "é€|😀");
  expect("é€😀é€😀", MN_CHUNK_SECTION, 4, 1, "é€😀é|é€😀");
}

static void invalid_utf8_stays_in_bounds(void **state)
{
  /* the sandbox may pass any bytes; random input must not crash, hang or
   * cut before a continuation byte */
  unsigned seed = 12345;
  char buf[4096];
  for(int round = 0; round < 300; round++) {
    size_t len = (size_t)(round * 13 % 4096);
    for(size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      unsigned r = (seed >> 16) & 0xFF;
      /* bias toward the bytes that matter */
      const char special[] = "\n\f {}\"'/#*.\\`()\x80\xC3\xE2\xF0 ";
      buf[i] = (r & 1) ? special[(r >> 1) % (sizeof special - 1)] : (char)r;
    }
    for(int m = 0; m < 4; m++) {
      mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
      o.method = (mn_chunk_method)m;
      o.max_chars = 1 + (size_t)(round % 50);
      o.overlap = m == 0 && o.max_chars > 3 ? 2 : 0;
      mn_chunk_list l = { NULL, 0, 0 };
      assert_int_equal(mn_chunk_text(buf, len, 0, &o, &l), 0);
      size_t prev = 0;
      for(size_t i = 0; i < l.n; i++) {
        mn_chunk *c = &l.items[i];
        assert_true(c->len > 0 && c->off + c->len <= len);
        assert_true(c->off >= prev || o.overlap);
        prev = c->off + c->len;
        assert_true(c->chars <= o.max_chars);
        /* a cut before a continuation byte only follows ASCII (a stray
         * byte then, not the middle of a sequence) */
        size_t s = c->off, e = c->off + c->len;
        assert_true(s == 0 || (buf[s] & 0xC0) != 0x80 || (unsigned char)buf[s - 1] < 0x80);
        assert_true(e == len || (buf[e] & 0xC0) != 0x80 || (unsigned char)buf[e - 1] < 0x80);
      }
      mn_chunk_list_free(&l);
    }
  }
}

/* ---- pages ------------------------------------------------------------------ */

static void page_numbers_from_form_feeds(void **state)
{
  const char *t = "p0 text\fp1 text\f\f  \n\fp4 text\f";
  size_t len = strlen(t);
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = MN_CHUNK_PAGE;
  mn_chunk_list l = { NULL, 0, 0 };
  assert_int_equal(mn_chunk_text(t, len, 0, &o, &l), 0);
  assert_int_equal(l.n, 3);
  int want[] = { 0, 1, 4 };
  for(size_t i = 0; i < 3; i++) {
    assert_int_equal(l.items[i].page_start, want[i]);
    assert_int_equal(l.items[i].page_end, want[i]);
    assert_int_equal(l.items[i].len, 7);
    assert_int_equal(t[l.items[i].off], 'p');
    assert_int_equal(t[l.items[i].off + 1], '0' + want[i]);
  }
  mn_chunk_list_free(&l);
  /* sections: pages of their first and last non-blank byte */
  o.method = MN_CHUNK_SECTION;
  o.max_chars = 8;
  assert_int_equal(mn_chunk_text(t, len, 0, &o, &l), 0);
  assert_int_equal(l.n, 4);
  assert_int_equal(l.items[0].off, 0);           /* "p0 text\f" */
  assert_int_equal(l.items[0].page_start, 0);
  assert_int_equal(l.items[0].page_end, 0);
  assert_int_equal(l.items[1].off, 8);           /* "p1 text\f" */
  assert_int_equal(l.items[1].page_start, 1);
  assert_int_equal(l.items[1].page_end, 1);
  assert_int_equal(l.items[2].off, 16);          /* "\f  \n\fp4 " */
  assert_int_equal(l.items[2].page_start, 4);
  assert_int_equal(l.items[2].page_end, 4);
  assert_int_equal(l.items[3].page_start, 4);    /* "text\f" */
  mn_chunk_list_free(&l);
  o.max_chars = 40;
  assert_int_equal(mn_chunk_text(t, len, 0, &o, &l), 0);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.items[0].page_start, 0);
  assert_int_equal(l.items[0].page_end, 4);
  mn_chunk_list_free(&l);
  /* mn_page_of and the index agree */
  mn_page_index ix;
  mn_page_index_build(&ix, t, len);
  assert_int_equal(ix.n, 5);
  for(size_t off = 0; off <= len; off++)
    assert_int_equal(mn_page_index_of(&ix, off), mn_page_of(t, len, off));
  assert_int_equal(mn_page_of(t, len, 0), 0);
  assert_int_equal(mn_page_of(t, len, 7), 0);   /* the form feed ends page 0 */
  assert_int_equal(mn_page_of(t, len, 8), 1);
  assert_int_equal(mn_page_of(t, len, len), 5);
  mn_page_index_free(&ix);
  assert_int_equal(mn_page_of("no pages", 8, 3), -1);
  o.method = MN_CHUNK_PARAGRAPH;
  assert_int_equal(mn_chunk_text("no pages", 8, 0, &o, &l), 0);
  assert_int_equal(l.items[0].page_start, -1);
  assert_int_equal(l.items[0].page_end, -1);
  mn_chunk_list_free(&l);
}

static void long_pages_split_like_sections(void **state)
{
  expect("short page\flong page line one\nline two\f", MN_CHUNK_PAGE, 20, 0,
         "short page|long page line one\n|line two");
}

static void page_markers(void **state)
{
  /* headers: each page starts at its marker */
  expect("Page 1\nintro\nPage 2\nbody\nPage 3 of 3\nend\n", MN_CHUNK_PAGE, 1000, 0,
         "Page 1\nintro\n|Page 2\nbody\n|Page 3 of 3\nend\n");
  /* footers: each page ends with its marker */
  expect("intro\n- 1 -\nbody\n  - 2 -  \ntail\n", MN_CHUNK_PAGE, 1000, 0,
         "intro\n- 1 -\n|body\n  - 2 -  \n|tail\n");
  expect("x\n--- Page 3 ---\ny\n[Page 4]\nz\n— 5 —\n", MN_CHUNK_PAGE, 1000, 0,
         "x\n--- Page 3 ---\n|y\n[Page 4]\n|z\n— 5 —\n");
  /* text before a first marker that is not page 1 is its own page */
  expect("cover\nPAGE 2\ntwo\npage 3/9\nthree", MN_CHUNK_PAGE, 1000, 0,
         "cover\n|PAGE 2\ntwo\n|page 3/9\nthree");
  /* not markers: inside a sentence, bare numbers, a number going back,
   * a single marker; then the section method applies */
  expect("Page 3 shows it\n(2)\n3\nPage 9\nmore\nPage 4\n", MN_CHUNK_PAGE, 1000, 0,
         "Page 3 shows it\n(2)\n3\nPage 9\nmore\nPage 4\n");
  expect("alpha beta gamma", MN_CHUNK_PAGE, 6, 0, "alpha |beta g|amma");
}

/* ---- paragraphs -------------------------------------------------------------- */

static void paragraph_packing(void **state)
{
  expect("a a\n\nb b\n\nc c c c c\n", MN_CHUNK_PARAGRAPH, 10, 0, "a a\n\nb b\n|c c c c c\n");
  expect("one\ntwo\n\n\n \t\nthree\n", MN_CHUNK_PARAGRAPH, 100, 0, "one\ntwo\n\n\n \t\nthree\n");
  expect("one\ntwo\n\n\n \t\nthree\n", MN_CHUNK_PARAGRAPH, 9, 0, "one\ntwo\n|three\n");
  /* a long paragraph is cut at sentence ends, else at spaces */
  expect("First one. Second one here. Third.\n\nshort", MN_CHUNK_PARAGRAPH, 20, 0,
         "First one. |Second one here. |Third.\n|short");
  expect("aaaa bbbb cccc dddd eeee", MN_CHUNK_PARAGRAPH, 10, 0, "aaaa bbbb |cccc dddd |eeee");
}

/* ---- code ---------------------------------------------------------------------- */

/* First line of each chunk, joined with '|'. */
static char *first_lines(const char *text, const char *lang, size_t max)
{
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = MN_CHUNK_CODE;
  o.lang = lang;
  o.max_chars = max;
  mn_chunk_list l = { NULL, 0, 0 };
  assert_int_equal(mn_chunk_text(text, strlen(text), 0, &o, &l), 0);
  char *s = calloc(1, strlen(text) + l.n + 1), *p = s;
  size_t prev_end = 0;
  for(size_t i = 0; i < l.n; i++) {
    const char *c = text + l.items[i].off;
    /* code chunks tile the text */
    assert_int_equal(l.items[i].off, prev_end);
    prev_end = l.items[i].off + l.items[i].len;
    while(*c == '\n')
      c++;
    const char *nl = strchr(c, '\n');
    size_t n = nl ? (size_t)(nl - c) : strlen(c);
    if(i)
      *p++ = '|';
    memcpy(p, c, n);
    p += n;
  }
  mn_chunk_list_free(&l);
  return s;
}

static void expect_code(const char *text, const char *lang, mn_code_lang detected,
                        const char *want)
{
  assert_int_equal(mn_code_detect(text, strlen(text)), detected);
  char *got = first_lines(text, lang, 100000);
  if(strcmp(got, want) != 0)
    fail_msg("lang %s\n got: [%s]\nwant: [%s]", mn_code_lang_name(detected), got, want);
  free(got);
  /* the same without the hint */
  got = first_lines(text, NULL, 100000);
  assert_string_equal(got, want);
  free(got);
}

static const char C_SRC[] =
  "/* header comment */\n"
  "#include <stdio.h>\n"
  "#include \"x.h\"\n"
  "\n"
  "#define LBRACE {\n"
  "\n"
  "static int count;\n"
  "\n"
  "/* adds */\n"
  "int add(int a, int b)\n"
  "{\n"
  "  const char *s = \"}\";   // brace in string }\n"
  "  char c = '}';\n"
  "  return a + b;\n"
  "}\n"
  "\n"
  "struct point {\n"
  "  int x, y;\n"
  "};\n"
  "int main(void) {\n"
  "  /* } in\n"
  "     a comment */\n"
  "  return add(1, 2);\n"
  "}\n";

static const char CPP_SRC[] =
  "#include <string>\n"
  "\n"
  "namespace app {\n"
  "\n"
  "class Widget {\n"
  " public:\n"
  "  std::string name() const { return R\"x(})x\"; }\n"
  "};\n"
  "\n"
  "int helper(int x) { return x * 1'000; }\n"
  "\n"
  "}  // namespace app\n";

static const char PY_SRC[] =
  "\"\"\"Module docstring with def inside:\n"
  "def fake():\n"
  "\"\"\"\n"
  "import os\n"
  "from typing import List\n"
  "\n"
  "CONST = {'a': 1}\n"
  "\n"
  "# helper comment\n"
  "@decorator(\n"
  "    arg=1)\n"
  "def first(x):\n"
  "    s = '''\n"
  "def not_a_def():\n"
  "'''\n"
  "    return (x +\n"
  "1)\n"
  "\n"
  "\n"
  "class Thing(Base):\n"
  "    def method(self):\n"
  "        pass\n"
  "\n"
  "x = first(2)\n"
  "\n"
  "async def second():\n"
  "    return {'a': [1,\n"
  "2]}\n"
  "\n"
  "if __name__ == \"__main__\":\n"
  "    second()\n";

static const char JS_SRC[] =
  "import fs from 'fs';\n"
  "const re = /[{]/g;\n"
  "\n"
  "// greet someone\n"
  "function greet(name) {\n"
  "  return `Hello ${name} }`;\n"
  "}\n"
  "\n"
  "const add = (a, b) => {\n"
  "  return a + b;\n"
  "};\n"
  "\n"
  "class Greeter {\n"
  "  hi() { return '}'; }\n"
  "}\n"
  "\n"
  "export default greet;\n";

static const char TS_SRC[] =
  "import { X } from \"./x\";\n"
  "import { Y,\n"
  "  Z } from \"./y\";\n"
  "\n"
  "interface Shape {\n"
  "  area(): number;\n"
  "}\n"
  "\n"
  "export function area(s: Shape): number {\n"
  "  return s.area();\n"
  "}\n"
  "\n"
  "namespace Geo {\n"
  "  export const pi: number = 3.14;\n"
  "  export function circle(r: number): number { return pi * r * r; }\n"
  "}\n";

static const char GO_SRC[] =
  "package main\n"
  "\n"
  "import (\n"
  "\t\"fmt\"\n"
  ")\n"
  "\n"
  "// Point is a point.\n"
  "type Point struct {\n"
  "\tX, Y int\n"
  "}\n"
  "\n"
  "func (p Point) String() string {\n"
  "\treturn fmt.Sprintf(\"{%d\", p.X)\n"
  "}\n"
  "\n"
  "func main() {\n"
  "\ts := `raw } string`\n"
  "\tfmt.Println(s, '}')\n"
  "}\n";

static const char RS_SRC[] =
  "use std::fmt;\n"
  "use std::io::{self,\n"
  "    Write};\n"
  "\n"
  "/// A point\n"
  "#[derive(Debug)]\n"
  "struct Point {\n"
  "    x: i32,\n"
  "}\n"
  "\n"
  "impl fmt::Display for Point {\n"
  "    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {\n"
  "        write!(f, \"{{{}}}\", self.x)\n"
  "    }\n"
  "}\n"
  "\n"
  "fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {\n"
  "    let c = '}';\n"
  "    let r = r#\"raw \"}\" string\"#;\n"
  "    /* nested /* } */ comment */\n"
  "    if a.len() > b.len() { a } else { b }\n"
  "}\n";

static void code_c_and_cpp(void **state)
{
  expect_code(C_SRC, "c", MN_LANG_C,
              "/* header comment */|/* adds */|struct point {|int main(void) {");
  expect_code(CPP_SRC, "x.hpp", MN_LANG_CPP,
              "#include <string>|class Widget {|int helper(int x) { return x * 1'000; }|"
              "}  // namespace app");
}

static void code_python(void **state)
{
  expect_code(PY_SRC, "python", MN_LANG_PYTHON,
              "\"\"\"Module docstring with def inside:|# helper comment|class Thing(Base):|"
              "x = first(2)|if __name__ == \"__main__\":");
}

static void code_js_ts(void **state)
{
  expect_code(JS_SRC, "js", MN_LANG_JS,
              "import fs from 'fs';|// greet someone|const add = (a, b) => {|class Greeter {|"
              "export default greet;");
  expect_code(TS_SRC, "src/geo.ts", MN_LANG_TS,
              "import { X } from \"./x\";|interface Shape {|"
              "export function area(s: Shape): number {|namespace Geo {|}");
}

static void code_go_rust(void **state)
{
  expect_code(GO_SRC, "go", MN_LANG_GO,
              "package main|// Point is a point.|func (p Point) String() string {|func main() {");
  expect_code(RS_SRC, "rs", MN_LANG_RUST,
              "use std::fmt;|/// A point|impl fmt::Display for Point {|"
              "fn longest<'a>(a: &'a str, b: &'a str) -> &'a str {");
}

static void code_long_pieces_split_at_lines(void **state)
{
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = MN_CHUNK_CODE;
  o.max_chars = 60;
  mn_chunk_list l = { NULL, 0, 0 };
  size_t len = strlen(C_SRC);
  assert_int_equal(mn_chunk_text(C_SRC, len, 0, &o, &l), 0);
  size_t prev = 0;
  for(size_t i = 0; i < l.n; i++) {
    mn_chunk *c = &l.items[i];
    assert_true(c->chars <= 60);
    assert_int_equal(c->off, prev);
    prev = c->off + c->len;
    /* every piece ends at a line end */
    assert_int_equal(C_SRC[prev - 1], '\n');
  }
  assert_int_equal(prev, len);
  /* at a blank line when there is one in the last half: the preamble
   * "...\"x.h\"\n\n#define LBRACE {\n\n" breaks after "#include \"x.h\"\n\n" */
  assert_int_equal(l.items[0].len, strlen("/* header comment */\n#include <stdio.h>\n#include \"x.h\"\n\n"));
  mn_chunk_list_free(&l);
  assert_int_equal(mn_code_lang_from_hint("main.rs"), MN_LANG_RUST);
  assert_int_equal(mn_code_lang_from_hint("C++"), MN_LANG_CPP);
  assert_int_equal(mn_code_lang_from_hint("Foo.java"), MN_LANG_GENERIC);
  assert_int_equal(mn_code_lang_from_hint("notes.txt"), MN_LANG_UNKNOWN);
  assert_int_equal(mn_code_lang_from_hint(NULL), MN_LANG_UNKNOWN);
}

/* ---- properties over the filings ------------------------------------------------ */

static mn_docs *filings;

static int load_filings(void **state)
{
  const char *shared = getenv("MN_SHARED_DIR");
  const char *files[] = { "3M_2018_10K.pdf", "ULTABEAUTY_2023Q4_EARNINGS.pdf",
                          "FOOTLOCKER_2022_8K_dated_2022-08-19.pdf", "NETFLIX_2015_10K.pdf" };
  mn_docs_new(&filings);
  for(size_t i = 0; i < 4; i++) {
    char *p = NULL;
    p = mn_xasprintf("%s/data/financebench/pdfs/%s", shared ? shared : "/work/shared", files[i]);
    int rc = mn_docs_add_path(filings, p);
    free(p);
    if(rc)
      return -1;
  }
  return 0;
}

static int free_filings(void **state)
{
  mn_docs_free(filings);
  return 0;
}

static int blank(const char *s, size_t a, size_t b)
{
  for(size_t i = a; i < b; i++)
    if(!strchr(" \t\r\n\f\v", s[i]))
      return 0;
  return 1;
}

static void filings_properties(void **state)
{
  const size_t sizes[] = { 500, 3000, 20000 };
  for(size_t di = 0; di < mn_docs_count(filings); di++) {
    size_t len;
    const char *t = mn_docs_text(filings, di, &len);
    mn_page_index ix;
    mn_page_index_build(&ix, t, len);
    for(int m = 0; m < 4; m++) {
      for(size_t si = 0; si < 3; si++) {
        for(size_t ov = 0; ov < 2; ov++) {
          if(ov && m != MN_CHUNK_SECTION)
            continue;
          mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
          o.method = (mn_chunk_method)m;
          o.max_chars = sizes[si];
          o.overlap = ov ? sizes[si] / 10 : 0;
          mn_chunk_list l = { NULL, 0, 0 };
          assert_int_equal(mn_chunk_text(t, len, di, &o, &l), 0);
          assert_true(l.n > 0);
          size_t pos = 0;
          int last_page = 0;
          for(size_t i = 0; i < l.n; i++) {
            mn_chunk *c = &l.items[i];
            assert_int_equal(c->doc, di);
            assert_true(c->chars <= o.max_chars);
            assert_int_equal(c->chars, mn_chunk_count_chars(t + c->off, c->len));
            assert_true(valid_utf8(t + c->off, c->len));
            assert_false(blank(t, c->off, c->off + c->len));
            /* pages of the first and last non-blank byte, in order */
            size_t s = c->off, e = c->off + c->len;
            while(strchr(" \t\r\n\f\v", t[s]))
              s++;
            while(strchr(" \t\r\n\f\v", t[e - 1]))
              e--;
            assert_int_equal(c->page_start, mn_page_index_of(&ix, s));
            assert_int_equal(c->page_end, mn_page_index_of(&ix, e - 1));
            assert_true(c->page_start >= last_page);
            last_page = c->page_start;
            if(o.overlap) {
              /* starts move forward and each overlaps the previous one */
              assert_true(i == 0 || (c->off > l.items[i - 1].off && c->off <= pos));
            } else if(m == MN_CHUNK_SECTION || m == MN_CHUNK_CODE) {
              /* concatenation == text minus blank pieces */
              assert_true(c->off >= pos);
              assert_true(blank(t, pos, c->off));
            } else {
              /* page and paragraph leave out separators: blanks and \f */
              assert_true(c->off >= pos);
              assert_true(blank(t, pos, c->off));
            }
            pos = c->off + c->len;
          }
          assert_true(blank(t, pos, len));
          if(m == MN_CHUNK_PAGE && o.max_chars == 20000) {
            /* one chunk per non-blank page */
            size_t pages = 0, start = 0;
            for(size_t k = 0; k <= ix.n; k++) {
              size_t end = k < ix.n ? ix.ff[k] : len;
              pages += !blank(t, start, end);
              start = end + 1;
            }
            size_t longest = 0;
            for(size_t i = 0; i < l.n; i++)
              if(l.items[i].chars > longest)
                longest = l.items[i].chars;
            if(longest < 20000) {
              assert_int_equal(l.n, pages);
              for(size_t i = 0; i < l.n; i++)
                assert_int_equal(l.items[i].page_start, l.items[i].page_end);
            }
          }
          mn_chunk_list_free(&l);
        }
      }
    }
    mn_page_index_free(&ix);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(section_prefers_line_then_sentence_then_space),
    cmocka_unit_test(section_overlap),
    cmocka_unit_test(bad_options),
    cmocka_unit_test(multibyte_never_split),
    cmocka_unit_test(invalid_utf8_stays_in_bounds),
    cmocka_unit_test(page_numbers_from_form_feeds),
    cmocka_unit_test(long_pages_split_like_sections),
    cmocka_unit_test(page_markers),
    cmocka_unit_test(paragraph_packing),
    cmocka_unit_test(code_c_and_cpp),
    cmocka_unit_test(code_python),
    cmocka_unit_test(code_js_ts),
    cmocka_unit_test(code_go_rust),
    cmocka_unit_test(code_long_pieces_split_at_lines),
    cmocka_unit_test_setup_teardown(filings_properties, load_filings, free_filings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
