#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "minions.h"
#include "llm/prices.h"
#include "testutil.h"

static mn_prices *load_shipped(void)
{
  const char *src = getenv("MN_SOURCE_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/data/prices.json", src ? src : ".");
  mn_prices *t = NULL;
  char *err = NULL;
  int rc = mn_prices_load(&t, path, &err);
  if(rc)
    fail_msg("loading %s: %s", path, err);
  return t;
}

/* The paper's GPT-4o figures: $2.50 in, $10.00 out per 1M tokens. */
static void paper_figures(void **state)
{
  mn_usage a = { 103040, 320, 0, 1, 0 };
  mn_usage b = { 15990, 1290, 0, 1, 0 };
  double ca = mn_cost_usd(&a, 2.50, 1.25, 10.00);
  double cb = mn_cost_usd(&b, 2.50, 1.25, 10.00);
  assert_true(fabs(ca - 0.261) < 0.0005);
  assert_true(fabs(cb - 0.053) < 0.0005);
  /* the same through the shipped table */
  mn_prices *t = load_shipped();
  const mn_price *p = mn_prices_lookup(t, "openai", "gpt-4o");
  assert_non_null(p);
  assert_true(fabs(mn_price_cost(p, &a) - 0.261) < 0.0005);
  assert_true(fabs(mn_price_cost(p, &b) - 0.053) < 0.0005);
  mn_prices_free(t);
}

static void cached_tokens_billed_at_cached_price(void **state)
{
  mn_usage u = { 1000000, 0, 400000, 1, 0 };
  /* 600k at $2.50 + 400k at $1.25 */
  assert_true(fabs(mn_cost_usd(&u, 2.50, 1.25, 10.0) - 2.0) < 1e-9);
  /* more cached than prompt (a provider quirk) never bills negative */
  mn_usage q = { 10, 0, 50, 1, 0 };
  assert_true(mn_cost_usd(&q, 1.0, 0.5, 1.0) >= 0);
  assert_true(mn_price_cost(NULL, &u) < 0);
}

static void lookup_rules(void **state)
{
  mn_prices *t = load_shipped();
  assert_true(mn_prices_count(t) >= 30);
  assert_string_equal(mn_prices_as_of(t), "2025-12-01");
  const mn_price *p;
  /* dated snapshot -> family, longest prefix wins */
  p = mn_prices_lookup(t, "openai", "gpt-4o-2024-08-06");
  assert_non_null(p);
  assert_true(p->input == 2.50 && p->output == 10.00 && p->cached_input == 1.25);
  p = mn_prices_lookup(t, "openai", "gpt-4o-mini-2024-07-18");
  assert_non_null(p);
  assert_true(p->input == 0.15);
  p = mn_prices_lookup(t, "openai", "o3-mini-2025-01-31");
  assert_non_null(p);
  assert_true(p->input == 1.10);
  /* a prefix must end at a boundary: gpt-4 is not gpt-4o */
  assert_null(mn_prices_lookup(t, "openai", "gpt-4"));
  /* Anthropic dated ids */
  p = mn_prices_lookup(t, "anthropic", "claude-sonnet-4-5-20250929");
  assert_non_null(p);
  assert_true(p->input == 3.0 && p->output == 15.0 && p->cached_input == 0.30);
  p = mn_prices_lookup(t, "anthropic", "claude-opus-4-5-20251101");
  assert_true(p && p->input == 5.0);
  /* OpenRouter names: vendor prefix and dots */
  p = mn_prices_lookup(t, "openrouter", "openai/gpt-4o");
  assert_true(p && p->input == 2.50);
  p = mn_prices_lookup(t, "openrouter", "anthropic/claude-sonnet-4.5");
  assert_true(p && p->output == 15.0);
  /* case-insensitive, and cached_input defaults to input */
  p = mn_prices_lookup(t, "together", "meta-llama/llama-3.3-70b-instruct-turbo");
  assert_true(p && p->input == 0.88 && p->cached_input == 0.88);
  /* gemini flash-lite is not flash */
  p = mn_prices_lookup(t, "gemini", "gemini-2.5-flash-lite");
  assert_true(p && p->input == 0.10);
  p = mn_prices_lookup(t, "gemini", "gemini-2.5-flash-preview-09-2025");
  assert_true(p && p->input == 0.30);
  /* local models are unknown */
  assert_null(mn_prices_lookup(t, "ollama", "llama3.2:3b"));
  assert_null(mn_prices_lookup(t, "openai", ""));
  mn_prices_free(t);
}

static void expect_parse_error(const char *text, int code, const char *part)
{
  mn_prices *t = (mn_prices *)1;
  char *err = NULL;
  int rc = mn_prices_parse(&t, text, strlen(text), "prices.json", &err);
  assert_int_equal(rc, code);
  assert_null(t);
  assert_non_null(err);
  if(!strstr(err, part))
    fail_msg("error [%s] lacks [%s]", err, part);
  assert_non_null(strstr(err, "prices.json"));
  free(err);
}

static void validation(void **state)
{
  expect_parse_error("{\"models\": {\"openai:x\": {\"input\": -1, \"output\": 1}}}",
                     MN_EPARSE, "\"openai:x\": \"input\" must be a number >= 0");
  expect_parse_error("{\"models\": {\"openai:x\": {\"input\": 1}}}", MN_EPARSE,
                     "\"openai:x\" lacks \"output\"");
  expect_parse_error("{\"models\": {\"openai:x\": {\"input\": 1, \"output\": \"2\"}}}",
                     MN_EPARSE, "\"output\" must be a number");
  expect_parse_error("{\"models\": {\"openai:x\": 3}}", MN_EPARSE, "must be an object");
  expect_parse_error("{\"models\": {\"openai:\": {\"input\": 1, \"output\": 1}}}",
                     MN_EPARSE, "bad key");
  expect_parse_error("{\"models\": [", MN_EPARSE, "not valid JSON");
  expect_parse_error("[]", MN_EPARSE, "\"models\"");

  mn_prices *t = NULL;
  char *err = NULL;
  assert_int_equal(mn_prices_load(&t, "/nonexistent/prices.json", &err), MN_ENOTFOUND);
  assert_non_null(strstr(err, "/nonexistent/prices.json"));
  free(err);

  /* a key without provider matches any provider */
  const char *ok = "{\"as_of\":\"x\",\"models\":{\"m-1\":{\"input\":1,\"output\":2}}}";
  assert_int_equal(mn_prices_parse(&t, ok, strlen(ok), "p", &err), MN_OK);
  assert_non_null(mn_prices_lookup(t, "whatever", "m-1-beta"));
  mn_prices_free(t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(paper_figures),
    cmocka_unit_test(cached_tokens_billed_at_cached_price),
    cmocka_unit_test(lookup_rules),
    cmocka_unit_test(validation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
