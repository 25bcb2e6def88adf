/* Scoring without a model: figures as filings and answers write them, and
 * normalised text, on FinanceBench-shaped gold answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "eval/score.h"

static void expect_numeric(const char *answer, const char *gold, int want)
{
  char reason[MN_SCORE_REASON_MAX];
  int got = mn_score_numeric(answer, gold, MN_SCORE_TOLERANCE, reason);
  if(got != want)
    fail_msg("numeric(\"%s\", gold \"%s\") = %d, want %d: %s", answer, gold, got, want, reason);
  assert_non_null(strchr(reason, '"') ? reason : "\"");
  assert_null(strchr(reason, '\n'));
}

static void numbers_are_read_as_written(void **state)
{
  mn_number v[8];
  size_t n = mn_score_numbers("Capex was $1,577.00 (370) -14.76% $1.2 billion 2.5bn FY2018 in 2018",
                              v, 8);
  assert_int_equal(n, 6);
  assert_true(v[0].mantissa == 1577.0 && v[0].scale == 1);
  assert_true(v[1].mantissa == -370.0);
  assert_true(v[2].mantissa == -14.76 && v[2].percent);
  assert_true(v[3].mantissa == 1.2 && v[3].scale == 1e9);
  assert_true(v[4].mantissa == 2.5 && v[4].scale == 1e9);
  assert_true(v[5].year && v[5].mantissa == 2018);   /* FY2018 is skipped, 2018 a year */
  n = mn_score_numbers("from 0.67 times to 0.69 times; 10-K; 3.4 percent; \xE2\x88\x92" "5", v, 8);
  assert_int_equal(n, 4);
  assert_true(v[0].mantissa == 0.67 && v[1].mantissa == 0.69);
  assert_true(v[2].mantissa == 3.4 && v[2].percent);
  assert_true(v[3].mantissa == -5);
}

static void figures_match_within_tolerance(void **state)
{
  expect_numeric("3M spent $1,577 million on capital expenditure in FY2018.", "$1577.00", 1);
  expect_numeric("Capital expenditure was $1.577 billion.", "$1577.00", 1);
  expect_numeric("About 1200 million dollars", "$1.2 billion", 1);
  expect_numeric("$1.2bn", "1,200 million", 1);
  expect_numeric("The ratio is 24.3.", "24.26", 1);
  expect_numeric("Dividends per share: $8.7", "$8.70", 1);
  expect_numeric("It grew 1.9% in 2018.", "1.9%", 1);
  expect_numeric("a margin of 0.654", "65.4%", 1);
  expect_numeric("The tax rate was 0.6% in FY2022.", "0.62%", 0);     /* 3% off */
  expect_numeric("Pension contributions were (370).", "-370", 1);
  expect_numeric("Pension contributions were 370.", "(370)", 0);      /* sign differs */
  expect_numeric("In 2018 it was large.", "$1577.00", 0);             /* a year is no figure */
  expect_numeric("It was founded in 1902.", "1902", 1);
  expect_numeric("No figure here.", "$5818.00", 0);
  expect_numeric("anything", "There are none", -1);
}

static void golds_that_are_figures(void **state)
{
  assert_true(mn_score_gold_is_numeric("$1577.00"));
  assert_true(mn_score_gold_is_numeric("1.9%"));
  assert_true(mn_score_gold_is_numeric("0.69 times"));
  assert_false(mn_score_gold_is_numeric("Customer deposits"));
  assert_false(mn_score_gold_is_numeric("36%. The answer here assumes FY2023 refers to the 12 months"));
  assert_false(mn_score_gold_is_numeric("Yes, the margins have been consistent, a decline of 1.1%"));
}

static void text_matches_normalised(void **state)
{
  char reason[MN_SCORE_REASON_MAX];
  assert_int_equal(mn_score_exact("customer deposits.", "Customer deposits", reason), 1);
  assert_int_equal(mn_score_exact("The Customer Deposits", "customer deposits", reason), 1);
  assert_int_equal(mn_score_exact("Yes, because margins held.", "Yes", reason), 1);
  assert_non_null(strstr(reason, "starts with"));
  assert_int_equal(mn_score_exact("No.", "Yes", reason), 0);
  assert_non_null(strstr(reason, "differs"));
  assert_int_equal(mn_score_exact("Yesterday", "Yes", reason), 0);
  /* a long gold must match whole */
  assert_int_equal(mn_score_exact("United States, EMEA, APAC, and LACC and more",
                                  "United States, EMEA, APAC, and LACC", reason), 1);
  assert_int_equal(mn_score_exact("Amcor is a global leader in packaging production for various use "
                                  "cases, and more", "Amcor is a global leader in packaging "
                                  "production for various use cases.", reason), 0);
  assert_int_equal(mn_score_exact("1,577", "1577", reason), 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(numbers_are_read_as_written),
    cmocka_unit_test(figures_match_within_tolerance),
    cmocka_unit_test(golds_that_are_figures),
    cmocka_unit_test(text_matches_normalised),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
