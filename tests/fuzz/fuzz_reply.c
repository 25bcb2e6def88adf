/* A provider's reply (src/llm/reply.c), whole and streamed, for one wire
 * format chosen at build time (FUZZ_WIRE): built once per wire as
 * fuzz_reply_openai, _anthropic, _ollama and _gemini, each with the
 * corpus of its provider's real reply shapes.
 *
 * The input's first byte holds options (prefilled "{", a small text cap,
 * where to split the stream); the rest is the body. The body is parsed as
 * a whole reply, parsed again after mn_reply_reset (same outcome), and fed
 * as a stream through the transport's own splitter (SSE, or NDJSON for
 * Ollama) in pieces. Every outcome must be consistent: an error code comes
 * with a one-line message and no code with none, the text is valid UTF-8
 * within its cap, a prefilled reply starts with '{', a reply taken as good
 * was seen complete.
 */
#include "fuzz.h"

#include "llm/wire.h"
#include "minions.h"
#include "net/stream.h"

#ifndef FUZZ_WIRE
#error "build with -DFUZZ_WIRE=MN_WIRE_..."
#endif

static void check_reply(const mn_reply *r, int prefill, const char *how)
{
  FUZZ_CHECK(r->code == MN_OK || r->code == MN_EPARSE || r->code == MN_ELIMIT ||
             r->code == MN_EHTTP || r->code == MN_EREFUSED, "%s: code %d", how, r->code);
  if(r->code == MN_OK)
    FUZZ_CHECK(r->error == NULL, "%s: no error code but a message: %s", how, r->error);
  else
    fuzz_check_message(how, r->error);
  FUZZ_CHECK(r->text.len <= r->text.max, "%s: text over its cap", how);
  FUZZ_CHECK(mn_utf8_valid(mn_buf_str(&r->text), r->text.len), "%s: text is not UTF-8", how);
  if(prefill)
    FUZZ_CHECK(r->text.len >= 1 && r->text.data[0] == '{', "%s: prefilled '{' lost", how);
  if(r->finish)
    FUZZ_CHECK(*r->finish, "%s: empty finish reason", how);
}

static int same_outcome(const mn_reply *a, const mn_reply *b)
{
  return a->code == b->code && a->text.len == b->text.len &&
         !memcmp(mn_buf_str(&a->text), mn_buf_str(&b->text), a->text.len) &&
         !strcmp(a->error ? a->error : "", b->error ? b->error : "") &&
         !strcmp(a->finish ? a->finish : "", b->finish ? b->finish : "") &&
         !memcmp(&a->usage, &b->usage, sizeof a->usage) && a->usage_seen == b->usage_seen &&
         a->complete == b->complete;
}

/* The client's stream consumer (llm/client.c on_event). */
static int on_event(void *ud, const char *event, const char *data, size_t len)
{
  FUZZ_CHECK(data[len] == '\0', "event data not NUL-terminated");
  int rc = mn_reply_stream_event(ud, event, data, len);
  return rc == MN_ELIMIT ? MN_ELIMIT : rc ? MN_EPARSE : 0;
}

static void streamed(const char *body, size_t n, int prefill, size_t cap, size_t cut1,
                     size_t cut2)
{
  mn_reply r;
  mn_reply_init(&r, FUZZ_WIRE, prefill, cap);
  const size_t cuts[] = { 0, cut1, cut2, n };
  int rc = 0;
  if(FUZZ_WIRE == MN_WIRE_OLLAMA) {
    mn_ndjson p;
    mn_ndjson_init(&p, 1 << 20, on_event, &r);
    for(int k = 0; k < 3 && !rc; k++)
      rc = mn_ndjson_feed(&p, body + cuts[k], cuts[k + 1] - cuts[k]);
    if(!rc)
      rc = mn_ndjson_finish(&p);
    mn_ndjson_free(&p);
  } else {
    mn_sse p;
    mn_sse_init(&p, 1 << 20, on_event, &r);
    for(int k = 0; k < 3 && !rc; k++)
      rc = mn_sse_feed(&p, body + cuts[k], cuts[k + 1] - cuts[k]);
    mn_sse_free(&p);
  }
  if(rc)   /* the consumer stopped the stream: it says why */
    FUZZ_CHECK(r.code != MN_OK, "stream stopped (%d) with no reason in the reply", rc);
  else
    FUZZ_CHECK(mn_reply_stream_end(&r) == r.code, "stream_end returned another code");
  if(!rc && r.code == MN_OK)
    FUZZ_CHECK(r.complete, "a stream taken as good was not seen complete");
  check_reply(&r, prefill, "stream");
  mn_reply_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_in in = { data, size };
  unsigned opt = fuzz_byte(&in);
  int prefill = (opt & 1) && FUZZ_WIRE == MN_WIRE_ANTHROPIC;
  size_t cap = (opt & 2) ? 48 : (size_t)1 << 20;
  const char *body = (const char *)in.p;
  size_t n = in.n;

  mn_reply a, b;
  mn_reply_init(&a, FUZZ_WIRE, prefill, cap);
  mn_reply_parse_body(&a, body, n);
  check_reply(&a, prefill, "body");
  if(a.code == MN_OK)
    FUZZ_CHECK(a.complete, "a reply taken as good was not seen complete");
  /* a retry's parse starts from a reset reply and must end the same */
  mn_reply_init(&b, FUZZ_WIRE, prefill, cap);
  mn_reply_parse_body(&b, "{\"choices\":[]}", 14);
  mn_reply_reset(&b);
  mn_reply_parse_body(&b, body, n);
  FUZZ_CHECK(same_outcome(&a, &b), "a reset reply parsed the same body differently");
  mn_reply_free(&a);
  mn_reply_free(&b);

  size_t cut1 = n ? (opt >> 2) * n / 63 : 0;
  size_t cut2 = cut1 + (n - cut1) / 2;
  streamed(body, n, prefill, cap, cut1, cut2);
  return 0;
}
