/* A NUL in a key of model output (found by tests/fuzz/fuzz_json_lenient):
 * the object must still be JSON that jansson reads back, as run logs are. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util/json_lenient.h"

static void nul_in_keys_round_trips(void **state)
{
  (void)state;
  static const char out[] = "{\"k\\u0000ey\": 1, 'raw\0nul': 2, \"v\": \"a\\u0000b\"}";
  char *err = NULL;
  json_t *v = mn_json_parse_lenient(out, sizeof out - 1, &err);
  assert_non_null(v);
  assert_null(err);
  assert_non_null(json_object_get(v, "k\xEF\xBF\xBD" "ey"));
  assert_non_null(json_object_get(v, "raw\xEF\xBF\xBD" "nul"));
  /* NULs in string values are fine: jansson keeps them (with a length) */
  assert_int_equal(json_string_length(json_object_get(v, "v")), 3);
  char *dump = json_dumps(v, JSON_COMPACT);
  json_error_t e;
  json_t *back = json_loads(dump, JSON_ALLOW_NUL, &e);
  if(!back)
    fail_msg("not read back: %s (%s)", e.text, dump);
  assert_true(json_equal(back, v));
  json_decref(back);
  free(dump);
  json_decref(v);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(nul_in_keys_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
