/* The SSE and NDJSON stream splitters (src/net/stream.c) against a
 * whole-buffer reference written from the specifications (WHATWG "event
 * stream interpretation"; NDJSON lines), however the bytes are cut into
 * network reads: fed at once, in pieces at input-chosen places, and one byte
 * at a time, the events must be the reference's, in order. With a small
 * cap the events given before MN_ELIMIT are a prefix of the full list; a
 * consumer's stop code comes back as documented; a reset parser starts
 * clean.
 *
 * Input: one option byte (bit 0: NDJSON; bits 1-7 seed the cut places),
 * then the stream.
 */
#include "fuzz.h"

#include "minions.h"
#include "net/stream.h"
#include "util/buf.h"

/* Events recorded as: name or "\x01" for none, NUL, 8-byte length, data. */
typedef struct sink {
  mn_buf out;
  int calls, stop_at, stop_rc;
} sink;

static void record(mn_buf *b, const char *event, const char *data, size_t len)
{
  uint64_t l = len;
  if(event)
    mn_buf_puts(b, event);
  else
    mn_buf_putc(b, '\x01');
  mn_buf_putc(b, '\0');
  mn_buf_append(b, &l, sizeof l);
  mn_buf_append(b, data, len);
}

static int collect(void *ud, const char *event, const char *data, size_t len)
{
  sink *s = ud;
  FUZZ_CHECK(data[len] == '\0', "data not NUL-terminated");
  if(event)
    FUZZ_CHECK(!strpbrk(event, "\r\n"), "event name with a line end [%s]", event);
  s->calls++;
  record(&s->out, event, data, len);
  return s->stop_at && s->calls == s->stop_at ? s->stop_rc : 0;
}

/* ---- references ---------------------------------------------------------- */

static void ref_sse(const char *s, size_t n, mn_buf *out)
{
  mn_buf data = MN_BUF_INIT(0), event = MN_BUF_INIT(0);
  int has_data = 0;
  size_t i = n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0;
  while(i < n) {
    size_t j = i;
    while(j < n && s[j] != '\r' && s[j] != '\n')
      j++;
    if(j == n)
      break;   /* a line with no end is never processed */
    const char *line = s + i;
    size_t len = j - i;
    i = j + 1 + (s[j] == '\r' && j + 1 < n && s[j + 1] == '\n');
    if(len == 0) {
      if(has_data)
        record(out, event.len ? mn_buf_str(&event) : NULL, mn_buf_str(&data), data.len);
      mn_buf_reset(&data);
      mn_buf_reset(&event);
      has_data = 0;
      continue;
    }
    if(line[0] == ':')
      continue;
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - val);
    if(vlen && *val == ' ') {
      val++;
      vlen--;
    }
    if(flen == 4 && !memcmp(line, "data", 4)) {
      if(has_data)
        mn_buf_putc(&data, '\n');
      mn_buf_append(&data, val, vlen);
      has_data = 1;
    } else if(flen == 5 && !memcmp(line, "event", 5)) {
      mn_buf_reset(&event);
      mn_buf_append(&event, val, vlen);
    }
  }
  mn_buf_free(&data);
  mn_buf_free(&event);
}

static void ref_ndjson(const char *s, size_t n, mn_buf *out)
{
  size_t i = 0;
  while(i < n) {
    const char *nl = memchr(s + i, '\n', n - i);
    size_t e = nl ? (size_t)(nl - s) : n;
    size_t len = e - i;
    if(len && s[i + len - 1] == '\r')
      len--;
    int blank = 1;
    for(size_t k = 0; k < len && blank; k++)
      blank = strchr(" \t\r\f\v", s[i + k]) && s[i + k];
    if(!blank)
      record(out, NULL, s + i, len);
    i = e + 1;
  }
}

/* ---- the parsers under test ------------------------------------------------ */

typedef struct parser {
  int nd;
  mn_sse sse;
  mn_ndjson ndj;
} parser;

static void p_init(parser *p, int nd, size_t cap, sink *s)
{
  p->nd = nd;
  if(nd)
    mn_ndjson_init(&p->ndj, cap, collect, s);
  else
    mn_sse_init(&p->sse, cap, collect, s);
}

static int p_feed(parser *p, const char *b, size_t n)
{
  return p->nd ? mn_ndjson_feed(&p->ndj, b, n) : mn_sse_feed(&p->sse, b, n);
}

static int p_finish(parser *p)
{
  return p->nd ? mn_ndjson_finish(&p->ndj) : 0;
}

static void p_reset(parser *p)
{
  if(p->nd)
    mn_ndjson_reset(&p->ndj);
  else
    mn_sse_reset(&p->sse);
}

static void p_free(parser *p)
{
  if(p->nd)
    mn_ndjson_free(&p->ndj);
  else
    mn_sse_free(&p->sse);
}

/* Feed s in pieces: lengths from a small generator seeded by `seed`
 * (0: all at once, 1: byte by byte). Returns the first non-zero code. */
static int run(parser *p, const char *s, size_t n, unsigned seed)
{
  uint32_t x = seed * 2654435761u + 1;
  size_t i = 0;
  while(i < n) {
    size_t k = n - i;
    if(seed == 1) {
      k = 1;
    } else if(seed) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      size_t r = 1 + x % 9;
      k = r < k ? r : k;
    }
    int rc = p_feed(p, s + i, k);
    if(rc)
      return rc;
    i += k;
  }
  return p_finish(p);
}

static int same(const mn_buf *a, const mn_buf *b)
{
  return a->len == b->len && !memcmp(mn_buf_str(a), mn_buf_str(b), a->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned opt = fuzz_byte(&in);
  int nd = opt & 1;
  const char *s = (const char *)in.p;
  size_t n = in.n;

  mn_buf want = MN_BUF_INIT(0);
  if(nd)
    ref_ndjson(s, n, &want);
  else
    ref_sse(s, n, &want);

  const unsigned seeds[] = { 0, 1, 2 + (opt >> 1) };
  for(int k = 0; k < 3; k++) {
    sink got = { MN_BUF_INIT(0), 0, 0, 0 };
    parser p;
    p_init(&p, nd, (size_t)1 << 24, &got);
    FUZZ_CHECK(run(&p, s, n, seeds[k]) == 0, "error without a cap or a stop");
    FUZZ_CHECK(same(&got.out, &want), "%s events differ from the reference (cuts %u)",
               nd ? "NDJSON" : "SSE", seeds[k]);
    mn_buf_free(&got.out);
    p_free(&p);
  }

  /* a small cap: MN_ELIMIT or every event, and never other events */
  {
    sink got = { MN_BUF_INIT(0), 0, 0, 0 };
    parser p;
    p_init(&p, nd, 16, &got);
    int rc = run(&p, s, n, seeds[2]);
    FUZZ_CHECK(rc == 0 || rc == MN_ELIMIT, "capped parser returned %d", rc);
    if(rc == 0)
      FUZZ_CHECK(same(&got.out, &want), "capped parser lost events without MN_ELIMIT");
    else
      FUZZ_CHECK(got.out.len <= want.len && !memcmp(mn_buf_str(&got.out), mn_buf_str(&want),
                                                    got.out.len),
                 "capped parser gave events the reference does not have");
    /* a new attempt after the failure starts clean */
    p_reset(&p);
    mn_buf_reset(&got.out);
    p_free(&p);
    p_init(&p, nd, (size_t)1 << 24, &got);
    if(n > 1)
      p_feed(&p, s, n / 2);
    p_reset(&p);
    mn_buf_reset(&got.out);
    FUZZ_CHECK(run(&p, s, n, seeds[2]) == 0, "error after a reset");
    FUZZ_CHECK(same(&got.out, &want), "a reset parser gave other events");
    mn_buf_free(&got.out);
    p_free(&p);
  }

  /* a consumer that stops at its second event */
  {
    const int codes[] = { MN_ELIMIT, 7 };
    sink got = { MN_BUF_INIT(0), 0, 2, codes[opt >> 7] };
    parser p;
    p_init(&p, nd, (size_t)1 << 24, &got);
    int rc = run(&p, s, n, seeds[2]);
    if(got.calls >= 2)
      FUZZ_CHECK(rc == (got.stop_rc < 0 ? got.stop_rc : MN_EPARSE) && got.calls == 2,
                 "a stopped consumer: rc %d after %d calls", rc, got.calls);
    else
      FUZZ_CHECK(rc == 0, "rc %d with %d calls", rc, got.calls);
    mn_buf_free(&got.out);
    p_free(&p);
  }
  mn_buf_free(&want);
  return 0;
}
