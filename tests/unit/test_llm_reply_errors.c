/* Error messages made from a reply's bytes stay one line of valid UTF-8,
 * and scrubbing a key out of a message never writes past it (found by
 * tests/fuzz/fuzz_reply_* and fuzz_http). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "llm/wire.h"
#include "minions.h"
#include "util/mem.h"
#include "util/utf8.h"

static void assert_one_line(const char *msg)
{
  assert_non_null(msg);
  if(strchr(msg, '\n') || strchr(msg, '\r') || !mn_utf8_valid(msg, strlen(msg)))
    fail_msg("not one line of UTF-8: [%s]", msg);
}

/* jansson quotes the text near a bad escape, line break and all */
static void bad_escape_body(void **state)
{
  (void)state;
  static const char body[] = "{\"choices\": [{\"message\": {\"content\": \"\\u12\nrest\"}}]}";
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_OPENAI, 0, 1 << 20);
  assert_int_equal(mn_reply_parse_body(&r, body, sizeof body - 1), MN_EPARSE);
  assert_one_line(r.error);
  assert_non_null(strstr(r.error, "reply is not JSON"));
  mn_reply_free(&r);
}

static void bad_escape_stream_event(void **state)
{
  (void)state;
  static const char ev[] = "{\"delta\": {\"text\": \"\\\r\n\"}}";
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_ANTHROPIC, 0, 1 << 20);
  assert_int_equal(mn_reply_stream_event(&r, "content_block_delta", ev, sizeof ev - 1), MN_EPARSE);
  assert_one_line(r.error);
  mn_reply_free(&r);
}

/* the quoted text can also end inside a character */
static void half_character(void **state)
{
  (void)state;
  static const char body[] = "\"\xe8\xd6\xa9\xff\xff\xff\xf2\\\xd1\x8a\x17=\xdc\x33";
  mn_reply r;
  mn_reply_init(&r, MN_WIRE_GEMINI, 0, 1 << 20);
  assert_int_equal(mn_reply_parse_body(&r, body, sizeof body - 1), MN_EPARSE);
  assert_one_line(r.error);
  mn_reply_free(&r);
}

/* A dummy key shorter than "***" ("x" for a local server) used to make
 * every hit longer, past the end of the message. */
static void short_keys_are_scrubbed_in_place(void **state)
{
  (void)state;
  char *m = mn_xstrdup("x marks the spot: xx");
  mn_scrub_secret(m, "x");
  assert_string_equal(m, "* marks the spot: **");
  free(m);
  m = mn_xstrdup("ab|abab|a");
  mn_scrub_secret(m, "ab");
  assert_string_equal(m, "**|****|a");
  free(m);
  /* a key of stars is found again in what replaces it: no endless loop */
  m = mn_xstrdup("** and ***");
  mn_scrub_secret(m, "*");
  assert_string_equal(m, "** and ***");
  free(m);
  m = mn_xstrdup("key=hunter22 again hunter22");
  mn_scrub_secret(m, "hunter22");
  assert_string_equal(m, "key=*** again ***");
  free(m);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(bad_escape_body),
    cmocka_unit_test(bad_escape_stream_event),
    cmocka_unit_test(half_character),
    cmocka_unit_test(short_keys_are_scrubbed_in_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
