/* The llm layer's fast paths. Replies and stream events take a fast path
 * (skimmed, no jansson tree) when they have the usual shape, the full path
 * otherwise. The two must
 * agree: each text is fed as it is and, to force the full path, with an
 * extra member whose key is written with an escape (the fast path declines
 * escaped keys); text, finish reason, usage, completeness and errors must
 * come out the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "llm/wire.h"
#include "minions.h"

/* text with "\u0078":0 as its first member: the same object to jansson
 * plus one key no parser looks at */
static char *poisoned(const char *text, size_t len, size_t *out_len)
{
  /* only where the text opens with the object: elsewhere a '{' may sit
   * inside a string */
  const char *brace = len && text[0] == '{' ? text : NULL;
  char *out = malloc(len + 16);
  if(!brace) {
    memcpy(out, text, len);
    *out_len = len;
    return out;
  }
  size_t at = (size_t)(brace - text) + 1;
  memcpy(out, text, at);
  const char *extra = "\"\\u0078\":0,";
  size_t el = strlen(extra);
  /* an empty object must not get a trailing comma */
  size_t rest = len - at;
  const char *after = text + at;
  while(rest && (*after == ' ' || *after == '\n'))
    after++, rest--;
  if(rest && *after == '}')
    extra = "\"\\u0078\":0", el = strlen(extra);
  memcpy(out + at, extra, el);
  memcpy(out + at + el, text + at, len - at);
  *out_len = len + el;
  return out;
}

static void same_state(const mn_reply *a, const mn_reply *b, const char *what)
{
  if(a->code != b->code || a->complete != b->complete ||
     strcmp(mn_buf_str(&a->text), mn_buf_str(&b->text)) != 0 ||
     (a->finish == NULL) != (b->finish == NULL) ||
     (a->finish && strcmp(a->finish, b->finish) != 0) ||
     a->usage.prompt_tokens != b->usage.prompt_tokens ||
     a->usage.completion_tokens != b->usage.completion_tokens ||
     a->usage.cached_prompt_tokens != b->usage.cached_prompt_tokens)
    fail_msg("%s: fast [code %d text '%s' finish %s usage %llu/%llu/%llu complete %d] vs "
             "full [code %d text '%s' finish %s usage %llu/%llu/%llu complete %d]", what,
             a->code, mn_buf_str(&a->text), a->finish ? a->finish : "-",
             (unsigned long long)a->usage.prompt_tokens,
             (unsigned long long)a->usage.completion_tokens,
             (unsigned long long)a->usage.cached_prompt_tokens, a->complete, b->code,
             mn_buf_str(&b->text), b->finish ? b->finish : "-",
             (unsigned long long)b->usage.prompt_tokens,
             (unsigned long long)b->usage.completion_tokens,
             (unsigned long long)b->usage.cached_prompt_tokens, b->complete);
}

/* Feed events (stream) or one body to both replies and compare. */
static void both(mn_wire wire, int stream, const char *const *texts, size_t n, size_t max_text)
{
  mn_reply a, b;
  mn_reply_init(&a, wire, 0, max_text);
  mn_reply_init(&b, wire, 0, max_text);
  for(size_t i = 0; i < n; i++) {
    size_t len = strlen(texts[i]), plen;
    char *p = poisoned(texts[i], len, &plen);
    if(stream) {
      mn_reply_stream_event(&a, NULL, texts[i], len);
      mn_reply_stream_event(&b, NULL, p, plen);
    }
    else {
      mn_reply_parse_body(&a, texts[i], len);
      mn_reply_parse_body(&b, p, plen);
    }
    free(p);
    same_state(&a, &b, texts[i]);
  }
  if(stream) {
    mn_reply_stream_end(&a);
    mn_reply_stream_end(&b);
    same_state(&a, &b, "end of stream");
  }
  mn_reply_free(&a);
  mn_reply_free(&b);
}

static void openai_stream_agrees(void **state)
{
  static const char *const ev[] = {
    "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1795281921,\"model\":\"m\","
    "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
    "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"{\\\"answer\\\": \\\"caf\\u00e9 "
    "\\ud83d\\ude00\\n\"},\"finish_reason\":null}],\"usage\":null}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\xe2\x82\xac 12\\t\\\\\\\"}\"}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":null}}]}",
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":42}}]}",
    "{\"choices\":{\"0\":{\"delta\":{\"content\":\"keyed by name\"}}}}",
    "{\"choices\":[7]}",
    "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":30.7,"
    "\"prompt_tokens_details\":{\"cached_tokens\":0},\"prompt_cache_hit_tokens\":512}}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":\"9\"}}",
    "{\"error\":null,\"choices\":[{\"delta\":{\"content\":\" more\"}}]}",
    "[DONE]",
  };
  both(MN_WIRE_OPENAI, 1, ev, sizeof ev / sizeof *ev, 1 << 20);
  static const char *const err[] = {
    "{\"choices\":[{\"delta\":{\"content\":\"partial\"}}]}",
    "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}",
    "{\"choices\":[{\"delta\":{\"content\":\"after the error\"}}]}",
  };
  both(MN_WIRE_OPENAI, 1, err, 3, 1 << 20);
  static const char *const cap[] = {
    "{\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}",
    "{\"choices\":[{\"delta\":{\"content\":\"0123456789\"}}]}",
  };
  both(MN_WIRE_OPENAI, 1, cap, 2, 15);   /* the second passes the cap */
}

static void openai_bodies_agree(void **state)
{
  static const char *const bodies[] = {
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":"
    "{\"role\":\"assistant\",\"content\":\"Hello \\u00e9\",\"refusal\":null,\"annotations\":[]},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1200,"
    "\"completion_tokens\":30,\"total_tokens\":1230,\"prompt_tokens_details\":"
    "{\"cached_tokens\":1024}},\"service_tier\":\"default\"}",
    "{\"choices\":[{\"message\":{\"content\":null},\"finish_reason\":\"content_filter\"}]}",
    "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"parts\"}]}}]}",
    "{\"choices\":[{\"message\":\"not an object\"}]}",
    "{\"choices\":[]}",
    "{\"object\":\"x\"}",
    "{\"error\":{\"message\":\"bad key\"}}",
    "{\"choices\":[{\"message\":{\"content\":\"no usage, no finish\"}}]}",
  };
  for(size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
    both(MN_WIRE_OPENAI, 0, &bodies[i], 1, 1 << 20);
}

static void ollama_agrees(void **state)
{
  static const char *const lines[] = {
    "{\"model\":\"llama3.2\",\"created_at\":\"2024-01-01T00:00:00Z\",\"message\":"
    "{\"role\":\"assistant\",\"content\":\"The \\\"year\\\"\"},\"done\":false}",
    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\" 2018\\n\"},"
    "\"done\":false}",
    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
    "\"done_reason\":\"length\",\"done\":true,\"total_duration\":123,\"prompt_eval_count\":26,"
    "\"eval_count\":290.5}",
  };
  both(MN_WIRE_OLLAMA, 1, lines, 3, 1 << 20);
  static const char *const nodone[] = {
    "{\"message\":{\"content\":\"x\"},\"done\":true}",
    "{\"message\":{\"content\":\"x\"},\"done\":false}",
    "{\"error\":\"model not found\"}",
    "{\"message\":{\"content\":\"y\"},\"done\":true,\"done_reason\":\"\"}",
  };
  for(size_t i = 0; i < sizeof nodone / sizeof *nodone; i++) {
    both(MN_WIRE_OLLAMA, 0, &nodone[i], 1, 1 << 20);
    both(MN_WIRE_OLLAMA, 1, &nodone[i], 1, 1 << 20);
  }
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Damaged events: both paths must still agree, error or not. */
static void damaged_events_agree(void **state)
{
  static const char *const seeds[] = {
    "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The fiscal year\"},\"finish_reason\":null}],\"usage\":null}",
    "{\"choices\":[],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":42,\"prompt_tokens_details\":{\"cached_tokens\":3}}}",
    "{\"choices\":[{\"message\":{\"content\":\"whole\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":5}}",
    "{\"message\":{\"content\":\"olla\"},\"done\":true,\"done_reason\":\"stop\",\"eval_count\":4}",
  };
  static const char alphabet[] = "{}[]\":,\\ u0123456789abcdefnrt.-e\xc3\xa9\xff";
  char buf[256];
  for(int it = 0; it < 5000; it++) {
    const char *s = seeds[rnd() % (sizeof seeds / sizeof *seeds)];
    size_t n = strlen(s);
    memcpy(buf, s, n);
    for(int e = 0; e < 2; e++) {
      size_t at = (size_t)(rnd() % n);
      buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
    }
    buf[n] = '\0';
    const char *one[] = { buf };
    mn_wire wire = rnd() % 2 ? MN_WIRE_OPENAI : MN_WIRE_OLLAMA;
    both(wire, (int)(rnd() % 2), one, 1, 1 << 20);
  }
}

/* A client reuses the schema it parsed last: the bodies must be the ones
 * built without the memo, also when the schema text changes. */
static void schema_memo_gives_the_same_bodies(void **state)
{
  static const char *const schemas[] = {
    "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":[\"string\",\"null\"]}}}",
    "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}}}",
    "[not json",
  };
  static const char *const provs[] = { "openai", "ollama", "anthropic", "gemini" };
  for(size_t p = 0; p < 4; p++) {
    mn_wire_target t = { mn_provider_find(provs[p]), "m", "k" };
    mn_wire_memo memo = { 0 };
    for(int round = 0; round < 7; round++) {
      const char *schema = schemas[round % 2 == 0 && round < 4 ? 0 : round < 6 ? 1 : 2];
      mn_chat_msg msgs[] = { { "system", "Be brief." }, { "user", "Say \"hi\"." } };
      mn_chat_req req = { .msgs = msgs, .n_msgs = 2, .temperature = 0.5, .max_tokens = 64,
                          .json_schema = schema, .schema_name = "out" };
      mn_wire_req a, b;
      char *ea = NULL, *eb = NULL;
      int ra = mn_wire_build(&t, &req, round % 2, &a, &ea);
      int rb = mn_wire_build_memo(&t, &memo, &req, round % 2, &b, &eb);
      assert_int_equal(ra, rb);
      if(ra == MN_OK)
        assert_string_equal(a.body, b.body);
      else
        assert_string_equal(ea, eb);
      mn_wire_req_free(&a);
      mn_wire_req_free(&b);
      free(ea);
      free(eb);
    }
    mn_wire_memo_free(&memo);
  }
}

/* A round of jobs: bodies built from the memo's envelope must be byte for
 * byte the ones built from scratch, whatever the last message holds
 * (escapes, invalid UTF-8, the envelope's own mark), and any change to the
 * rest of the request must be seen. */
static void envelope_gives_the_same_bodies(void **state)
{
  (void)state;
  static const char *const lasts[] = {
    "Chunk 1: revenue was $4.2bn.", "quote \" and backslash \\ and tab\t and \x01",
    "bad UTF-8 \xC3\x28 here", "caf\xC3\xA9 \xE2\x80\xA8 \xF0\x9F\x98\x80",
    "\x01minions:last message\x01", "",
    "a longer chunk that takes Ollama's context window over the next 1024 tokens",
  };
  static const char *const provs[] = { "openai", "ollama", "anthropic", "gemini" };
  char big[12000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for(size_t p = 0; p < 4; p++) {
    mn_wire_target t = { mn_provider_find(provs[p]), "claude-3-5-haiku", "k" };
    mn_wire_memo memo = { 0 };
    unsigned long builds = 0;
    for(int round = 0; round < 40; round++) {
      const char *last = round % 9 == 8 ? big : lasts[round % 7];
      /* rounds 20-24 change the system prompt each time, 30-31 the role,
       * 35 the schema: the memo must notice */
      char sys[64];
      snprintf(sys, sizeof sys, "Answer from the chunk.%s%d", round >= 20 && round < 25 ? " " : "",
               round >= 20 && round < 25 ? round : 0);
      mn_chat_msg msgs[] = { { "system", sys }, { "user", "Earlier turn." },
                             { round >= 30 && round < 32 ? "assistant" : "user", last } };
      mn_chat_req req = { .msgs = msgs, .n_msgs = 3, .temperature = 0.2, .max_tokens = 512,
                          .json_schema = round == 35 ? "{\"type\":\"object\"}"
                                                     : "{\"type\":\"object\",\"required\":[\"answer\"]}",
                          .schema_name = "job_output" };
      mn_wire_req a, b;
      char *ea = NULL, *eb = NULL;
      assert_int_equal(mn_wire_build(&t, &req, round % 4 == 3, &a, &ea), MN_OK);
      assert_int_equal(mn_wire_build_memo(&t, &memo, &req, round % 4 == 3, &b, &eb), MN_OK);
      assert_int_equal(a.body_len, b.body_len);
      assert_memory_equal(a.body, b.body, a.body_len);
      assert_int_equal(a.prefill, b.prefill);
      mn_wire_req_free(&a);
      mn_wire_req_free(&b);
      builds++;
    }
    /* then ten jobs of one round: all but the first from the envelope */
    unsigned long before = memo.envelope_hits;
    for(int job = 0; job < 10; job++) {
      mn_chat_msg msgs[] = { { "system", "Answer from the chunk." }, { "user", lasts[job % 7] } };
      mn_chat_req req = { .msgs = msgs, .n_msgs = 2, .max_tokens = 512, .json_object = 1 };
      mn_wire_req b;
      char *eb = NULL;
      assert_int_equal(mn_wire_build_memo(&t, &memo, &req, 0, &b, &eb), MN_OK);
      mn_wire_req_free(&b);
    }
    assert_int_equal(memo.envelope_hits - before, 9);
    assert_true(before >= builds / 4);
    /* an earlier message holding the mark: no envelope, the full path */
    before = memo.envelope_hits;
    for(int job = 0; job < 4; job++) {
      mn_chat_msg msgs[] = { { "user", "\x01minions:last message\x01" }, { "assistant", "Noted." },
                             { "user", lasts[job] } };
      mn_chat_req req = { .msgs = msgs, .n_msgs = 3, .json_object = 1 };
      mn_wire_req a, b;
      char *ea = NULL, *eb = NULL;
      assert_int_equal(mn_wire_build(&t, &req, 0, &a, &ea), MN_OK);
      assert_int_equal(mn_wire_build_memo(&t, &memo, &req, 0, &b, &eb), MN_OK);
      assert_string_equal(a.body, b.body);
      mn_wire_req_free(&a);
      mn_wire_req_free(&b);
    }
    assert_int_equal(memo.envelope_hits, before);
    assert_int_equal(memo.unsplittable, 1);
    mn_wire_memo_free(&memo);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(openai_stream_agrees),
    cmocka_unit_test(openai_bodies_agree),
    cmocka_unit_test(ollama_agrees),
    cmocka_unit_test(damaged_events_agree),
    cmocka_unit_test(schema_memo_gives_the_same_bodies),
    cmocka_unit_test(envelope_gives_the_same_bodies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
