/* Scripted rules, templates and the extractive brain.
 *
 * The first rule whose `when` matches a request decides its reply (or
 * fault); with no rule the "brain" answers from the request's own text:
 * the sentence around the first match of the `extract` regex, so an
 * end-to-end test can check which facts reached which model.
 */
#include "fakellm.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SENTENCE_MAX 400       /* bytes of a {{sentence}} / brain answer */
#define LAST_MAX_CHARS 200     /* {{last}} */

#define ROUTE_BIT(r) (1u << (r))
#define CHAT_ROUTES (ROUTE_BIT(MN_FK_OPENAI) | ROUTE_BIT(MN_FK_OLLAMA) | \
                     ROUTE_BIT(MN_FK_ANTHROPIC) | ROUTE_BIT(MN_FK_GEMINI))
#define ALL_ROUTES (CHAT_ROUTES | ROUTE_BIT(MN_FK_EMBED))

typedef struct strlist {
  char **v;
  size_t n;
} strlist;

typedef struct rule {
  unsigned routes;
  strlist contains, last_contains, not_contains;
  int json, stream;        /* -1: either */
  char *model;
  long times;              /* -1: no limit */
  long used;
  mn_fk_fault fault;
  int status;
  double retry_after, stall_s, delay_s;
  strlist replies;
  int length;
  int ignore_stream;
  long u_prompt, u_completion, u_cached;   /* -1: computed */
  char *raw_body, *raw_ctype;   /* "raw": these exact bytes, or NULL */
  int raw_status;
} rule;

typedef struct rulelist {
  rule *v;
  size_t n;
} rulelist;

typedef struct extractor {
  int set;
  regex_t re;
} extractor;

struct mn_fk_rules {
  rulelist script, runtime;
  extractor script_re, runtime_re;
};

/* ---- parsing ---------------------------------------------------------- */

static void strlist_free(strlist *l)
{
  for(size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static void rule_free(rule *r)
{
  strlist_free(&r->contains);
  strlist_free(&r->last_contains);
  strlist_free(&r->not_contains);
  strlist_free(&r->replies);
  free(r->model);
  free(r->raw_body);
  free(r->raw_ctype);
}

static void rulelist_free(rulelist *l)
{
  for(size_t i = 0; i < l->n; i++)
    rule_free(&l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = 0;
}

static char *errf(const char *fmt, const char *a, const char *b)
{
  size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
  char *s = mn_fk_xmalloc(n);
  snprintf(s, n, fmt, a, b);
  return s;
}

/* A string, or an array of strings. */
static int get_strlist(const json_t *j, strlist *out)
{
  if(json_is_string(j)) {
    out->v = mn_fk_xmalloc(sizeof *out->v);
    out->v[0] = mn_fk_xstrdup(json_string_value(j));
    out->n = 1;
    return 0;
  }
  if(!json_is_array(j) || json_array_size(j) == 0)
    return -1;
  out->v = mn_fk_xcalloc(json_array_size(j), sizeof *out->v);
  for(size_t i = 0; i < json_array_size(j); i++) {
    const json_t *e = json_array_get(j, i);
    if(!json_is_string(e))
      return -1;
    out->v[out->n++] = mn_fk_xstrdup(json_string_value(e));
  }
  return 0;
}

static int parse_routes(const char *s, unsigned *out)
{
  static const char *const names[] = { "openai", "ollama", "anthropic",
                                       "gemini", "embed" };
  unsigned m = 0;
  const char *p = s;
  while(*p) {
    const char *e = strchr(p, '|');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    int ok = 0;
    if(n == 3 && strncmp(p, "any", 3) == 0) {
      m |= ALL_ROUTES;
      ok = 1;
    }
    else if(n == 4 && strncmp(p, "chat", 4) == 0) {
      m |= CHAT_ROUTES;
      ok = 1;
    }
    for(unsigned i = 0; i < MN_FK_NROUTES && !ok; i++)
      if(strlen(names[i]) == n && strncmp(p, names[i], n) == 0) {
        m |= ROUTE_BIT(i);
        ok = 1;
      }
    if(!ok)
      return -1;
    p += n;
    if(*p == '|')
      p++;
  }
  if(!m)
    return -1;
  *out = m;
  return 0;
}

int mn_fk_fault_parse(const char *s, mn_fk_fault *fault, int *status)
{
  static const struct { const char *name; mn_fk_fault f; } kinds[] = {
    { "reset", MN_FK_F_RESET }, { "stall", MN_FK_F_STALL },
    { "stall_mid", MN_FK_F_STALL_MID }, { "truncate", MN_FK_F_TRUNCATE },
    { "invalid_json", MN_FK_F_INVALID_JSON }, { "huge", MN_FK_F_HUGE },
  };
  for(size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if(strcmp(s, kinds[i].name) == 0) {
      *fault = kinds[i].f;
      *status = 0;
      return 0;
    }
  if(strlen(s) == 3 && isdigit((unsigned char)s[0]) &&
     isdigit((unsigned char)s[1]) && isdigit((unsigned char)s[2])) {
    int st = atoi(s);
    if(st >= 400 && st <= 599) {
      *fault = MN_FK_F_STATUS;
      *status = st;
      return 0;
    }
  }
  return -1;
}

static int parse_fault(const json_t *j, rule *r)
{
  char buf[32];
  const char *s;
  if(json_is_integer(j)) {
    snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
    s = buf;
  }
  else if(json_is_string(j))
    s = json_string_value(j);
  else
    return -1;
  return mn_fk_fault_parse(s, &r->fault, &r->status);
}

static int get_number(const json_t *j, double *out)
{
  if(!json_is_number(j) || json_number_value(j) < 0)
    return -1;
  *out = json_number_value(j);
  return 0;
}

static int get_count(const json_t *j, long *out)
{
  if(!json_is_integer(j) || json_integer_value(j) < 0)
    return -1;
  *out = (long)json_integer_value(j);
  return 0;
}

static char *parse_when(const json_t *w, rule *r)
{
  const char *k;
  json_t *v;
  if(!json_is_object(w))
    return mn_fk_xstrdup("\"when\" must be an object");
  json_object_foreach((json_t *)w, k, v) {
    int bad = 0;
    if(strcmp(k, "route") == 0)
      bad = !json_is_string(v) || parse_routes(json_string_value(v), &r->routes);
    else if(strcmp(k, "contains") == 0)
      bad = get_strlist(v, &r->contains);
    else if(strcmp(k, "last_contains") == 0)
      bad = get_strlist(v, &r->last_contains);
    else if(strcmp(k, "not_contains") == 0)
      bad = get_strlist(v, &r->not_contains);
    else if(strcmp(k, "json") == 0) {
      bad = !json_is_boolean(v);
      r->json = json_is_true(v);
    }
    else if(strcmp(k, "stream") == 0) {
      bad = !json_is_boolean(v);
      r->stream = json_is_true(v);
    }
    else if(strcmp(k, "model") == 0) {
      bad = !json_is_string(v);
      if(!bad)
        r->model = mn_fk_xstrdup(json_string_value(v));
    }
    else
      return errf("unknown key \"when.%s\"%s", k, "");
    if(bad)
      return errf("bad value for \"when.%s\"%s", k, "");
  }
  return NULL;
}

static char *parse_rule(const json_t *j, rule *r)
{
  memset(r, 0, sizeof *r);
  r->routes = CHAT_ROUTES;
  r->json = r->stream = -1;
  r->times = -1;
  r->retry_after = -1;
  r->stall_s = -1;
  r->u_prompt = r->u_completion = r->u_cached = -1;
  if(!json_is_object(j))
    return mn_fk_xstrdup("a rule must be an object");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)j, k, v) {
    int bad = 0;
    if(strcmp(k, "when") == 0) {
      char *e = parse_when(v, r);
      if(e)
        return e;
    }
    else if(strcmp(k, "times") == 0)
      bad = get_count(v, &r->times);
    else if(strcmp(k, "fault") == 0)
      bad = parse_fault(v, r);
    else if(strcmp(k, "retry_after") == 0)
      bad = get_number(v, &r->retry_after);
    else if(strcmp(k, "stall_ms") == 0) {
      bad = get_number(v, &r->stall_s);
      r->stall_s /= 1000;
    }
    else if(strcmp(k, "delay_ms") == 0) {
      bad = get_number(v, &r->delay_s);
      r->delay_s /= 1000;
    }
    else if(strcmp(k, "reply") == 0) {
      bad = !json_is_string(v) || r->replies.n;
      if(!bad)
        get_strlist(v, &r->replies);
    }
    else if(strcmp(k, "replies") == 0)
      bad = !json_is_array(v) || r->replies.n || get_strlist(v, &r->replies);
    else if(strcmp(k, "raw") == 0) {
      const char *body = json_string_value(json_object_get(v, "body"));
      json_t *st = json_object_get(v, "status");
      const char *ct = json_string_value(json_object_get(v, "content_type"));
      const char *rk;
      json_t *rv;
      bad = !json_is_object(v) || !body || (st && (!json_is_integer(st) ||
            json_integer_value(st) < 100 || json_integer_value(st) > 599)) ||
            (json_object_get(v, "content_type") && !ct);
      if(!bad)
        json_object_foreach(v, rk, rv)
          bad |= strcmp(rk, "body") && strcmp(rk, "status") && strcmp(rk, "content_type");
      if(!bad) {
        r->raw_body = mn_fk_xstrdup(body);
        r->raw_ctype = mn_fk_xstrdup(ct ? ct : "application/json");
        r->raw_status = st ? (int)json_integer_value(st) : 200;
      }
    }
    else if(strcmp(k, "ignore_stream") == 0) {
      bad = !json_is_boolean(v);
      r->ignore_stream = json_is_true(v);
    }
    else if(strcmp(k, "finish_reason") == 0) {
      const char *f = json_string_value(v);
      bad = !f || (strcmp(f, "stop") != 0 && strcmp(f, "length") != 0);
      r->length = f && strcmp(f, "length") == 0;
    }
    else if(strcmp(k, "usage") == 0) {
      const char *uk;
      json_t *uv;
      bad = !json_is_object(v);
      if(!bad)
        json_object_foreach(v, uk, uv) {
          long *dst = strcmp(uk, "prompt") == 0 ? &r->u_prompt
                    : strcmp(uk, "completion") == 0 ? &r->u_completion
                    : strcmp(uk, "cached") == 0 ? &r->u_cached : NULL;
          if(!dst || get_count(uv, dst))
            return errf("bad \"usage.%s\" (want prompt, completion, cached >= 0)%s",
                        uk, "");
        }
    }
    else
      return errf("unknown key \"%s\"%s", k, "");
    if(bad)
      return errf("bad value for \"%s\"%s", k, "");
  }
  return NULL;
}

static char *parse_rules(const json_t *arr, rulelist *out)
{
  if(!json_is_array(arr))
    return mn_fk_xstrdup("\"rules\" must be an array");
  out->v = mn_fk_xcalloc(json_array_size(arr), sizeof *out->v);
  out->n = 0;
  for(size_t i = 0; i < json_array_size(arr); i++) {
    char *e = parse_rule(json_array_get(arr, i), &out->v[out->n]);
    if(e) {
      rule_free(&out->v[out->n]);
      rulelist_free(out);
      char idx[24];
      snprintf(idx, sizeof idx, "%zu", i);
      char *m = errf("rule %s: %s", idx, e);
      free(e);
      return m;
    }
    out->n++;
  }
  return NULL;
}

static char *set_extract(extractor *x, const json_t *re, const json_t *flags)
{
  if(!json_is_string(re))
    return mn_fk_xstrdup("\"extract\" must be a string (a POSIX extended regex)");
  int cflags = REG_EXTENDED | REG_NEWLINE;
  if(flags) {
    const char *f = json_string_value(flags);
    if(!f || (strcmp(f, "i") != 0 && strcmp(f, "") != 0))
      return mn_fk_xstrdup("\"extract_flags\" may only be \"i\"");
    if(strcmp(f, "i") == 0)
      cflags |= REG_ICASE;
  }
  regex_t tmp;
  int rc = regcomp(&tmp, json_string_value(re), cflags);
  if(rc != 0) {
    char msg[128];
    regerror(rc, &tmp, msg, sizeof msg);
    return errf("bad \"extract\" regex: %s%s", msg, "");
  }
  if(x->set)
    regfree(&x->re);
  x->re = tmp;
  x->set = 1;
  return NULL;
}

/* {"rules": [...], "extract": "...", "extract_flags": "i"} or [...]. */
static char *parse_script(const json_t *j, rulelist *rules, extractor *x)
{
  if(json_is_array(j))
    return parse_rules(j, rules);
  if(!json_is_object(j))
    return mn_fk_xstrdup("want a JSON object {\"rules\": [...], \"extract\": \"...\"}");
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)j, k, v) {
    if(strcmp(k, "rules") != 0 && strcmp(k, "extract") != 0 &&
       strcmp(k, "extract_flags") != 0)
      return errf("unknown key \"%s\"%s", k, "");
  }
  json_t *re = json_object_get(j, "extract");
  if(re) {
    char *e = set_extract(x, re, json_object_get(j, "extract_flags"));
    if(e)
      return e;
  }
  json_t *arr = json_object_get(j, "rules");
  if(arr)
    return parse_rules(arr, rules);
  return NULL;
}

mn_fk_rules *mn_fk_rules_new(void)
{
  return mn_fk_xcalloc(1, sizeof(mn_fk_rules));
}

mn_fk_rules *mn_fk_rules_load(const char *path, char **err)
{
  json_error_t je;
  json_t *j = json_load_file(path, 0, &je);
  if(!j) {
    if(je.line < 1) {   /* could not be read at all */
      *err = errf("%s: %s", path, je.text);
      return NULL;
    }
    char pos[32];
    snprintf(pos, sizeof pos, "line %d", je.line);
    char *a = errf("%s: %s", path, pos);
    *err = errf("%s: %s", a, je.text);
    free(a);
    return NULL;
  }
  mn_fk_rules *r = mn_fk_rules_new();
  char *e = parse_script(j, &r->script, &r->script_re);
  json_decref(j);
  if(e) {
    *err = errf("%s: %s", path, e);
    free(e);
    mn_fk_rules_free(r);
    return NULL;
  }
  return r;
}

void mn_fk_rules_free(mn_fk_rules *r)
{
  if(!r)
    return;
  rulelist_free(&r->script);
  rulelist_free(&r->runtime);
  if(r->script_re.set)
    regfree(&r->script_re.re);
  if(r->runtime_re.set)
    regfree(&r->runtime_re.re);
  free(r);
}

int mn_fk_rules_add_runtime(mn_fk_rules *r, const json_t *j, char **err)
{
  rulelist add = { 0 };
  extractor x = { 0 };
  *err = parse_script(j, &add, &x);
  if(*err) {
    rulelist_free(&add);
    if(x.set)
      regfree(&x.re);
    return -1;
  }
  if(x.set) {
    if(r->runtime_re.set)
      regfree(&r->runtime_re.re);
    r->runtime_re = x;
  }
  /* prepend: the newest rules are tried first */
  rule *v = mn_fk_xcalloc(add.n + r->runtime.n, sizeof *v);
  if(add.n)
    memcpy(v, add.v, add.n * sizeof *v);
  if(r->runtime.n)
    memcpy(v + add.n, r->runtime.v, r->runtime.n * sizeof *v);
  free(add.v);
  free(r->runtime.v);
  r->runtime.v = v;
  r->runtime.n += add.n;
  return 0;
}

void mn_fk_rules_reset(mn_fk_rules *r)
{
  rulelist_free(&r->runtime);
  if(r->runtime_re.set) {
    regfree(&r->runtime_re.re);
    r->runtime_re.set = 0;
  }
  for(size_t i = 0; i < r->script.n; i++)
    r->script.v[i].used = 0;
}

/* ---- matching --------------------------------------------------------- */

static int in_any(const mn_fk_chat *c, const char *needle)
{
  for(size_t i = 0; i < c->n_texts; i++)
    if(strstr(c->texts[i], needle))
      return 1;
  return 0;
}

static int rule_matches(const rule *r, const mn_fk_chat *c)
{
  if(r->times >= 0 && r->used >= r->times)
    return 0;
  if(!(r->routes & ROUTE_BIT(c->route)))
    return 0;
  if(r->json >= 0 && r->json != (c->json != 0))
    return 0;
  if(r->stream >= 0 && r->stream != (c->stream != 0))
    return 0;
  if(r->model && (!c->model || strcmp(r->model, c->model) != 0))
    return 0;
  for(size_t i = 0; i < r->contains.n; i++)
    if(!in_any(c, r->contains.v[i]))
      return 0;
  for(size_t i = 0; i < r->last_contains.n; i++)
    if(!strstr(c->last_user, r->last_contains.v[i]))
      return 0;
  for(size_t i = 0; i < r->not_contains.n; i++)
    if(in_any(c, r->not_contains.v[i]))
      return 0;
  return 1;
}

/* ---- the extract regex ------------------------------------------------ */

typedef struct found {
  int ok;
  char *match;
  char *sentence;
} found;

static int is_blank(char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
         ch == '\v';
}

static int ends_sentence(const char *t, size_t n, size_t i)
{
  return (t[i] == '.' || t[i] == '!' || t[i] == '?') &&
         (i + 1 == n || is_blank(t[i + 1]));
}

/* The sentence around t[so..eo): from after the previous sentence end or
 * paragraph break to the next one; if that is too long, the line; if
 * still too long, a window around the match. */
static char *sentence_around(const char *t, size_t n, size_t so, size_t eo)
{
  size_t s = so, e = eo;
  while(s > 0) {
    if(t[s - 1] == '\f' || (t[s - 1] == '\n' && s >= 2 && t[s - 2] == '\n'))
      break;
    if(is_blank(t[s - 1]) && s >= 2 && ends_sentence(t, n, s - 2))
      break;
    s--;
  }
  while(e < n) {
    if(ends_sentence(t, n, e)) {
      e++;
      break;
    }
    if(t[e] == '\f' || (t[e] == '\n' && e + 1 < n && t[e + 1] == '\n'))
      break;
    e++;
  }
  if(e - s > SENTENCE_MAX) {
    size_t ls = so, le = eo;
    while(ls > 0 && t[ls - 1] != '\n')
      ls--;
    while(le < n && t[le] != '\n')
      le++;
    if(ls < s)
      ls = s;
    if(le > e)
      le = e;
    s = ls;
    e = le;
    if(e - s > SENTENCE_MAX) {
      size_t half = (SENTENCE_MAX - (eo - so < SENTENCE_MAX ? eo - so : 0)) / 2;
      if(so - s > half)
        s = so - half;
      if(e - eo > half)
        e = eo + half;
      /* land on character starts */
      while(s < so && ((unsigned char)t[s] & 0xc0) == 0x80)
        s++;
      while(e < n && e > eo && ((unsigned char)t[e] & 0xc0) == 0x80)
        e--;
    }
  }
  while(s < e && is_blank(t[s]))
    s++;
  while(e > s && is_blank(t[e - 1]))
    e--;
  return mn_fk_xstrndup(t + s, e - s);
}

static void find_extract(const extractor *x, const mn_fk_chat *c, found *f)
{
  memset(f, 0, sizeof *f);
  if(!x || !x->set)
    return;
  for(size_t i = 0; i < c->n_texts; i++) {
    regmatch_t m[1];
    if(regexec(&x->re, c->texts[i], 1, m, 0) != 0)
      continue;
    const char *t = c->texts[i];
    size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
    f->ok = 1;
    f->match = mn_fk_xstrndup(t + so, eo - so);
    f->sentence = sentence_around(t, strlen(t), so, eo);
    return;
  }
}

static void found_free(found *f)
{
  free(f->match);
  free(f->sentence);
}

/* ---- templates -------------------------------------------------------- */

static char *json_escaped(const char *s)
{
  json_t *j = json_string(s);
  char *d = mn_fk_dump(j);
  json_decref(j);
  size_t n = strlen(d);
  memmove(d, d + 1, n - 2);   /* drop the quotes */
  d[n - 2] = '\0';
  return d;
}

static char *last_cut(const char *s)
{
  size_t chars = 0, i = 0;
  while(s[i] && chars < LAST_MAX_CHARS) {
    i++;
    while(((unsigned char)s[i] & 0xc0) == 0x80)
      i++;
    chars++;
  }
  return mn_fk_xstrndup(s, i);
}

static char *expand(const char *tpl, const found *f, const mn_fk_chat *c)
{
  mn_fk_buf b = { 0 };
  const char *p = tpl;
  while(*p) {
    const char *open = strstr(p, "{{");
    if(!open) {
      mn_fk_buf_puts(&b, p);
      break;
    }
    mn_fk_buf_add(&b, p, (size_t)(open - p));
    const char *close = strstr(open + 2, "}}");
    if(!close) {
      mn_fk_buf_puts(&b, open);
      break;
    }
    size_t n = (size_t)(close - open - 2);
    const char *name = open + 2;
    const char *match = f->ok ? f->match : "";
    const char *sent = f->ok ? f->sentence : "";
    char *tmp = NULL;
    if(n == 5 && strncmp(name, "match", 5) == 0)
      mn_fk_buf_puts(&b, match);
    else if(n == 8 && strncmp(name, "sentence", 8) == 0)
      mn_fk_buf_puts(&b, sent);
    else if(n == 10 && strncmp(name, "match_json", 10) == 0)
      mn_fk_buf_puts(&b, tmp = json_escaped(match));
    else if(n == 13 && strncmp(name, "sentence_json", 13) == 0)
      mn_fk_buf_puts(&b, tmp = json_escaped(sent));
    else if(n == 4 && strncmp(name, "last", 4) == 0)
      mn_fk_buf_puts(&b, tmp = last_cut(c->last_user));
    else if(n == 9 && strncmp(name, "last_json", 9) == 0) {
      char *cut = last_cut(c->last_user);
      mn_fk_buf_puts(&b, tmp = json_escaped(cut));
      free(cut);
    }
    else
      mn_fk_buf_add(&b, open, n + 4);   /* not ours: keep it */
    free(tmp);
    p = close + 2;
  }
  return mn_fk_buf_steal(&b, NULL);
}

/* ---- answers ---------------------------------------------------------- */

static char *brain(const mn_fk_chat *c, const extractor *x, const found *f)
{
  if(!x || !x->set)
    return mn_fk_xstrdup("OK");
  if(!c->json)
    return mn_fk_xstrdup(f->ok ? f->sentence : "I could not find that.");
  json_t *j;
  if(f->ok) {
    size_t n = strlen(f->match) + 48;
    char *expl = mn_fk_xmalloc(n);
    snprintf(expl, n, "The excerpt states \"%s\".", f->match);
    j = json_pack("{s:s,s:s,s:s}", "explanation", expl, "citation",
                  f->sentence, "answer", f->sentence);
    free(expl);
  }
  else
    j = json_pack("{s:s,s:n,s:n}", "explanation", "not in this excerpt",
                  "citation", "answer");
  char *s = mn_fk_dump(j);
  json_decref(j);
  return s;
}

void mn_fk_rules_answer(mn_fk_rules *r, const mn_fk_chat *c, mn_fk_answer *out)
{
  memset(out, 0, sizeof *out);
  out->retry_after = -1;
  out->stall_s = -1;
  out->rule = -1;
  const extractor *x = r->runtime_re.set ? &r->runtime_re
                     : r->script_re.set ? &r->script_re : NULL;
  rule *hit = NULL;
  size_t total = r->runtime.n + r->script.n;
  for(size_t i = 0; i < total && !hit; i++) {
    rule *cand = i < r->runtime.n ? &r->runtime.v[i]
                                  : &r->script.v[i - r->runtime.n];
    if(rule_matches(cand, c)) {
      hit = cand;
      out->rule = (int)i;
    }
  }
  found f;
  find_extract(x, c, &f);
  if(hit) {
    long use = hit->used++;
    if(hit->replies.n) {
      size_t k = (size_t)use < hit->replies.n ? (size_t)use : hit->replies.n - 1;
      out->text = expand(hit->replies.v[k], &f, c);
    }
    out->fault = hit->fault;
    out->status = hit->status;
    out->retry_after = hit->retry_after;
    out->stall_s = hit->stall_s;
    out->delay_s = hit->delay_s;
    out->length = hit->length;
    out->ignore_stream = hit->ignore_stream;
    out->raw_body = hit->raw_body;
    out->raw_ctype = hit->raw_ctype;
    out->raw_status = hit->raw_status;
  }
  if(!out->text)
    out->text = c->route == MN_FK_EMBED ? mn_fk_xstrdup("") : brain(c, x, &f);
  found_free(&f);
  out->prompt = (long)((c->prompt_bytes + 3) / 4);
  out->completion = c->route == MN_FK_EMBED ? 0 : (long)((strlen(out->text) + 3) / 4);
  out->cached = 0;
  if(hit) {
    if(hit->u_prompt >= 0)
      out->prompt = hit->u_prompt;
    if(hit->u_completion >= 0)
      out->completion = hit->u_completion;
    if(hit->u_cached >= 0)
      out->cached = hit->u_cached;
  }
}

void mn_fk_answer_free(mn_fk_answer *a)
{
  free(a->text);
  a->text = NULL;
}
