/* The lenient parser for model output; see util/json_lenient.h. */
#include "util/json_lenient.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/utf8.h"

static const char REPLACEMENT[] = "\xEF\xBF\xBD";  /* U+FFFD */

static void put_utf8(mn_buf *b, uint32_t cp)
{
  char t[4];
  size_t n;
  if(cp < 0x80) {
    t[0] = (char)cp;
    n = 1;
  }
  else if(cp < 0x800) {
    t[0] = (char)(0xC0 | (cp >> 6));
    t[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  }
  else if(cp < 0x10000) {
    t[0] = (char)(0xE0 | (cp >> 12));
    t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  }
  else {
    t[0] = (char)(0xF0 | (cp >> 18));
    t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  mn_buf_append(b, t, n);
}

static void set_err(char **errmsg, char *msg)
{
  if(errmsg)
    *errmsg = msg;
  else
    free(msg);
}

enum { LP_OK = 0, LP_SYNTAX, LP_EOF, LP_DEPTH, LP_BUDGET };

typedef struct lp {
  const unsigned char *s;
  size_t n;
  size_t i;
  size_t steps, max_steps;   /* bounds the total work over all attempts */
  int depth;
  int fail;                  /* LP_* of the last failure */
} lp;

static json_t *lp_value(lp *p);

static int lp_tick(lp *p)
{
  if(++p->steps > p->max_steps) {
    p->fail = LP_BUDGET;
    return 0;
  }
  return 1;
}

static json_t *lp_fail(lp *p, int why)
{
  if(!p->fail)
    p->fail = why;
  return NULL;
}

static void lp_ws(lp *p)
{
  while(p->i < p->n && lp_tick(p)) {
    unsigned char c = p->s[p->i];
    if(c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
      p->i++;
    else if(c == 0xC2 && p->i + 1 < p->n && p->s[p->i + 1] == 0xA0)
      p->i += 2;   /* no-break space, common in pasted text */
    else
      break;
  }
}

/* Smart quotes: U+2018 ‘ U+2019 ’ (single), U+201C “ U+201D ” (double).
 * Returns SQ_NONE, SQ_SINGLE or SQ_DOUBLE for the bytes at `at`. */
enum { SQ_NONE = 0, SQ_SINGLE, SQ_DOUBLE };
static int smart_quote(const lp *p, size_t at)
{
  if(at + 2 < p->n && p->s[at] == 0xE2 && p->s[at + 1] == 0x80) {
    unsigned char c = p->s[at + 2];
    if(c == 0x9C || c == 0x9D)
      return SQ_DOUBLE;
    if(c == 0x98 || c == 0x99)
      return SQ_SINGLE;
  }
  return SQ_NONE;
}

/* Could the text after a quote at p->i (already past it) follow the end of
 * a string? Then that quote really closes the string. */
static int lp_can_close(lp *p)
{
  size_t j = p->i;
  while(j < p->n && (p->s[j] == ' ' || p->s[j] == '\t' || p->s[j] == '\r' ||
                     p->s[j] == '\n'))
    j++;
  if(j >= p->n)
    return 1;
  unsigned char c = p->s[j];
  return c == ',' || c == '}' || c == ']' || c == ':';
}

static int hex4(const unsigned char *s, uint32_t *out)
{
  uint32_t v = 0;
  for(int k = 0; k < 4; k++) {
    unsigned char c = s[k];
    v <<= 4;
    if(c >= '0' && c <= '9')
      v |= (uint32_t)(c - '0');
    else if(c >= 'a' && c <= 'f')
      v |= (uint32_t)(c - 'a' + 10);
    else if(c >= 'A' && c <= 'F')
      v |= (uint32_t)(c - 'A' + 10);
    else
      return 0;
  }
  *out = v;
  return 1;
}

/* A string opened at p->i by ", ' or a smart quote; its bytes go to out. */
static int lp_string(lp *p, mn_buf *out)
{
  int kind;          /* '"', '\'', or SQ_SINGLE/SQ_DOUBLE for smart quotes */
  if(p->s[p->i] == '"' || p->s[p->i] == '\'') {
    kind = p->s[p->i];
    p->i++;
  }
  else if((kind = smart_quote(p, p->i)) != SQ_NONE)
    p->i += 3;
  else
    return LP_SYNTAX;
  for(;;) {
    if(!lp_tick(p))
      return LP_BUDGET;
    if(p->i >= p->n)
      return LP_EOF;
    unsigned char c = p->s[p->i];
    if((kind == '"' || kind == '\'') && c == kind) {
      p->i++;
      if(lp_can_close(p))
        return LP_OK;
      mn_buf_putc(out, (char)c);   /* an unescaped quote inside the text */
      continue;
    }
    if((kind == SQ_SINGLE || kind == SQ_DOUBLE) && smart_quote(p, p->i) == kind) {
      p->i += 3;
      if(lp_can_close(p))
        return LP_OK;
      mn_buf_append(out, p->s + p->i - 3, 3);
      continue;
    }
    if(c == '\\') {
      if(p->i + 1 >= p->n)
        return LP_EOF;
      unsigned char e = p->s[p->i + 1];
      p->i += 2;
      switch(e) {
      case 'n': mn_buf_putc(out, '\n'); break;
      case 't': mn_buf_putc(out, '\t'); break;
      case 'r': mn_buf_putc(out, '\r'); break;
      case 'b': mn_buf_putc(out, '\b'); break;
      case 'f': mn_buf_putc(out, '\f'); break;
      case 'u': {
        uint32_t cp, lo;
        if(p->i + 4 > p->n)
          return LP_EOF;
        if(!hex4(p->s + p->i, &cp)) {
          mn_buf_puts(out, "\\u");   /* not an escape after all: keep it */
          break;
        }
        p->i += 4;
        if(cp >= 0xD800 && cp <= 0xDBFF && p->i + 6 <= p->n &&
           p->s[p->i] == '\\' && p->s[p->i + 1] == 'u' &&
           hex4(p->s + p->i + 2, &lo) && lo >= 0xDC00 && lo <= 0xDFFF) {
          p->i += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        else if(cp >= 0xD800 && cp <= 0xDFFF)
          cp = 0xFFFD;   /* lone surrogate */
        put_utf8(out, cp);
        break;
      }
      default:
        /* \" \\ \/ \' and unknown escapes: the character itself */
        p->i--;
        {
          uint32_t cp;
          size_t l = mn_utf8_decode((const unsigned char *)p->s + p->i, p->n - p->i, &cp);
          if(l) {
            mn_buf_append(out, p->s + p->i, l);
            p->i += l;
          }
          else {
            mn_buf_puts(out, REPLACEMENT);
            p->i++;
          }
        }
        break;
      }
      continue;
    }
    uint32_t cp;
    size_t l = mn_utf8_decode((const unsigned char *)p->s + p->i, p->n - p->i, &cp);
    if(l) {
      mn_buf_append(out, p->s + p->i, l);
      p->i += l;
    }
    else {
      /* a multi-byte sequence cut by the end of the text is truncation */
      if(p->n - p->i < 4 && c >= 0xC2 && c <= 0xF4) {
        size_t k = p->i + 1;
        while(k < p->n && (p->s[k] & 0xC0) == 0x80)
          k++;
        if(k == p->n)
          return LP_EOF;
      }
      mn_buf_puts(out, REPLACEMENT);
      p->i++;
    }
  }
}

static int is_word_char(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '$' || c == '-' ||
         c == '.' || c == '+';
}

static json_t *lp_number(lp *p, const unsigned char *w, size_t n)
{
  char tmp[64];
  int is_real = 0, digits = 0;
  if(n >= sizeof tmp)
    return lp_fail(p, LP_SYNTAX);
  for(size_t k = 0; k < n; k++) {
    unsigned char c = w[k];
    if(c >= '0' && c <= '9')
      digits++;
    else if(c == '.' || c == 'e' || c == 'E')
      is_real = 1;
    else if(!(c == '-' || c == '+'))
      return lp_fail(p, LP_SYNTAX);
  }
  if(!digits)
    return lp_fail(p, LP_SYNTAX);
  memcpy(tmp, w, n);
  tmp[n] = '\0';
  char *end;
  errno = 0;
  if(!is_real) {
    long long v = strtoll(tmp, &end, 10);
    if(*end == '\0' && errno == 0)
      return json_integer(v);
  }
  errno = 0;
  double d = strtod(tmp, &end);
  if(*end != '\0' || !isfinite(d))
    return lp_fail(p, LP_SYNTAX);
  return json_real(d);
}

/* A bare token: true/false/null and their Python spellings, or a number. */
static json_t *lp_word(lp *p)
{
  size_t st = p->i;
  while(p->i < p->n && is_word_char(p->s[p->i]) && lp_tick(p))
    p->i++;
  if(p->fail)
    return NULL;
  size_t n = p->i - st;
  const char *w = (const char *)p->s + st;
  if(n == 0)
    return lp_fail(p, p->i >= p->n ? LP_EOF : LP_SYNTAX);
  if(p->i >= p->n)
    return lp_fail(p, LP_EOF);   /* a token cut by the end may be longer */
#define W(lit) (n == sizeof(lit) - 1 && memcmp(w, lit, n) == 0)
  if(W("true") || W("True"))
    return json_true();
  if(W("false") || W("False"))
    return json_false();
  if(W("null") || W("None") || W("none") || W("NULL") || W("Null"))
    return json_null();
#undef W
  return lp_number(p, p->s + st, n);
}

/* A NUL in a key (a raw byte or \u0000) becomes U+FFFD: jansson writes
 * such a key out but refuses it when reading JSON, so the object could not
 * be read back from a run log. */
static void key_without_nul(mn_buf *key)
{
  if(!key->len || !memchr(key->data, 0, key->len))
    return;
  mn_buf fixed = MN_BUF_INIT(0);
  for(size_t i = 0; i < key->len; i++) {
    if(key->data[i])
      mn_buf_putc(&fixed, key->data[i]);
    else
      mn_buf_puts(&fixed, REPLACEMENT);
  }
  mn_buf_free(key);
  *key = fixed;
}

static json_t *lp_object(lp *p)
{
  json_t *obj;
  mn_buf key = MN_BUF_INIT(0);
  if(++p->depth > MN_JSON_MAX_DEPTH)
    return lp_fail(p, LP_DEPTH);
  p->i++;   /* '{' */
  obj = json_object();
  for(;;) {
    lp_ws(p);
    if(p->fail)
      goto bad;
    if(p->i >= p->n) {
      p->fail = LP_EOF;
      goto bad;
    }
    if(p->s[p->i] == '}') {
      p->i++;
      break;
    }
    /* key: quoted, or a bare word (JavaScript style, Python int keys) */
    mn_buf_reset(&key);
    unsigned char c = p->s[p->i];
    if(c == '"' || c == '\'' || smart_quote(p, p->i)) {
      int r = lp_string(p, &key);
      if(r) {
        p->fail = r;
        goto bad;
      }
    }
    else if(is_word_char(c)) {
      size_t st = p->i;
      while(p->i < p->n && is_word_char(p->s[p->i]) && lp_tick(p))
        p->i++;
      if(p->fail)
        goto bad;
      mn_buf_append(&key, p->s + st, p->i - st);
    }
    else {
      p->fail = LP_SYNTAX;
      goto bad;
    }
    lp_ws(p);
    if(p->fail)
      goto bad;
    if(p->i >= p->n) {
      p->fail = LP_EOF;
      goto bad;
    }
    if(p->s[p->i] != ':') {
      p->fail = LP_SYNTAX;
      goto bad;
    }
    p->i++;
    lp_ws(p);
    json_t *v = lp_value(p);
    if(!v)
      goto bad;
    key_without_nul(&key);
    json_object_setn_new(obj, key.data ? key.data : "", key.len, v);
    lp_ws(p);
    if(p->fail)
      goto bad;
    if(p->i >= p->n) {
      p->fail = LP_EOF;
      goto bad;
    }
    if(p->s[p->i] == ',') {
      p->i++;   /* a trailing comma before '}' is fine: checked at the top */
      continue;
    }
    if(p->s[p->i] == '}') {
      p->i++;
      break;
    }
    p->fail = LP_SYNTAX;
    goto bad;
  }
  mn_buf_free(&key);
  p->depth--;
  return obj;
bad:
  mn_buf_free(&key);
  json_decref(obj);
  return NULL;
}

static json_t *lp_array(lp *p)
{
  json_t *arr;
  if(++p->depth > MN_JSON_MAX_DEPTH)
    return lp_fail(p, LP_DEPTH);
  p->i++;   /* '[' */
  arr = json_array();
  for(;;) {
    lp_ws(p);
    if(p->fail)
      goto bad;
    if(p->i >= p->n) {
      p->fail = LP_EOF;
      goto bad;
    }
    if(p->s[p->i] == ']') {
      p->i++;
      break;
    }
    json_t *v = lp_value(p);
    if(!v)
      goto bad;
    json_array_append_new(arr, v);
    lp_ws(p);
    if(p->fail)
      goto bad;
    if(p->i >= p->n) {
      p->fail = LP_EOF;
      goto bad;
    }
    if(p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if(p->s[p->i] == ']') {
      p->i++;
      break;
    }
    p->fail = LP_SYNTAX;
    goto bad;
  }
  p->depth--;
  return arr;
bad:
  json_decref(arr);
  return NULL;
}

static json_t *lp_value(lp *p)
{
  if(p->fail)
    return NULL;
  if(p->i >= p->n)
    return lp_fail(p, LP_EOF);
  unsigned char c = p->s[p->i];
  if(c == '{')
    return lp_object(p);
  if(c == '[')
    return lp_array(p);
  if(c == '"' || c == '\'' || smart_quote(p, p->i)) {
    mn_buf b = MN_BUF_INIT(0);
    int r = lp_string(p, &b);
    json_t *v = NULL;
    if(r)
      lp_fail(p, r);
    else
      v = json_stringn(b.data ? b.data : "", b.len);
    mn_buf_free(&b);
    if(!v && !p->fail)
      p->fail = LP_SYNTAX;
    return v;
  }
  return lp_word(p);
}

json_t *mn_json_parse_lenient(const char *text, size_t len, char **errmsg)
{
  json_t *best = NULL;
  int last_fail = 0;
  if(errmsg)
    *errmsg = NULL;
  if(!text) {
    set_err(errmsg, mn_xstrdup("no model output to parse"));
    return NULL;
  }
  if(len > MN_JSON_LENIENT_MAX) {
    set_err(errmsg, mn_xasprintf("model output too large to parse as JSON "
                                 "(%zu bytes, limit %zu)", len,
                                 (size_t)MN_JSON_LENIENT_MAX));
    return NULL;
  }
  lp p = { (const unsigned char *)text, len, 0, 0, 0, 0, 0 };
  /* Every attempt that fails early costs little; the budget stops inputs
   * crafted so that many attempts each scan far. */
  p.max_steps = 16 * len + 4096;
  size_t i = 0;
  while(i < len) {
    const void *q = memchr(text + i, '{', len - i);
    if(!q)
      break;
    i = (size_t)((const char *)q - text);
    p.i = i;
    p.depth = 0;
    p.fail = 0;
    json_t *v = lp_object(&p);
    if(v) {
      json_decref(best);
      best = v;
      i = p.i;
      continue;
    }
    last_fail = p.fail;
    /* Cut off by the end: anything later lies inside this unfinished
     * object, so it cannot be a complete top-level one. */
    if(p.fail == LP_EOF || p.fail == LP_BUDGET)
      break;
    i++;
  }
  if(best)
    return best;
  switch(last_fail) {
  case LP_EOF:
    set_err(errmsg, mn_xstrdup("JSON object in model output is truncated"));
    break;
  case LP_DEPTH:
    set_err(errmsg, mn_xasprintf("JSON in model output is nested deeper than %d",
                                 MN_JSON_MAX_DEPTH));
    break;
  case LP_BUDGET:
    set_err(errmsg, mn_xstrdup("model output is too irregular to find a JSON object"));
    break;
  default:
    set_err(errmsg, mn_xstrdup("no JSON object found in model output"));
    break;
  }
  return NULL;
}
