/* The lenient JSON parser for model output (src/util/json_lenient.c):
 * either an object that survives a strict round trip, within the depth
 * limit, or a one-line message; plain JSON objects read exactly as a strict
 * parser reads them, also with prose or a Markdown fence around them. */
#include "fuzz.h"

#include <jansson.h>

#include "util/json_lenient.h"

static int depth_of(const json_t *v)
{
  int d = 0;
  if(json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      int c = depth_of(x);
      d = c > d ? c : d;
    }
    return d + 1;
  }
  if(json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      int c = depth_of(x);
      d = c > d ? c : d;
    }
    return d + 1;
  }
  return 0;
}

/* Parse, check what came back, and return it (or NULL). */
static json_t *parse_checked(const char *s, size_t n)
{
  char *err = NULL;
  json_t *v = mn_json_parse_lenient(s, n, &err);
  if(!v) {
    fuzz_check_message("lenient parse", err);
    free(err);
    return NULL;
  }
  FUZZ_CHECK(err == NULL, "an object and a message: %s", err);
  FUZZ_CHECK(json_is_object(v), "the result is not an object");
  FUZZ_CHECK(depth_of(v) <= MN_JSON_MAX_DEPTH, "nested %d deep", depth_of(v));
  /* what we hand on is JSON a strict reader takes back unchanged */
  char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  FUZZ_CHECK(dump != NULL, "the result cannot be serialised");
  json_error_t e;
  json_t *back = json_loads(dump, JSON_ALLOW_NUL, &e);
  FUZZ_CHECK(back && json_equal(back, v), "round trip failed: %s", e.text);
  json_decref(back);
  free(dump);
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  json_t *v = parse_checked(s, size);
  json_t *again = mn_json_parse_lenient(s, size, NULL);
  FUZZ_CHECK((!v && !again) || (v && again && json_equal(v, again)), "not deterministic");
  json_decref(again);

  /* An object a strict parser accepts must come out the same, bare and
   * inside the wrappings models put around it. */
  json_error_t e;
  json_t *strict = json_loadb(s, size, 0, &e);
  if(strict && json_is_object(strict) && depth_of(strict) <= MN_JSON_MAX_DEPTH) {
    FUZZ_CHECK(v && json_equal(v, strict), "a strict JSON object read differently");
    static const char pre[] = "Here is the answer:\n```json\n", post[] = "\n```\nDone.";
    size_t wn = sizeof pre - 1 + size + sizeof post - 1;
    char *w = malloc(wn);
    memcpy(w, pre, sizeof pre - 1);
    memcpy(w + sizeof pre - 1, s, size);
    memcpy(w + sizeof pre - 1 + size, post, sizeof post - 1);
    json_t *wv = parse_checked(w, wn);
    FUZZ_CHECK(wv && json_equal(wv, strict), "a fenced strict object read differently");
    json_decref(wv);
    free(w);
  }
  json_decref(strict);
  json_decref(v);
  return 0;
}
