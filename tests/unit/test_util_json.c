#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "util/json.h"
#include "util/json_lenient.h"
#include "util/utf8.h"

static json_t *parse(const char *s, char **err)
{
  return mn_json_parse_lenient(s, strlen(s), err);
}

/* Parse leniently and compare the compact dump with `want`. */
static void expect(const char *in, const char *want)
{
  char *err = NULL;
  json_t *v = parse(in, &err);
  if(!v)
    fail_msg("no parse of [%s]: %s", in, err ? err : "?");
  char *got = mn_json_dump(v);
  if(strcmp(got, want) != 0)
    fail_msg("input [%s]\n got  %s\n want %s", in, got, want);
  assert_null(err);
  free(got);
  json_decref(v);
}

static void expect_fail(const char *in, const char *msg_part)
{
  char *err = NULL;
  json_t *v = parse(in, &err);
  if(v) {
    char *got = mn_json_dump(v);
    fail_msg("input [%s] parsed as %s", in, got);
  }
  assert_non_null(err);
  if(!strstr(err, msg_part))
    fail_msg("error [%s] lacks [%s]", err, msg_part);
  free(err);
}

static void plain_and_fenced(void **state)
{
  expect("{\"a\": 1, \"b\": [true, false, null], \"c\": \"x\"}",
         "{\"a\":1,\"b\":[true,false,null],\"c\":\"x\"}");
  expect("Here you go:\n```json\n{\"answer\": \"42\", \"citation\": null}\n```\nHope it helps.",
         "{\"answer\":\"42\",\"citation\":null}");
  expect("```\n{\"x\": {\"y\": {\"z\": [1, {\"w\": 2.5}]}}}\n```",
         "{\"x\":{\"y\":{\"z\":[1,{\"w\":2.5}]}}}");
  expect("  {}  ", "{}");
}

static void last_top_level_object_wins(void **state)
{
  expect("draft: {\"answer\": \"first\"} final: {\"answer\": \"second\", \"n\": {\"k\": 1}}",
         "{\"answer\":\"second\",\"n\":{\"k\":1}}");
  /* braces in prose before the real object do not confuse it */
  expect("Use {curly braces} like {this}. Result: {\"ok\": true}", "{\"ok\":true}");
  /* a nested object is not taken for a top-level one */
  expect("{\"outer\": {\"inner\": 1}} trailing text", "{\"outer\":{\"inner\":1}}");
}

static void python_and_js_literals(void **state)
{
  expect("{'explanation': 'It\\'s here', 'citation': None, 'answer': True}",
         "{\"explanation\":\"It's here\",\"citation\":null,\"answer\":true}");
  expect("{answer: False, count: -12, ratio: 1.5e3,}",
         "{\"answer\":false,\"count\":-12,\"ratio\":1500.0}");
  expect("{\"list\": [1, 2, 3,], \"o\": {\"a\": 1,},}", "{\"list\":[1,2,3],\"o\":{\"a\":1}}");
  /* single quotes keep a double quote literally, apostrophes survive */
  expect("{'q': 'say \"hi\"', 'r': 'it's fine'}",
         "{\"q\":\"say \\\"hi\\\"\",\"r\":\"it's fine\"}");
}

static void raw_controls_and_quotes(void **state)
{
  expect("{\"text\": \"line1\nline2\tend\"}", "{\"text\":\"line1\\nline2\\tend\"}");
  /* an unescaped quote that cannot close the string stays in the text */
  expect("{\"answer\": \"the \"big\" one\", \"n\": 1}",
         "{\"answer\":\"the \\\"big\\\" one\",\"n\":1}");
  /* smart quotes around keys and values */
  expect("{\xE2\x80\x9C" "answer" "\xE2\x80\x9D: \xE2\x80\x9C" "yes" "\xE2\x80\x9D}",
         "{\"answer\":\"yes\"}");
  /* unicode escapes, surrogate pairs, lone surrogates */
  expect("{\"e\": \"caf\\u00e9 \\ud83d\\ude00 \\ud800x\"}",
         "{\"e\":\"caf\xC3\xA9 \xF0\x9F\x98\x80 \xEF\xBF\xBDx\"}");
  /* invalid UTF-8 becomes U+FFFD, never reaches the value as is */
  expect("{\"bad\": \"a\xFF" "b\xC0\xAF" "c\"}",
         "{\"bad\":\"a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c\"}");
}

static void failures_are_clear(void **state)
{
  expect_fail("no json here at all", "no JSON object");
  expect_fail("", "no JSON object");
  expect_fail("{\"answer\": \"cut off in the mid", "truncated");
  expect_fail("[1, 2, 3]", "no JSON object");
  char deep[300];
  size_t n = 0;
  for(int i = 0; i < 100; i++)
    deep[n++] = '[';
  deep[n] = '\0';
  char wrapped[320];
  snprintf(wrapped, sizeof wrapped, "{\"a\": %s}", deep);
  expect_fail(wrapped, "nested deeper");
  /* too large */
  size_t big = MN_JSON_LENIENT_MAX + 10;
  char *s = malloc(big);
  memset(s, ' ', big);
  s[0] = '{';
  s[1] = '}';
  char *err = NULL;
  assert_null(mn_json_parse_lenient(s, big, &err));
  assert_non_null(strstr(err, "too large"));
  free(err);
  free(s);
  /* NULL errmsg is allowed */
  assert_null(mn_json_parse_lenient("nope", 4, NULL));
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Random and truncated inputs: no crash, no hang, and a result is always an
 * object whose dump is valid strict JSON. */
static void fuzz_never_crashes(void **state)
{
  static const char *seeds[] = {
    "```json\n{\"explanation\": \"x\", \"citation\": 'c', \"answer\": None, \"l\": [1,2,{\"a\":[]},],}\n```",
    "{'a': {'b': {'c': [True, False, \"\xE2\x80\x9Cq\xE2\x80\x9D\"]}}, \"d\": -1.5e-3}",
    "text { more { \"k\": \"v\\u00e9\\n\" } } and {\"x\": 1}",
  };
  static const char alphabet[] = "{}[]\"':,\\ntruefalsNoe0123456789.-+eE \n\t{\"a\":";
  char buf[512];
  size_t count = 0, parsed = 0;
  for(size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t sl = strlen(seeds[s]);
    for(size_t cut = 0; cut <= sl; cut++) {   /* every truncation */
      json_t *v = mn_json_parse_lenient(seeds[s], cut, NULL);
      if(v) {
        assert_true(json_is_object(v));
        json_decref(v);
      }
    }
  }
  for(int iter = 0; iter < 20000; iter++) {
    size_t n = next_rand() % sizeof buf;
    int mode = (int)(next_rand() % 3);
    for(size_t k = 0; k < n; k++) {
      if(mode == 0)
        buf[k] = (char)(next_rand() & 0xFF);
      else
        buf[k] = alphabet[next_rand() % (sizeof alphabet - 1)];
    }
    if(mode == 2 && n > 20) {   /* mutate a seed */
      const char *sd = seeds[next_rand() % 3];
      size_t sl = strlen(sd);
      memcpy(buf, sd, sl < n ? sl : n);
      for(int m = 0; m < 3; m++)
        buf[next_rand() % n] = alphabet[next_rand() % (sizeof alphabet - 1)];
    }
    char *err = NULL;
    json_t *v = mn_json_parse_lenient(buf, n, &err);
    count++;
    if(v) {
      parsed++;
      assert_true(json_is_object(v));
      char *d = mn_json_dump(v);
      json_error_t e;
      json_t *back = json_loads(d, 0, &e);
      assert_non_null(back);
      json_decref(back);
      free(d);
      json_decref(v);
      assert_null(err);
    }
    else {
      assert_non_null(err);
      assert_null(strchr(err, '\n'));
      free(err);
    }
  }
  assert_int_equal(count, 20000);
  assert_true(parsed > 0);
}

/* Inputs made to defeat a naive scan (many openings that each run far)
 * finish quickly thanks to the work budget. */
static void adversarial_is_bounded(void **state)
{
  size_t n = 1 << 19;
  char *s = malloc(n);
  for(size_t i = 0; i < n; i += 2) {
    s[i] = '{';
    s[i + 1] = '"';
  }
  json_t *v = mn_json_parse_lenient(s, n, NULL);
  assert_null(v);
  for(size_t i = 0; i < n; i++)
    s[i] = (i % 7 == 0) ? '{' : 'a';
  v = mn_json_parse_lenient(s, n, NULL);
  assert_null(v);
  free(s);
}

static void strict_loader_and_getters(void **state)
{
  char *err = NULL;
  const char body[] = "{\"choices\":[{\"message\":{\"content\":\"hi\xFF\"}}],"
                      "\"usage\":{\"prompt_tokens\":12,\"neg\":-3,\"r\":7.9}}";
  json_t *v = mn_json_loadb(body, sizeof body - 1, &err);
  assert_non_null(v);
  assert_string_equal(mn_json_path_str(v, "choices.0.message.content"), "hi\xEF\xBF\xBD");
  assert_null(mn_json_path_str(v, "choices.1.message.content"));
  assert_null(mn_json_path(v, "choices.x"));
  assert_int_equal(mn_json_path_u64(v, "usage.prompt_tokens"), 12);
  assert_int_equal(mn_json_path_u64(v, "usage.neg"), 0);
  assert_int_equal(mn_json_path_u64(v, "usage.r"), 7);
  assert_int_equal(mn_json_path_u64(v, "usage.missing"), 0);
  assert_null(mn_json_str(v, "choices"));
  json_decref(v);

  v = mn_json_loadb("{\"a\": ", 6, &err);
  assert_null(v);
  assert_non_null(err);
  assert_non_null(strstr(err, "line 1"));
  free(err);

  json_t *o = json_pack("{s:s, s:i}", "k", "v", "n", 3);
  char *d = mn_json_dump(o);
  assert_string_equal(d, "{\"k\":\"v\",\"n\":3}");
  free(d);
  json_decref(o);
}

static void utf8_helpers(void **state)
{
  assert_true(mn_utf8_valid("abc \xC3\xA9", 6));
  assert_false(mn_utf8_valid("\xED\xA0\x80", 3));   /* surrogate */
  assert_false(mn_utf8_valid("\xC0\x80", 2));       /* overlong NUL */
  assert_false(mn_utf8_valid("\xE2\x82", 2));       /* cut */
  size_t n;
  char *r = mn_utf8_repair("a\xE2\x82", 3, &n);
  assert_string_equal(r, "a\xEF\xBF\xBD\xEF\xBF\xBD");
  assert_int_equal(n, 7);
  free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(plain_and_fenced),
    cmocka_unit_test(last_top_level_object_wins),
    cmocka_unit_test(python_and_js_literals),
    cmocka_unit_test(raw_controls_and_quotes),
    cmocka_unit_test(failures_are_clear),
    cmocka_unit_test(fuzz_never_crashes),
    cmocka_unit_test(adversarial_is_bounded),
    cmocka_unit_test(strict_loader_and_getters),
    cmocka_unit_test(utf8_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
