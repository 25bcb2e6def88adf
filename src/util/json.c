#include "util/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
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

/* ---- Strict loading and getters --------------------------------------- */

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
  free(fixed);
  if(!v) {
    set_err(errmsg, mn_xasprintf("line %d column %d: %s", e.line, e.column, e.text));
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

/* ---- Lenient parser ------------------------------------------------------ */

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

/* ---- Skimming ------------------------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* 1 if one of the 8 bytes at p is a control character, '"' or '\\' (or,
 * with high set, 0x80 or above): eight ordinary bytes are skipped at once. */
static int word_special(const unsigned char *p, int high)
{
  uint64_t w, q, b;
  memcpy(&w, p, 8);
  q = w ^ (ONES * '"');
  b = w ^ (ONES * '\\');
  uint64_t hit = ((w - ONES * 0x20) & ~w) | ((q - ONES) & ~q) | ((b - ONES) & ~b);
  return ((hit & HIGHS) | (high ? w & HIGHS : 0)) != 0;
}

#define SKIM_MAX_PATHS 16
#define SKIM_MAX_SEGS 8
#define SKIM_MAX_DEPTH 32

typedef struct skim_path {
  const char *seg[SKIM_MAX_SEGS];
  size_t seglen[SKIM_MAX_SEGS];
  long idx[SKIM_MAX_SEGS];          /* the segment as an array index, -1 if none */
  size_t n;
  unsigned char hits[SKIM_MAX_SEGS]; /* keys matched at each depth */
} skim_path;

typedef struct skim {
  const unsigned char *p, *end;
  skim_path path[SKIM_MAX_PATHS];
  size_t n_paths;
  mn_json_span *out;
} skim;

static void skim_ws(skim *s)
{
  while(s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
    s->p++;
}

/* At the opening quote; leaves p past the closing one. Refuses what jansson
 * would refuse (control characters, bad escapes, lone surrogates, bad UTF-8)
 * and \u0000, which jansson keeps but C strings cannot. */
static int skim_string(skim *s, int *escaped)
{
  s->p++;
  while(s->p < s->end) {
    if(s->end - s->p >= 8 && !word_special(s->p, 1)) {
      s->p += 8;
      continue;
    }
    unsigned char c = *s->p;
    if(c == '"') {
      s->p++;
      return 0;
    }
    if(c < 0x20)
      return -1;
    if(c >= 0x80) {
      uint32_t cp;
      size_t l = mn_utf8_decode((const unsigned char *)s->p, (size_t)(s->end - s->p), &cp);
      if(!l)
        return -1;
      s->p += l;
      continue;
    }
    if(c != '\\') {
      s->p++;
      continue;
    }
    *escaped = 1;
    if(s->end - s->p < 2)
      return -1;
    c = s->p[1];
    if(c != 'u') {
      if(!strchr("\"\\/bfnrt", c) || !c)
        return -1;
      s->p += 2;
      continue;
    }
    uint32_t u, lo;
    if(s->end - s->p < 6 || !hex4(s->p + 2, &u) || u == 0 || (u >= 0xDC00 && u <= 0xDFFF))
      return -1;
    s->p += 6;
    if(u >= 0xD800 && u <= 0xDBFF) {
      if(s->end - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || !hex4(s->p + 2, &lo) ||
         lo < 0xDC00 || lo > 0xDFFF)
        return -1;
      s->p += 6;
    }
  }
  return -1;
}

/* Numbers jansson might reject as out of range (exponents, many digits)
 * are left to it. */
static int skim_number(skim *s)
{
  const unsigned char *q = s->p, *e = s->end;
  size_t digits = 0;
  if(q < e && *q == '-')
    q++;
  if(q < e && *q == '0') {
    q++;
    digits++;
  }
  else if(q < e && *q >= '1' && *q <= '9') {
    while(q < e && *q >= '0' && *q <= '9') {
      q++;
      digits++;
    }
  }
  else
    return -1;
  if(q < e && *q == '.') {
    q++;
    if(q >= e || *q < '0' || *q > '9')
      return -1;
    while(q < e && *q >= '0' && *q <= '9') {
      q++;
      digits++;
    }
  }
  if((q < e && (*q == 'e' || *q == 'E')) || digits > 15)
    return -1;
  s->p = q;
  return 0;
}

static int skim_word(skim *s, const char *w, size_t n)
{
  if((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
    return -1;
  s->p += n;
  return 0;
}

/* Paths in `mask` match the position's first `depth` segments. */
static int skim_value(skim *s, int depth, unsigned mask)
{
  if(s->p >= s->end || depth > SKIM_MAX_DEPTH)
    return -1;
  const unsigned char *start = s->p;
  int type, rc = 0;
  switch(*s->p) {
  case '{':
    type = MN_JSPAN_OBJECT;
    s->p++;
    skim_ws(s);
    if(s->p < s->end && *s->p == '}') {
      s->p++;
      break;
    }
    for(;;) {
      if(s->p >= s->end || *s->p != '"')
        return -1;
      const unsigned char *k = s->p + 1;
      int escaped = 0;
      if(skim_string(s, &escaped) || escaped)
        return -1;   /* a key with escapes could spell a path: let jansson decode it */
      size_t klen = (size_t)(s->p - 1 - k);
      unsigned sub = 0;
      for(size_t i = 0; mask && i < s->n_paths; i++) {
        skim_path *pt = &s->path[i];
        if(!(mask & (1u << i)) || pt->n <= (size_t)depth || pt->seglen[depth] != klen ||
           memcmp(pt->seg[depth], k, klen) != 0)
          continue;
        if(++pt->hits[depth] > 1)
          return -1;  /* a repeated key: jansson keeps the last one */
        sub |= 1u << i;
      }
      skim_ws(s);
      if(s->p >= s->end || *s->p != ':')
        return -1;
      s->p++;
      skim_ws(s);
      if(skim_value(s, depth + 1, sub))
        return -1;
      skim_ws(s);
      if(s->p < s->end && *s->p == ',') {
        s->p++;
        skim_ws(s);
        continue;
      }
      if(s->p < s->end && *s->p == '}') {
        s->p++;
        break;
      }
      return -1;
    }
    break;
  case '[':
    type = MN_JSPAN_ARRAY;
    s->p++;
    skim_ws(s);
    if(s->p < s->end && *s->p == ']') {
      s->p++;
      break;
    }
    for(long idx = 0;; idx++) {
      unsigned sub = 0;
      for(size_t i = 0; mask && i < s->n_paths; i++)
        if((mask & (1u << i)) && s->path[i].n > (size_t)depth && s->path[i].idx[depth] == idx)
          sub |= 1u << i;
      if(skim_value(s, depth + 1, sub))
        return -1;
      skim_ws(s);
      if(s->p < s->end && *s->p == ',') {
        s->p++;
        skim_ws(s);
        continue;
      }
      if(s->p < s->end && *s->p == ']') {
        s->p++;
        break;
      }
      return -1;
    }
    break;
  case '"': {
    int escaped = 0;
    type = MN_JSPAN_STRING;
    rc = skim_string(s, &escaped);
    break;
  }
  case 't':
    type = MN_JSPAN_TRUE;
    rc = skim_word(s, "true", 4);
    break;
  case 'f':
    type = MN_JSPAN_FALSE;
    rc = skim_word(s, "false", 5);
    break;
  case 'n':
    type = MN_JSPAN_NULL;
    rc = skim_word(s, "null", 4);
    break;
  default:
    type = MN_JSPAN_NUMBER;
    rc = skim_number(s);
    break;
  }
  if(rc)
    return -1;
  for(size_t i = 0; i < s->n_paths; i++) {
    if((mask & (1u << i)) && s->path[i].n == (size_t)depth) {
      mn_json_span *o = &s->out[i];
      o->type = type;
      o->p = (const char *)start;
      o->len = (size_t)(s->p - start);
      if(type == MN_JSPAN_STRING) {  /* between the quotes */
        o->p++;
        o->len -= 2;
      }
    }
  }
  return 0;
}

int mn_json_skim(const char *text, size_t len, const char *const *paths, size_t n_paths,
                 mn_json_span *out)
{
  skim s;
  if(n_paths > SKIM_MAX_PATHS)
    return -1;
  memset(&s, 0, sizeof s);
  s.p = (const unsigned char *)text;
  s.end = s.p + len;
  s.n_paths = n_paths;
  s.out = out;
  for(size_t i = 0; i < n_paths; i++) {
    out[i] = (mn_json_span){ MN_JSPAN_NONE, NULL, 0 };
    skim_path *pt = &s.path[i];
    const char *p = paths[i];
    while(*p) {
      if(pt->n == SKIM_MAX_SEGS)
        return -1;
      const char *dot = strchr(p, '.');
      size_t n = dot ? (size_t)(dot - p) : strlen(p);
      long idx = n > 0 && n <= 9 ? 0 : -1;
      for(size_t k = 0; k < n && idx >= 0; k++)
        idx = p[k] >= '0' && p[k] <= '9' ? idx * 10 + (p[k] - '0') : -1;
      pt->seg[pt->n] = p;
      pt->seglen[pt->n] = n;
      pt->idx[pt->n] = idx;
      pt->n++;
      p += n;
      if(*p == '.')
        p++;
    }
  }
  skim_ws(&s);
  /* jansson takes only an object or an array at the top */
  if(s.p >= s.end || (*s.p != '{' && *s.p != '['))
    return -1;
  if(skim_value(&s, 0, (1u << n_paths) - 1))
    return -1;
  skim_ws(&s);
  return s.p == s.end ? 0 : -1;
}

int mn_json_span_append(const mn_json_span *sp, mn_buf *b)
{
  const char *p = sp->p, *end = sp->p + sp->len;
  while(p < end) {
    const char *bs = memchr(p, '\\', (size_t)(end - p));
    size_t run = (size_t)((bs ? bs : end) - p);
    if(run && mn_buf_append(b, p, run))
      return -1;
    if(!bs)
      break;
    /* mn_json_skim checked every escape */
    char c = bs[1];
    p = bs + 2;
    if(c == 'u') {
      uint32_t u, lo;
      hex4((const unsigned char *)p, &u);
      p += 4;
      if(u >= 0xD800 && u <= 0xDBFF) {
        hex4((const unsigned char *)p + 2, &lo);
        u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        p += 6;
      }
      size_t before = b->len;
      put_utf8(b, u);
      if(b->len == before)
        return -1;
      continue;
    }
    char e = c == 'b' ? '\b' : c == 'f' ? '\f' : c == 'n' ? '\n' : c == 'r' ? '\r'
           : c == 't' ? '\t' : c;
    if(mn_buf_putc(b, e))
      return -1;
  }
  return 0;
}

/* ---- Writing -------------------------------------------------------------- */

/* Output is staged in a small array and appended to the mn_buf in blocks:
 * a 10-K chunk has a newline every line, and an mn_buf_append per escape
 * cost more than the escaping. */
typedef struct jw {
  mn_buf *b;
  int compact, indent, precision;
  int err;                   /* the buffer's cap was reached */
  size_t n;
  char stage[4096];
} jw;

static void jw_flush(jw *w)
{
  if(w->n && !w->err && mn_buf_append(w->b, w->stage, w->n))
    w->err = 1;
  w->n = 0;
}

static void jw_put(jw *w, const char *p, size_t n)
{
  if(w->n + n > sizeof w->stage) {
    jw_flush(w);
    if(n > sizeof w->stage) {
      if(!w->err && mn_buf_append(w->b, p, n))
        w->err = 1;
      return;
    }
  }
  memcpy(w->stage + w->n, p, n);
  w->n += n;
}

static void jw_putc(jw *w, char c)
{
  if(w->n == sizeof w->stage)
    jw_flush(w);
  w->stage[w->n++] = c;
}

/* As jansson's dump_string: short escapes, \u00XX for other control
 * characters, everything else (UTF-8 included) as it is: eight ordinary
 * bytes at a time, escapes by table, straight into the staging block, in
 * pieces that fit it even if every byte needs \u00XX. */
static void write_string(jw *w, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  /* 0: as it is; else the letter of a short escape, or 'u' */
  static const char esc[256] = {
    ['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
    [0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
    [0x06] = 'u', [0x07] = 'u', [0x0B] = 'u', [0x0E] = 'u', [0x0F] = 'u', [0x10] = 'u',
    [0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
    [0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1A] = 'u', [0x1B] = 'u', [0x1C] = 'u',
    [0x1D] = 'u', [0x1E] = 'u', [0x1F] = 'u', ['"'] = '"', ['\\'] = '\\',
  };
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  jw_putc(w, '"');
  while(p < end) {
    size_t piece = (size_t)(end - p);
    if(piece > sizeof w->stage / 6 - 1)
      piece = sizeof w->stage / 6 - 1;
    if(w->n + piece * 6 > sizeof w->stage)
      jw_flush(w);
    char *o = w->stage + w->n;
    for(const unsigned char *q = p + piece; p < q; p++) {
      while(q - p >= 8 && !word_special(p, 0)) {   /* eight ordinary bytes */
        memcpy(o, p, 8);
        o += 8;
        p += 8;
      }
      if(p == q)
        break;
      char e = esc[*p];
      if(!e) {
        *o++ = (char)*p;
        continue;
      }
      *o++ = '\\';
      *o++ = e;
      if(e == 'u') {
        *o++ = '0';
        *o++ = '0';
        *o++ = hex[*p >> 4];
        *o++ = hex[*p & 15];
      }
    }
    w->n = (size_t)(o - w->stage);
  }
  jw_putc(w, '"');
}

/* As jansson's jsonp_dtostr: %.*g, a ".0" when it would read back as an
 * integer, no '+' or leading zeros in the exponent. */
static int write_real(jw *w, double d)
{
  char t[64];
  if(!isfinite(d))
    return -1;
  int n = snprintf(t, sizeof t - 3, "%.*g", w->precision ? w->precision : 17, d);
  if(n < 0 || (size_t)n >= sizeof t - 3)
    return -1;
  for(char *p = t; *p; p++)
    if(*p == ',')
      *p = '.';   /* a locale's decimal comma */
  if(!strchr(t, '.') && !strchr(t, 'e')) {
    memcpy(t + n, ".0", 3);
    n += 2;
  }
  char *e = strchr(t, 'e');
  if(e) {
    char *start = e + 1, *end = e + 2;
    if(*start == '-')
      start++;
    while(*end == '0')
      end++;
    if(end != start) {
      memmove(start, end, strlen(end) + 1);
      n = (int)strlen(t);
    }
  }
  jw_put(w, t, (size_t)n);
  return 0;
}

/* As jansson's dump_indent: a newline and depth*indent spaces, else one
 * space unless compact (`space` set) or nothing. */
static void write_gap(jw *w, int depth, int space)
{
  if(w->indent > 0) {
    jw_putc(w, '\n');
    for(int i = 0; i < depth * w->indent; i++)
      jw_putc(w, ' ');
  }
  else if(space && !w->compact)
    jw_putc(w, ' ');
}

static int write_value(jw *w, const json_t *v, int depth)
{
  if(!v || depth > 2048)
    return -1;
  char t[32];
  switch(json_typeof(v)) {
  case JSON_OBJECT: {
    const char *key;
    json_t *m;
    int first = 1;
    jw_putc(w, '{');
    if(json_object_size(v) == 0) {
      jw_putc(w, '}');
      return 0;
    }
    write_gap(w, depth + 1, 0);
    json_object_foreach((json_t *)v, key, m) {
      if(!first) {
        jw_putc(w, ',');
        write_gap(w, depth + 1, 1);
      }
      write_string(w, key, strlen(key));
      jw_put(w, w->compact ? ":" : ": ", w->compact ? 1 : 2);
      if(write_value(w, m, depth + 1))
        return -1;
      first = 0;
    }
    write_gap(w, depth, 0);
    jw_putc(w, '}');
    return 0;
  }
  case JSON_ARRAY:
    jw_putc(w, '[');
    if(json_array_size(v) == 0) {
      jw_putc(w, ']');
      return 0;
    }
    write_gap(w, depth + 1, 0);
    for(size_t i = 0; i < json_array_size(v); i++) {
      if(i) {
        jw_putc(w, ',');
        write_gap(w, depth + 1, 1);
      }
      if(write_value(w, json_array_get(v, i), depth + 1))
        return -1;
    }
    write_gap(w, depth, 0);
    jw_putc(w, ']');
    return 0;
  case JSON_STRING:
    write_string(w, json_string_value(v), json_string_length(v));
    return 0;
  case JSON_INTEGER:
    snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    jw_put(w, t, strlen(t));
    return 0;
  case JSON_REAL:
    return write_real(w, json_real_value(v));
  case JSON_TRUE:
    jw_put(w, "true", 4);
    return 0;
  case JSON_FALSE:
    jw_put(w, "false", 5);
    return 0;
  case JSON_NULL:
    jw_put(w, "null", 4);
    return 0;
  }
  return -1;
}

static jw *jw_new(mn_buf *b, size_t flags)
{
  jw *w = mn_xmalloc(sizeof *w);
  w->b = b;
  w->compact = (flags & JSON_COMPACT) != 0;
  w->indent = (int)(flags & JSON_MAX_INDENT);
  w->precision = (int)((flags / JSON_REAL_PRECISION(1)) & 31);
  w->err = 0;
  w->n = 0;
  return w;
}

/* Flush and free w; -1 if rc is, or if the buffer's cap was reached. */
static int jw_end(jw *w, int rc)
{
  jw_flush(w);
  rc = rc || w->err ? -1 : 0;
  free(w);
  return rc;
}

int mn_json_write(mn_buf *b, const json_t *v, size_t flags)
{
  if(flags & ~(size_t)(JSON_COMPACT | JSON_MAX_INDENT | JSON_REAL_PRECISION(31)))
    return -1;
  jw *w = jw_new(b, flags);
  return jw_end(w, write_value(w, v, 0));
}

int mn_json_write_string(mn_buf *b, const char *s, size_t n)
{
  jw *w = jw_new(b, 0);
  write_string(w, s, n);
  return jw_end(w, 0);
}

uint64_t mn_json_span_u64(const mn_json_span *sp)
{
  char t[40];
  if(sp->type != MN_JSPAN_NUMBER || sp->len >= sizeof t)
    return 0;
  memcpy(t, sp->p, sp->len);
  t[sp->len] = '\0';
  if(strchr(t, '.')) {  /* a real, as mn_json_path_u64 takes one */
    double d = strtod(t, NULL);
    return (d > 0 && d < 1.8e19) ? (uint64_t)d : 0;
  }
  long long v = strtoll(t, NULL, 10);
  return v > 0 ? (uint64_t)v : 0;
}
