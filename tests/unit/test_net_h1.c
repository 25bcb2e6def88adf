/* The direct path's HTTP/1.1 pieces without a socket: which URLs qualify,
 * the request head, and the response parser fed at every split point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "minions.h"
#include "net/h1.h"
#include "util/buf.h"

/* What the parser handed over, and how the feed went. */
typedef struct got {
  mn_buf body;
  int heads;
  long status_at_head;
  int stop_body;        /* on_body returns MN_ELIMIT when set */
} got;

static int on_head(void *ud)
{
  got *g = ud;
  g->heads++;
  return 0;
}

static int on_body(void *ud, const char *data, size_t n)
{
  got *g = ud;
  if(g->stop_body)
    return MN_ELIMIT;
  mn_buf_append(&g->body, data, n);
  return 0;
}

/* Feed `wire` in pieces cut at `cuts` (ascending offsets; 0 ends) and
 * return the last feed's code; *used_total = bytes taken. */
static int feed_cut(mn_h1_parser *p, const char *wire, size_t n, const size_t *cuts,
                    size_t *used_total)
{
  size_t at = 0;
  int rc = 0;
  *used_total = 0;
  for(size_t k = 0;; k++) {
    size_t end = cuts[k] && cuts[k] < n ? cuts[k] : n;
    size_t used = 0;
    rc = mn_h1_feed(p, wire + at, end - at, &used);
    *used_total += used;
    if(rc || used < end - at || end == n)
      return rc;
    at = end;
  }
}

typedef struct expect {
  const char *wire;
  int head_only;
  int rc;               /* of the feed */
  long status;
  const char *body;
  int done;             /* state MN_H1_DONE after the bytes */
  int keep_alive;
  int eof_rc;           /* mn_h1_eof afterwards (when not done) */
  size_t used;          /* bytes taken; 0: all */
} expect;

/* One case, whole, split in two at every offset, and byte by byte. */
static void check(const expect *x)
{
  size_t n = strlen(x->wire);
  for(size_t mode = 0; mode < n + 2; mode++) {
    size_t cuts[4096];
    if(mode == n + 1) {   /* byte by byte */
      assert_true(n < sizeof cuts / sizeof cuts[0]);
      for(size_t i = 0; i < n; i++)
        cuts[i] = i + 1;
      cuts[n] = 0;
    } else {
      cuts[0] = mode;
      cuts[1] = 0;
    }
    got g = { MN_BUF_INIT(0), 0, 0, 0 };
    mn_h1_parser p;
    mn_h1_init(&p, on_head, on_body, &g);
    mn_h1_reset(&p, x->head_only);
    size_t used;
    int rc = feed_cut(&p, x->wire, n, cuts, &used);
    if(rc != x->rc)
      fail_msg("case %.40s... split %zu: rc %d, want %d", x->wire, mode, rc, x->rc);
    if(x->rc == 0) {
      assert_int_equal(used, x->used ? x->used : n);
      assert_int_equal(p.status, x->status);
      assert_string_equal(mn_buf_str(&g.body), x->body);
      assert_int_equal(p.state == MN_H1_DONE, x->done);
      assert_int_equal(g.heads, 1);
      if(x->done)
        assert_int_equal(p.keep_alive, x->keep_alive);
      else
        assert_int_equal(mn_h1_eof(&p), x->eof_rc);
    }
    mn_buf_free(&g.body);
    mn_h1_free(&p);
  }
}

static void responses_at_every_split(void **state)
{
  (void)state;
  static const expect cases[] = {
    { "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}",
      0, 0, 200, "{\"ok\":true}", 1, 1, 0, 0 },
    /* chunked, with an extension, upper-case hex and a trailer */
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=v\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Trailer: 1\r\n\r\n",
      0, 0, 200, "hello, world!!!", 1, 1, 0, 0 },
    /* a 100 Continue first; bare LF line ends */
    { "HTTP/1.1 100 Continue\n\nHTTP/1.1 201 Created\nContent-Length: 2\n\nhi",
      0, 0, 201, "hi", 1, 1, 0, 0 },
    /* HTTP/1.0 without a length: the body runs to the end */
    { "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it",
      0, 0, 200, "all of it", 0, 0, 0, 0 },
    /* HTTP/1.0 keep-alive with a length */
    { "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
      0, 0, 200, "x", 1, 1, 0, 0 },
    { "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", 0, 0, 204, "", 1, 1, 0, 0 },
    { "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, "", 1, 1, 0, 0 },
    { "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2\r\nConnection: close\r\n"
      "Content-Length: 4\r\n\r\nbusy", 0, 0, 503, "busy", 1, 0, 0, 0 },
    /* cut short: the connection's end does not complete it */
    { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 0, 0, 200, "short", 0, 0, MN_ENET, 0 },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", 0, 0, 200, "abc", 0,
      0, MN_ENET, 0 },
    /* bytes after the response are not taken */
    { "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 0, 0, 200, "ok", 1, 1, 0, 40 },
    /* Transfer-Encoding wins over Content-Length */
    { "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
      0, 0, 200, "ab", 1, 1, 0, 0 },
  };
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check(&cases[i]);
}

static void malformed_responses(void **state)
{
  (void)state;
  static const struct { const char *wire; int rc; } bad[] = {
    { "HTTP/2 200\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 20 OK\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200OK\r\n\r\n", MN_EPARSE },
    { "ICY 200 OK\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 101 Switching Protocols\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", MN_EPARSE },
    { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", MN_EPARSE },
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    got g = { MN_BUF_INIT(0), 0, 0, 0 };
    mn_h1_parser p;
    mn_h1_init(&p, on_head, on_body, &g);
    mn_h1_reset(&p, 0);
    size_t used;
    int rc = mn_h1_feed(&p, bad[i].wire, strlen(bad[i].wire), &used);
    if(rc != bad[i].rc)
      fail_msg("%s: rc %d, want %d", bad[i].wire, rc, bad[i].rc);
    mn_buf_free(&g.body);
    mn_h1_free(&p);
  }
}

static void limits_and_callback_stop(void **state)
{
  (void)state;
  got g = { MN_BUF_INIT(0), 0, 0, 0 };
  mn_h1_parser p;
  mn_h1_init(&p, on_head, on_body, &g);

  /* a header block that never ends */
  mn_h1_reset(&p, 0);
  char junk[4096];
  memset(junk, 'a', sizeof junk);
  memcpy(junk, "HTTP/1.1 200 OK\r\nX: ", 21);
  size_t used;
  int rc = 0;
  for(int i = 0; i < 40 && rc == 0; i++)
    rc = mn_h1_feed(&p, junk, sizeof junk, &used);
  assert_int_equal(rc, MN_ELIMIT);

  /* a chunk-size line that never ends */
  mn_h1_reset(&p, 0);
  const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  assert_int_equal(mn_h1_feed(&p, head, strlen(head), &used), 0);
  memset(junk, '0', sizeof junk);
  assert_int_equal(mn_h1_feed(&p, junk, sizeof junk, &used), MN_ELIMIT);

  /* the body consumer's code comes back */
  mn_h1_reset(&p, 0);
  g.stop_body = 1;
  const char *w = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  assert_int_equal(mn_h1_feed(&p, w, strlen(w), &used), MN_ELIMIT);

  /* the same parser serves the next response on the connection */
  mn_h1_reset(&p, 0);
  g.stop_body = 0;
  w = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 3\r\n\r\nxyz";
  assert_int_equal(mn_h1_feed(&p, w, strlen(w), &used), 0);
  assert_int_equal(p.state, MN_H1_DONE);
  assert_string_equal(p.content_type, "text/event-stream");
  assert_string_equal(mn_buf_str(&g.body), "xyz");

  /* nothing at all, then the end: no reply */
  mn_h1_reset(&p, 0);
  assert_int_equal(mn_h1_eof(&p), MN_ENET);
  assert_int_equal(p.got_bytes, 0);
  mn_buf_free(&g.body);
  mn_h1_free(&p);
}

static void urls_that_qualify(void **state)
{
  (void)state;
  mn_h1_url u;
  assert_true(mn_h1_url_parse("http://127.0.0.1:11434/api/chat", &u));
  assert_string_equal(u.host, "127.0.0.1:11434");
  assert_string_equal(u.target, "/api/chat");
  assert_int_equal(u.alt_len, 0);
  const struct sockaddr_in *a4 = (const struct sockaddr_in *)&u.addr;
  assert_int_equal(a4->sin_family, AF_INET);
  assert_int_equal(ntohs(a4->sin_port), 11434);
  free(u.target);

  assert_true(mn_h1_url_parse("http://localhost/v1beta/models/m:generateContent?alt=sse#frag", &u));
  assert_string_equal(u.host, "localhost");
  assert_string_equal(u.target, "/v1beta/models/m:generateContent?alt=sse");
  assert_int_equal(ntohs(a4->sin_port), 80);
  assert_int_equal(ntohl(a4->sin_addr.s_addr), 0x7f000001);
  const struct sockaddr_in6 *alt = (const struct sockaddr_in6 *)&u.alt;
  assert_int_equal(u.alt_len, sizeof *alt);
  assert_int_equal(alt->sin6_family, AF_INET6);
  assert_int_equal(ntohs(alt->sin6_port), 80);
  assert_true(IN6_IS_ADDR_LOOPBACK(&alt->sin6_addr));
  free(u.target);

  assert_true(mn_h1_url_parse("http://[::1]:8080", &u));
  assert_string_equal(u.host, "[::1]:8080");
  assert_string_equal(u.target, "/");
  assert_int_equal(((const struct sockaddr_in6 *)&u.addr)->sin6_family, AF_INET6);
  free(u.target);

  assert_false(mn_h1_url_parse("https://127.0.0.1/v1", &u));
  assert_false(mn_h1_url_parse("http://user:pw@127.0.0.1/v1", &u));
  assert_false(mn_h1_url_parse("http://example.com/v1", &u));
  assert_false(mn_h1_url_parse("http://127.0.0.1:99999/", &u));
  assert_false(mn_h1_url_parse("not a url", &u));
}

static void request_head_bytes(void **state)
{
  (void)state;
  mn_h1_url u;
  assert_true(mn_h1_url_parse("http://127.0.0.1:8080/v1/chat/completions?x=1", &u));
  mn_buf b = MN_BUF_INIT(0);
  const char *hdrs[] = { "Authorization: Bearer k", "Expect:", "Content-Type: application/json",
                         NULL };
  mn_h1_request_head(&b, "POST", &u, hdrs, 1, 42);
  assert_string_equal(mn_buf_str(&b),
                      "POST /v1/chat/completions?x=1 HTTP/1.1\r\n"
                      "Authorization: Bearer k\r\n"
                      "Content-Type: application/json\r\n"
                      "Host: 127.0.0.1:8080\r\n"
                      "Content-Length: 42\r\n\r\n");
  mn_buf_reset(&b);
  const char *own[] = { "Host: models.internal", NULL };
  mn_h1_request_head(&b, "GET", &u, own, 0, 0);
  assert_string_equal(mn_buf_str(&b),
                      "GET /v1/chat/completions?x=1 HTTP/1.1\r\nHost: models.internal\r\n\r\n");
  mn_buf_free(&b);
  free(u.target);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(responses_at_every_split),
    cmocka_unit_test(malformed_responses),
    cmocka_unit_test(limits_and_callback_stop),
    cmocka_unit_test(urls_that_qualify),
    cmocka_unit_test(request_head_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
