/* Stream parsers (SSE, NDJSON), Retry-After, backoff and URL redaction,
 * tested without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "minions.h"
#include "net/http.h"
#include "net/retry.h"
#include "net/stream.h"
#include "util/buf.h"

/* Events collected as "name|data\n" (name "-" when NULL). */
typedef struct sink {
  mn_buf out;
  int calls;
  int stop_at;   /* return stop_rc on this call (1-based); 0: never */
  int stop_rc;
} sink;

static int collect(void *ud, const char *event, const char *data, size_t len)
{
  sink *s = ud;
  s->calls++;
  assert_int_equal(strlen(data), len);   /* NUL-terminated, no early NUL */
  mn_buf_printf(&s->out, "%s|", event ? event : "-");
  mn_buf_append(&s->out, data, len);
  mn_buf_putc(&s->out, '\n');
  if(s->stop_at && s->calls == s->stop_at)
    return s->stop_rc;
  return 0;
}

static const char sse_sample[] =
  "\xEF\xBB\xBF"                           /* BOM, dropped */
  ": a comment\r\n"
  "data: one\r\n"
  "\r\n"
  "event: delta\n"
  "data:two\n"
  "data:  three \n"                        /* one space dropped, not two */
  "id: 7\n"
  "retry: 1000\n"
  "unknown: x\n"
  "\n"
  "data\r"                                 /* field with no colon: empty data */
  "\r"
  "event: lonely\n"                        /* no data: nothing dispatched */
  "\n"
  "data: {\"x\":\"a:b\"}\r\n"
  "data: [DONE]\r\n"
  "\r\n"
  "data: unfinished\n";                    /* no blank line: discarded */

static const char sse_expect[] =
  "-|one\n"
  "delta|two\n three \n"
  "-|\n"
  "-|{\"x\":\"a:b\"}\n[DONE]\n";

static void run_sse(const char *bytes, size_t n, size_t split1, size_t split2,
                    sink *s)
{
  mn_sse p;
  mn_sse_init(&p, 1 << 16, collect, s);
  assert_int_equal(mn_sse_feed(&p, bytes, split1), 0);
  assert_int_equal(mn_sse_feed(&p, bytes + split1, split2 - split1), 0);
  assert_int_equal(mn_sse_feed(&p, bytes + split2, n - split2), 0);
  mn_sse_free(&p);
}

static void sse_every_split(void **state)
{
  size_t n = sizeof sse_sample - 1;
  for(size_t a = 0; a <= n; a++) {
    for(size_t b = a; b <= n; b += (a % 7) + 1) {
      sink s = { MN_BUF_INIT(0), 0, 0, 0 };
      run_sse(sse_sample, n, a, b, &s);
      if(strcmp(mn_buf_str(&s.out), sse_expect) != 0)
        fail_msg("split at %zu,%zu gave:\n%s", a, b, mn_buf_str(&s.out));
      mn_buf_free(&s.out);
    }
  }
}

static void sse_byte_by_byte(void **state)
{
  sink s = { MN_BUF_INIT(0), 0, 0, 0 };
  mn_sse p;
  mn_sse_init(&p, 1 << 16, collect, &s);
  for(size_t i = 0; i < sizeof sse_sample - 1; i++)
    assert_int_equal(mn_sse_feed(&p, sse_sample + i, 1), 0);
  assert_string_equal(mn_buf_str(&s.out), sse_expect);
  assert_int_equal(s.calls, 4);
  /* a reset forgets a half-received event and the CR state */
  mn_buf_reset(&s.out);
  assert_int_equal(mn_sse_feed(&p, "data: half\r", 11), 0);
  mn_sse_reset(&p);
  assert_int_equal(mn_sse_feed(&p, "\ndata: b\n\n", 10), 0);
  assert_string_equal(mn_buf_str(&s.out), "-|b\n");
  mn_sse_free(&p);
  mn_buf_free(&s.out);
}

static void sse_cr_only_and_bom_lookalike(void **state)
{
  sink s = { MN_BUF_INIT(0), 0, 0, 0 };
  mn_sse p;
  mn_sse_init(&p, 1 << 16, collect, &s);
  /* "\xEF\xBB" then "x": not a BOM, so the line begins with those bytes and
   * is an unknown field; CR alone ends lines */
  assert_int_equal(mn_sse_feed(&p, "\xEF\xBB", 2), 0);
  assert_int_equal(mn_sse_feed(&p, "x: 1\rdata: a\r\rdata: b\rdata: c\r\r", 31), 0);
  assert_string_equal(mn_buf_str(&s.out), "-|a\n-|b\nc\n");
  mn_sse_free(&p);
  mn_buf_free(&s.out);
}

static void sse_caps_and_abort(void **state)
{
  sink s = { MN_BUF_INIT(0), 0, 0, 0 };
  mn_sse p;
  mn_sse_init(&p, 16, collect, &s);
  /* a line that never ends */
  assert_int_equal(mn_sse_feed(&p, "data: 0123456789", 16), 0);
  assert_int_equal(mn_sse_feed(&p, "x", 1), MN_ELIMIT);
  mn_sse_reset(&p);
  /* many short data lines whose join passes the cap */
  assert_int_equal(mn_sse_feed(&p, "data: 01234567\n", 15), 0);
  assert_int_equal(mn_sse_feed(&p, "data: 01234567\n", 15), MN_ELIMIT);
  mn_sse_free(&p);
  assert_int_equal(s.calls, 0);

  /* a callback's non-zero return stops the parser with its code */
  sink t = { MN_BUF_INIT(0), 0, 2, 1 };
  mn_sse_init(&p, 1024, collect, &t);
  assert_int_equal(mn_sse_feed(&p, "data: a\n\ndata: b\n\ndata: c\n\n", 27), MN_EPARSE);
  assert_int_equal(t.calls, 2);
  mn_sse_reset(&p);
  t.calls = 0;
  t.stop_rc = MN_EMODEL;
  assert_int_equal(mn_sse_feed(&p, "data: a\n\ndata: b\n\n", 18), MN_EMODEL);
  mn_sse_free(&p);
  mn_buf_free(&t.out);
}

static const char nd_sample[] =
  "{\"a\":1}\n"
  "\r\n"
  "   \n"
  "{\"b\":\"x y\"}\r\n"
  "\n"
  "{\"done\":true}";                         /* no final newline */

static void ndjson_every_split(void **state)
{
  size_t n = sizeof nd_sample - 1;
  for(size_t a = 0; a <= n; a++) {
    for(size_t b = a; b <= n; b++) {
      sink s = { MN_BUF_INIT(0), 0, 0, 0 };
      mn_ndjson p;
      mn_ndjson_init(&p, 1024, collect, &s);
      assert_int_equal(mn_ndjson_feed(&p, nd_sample, a), 0);
      assert_int_equal(mn_ndjson_feed(&p, nd_sample + a, b - a), 0);
      assert_int_equal(mn_ndjson_feed(&p, nd_sample + b, n - b), 0);
      assert_int_equal(s.calls, 2);
      assert_int_equal(mn_ndjson_finish(&p), 0);
      if(strcmp(mn_buf_str(&s.out), "-|{\"a\":1}\n-|{\"b\":\"x y\"}\n-|{\"done\":true}\n") != 0)
        fail_msg("split at %zu,%zu gave:\n%s", a, b, mn_buf_str(&s.out));
      assert_int_equal(mn_ndjson_finish(&p), 0);   /* nothing twice */
      assert_int_equal(s.calls, 3);
      mn_ndjson_free(&p);
      mn_buf_free(&s.out);
    }
  }
}

static void ndjson_caps_and_abort(void **state)
{
  sink s = { MN_BUF_INIT(0), 0, 0, 0 };
  mn_ndjson p;
  mn_ndjson_init(&p, 8, collect, &s);
  assert_int_equal(mn_ndjson_feed(&p, "12345678\n", 9), 0);
  assert_int_equal(mn_ndjson_feed(&p, "1234", 4), 0);
  assert_int_equal(mn_ndjson_feed(&p, "56789", 5), MN_ELIMIT);
  mn_ndjson_free(&p);
  assert_int_equal(s.calls, 1);

  sink t = { MN_BUF_INIT(0), 0, 1, MN_ECANCELLED };
  mn_ndjson_init(&p, 64, collect, &t);
  assert_int_equal(mn_ndjson_feed(&p, "{}\n{}\n", 6), MN_ECANCELLED);
  assert_int_equal(t.calls, 1);
  mn_ndjson_free(&p);
  mn_buf_free(&s.out);
  mn_buf_free(&t.out);
}

static void retry_after_values(void **state)
{
  time_t now = 1700000000;   /* Tue, 14 Nov 2023 22:13:20 GMT */
  assert_int_equal(mn_retry_after_ms("1", now), 1000);
  assert_int_equal(mn_retry_after_ms(" 120\r\n", now), 120000);
  assert_int_equal(mn_retry_after_ms("0", now), 0);
  assert_int_equal(mn_retry_after_ms("Tue, 14 Nov 2023 22:13:25 GMT\r\n", now), 5000);
  assert_int_equal(mn_retry_after_ms("Tue, 14 Nov 2023 22:00:00 GMT", now), 0);
  assert_int_equal(mn_retry_after_ms("", now), -1);
  assert_int_equal(mn_retry_after_ms("1.5", now), -1);
  assert_int_equal(mn_retry_after_ms("soon", now), -1);
  assert_int_equal(mn_retry_after_ms(NULL, now), -1);
  assert_true(mn_retry_after_ms("99999999999999999999999", now) > 0);
}

static void backoff_full_jitter(void **state)
{
  uint64_t rng = 12345;
  long max_seen[6] = { 0 };
  long sum = 0;
  for(int i = 0; i < 4000; i++) {
    for(int retry = 1; retry <= 5; retry++) {
      long w = mn_backoff_ms(100, 1000, retry, &rng);
      long cap = 100L << (retry - 1);
      if(cap > 1000)
        cap = 1000;
      assert_true(w >= 0 && w <= cap);
      if(w > max_seen[retry])
        max_seen[retry] = w;
      if(retry == 1)
        sum += w;
    }
  }
  /* the draws cover the range: near the cap at the top, mean near half */
  assert_true(max_seen[1] >= 95);
  assert_true(max_seen[3] >= 380);
  assert_true(max_seen[5] >= 950);
  assert_true(sum / 4000 > 40 && sum / 4000 < 60);
  assert_int_equal(mn_backoff_ms(0, 1000, 3, &rng), 0);
  assert_true(mn_backoff_ms(100, 1000, 1000, &rng) <= 1000);   /* no overflow */
}

static void url_for_log(void **state)
{
  struct { const char *in, *out; } cases[] = {
    { "http://127.0.0.1:8080/v1/chat/completions", "http://127.0.0.1:8080/v1/chat/completions" },
    { "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=SECRET",
      "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent" },
    { "https://user:SECRET@host.example/p?q=1#frag", "https://host.example/p" },
    { "http://host?key=SECRET", "http://host" },
    { "http://a@b@host:1/x#SECRET", "http://host:1/x" },
    { "http://host/a\r\nb", "http://host/a??b" },
    { "no-scheme/path?SECRET", "no-scheme/path" },
  };
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *s = mn_http_url_for_log(cases[i].in);
    assert_string_equal(s, cases[i].out);
    free(s);
  }
  char longurl[2000] = "http://h/";
  memset(longurl + 9, 'a', sizeof longurl - 10);
  longurl[sizeof longurl - 1] = '\0';
  char *s = mn_http_url_for_log(longurl);
  assert_true(strlen(s) <= 303);
  free(s);
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(sse_every_split),
    cmocka_unit_test(sse_byte_by_byte),
    cmocka_unit_test(sse_cr_only_and_bom_lookalike),
    cmocka_unit_test(sse_caps_and_abort),
    cmocka_unit_test(ndjson_every_split),
    cmocka_unit_test(ndjson_caps_and_abort),
    cmocka_unit_test(retry_after_values),
    cmocka_unit_test(backoff_full_jitter),
    cmocka_unit_test(url_for_log),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
