/* The fast JSON paths: mn_json_skim (a reader that must agree with jansson
 * whenever it accepts a text), mn_json_write (a writer that must produce
 * json_dumps' bytes) and the ASCII fast path of mn_utf8_valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "util/buf.h"
#include "util/json.h"

static const char *const PATHS[] = {
  "", "error", "choices", "choices.0", "choices.0.delta.content", "choices.0.finish_reason",
  "usage", "usage.prompt_tokens", "usage.prompt_tokens_details.cached_tokens", "a.1.b", "0",
};
#define NPATHS (sizeof PATHS / sizeof *PATHS)

static int span_type_of(const json_t *v)
{
  switch(json_typeof(v)) {
  case JSON_OBJECT: return MN_JSPAN_OBJECT;
  case JSON_ARRAY: return MN_JSPAN_ARRAY;
  case JSON_STRING: return MN_JSPAN_STRING;
  case JSON_INTEGER:
  case JSON_REAL: return MN_JSPAN_NUMBER;
  case JSON_TRUE: return MN_JSPAN_TRUE;
  case JSON_FALSE: return MN_JSPAN_FALSE;
  case JSON_NULL: return MN_JSPAN_NULL;
  }
  return -1;
}

/* If skim accepts text, jansson must load it and every path must agree:
 * same type, same decoded string, same number as mn_json_path_u64 reads.
 * Returns skim's verdict. */
static int check_against_jansson(const char *text, size_t len)
{
  mn_json_span sp[NPATHS];
  int rc = mn_json_skim(text, len, PATHS, NPATHS, sp);
  if(rc != 0)
    return rc;
  char *err = NULL;
  json_t *root = mn_json_loadb(text, len, &err);
  if(!root || !(json_is_object(root) || json_is_array(root)))
    fail_msg("skim accepted [%.*s] that jansson refuses (%s)", (int)len, text, err ? err : "");
  for(size_t i = 0; i < NPATHS; i++) {
    json_t *v = mn_json_path(root, PATHS[i]);
    if(!v) {
      if(sp[i].type != MN_JSPAN_NONE)
        fail_msg("[%.*s] path '%s': skim found a value, jansson none", (int)len, text, PATHS[i]);
      continue;
    }
    if(sp[i].type != span_type_of(v))
      fail_msg("[%.*s] path '%s': type %d, jansson %d", (int)len, text, PATHS[i], sp[i].type,
               span_type_of(v));
    if(json_is_string(v)) {
      mn_buf b = MN_BUF_INIT(0);
      assert_int_equal(mn_json_span_append(&sp[i], &b), 0);
      if(b.len != json_string_length(v) || memcmp(mn_buf_str(&b), json_string_value(v), b.len))
        fail_msg("[%.*s] path '%s': decoded [%s], jansson [%s]", (int)len, text, PATHS[i],
                 mn_buf_str(&b), json_string_value(v));
      mn_buf_free(&b);
    }
    if(json_is_number(v) &&
       mn_json_span_u64(&sp[i]) != mn_json_path_u64(root, PATHS[i]))
      fail_msg("[%.*s] path '%s': number differs", (int)len, text, PATHS[i]);
  }
  json_decref(root);
  return 0;
}

static int check(const char *text)
{
  return check_against_jansson(text, strlen(text));
}

static void finds_values_like_jansson(void **state)
{
  const char *ev =
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1795281921,"
    "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"caf\\u00e9 \\\"x\\\"\\n\\t\\/ \\ud83d\\ude00 "
    "\xe2\x82\xac\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";
  assert_int_equal(check(ev), 0);
  mn_json_span sp[NPATHS];
  assert_int_equal(mn_json_skim(ev, strlen(ev), PATHS, NPATHS, sp), 0);
  mn_buf b = MN_BUF_INIT(0);
  assert_int_equal(mn_json_span_append(&sp[4], &b), 0);
  assert_string_equal(mn_buf_str(&b), "caf\xc3\xa9 \"x\"\n\t/ \xf0\x9f\x98\x80 \xe2\x82\xac");
  mn_buf_free(&b);
  assert_int_equal(sp[0].type, MN_JSPAN_OBJECT);
  assert_int_equal(sp[1].type, MN_JSPAN_NONE);
  assert_int_equal(sp[5].type, MN_JSPAN_NULL);
  assert_int_equal(sp[6].type, MN_JSPAN_NULL);

  const char *usage = " {\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":42,"
                      "\"prompt_tokens_details\":{\"cached_tokens\":7.9}}} \n";
  assert_int_equal(check(usage), 0);
  assert_int_equal(mn_json_skim(usage, strlen(usage), PATHS, NPATHS, sp), 0);
  assert_int_equal(mn_json_span_u64(&sp[7]), 13);
  assert_int_equal(mn_json_span_u64(&sp[8]), 7);   /* reals truncate, as mn_json_path_u64 */
  assert_int_equal(sp[3].type, MN_JSPAN_NONE);

  /* numeric parts index arrays, and name keys of objects */
  assert_int_equal(check("{\"a\":[{\"b\":1},{\"b\":\"two\"}]}"), 0);
  assert_int_equal(check("{\"0\":\"key zero\",\"a\":{\"1\":{\"b\":false}}}"), 0);
  assert_int_equal(check("[\"first\",2]"), 0);
  assert_int_equal(check("{\"choices\":{\"0\":{\"delta\":{\"content\":\"object keyed\"}}}}"), 0);
  assert_int_equal(check("{\"choices\":[],\"error\":{\"message\":\"nope\"},\"usage\":-0}"), 0);
  assert_int_equal(check("{}"), 0);
  assert_int_equal(check("[]"), 0);
  assert_int_equal(check("{\"a\":[[],{},[[1,-2.5,0.125]],true,false,null,\"\"]}"), 0);
}

static void declines_what_it_cannot_vouch_for(void **state)
{
  static const char *const refused[] = {
    "",                                          /* empty */
    "\"top-level string\"", "42", "null",        /* jansson wants an object or array */
    "{\"a\":1} x",                               /* trailing text */
    "{\"a\":1,}", "{\"a\" 1}", "[1 2]", "{a:1}", "{'a':1}",
    "{\"a\":\"raw\ncontrol\"}",                  /* control character in a string */
    "{\"a\":\"\\x41\"}",                         /* bad escape */
    "{\"a\":\"\\u12\"}",                         /* short \u */
    "{\"a\":\"\\u0000\"}",                       /* NUL: C strings would cut it */
    "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}", /* lone surrogates */
    "{\"a\":\"\\ud83d\\u0041\"}",
    "{\"a\":\"\xff\"}", "{\"a\":\"\xc0\x80\"}",  /* invalid UTF-8, overlong */
    "{\"a\":\"\xed\xa0\x80\"}",                  /* UTF-8 surrogate */
    "{\"a\":1e5}", "{\"a\":12345678901234567890}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
    "{\"a\":tru}", "{\"a\":nul}", "{\"a\":truex}",
    "{\"cho\\u0069ces\":[]}",                    /* escaped key */
    "{\"error\":null,\"error\":{\"message\":\"x\"}}",   /* repeated key on a path */
    "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
    "{\"a\":\"unterminated}",
    "{\"a\":[1,2}",
  };
  for(size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    if(check(refused[i]) == 0)
      fail_msg("skim accepted [%s]", refused[i]);
  }
  /* nesting past its depth is declined; jansson still takes it */
  char deep[200];
  size_t n = 0;
  for(int i = 0; i < 40; i++)
    deep[n++] = '[';
  for(int i = 0; i < 40; i++)
    deep[n++] = ']';
  deep[n] = '\0';
  assert_int_not_equal(check(deep), 0);
  /* a repeated key off the paths is fine (jansson keeps the last) */
  assert_int_equal(check("{\"id\":1,\"id\":2,\"choices\":[]}"), 0);
  /* too many paths */
  const char *many[17];
  for(int i = 0; i < 17; i++)
    many[i] = "a";
  mn_json_span sp[17];
  assert_int_not_equal(mn_json_skim("{}", 2, many, 17, sp), 0);
}

static uint64_t rng_state = 0x243F6A8885A308D3ULL;
static uint64_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Random damage to real-looking events: whatever skim accepts, jansson
 * must read the same way. */
static void mutations_agree_with_jansson(void **state)
{
  static const char *const seeds[] = {
    "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The \\\"fiscal\\\" year\"},"
    "\"finish_reason\":null}],\"usage\":null}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":42,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0}}}",
    "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"caf\xc3\xa9\"},\"done\":false}",
    "{\"a\":[{\"b\":\"\\ud83d\\ude00\"},{\"b\":[1,2.5,true]}],\"0\":null}",
  };
  static const char alphabet[] = "{}[]\":,\\ u0123456789abcdefnrt.-e\xc3\xa9\x80\xff\n";
  char buf[512];
  int accepted = 0;
  for(int it = 0; it < 20000; it++) {
    const char *s = seeds[rnd() % (sizeof seeds / sizeof *seeds)];
    size_t n = strlen(s);
    memcpy(buf, s, n);
    int edits = 1 + (int)(rnd() % 3);
    for(int e = 0; e < edits; e++) {
      size_t at = (size_t)(rnd() % n);
      char c = alphabet[rnd() % (sizeof alphabet - 1)];
      switch(rnd() % 3) {
      case 0:
        buf[at] = c;
        break;
      case 1:
        if(n + 1 < sizeof buf) {
          memmove(buf + at + 1, buf + at, n - at);
          buf[at] = c;
          n++;
        }
        break;
      default:
        if(n > 1) {
          memmove(buf + at, buf + at + 1, n - at - 1);
          n--;
        }
      }
    }
    if(check_against_jansson(buf, n) == 0)
      accepted++;
  }
  /* the test means something only if some damaged texts are still JSON */
  assert_true(accepted > 100);
}

/* ---- mn_json_write ------------------------------------------------------- */

static void expect_same_as_dumps(const json_t *v, size_t flags)
{
  char *want = json_dumps(v, flags | JSON_ENCODE_ANY);
  assert_non_null(want);
  mn_buf b = MN_BUF_INIT(0);
  assert_int_equal(mn_json_write(&b, v, flags), 0);
  if(strcmp(mn_buf_str(&b), want) != 0)
    fail_msg("flags %zx\n got  %s\n want %s", flags, mn_buf_str(&b), want);
  mn_buf_free(&b);
  free(want);
}

static json_t *random_value(int depth)
{
  static const char *const strs[] = {
    "", "plain", "quote \" backslash \\ slash /", "\n\r\t\b\f", "\x01\x1f\x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "a long line of text with newlines\nand\nmore",
    "0123456789abcdef0123456789abcdef\"0123456789\\abcdef",
  };
  static const double reals[] = { 0.0, -0.0, 0.1, 2.5, 1e20, 1.5e-7, 123456789.0, -3.25e300,
                                  1.0 / 3.0, 100.0 };
  switch(depth > 3 ? rnd() % 6 : rnd() % 8) {
  case 0: return json_string(strs[rnd() % (sizeof strs / sizeof *strs)]);
  case 1: return json_integer((json_int_t)(rnd() % 2000000) - 1000000);
  case 2: return json_real(reals[rnd() % (sizeof reals / sizeof *reals)]);
  case 3: return json_true();
  case 4: return json_false();
  case 5: return json_null();
  case 6: {
    json_t *a = json_array();
    for(int i = (int)(rnd() % 4); i > 0; i--)
      json_array_append_new(a, random_value(depth + 1));
    return a;
  }
  default: {
    json_t *o = json_object();
    for(int i = (int)(rnd() % 4); i > 0; i--) {
      char key[16];
      snprintf(key, sizeof key, rnd() % 4 ? "k%d" : "k\"\n%d", (int)(rnd() % 10));
      json_object_set_new(o, key, random_value(depth + 1));
    }
    return o;
  }
  }
}

static void writes_what_json_dumps_writes(void **state)
{
  static const size_t flags[] = { JSON_COMPACT, JSON_COMPACT | JSON_REAL_PRECISION(15),
                                  JSON_INDENT(2), JSON_INDENT(4) | JSON_REAL_PRECISION(3), 0 };
  for(int it = 0; it < 500; it++) {
    json_t *v = random_value(0);
    for(size_t f = 0; f < sizeof flags / sizeof *flags; f++)
      expect_same_as_dumps(v, flags[f]);
    json_decref(v);
  }
  /* a string with a NUL inside (json_stringn) */
  json_t *nul = json_stringn("a\0b", 3);
  expect_same_as_dumps(nul, JSON_COMPACT);
  json_decref(nul);
  /* a string much longer than the staging area */
  char *big = malloc(20001);
  for(int i = 0; i < 20000; i++)
    big[i] = "ab\"\n\\c\xc3\xa9"[i % 9] ? "ab\"\n\\c\xc3\xa9"[i % 9] : 'x';
  big[20000] = '\0';
  json_t *o = json_pack("{s:s,s:[s,i]}", "big", big, "more", big, 7);
  expect_same_as_dumps(o, JSON_COMPACT);
  expect_same_as_dumps(o, JSON_INDENT(2));
  json_decref(o);
  free(big);
}

static void write_refuses_and_caps(void **state)
{
  json_t *o = json_pack("{s:s}", "k", "0123456789");
  mn_buf small = MN_BUF_INIT(8);
  assert_int_not_equal(mn_json_write(&small, o, JSON_COMPACT), 0);
  mn_buf_free(&small);
  mn_buf b = MN_BUF_INIT(0);
  assert_int_not_equal(mn_json_write(&b, o, JSON_SORT_KEYS), 0);   /* not supported */
  mn_buf_free(&b);
  json_decref(o);
}

/* ---- mn_utf8_valid ------------------------------------------------------- */

static void utf8_valid_at_every_alignment(void **state)
{
  char buf[64];
  for(size_t at = 0; at < 40; at++) {
    memset(buf, 'a', sizeof buf);
    memcpy(buf + at, "\xc3\xa9", 2);
    assert_true(mn_utf8_valid(buf, 48));
    buf[at] = (char)0xff;
    assert_false(mn_utf8_valid(buf, 48));
    memset(buf, 'a', sizeof buf);
    buf[at] = (char)0xe2;   /* cut sequence */
    assert_false(mn_utf8_valid(buf, at + 1));
    assert_true(mn_utf8_valid(buf, at));
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(finds_values_like_jansson),
    cmocka_unit_test(declines_what_it_cannot_vouch_for),
    cmocka_unit_test(mutations_agree_with_jansson),
    cmocka_unit_test(writes_what_json_dumps_writes),
    cmocka_unit_test(write_refuses_and_caps),
    cmocka_unit_test(utf8_valid_at_every_alignment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
