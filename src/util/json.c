#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"
#include "util/utf8.h"

static void set_err(char **errmsg, char *msg)
{
  if(errmsg)
    *errmsg = msg;
  else
    free(msg);
}

json_t *mn_json_loadb(const char *buf, size_t len, char **errmsg)
{
  char *fixed = NULL;
  json_error_t e;
  if(errmsg)
    *errmsg = NULL;
  if(!mn_utf8_valid(buf, len)) {
    fixed = mn_utf8_repair(buf, len, &len);
    buf = fixed;
  }
  json_t *v = json_loadb(buf, len, JSON_ALLOW_NUL, &e);
  /* An integer beyond int64 (Together's "seed": 10583536942961263000) in a
   * field nobody reads must not make the whole text unusable: read every
   * number as a real instead (mn_json_path_u64 and json_number_value take
   * both). */
  if(!v && json_error_code(&e) == json_error_numeric_overflow)
    v = json_loadb(buf, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
  free(fixed);
  if(!v) {
    /* jansson quotes the text near the error, which can hold a line break
     * or half a character: the message stays one printable line */
    char *why = mn_utf8_printable(e.text, strlen(e.text), 200);
    set_err(errmsg, mn_xasprintf("line %d column %d: %s", e.line, e.column, why));
    free(why);
    return NULL;
  }
  return v;
}

json_t *mn_json_path(const json_t *root, const char *path)
{
  json_t *cur = (json_t *)root;
  const char *p = path;
  while(cur && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if(json_is_object(cur)) {
      cur = json_object_getn(cur, p, n);
    }
    else if(json_is_array(cur)) {
      size_t idx = 0;
      if(n == 0 || n > 9)
        return NULL;
      for(size_t i = 0; i < n; i++) {
        if(p[i] < '0' || p[i] > '9')
          return NULL;
        idx = idx * 10 + (size_t)(p[i] - '0');
      }
      cur = json_array_get(cur, idx);
    }
    else
      return NULL;
    p += n;
    if(*p == '.')
      p++;
  }
  return cur;
}

const char *mn_json_str(const json_t *obj, const char *key)
{
  json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *mn_json_path_str(const json_t *root, const char *path)
{
  json_t *v = mn_json_path(root, path);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

uint64_t mn_json_path_u64(const json_t *root, const char *path)
{
  json_t *v = mn_json_path(root, path);
  if(json_is_integer(v))
    return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
  if(json_is_real(v)) {
    double d = json_real_value(v);
    return (d > 0 && d < 1.8e19) ? (uint64_t)d : 0;
  }
  return 0;
}

char *mn_json_dump(const json_t *v)
{
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  if(!s) {
    /* jansson only fails on allocation (or a NULL value) */
    if(!v)
      return mn_xstrdup("null");
    fprintf(stderr, "minions: out of memory\n");
    abort();
  }
  return s;
}
