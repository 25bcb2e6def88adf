/* The privacy shield's name finding: the local model names the people in
 * a text; the names that really occur are registered with the shield. */
#include "protocol/privacy.h"

#include <stdlib.h>
#include <string.h>

#include "protocol/prompts.h"
#include "protocol/run_internal.h"
#include "util/mem.h"

static const char *check_names(const json_t *o)
{
  const json_t *a = json_object_get(o, "names");
  return json_is_array(a) || json_is_null(a) || json_is_string(a)
           ? NULL : "field 'names' must be an array of strings";
}

int mn_privacy_take_names(mn_privacy *p, const json_t *reply, const char *text)
{
  const json_t *a = json_object_get(reply, "names");
  if(json_is_string(a)) {
    const char *one = json_string_value(a);
    return mn_privacy_add_names_in(p, &one, 1, text);
  }
  size_t n = json_array_size(a);   /* 0 for anything but an array */
  if(n > MN_PRIVACY_MAX_NAMES_PER_REPLY)
    n = MN_PRIVACY_MAX_NAMES_PER_REPLY;
  const char **names = mn_xcalloc(n + 1, sizeof *names);
  for(size_t k = 0; k < n; k++)
    names[k] = json_string_value(json_array_get(a, k));   /* NULL: not a string */
  int r = mn_privacy_add_names_in(p, names, n, text);
  free(names);
  return r;
}

/* Length of the next piece of at most max bytes: cut after a line break,
 * else after a blank, else at a code point boundary. */
static size_t piece_len(const char *s, size_t n, size_t max)
{
  if(n <= max)
    return n;
  for(size_t k = max; k > max / 2; k--)
    if(s[k - 1] == '\n')
      return k;
  for(size_t k = max; k > max / 2; k--)
    if(s[k - 1] == ' ')
      return k;
  size_t k = max;
  while(k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
    k--;
  return k ? k : max;
}

int mn_privacy_find_names(mn_privacy *p, mn_run *run, const char *text)
{
  size_t n = text ? strlen(text) : 0;
  for(size_t off = 0; off < n;) {
    size_t len = piece_len(text + off, n - off, MN_PRIVACY_FIND_CHUNK);
    char *piece = mn_xstrndup(text + off, len);
    off += len;
    if(!piece[strspn(piece, " \t\r\n")]) {
      free(piece);
      continue;
    }
    char *prompt = mn_xasprintf(MN_PROMPT_PRIVACY_NAMES, piece);
    mn_llm_msg msg = { "user", prompt };
    json_t *obj = NULL;
    int rc = mn_proto_chat_json(run, MN_SIDE_LOCAL, "privacy names", &msg, 1, 0.0,
                              run->opts.local_max_tokens, MN_SCHEMA_PRIVACY_NAMES, "person_names",
                              check_names, &obj, NULL);
    free(prompt);
    if(rc != MN_OK) {
      free(piece);
      return rc;
    }
    int r = mn_privacy_take_names(p, obj, piece);
    json_decref(obj);
    free(piece);
    if(r < 0)
      return mn_proto_fail(run, r, "privacy: more than %d person names; refusing to send more text",
                         MN_PRIVACY_MAX_NAMES);
  }
  return MN_OK;
}

int mn_privacy_protect(mn_privacy *p, mn_run *run, const char *text, char **out)
{
  *out = NULL;
  int rc = mn_privacy_find_names(p, run, text);
  if(rc != MN_OK)
    return rc;
  *out = mn_privacy_redact(p, text);
  return MN_OK;
}
