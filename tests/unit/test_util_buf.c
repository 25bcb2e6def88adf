#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "util/buf.h"

static void append_respects_cap(void **state)
{
  mn_buf b = MN_BUF_INIT(8);
  assert_int_equal(mn_buf_puts(&b, "abcd"), 0);
  assert_int_equal(mn_buf_puts(&b, "efgh"), 0);
  assert_int_equal(mn_buf_puts(&b, "i"), MN_ELIMIT);
  assert_string_equal(mn_buf_str(&b), "abcdefgh");
  assert_int_equal(mn_buf_printf(&b, "%d", 1), MN_ELIMIT);
  mn_buf_free(&b);
}

static void printf_consume_steal(void **state)
{
  mn_buf b = MN_BUF_INIT(0);
  assert_string_equal(mn_buf_str(&b), "");
  for(int i = 0; i < 1000; i++)
    assert_int_equal(mn_buf_printf(&b, "%03d,", i), 0);
  assert_int_equal(b.len, 4000);
  mn_buf_consume(&b, 3996);
  assert_string_equal(mn_buf_str(&b), "999,");
  size_t len;
  char *s = mn_buf_steal(&b, &len);
  assert_int_equal(len, 4);
  assert_string_equal(s, "999,");
  assert_null(b.data);
  free(s);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(append_respects_cap),
    cmocka_unit_test(printf_consume_steal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
