#include "llm/prices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

#define PRICES_MAX_BYTES ((size_t)4 << 20)

typedef struct entry {
  char *provider;   /* "" when the key had no provider part */
  char *model;
  mn_price price;
} entry;

struct mn_prices {
  entry *items;
  size_t n, cap;
  char *as_of;
};

double mn_cost_usd(const mn_usage *u, double in_per_m, double cached_in_per_m,
                   double out_per_m)
{
  uint64_t cached = u->cached_prompt_tokens;
  if(cached > u->prompt_tokens)
    cached = u->prompt_tokens;   /* a provider quirk must not bill negatively */
  return ((double)(u->prompt_tokens - cached) * in_per_m +
          (double)cached * cached_in_per_m +
          (double)u->completion_tokens * out_per_m) / 1e6;
}

double mn_price_cost(const mn_price *p, const mn_usage *u)
{
  if(!p)
    return -1.0;
  return mn_cost_usd(u, p->input, p->cached_input, p->output);
}

void mn_prices_free(mn_prices *t)
{
  if(!t)
    return;
  for(size_t i = 0; i < t->n; i++) {
    free(t->items[i].provider);
    free(t->items[i].model);
  }
  free(t->items);
  free(t->as_of);
  free(t);
}

static int price_field(json_t *o, const char *field, int required, double *out,
                       const char *name, const char *key, char **errmsg)
{
  json_t *v = json_object_get(o, field);
  if(!v) {
    if(required) {
      *errmsg = mn_xasprintf("%s: \"%s\" lacks \"%s\"", name, key, field);
      return MN_EPARSE;
    }
    return 1;   /* absent, optional */
  }
  if(!json_is_number(v) || json_number_value(v) < 0) {
    *errmsg = mn_xasprintf("%s: \"%s\": \"%s\" must be a number >= 0", name,
                           key, field);
    return MN_EPARSE;
  }
  *out = json_number_value(v);
  return MN_OK;
}

int mn_prices_parse(mn_prices **out, const char *text, size_t len,
                    const char *name, char **errmsg)
{
  char *jerr = NULL;
  int rc = MN_OK;
  *out = NULL;
  *errmsg = NULL;
  json_t *root = mn_json_loadb(text, len, &jerr);
  if(!root) {
    *errmsg = mn_xasprintf("%s: not valid JSON: %s", name, jerr);
    free(jerr);
    return MN_EPARSE;
  }
  json_t *models = json_object_get(root, "models");
  if(!json_is_object(root) || !json_is_object(models)) {
    *errmsg = mn_xasprintf("%s: expected an object with a \"models\" object", name);
    json_decref(root);
    return MN_EPARSE;
  }
  mn_prices *t = mn_xcalloc(1, sizeof *t);
  const char *as_of = mn_json_str(root, "as_of");
  t->as_of = mn_xstrdup(as_of ? as_of : "");
  const char *key;
  json_t *val;
  json_object_foreach(models, key, val) {
    mn_price p = { 0, 0, 0 };
    if(!json_is_object(val)) {
      *errmsg = mn_xasprintf("%s: \"%s\" must be an object of prices", name, key);
      rc = MN_EPARSE;
      break;
    }
    if((rc = price_field(val, "input", 1, &p.input, name, key, errmsg)) < 0 ||
       (rc = price_field(val, "output", 1, &p.output, name, key, errmsg)) < 0)
      break;
    rc = price_field(val, "cached_input", 0, &p.cached_input, name, key, errmsg);
    if(rc < 0)
      break;
    if(rc == 1)
      p.cached_input = p.input;
    rc = MN_OK;
    const char *colon = strchr(key, ':');
    if(!*key || (colon && !colon[1])) {
      *errmsg = mn_xasprintf("%s: bad key \"%s\" (want \"provider:model\")", name, key);
      rc = MN_EPARSE;
      break;
    }
    MN_GROW(t->items, t->cap, t->n + 1);
    entry *e = &t->items[t->n++];
    e->provider = colon ? mn_xstrndup(key, (size_t)(colon - key)) : mn_xstrdup("");
    e->model = mn_xstrdup(colon ? colon + 1 : key);
    e->price = p;
  }
  json_decref(root);
  if(rc) {
    mn_prices_free(t);
    return rc;
  }
  *out = t;
  return MN_OK;
}

int mn_prices_load(mn_prices **out, const char *path, char **errmsg)
{
  *out = NULL;
  *errmsg = NULL;
  FILE *f = fopen(path, "rb");
  if(!f) {
    int e = errno;
    *errmsg = mn_xasprintf("%s: %s", path, strerror(e));
    return e == ENOENT ? MN_ENOTFOUND : MN_EIO;
  }
  mn_buf b = MN_BUF_INIT(PRICES_MAX_BYTES);
  char chunk[8192];
  size_t r;
  int rc = MN_OK;
  while((r = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if(mn_buf_append(&b, chunk, r) != 0) {
      *errmsg = mn_xasprintf("%s: larger than %zu bytes", path, PRICES_MAX_BYTES);
      rc = MN_ELIMIT;
      break;
    }
  }
  if(!rc && ferror(f)) {
    *errmsg = mn_xasprintf("%s: read error", path);
    rc = MN_EIO;
  }
  fclose(f);
  if(!rc)
    rc = mn_prices_parse(out, mn_buf_str(&b), b.len, path, errmsg);
  mn_buf_free(&b);
  return rc;
}

/* Compare names: ASCII case-insensitive, '.' equal to '-'. */
static int name_ch(char c)
{
  if(c >= 'A' && c <= 'Z')
    return c - 'A' + 'a';
  if(c == '.')
    return '-';
  return (unsigned char)c;
}

static int name_eq(const char *a, const char *b)
{
  while(*a && *b && name_ch(*a) == name_ch(*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

/* Length of `prefix` if it is a prefix of `s` ending at a boundary, else 0. */
static size_t name_prefix(const char *prefix, const char *s)
{
  size_t n = 0;
  while(prefix[n] && s[n] && name_ch(prefix[n]) == name_ch(s[n]))
    n++;
  if(prefix[n] != '\0' || n == 0)
    return 0;
  char next = s[n];
  if(next == '\0' || next == '-' || next == ':' || next == '@' || next == '/' ||
     next == '.')
    return n;
  return 0;
}

static const mn_price *lookup_model(const mn_prices *t, const char *provider,
                                    const char *model)
{
  /* same model under this provider, then under any */
  for(int pass = 0; pass < 2; pass++) {
    for(size_t i = 0; i < t->n; i++) {
      const entry *e = &t->items[i];
      if(pass == 0 && strcmp(e->provider, provider) != 0)
        continue;
      if(name_eq(e->model, model))
        return &e->price;
    }
  }
  /* longest prefix, this provider first */
  for(int pass = 0; pass < 2; pass++) {
    const entry *best = NULL;
    size_t best_len = 0;
    for(size_t i = 0; i < t->n; i++) {
      const entry *e = &t->items[i];
      if(pass == 0 && strcmp(e->provider, provider) != 0)
        continue;
      size_t l = name_prefix(e->model, model);
      if(l > best_len) {
        best = e;
        best_len = l;
      }
    }
    if(best)
      return &best->price;
  }
  return NULL;
}

const mn_price *mn_prices_lookup(const mn_prices *t, const char *provider,
                                 const char *model)
{
  if(!t || !model || !*model)
    return NULL;
  if(!provider)
    provider = "";
  const mn_price *p = lookup_model(t, provider, model);
  if(p)
    return p;
  /* "openai/gpt-4o" (OpenRouter) -> "gpt-4o" */
  const char *slash = strrchr(model, '/');
  if(slash && slash[1])
    return lookup_model(t, provider, slash + 1);
  return NULL;
}

const char *mn_prices_as_of(const mn_prices *t)
{
  return t && t->as_of ? t->as_of : "";
}

size_t mn_prices_count(const mn_prices *t)
{
  return t ? t->n : 0;
}
