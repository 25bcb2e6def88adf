/* The privacy shield's handle: the finders propose spans, the longest win,
 * and each accepted value gets its stable placeholder from the value table
 * (an index of "kind:key" to entry in a jansson object, numbers per kind).
 *
 * Redaction runs in three steps. Finders propose spans (start, end, kind);
 * spans are accepted longest first (ties by kind rank) into a byte mask so
 * that no two overlap; then values that were found only thanks to a nearby
 * keyword (IDs, SSNs, dates of birth) are looked for again without the
 * keyword, so "MRN: 00482913" also hides a later bare "00482913". */
#include "privacy/internal.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/str.h"

static const char *const kind_tag[K_COUNT] = {
  "PERSON", "EMAIL", "PHONE", "SSN", "CARD", "IP", "DOB", "ADDRESS", "ID"
};
static const char *const kind_name[K_COUNT] = {
  "person", "email", "phone", "ssn", "card", "ip", "dob", "address", "id"
};
/* When two spans of the same length overlap, the lower rank wins: the more
 * specific shape (an SSN or a card) beats the keyword-found ID. */
static const int kind_rank[K_COUNT + 1] = {
  [K_KEEP] = 0, [K_SSN] = 1, [K_CARD] = 2, [K_EMAIL] = 3, [K_IP] = 4,
  [K_PHONE] = 5, [K_DOB] = 6, [K_ID] = 7, [K_ADDRESS] = 8, [K_PERSON] = 9
};

/* ---- the value table ---------------------------------------------------- */

/* The index key of a value: "kind:key". */
static char *index_key(int kind, const char *key, size_t *len)
{
  char *k = mn_xasprintf("%d:%s", kind, key);
  *len = strlen(k);
  return k;
}

long mn_pv_entry_find(const mn_privacy *p, int kind, const char *key)
{
  size_t len;
  char *k = index_key(kind, key, &len);
  json_t *v = json_object_getn(p->index, k, len);
  free(k);
  return v ? (long)json_integer_value(v) : -1;
}

static long *slot_ref(mn_privacy *p, int kind, unsigned num)
{
  kind_slots *ks = &p->slots[kind];
  if(num >= ks->cap) {
    size_t old = ks->cap;
    size_t cap = old ? old : 16;
    while(cap <= num)
      cap *= 2;
    ks->slot = mn_xrealloc(ks->slot, cap * sizeof *ks->slot);
    memset(ks->slot + old, 0, (cap - old) * sizeof *ks->slot);
    ks->cap = cap;
  }
  return &ks->slot[num];
}

static const entry *entry_by_num(const mn_privacy *p, int kind, unsigned long num)
{
  const kind_slots *ks = &p->slots[kind];
  if(num >= ks->cap || ks->slot[num] <= 0)
    return NULL;
  return &p->ent[ks->slot[num] - 1];
}

/* Keep a number seen in the input from ever being handed out. */
static void reserve_num(mn_privacy *p, int kind, unsigned long num)
{
  if(num == 0 || num > 1000000)  /* far beyond any count we reach */
    return;
  long *s = slot_ref(p, kind, (unsigned)num);
  if(*s == 0)
    *s = SLOT_RESERVED;
}

/* The entry for (kind, key), made with `value` (len bytes) if new. */
static entry *get_entry(mn_privacy *p, int kind, const char *key, const char *value,
                        size_t len)
{
  long i = mn_pv_entry_find(p, kind, key);
  if(i >= 0)
    return &p->ent[i];
  kind_slots *ks = &p->slots[kind];
  unsigned num = ks->next ? ks->next : 1;
  while(*slot_ref(p, kind, num) != 0)
    num++;
  ks->next = num + 1;
  MN_GROW(p->ent, p->ent_cap, p->n_ent + 1);
  entry *e = &p->ent[p->n_ent];
  *e = (entry){ kind, num, mn_xstrdup(key), mn_xstrndup(value, len), 0 };
  *slot_ref(p, kind, num) = (long)p->n_ent + 1;
  size_t klen;
  char *k = index_key(kind, key, &klen);
  json_object_setn_new_nocheck(p->index, k, klen, json_integer((json_int_t)p->n_ent));
  free(k);
  p->n_ent++;
  return e;
}

/* "[KIND_N]" or, in restore, "kind_n" with any case and no brackets: the
 * kind, number and end of a placeholder at t[i], or -1. */
static int placeholder_at(const char *t, size_t n, size_t i, int any_case,
                          int brackets, unsigned long *num, size_t *end)
{
  size_t j = i;
  if(brackets) {
    if(mn_pv_at(t, n, j) != '[')
      return -1;
    j++;
  } else if(mn_pv_word_before(t, i) || (i > 0 && t[i - 1] == '[')) {
    return -1;   /* "[PERSON_1" is a broken bracket form, not a bare one */
  }
  for(int k = 0; k < K_COUNT; k++) {
    const char *tag = kind_tag[k];
    size_t m = 0;
    while(tag[m] && (any_case ? mn_pv_lower(mn_pv_at(t, n, j + m)) == mn_pv_lower(tag[m])
                              : mn_pv_at(t, n, j + m) == tag[m]))
      m++;
    if(tag[m] || mn_pv_at(t, n, j + m) != '_')
      continue;
    size_t d = j + m + 1, ds = d;
    unsigned long v = 0;
    while(mn_pv_isdig(mn_pv_at(t, n, d)) && d - ds < 9)
      v = v * 10 + (unsigned long)(t[d++] - '0');
    if(d == ds || mn_pv_isdig(mn_pv_at(t, n, d)))
      continue;
    if(brackets) {
      if(mn_pv_at(t, n, d) != ']')
        continue;
      d++;
    } else if(mn_pv_word_at(t, n, d)) {
      continue;
    }
    *num = v;
    *end = d;
    return k;
  }
  return -1;
}

/* ---- spans ---------------------------------------------------------------- */

void mn_pv_add_span(spans *sp, size_t s, size_t e, int kind, long person, char *key)
{
  MN_GROW(sp->v, sp->cap, sp->n + 1);
  sp->v[sp->n++] = (span){ s, e, kind, person, key, 0 };
}

static void spans_free(spans *sp)
{
  for(size_t i = 0; i < sp->n; i++)
    free(sp->v[i].key);
  free(sp->v);
}

/* ---- placeholders already in the text --------------------------------------- */

static void scan_placeholders(mn_privacy *p, const char *t, size_t n, spans *sp)
{
  for(const char *b = memchr(t, '[', n); b; b = memchr(b + 1, '[', n - (size_t)(b + 1 - t))) {
    size_t i = (size_t)(b - t), end;
    unsigned long num;
    int k = placeholder_at(t, n, i, 0, 1, &num, &end);
    if(k < 0)
      continue;
    if(!entry_by_num(p, k, num))
      reserve_num(p, k, num);
    mn_pv_add_span(sp, i, end, K_KEEP, -1, NULL);
  }
}

/* ---- redaction ------------------------------------------------------------------------------ */

static int span_order(const void *a, const void *b)
{
  const span *x = a, *y = b;
  int kx = x->kind == K_KEEP, ky = y->kind == K_KEEP;
  if(kx != ky)
    return ky - kx;
  size_t lx = x->e - x->s, ly = y->e - y->s;
  if(lx != ly)
    return lx > ly ? -1 : 1;
  if(kind_rank[x->kind] != kind_rank[y->kind])
    return kind_rank[x->kind] - kind_rank[y->kind];
  return (x->s > y->s) - (x->s < y->s);
}

static int span_pos(const void *a, const void *b)
{
  const span *x = a, *y = b;
  return (x->s > y->s) - (x->s < y->s);
}

/* Accept spans from `from` on, best first, where no accepted span is. */
static void accept_spans(spans *sp, size_t from, unsigned char *taken)
{
  if(sp->n > from)
    qsort(sp->v + from, sp->n - from, sizeof *sp->v, span_order);
  for(size_t k = from; k < sp->n; k++) {
    span *s = &sp->v[k];
    if(s->e <= s->s || memchr(taken + s->s, 1, s->e - s->s))
      continue;
    memset(taken + s->s, 1, s->e - s->s);
    s->accepted = 1;
  }
}

/* Values found only next to a keyword (IDs, SSNs, dates of birth): find
 * them again where the keyword is missing. */
static void scan_known_values(const mn_privacy *p, const char *t, size_t n, spans *sp)
{
  size_t n_spans = sp->n;
  /* literal values: known entries and this text's accepted spans */
  for(size_t k = 0; k < p->n_ent + n_spans; k++) {
    const char *v;
    size_t vl;
    int kind;
    const char *key = NULL;
    if(k < p->n_ent) {
      kind = p->ent[k].kind;
      v = p->ent[k].value;
      vl = strlen(v);
      key = p->ent[k].key;
    } else {
      const span *s = &sp->v[k - p->n_ent];
      if(!s->accepted)
        continue;
      kind = s->kind;
      v = t + s->s;
      vl = s->e - s->s;
      key = s->key;
    }
    if((kind != K_ID && kind != K_SSN && kind != K_DOB) || !key)
      continue;
    /* short numbers ("ID 238") would also hit amounts ("$238 million") */
    int letters = 0;
    for(size_t c = 0; c < vl; c++)
      letters |= mn_pv_isalp((unsigned char)v[c]);
    if(vl < 6 && !letters)
      continue;
    for(const char *hit = t; (hit = mn_memmem(hit, n - (size_t)(hit - t), v, vl)); hit++) {
      size_t s = (size_t)(hit - t), e = s + vl;
      if(mn_pv_word_before(t, s) || mn_pv_word_at(t, n, e))
        continue;
      if((mn_pv_isdig((unsigned char)v[0]) && !mn_pv_num_start_ok(t, s)) ||
         (mn_pv_isdig((unsigned char)v[vl - 1]) && !mn_pv_num_end_ok(t, n, e)))
        continue;
      mn_pv_add_span(sp, s, e, kind, -1, mn_xstrdup(key));
    }
  }
  /* the same date of birth written another way */
  int any_dob = 0;
  for(size_t k = 0; k < p->n_ent && !any_dob; k++)
    any_dob = p->ent[k].kind == K_DOB;
  for(size_t k = 0; k < n_spans && !any_dob; k++)
    any_dob = sp->v[k].accepted && sp->v[k].kind == K_DOB;
  if(!any_dob)
    return;
  for(size_t i = 0; i < n; i++) {
    if(!mn_pv_isaln((unsigned char)t[i]) || mn_pv_word_before(t, i))
      continue;
    char key[16];
    size_t e = mn_pv_parse_date(t, n, i, key);
    if(!e)
      continue;
    int known = mn_pv_entry_find(p, K_DOB, key) >= 0;
    for(size_t k = 0; k < n_spans && !known; k++)
      known = sp->v[k].accepted && sp->v[k].kind == K_DOB && !strcmp(sp->v[k].key, key);
    if(known)
      mn_pv_add_span(sp, i, e, K_DOB, -1, mn_xstrdup(key));
    i = e - 1;
  }
}

char *mn_privacy_redact(mn_privacy *p, const char *text)
{
  if(!text)
    return mn_xstrdup("");
  const char *t = text;
  size_t n = strlen(text);
  spans sp = { 0 };
  scan_placeholders(p, t, n, &sp);
  mn_pv_scan_announced_names(p, t, n);   /* MN_ELIMIT: the names so far still apply */
  mn_pv_scan_patterns(t, n, &sp);
  mn_pv_scan_keywords(t, n, &sp);
  mn_pv_scan_addresses(t, n, &sp);
  mn_pv_scan_names(p, t, n, &sp);
  unsigned char *taken = mn_xcalloc(n + 1, 1);
  accept_spans(&sp, 0, taken);
  size_t first_known = sp.n;
  scan_known_values(p, t, n, &sp);
  accept_spans(&sp, first_known, taken);
  free(taken);

  if(sp.n)
    qsort(sp.v, sp.n, sizeof *sp.v, span_pos);
  /* the output is at most a few times the input, itself capped upstream */
  mn_buf out = MN_BUF_INIT(0);
  mn_buf_append(&out, "", 0);
  size_t pos = 0;
  for(size_t k = 0; k < sp.n; k++) {
    const span *s = &sp.v[k];
    if(!s->accepted)
      continue;
    mn_buf_append(&out, t + pos, s->s - pos);
    pos = s->e;
    if(s->kind == K_KEEP) {
      mn_buf_append(&out, t + s->s, s->e - s->s);
      continue;
    }
    entry *e;
    if(s->kind == K_PERSON && s->person >= 0) {
      const person *pe = &p->per[s->person];
      e = get_entry(p, K_PERSON, pe->fold, pe->name, strlen(pe->name));
    } else if(s->key) {
      e = get_entry(p, s->kind, s->key, t + s->s, s->e - s->s);
    } else {
      char *key = mn_xstrndup(t + s->s, s->e - s->s);
      e = get_entry(p, s->kind, key, t + s->s, s->e - s->s);
      free(key);
    }
    e->hits++;
    mn_buf_printf(&out, "[%s_%u]", kind_tag[e->kind], e->num);
  }
  mn_buf_append(&out, t + pos, n - pos);
  spans_free(&sp);
  return mn_buf_steal(&out, NULL);
}

char *mn_privacy_restore(const mn_privacy *p, const char *text)
{
  if(!text)
    return mn_xstrdup("");
  size_t n = strlen(text);
  mn_buf out = MN_BUF_INIT(0);
  mn_buf_append(&out, "", 0);
  size_t pos = 0;
  for(size_t i = 0; i < n; i++) {
    int c = (unsigned char)text[i];
    if(c != '[' && !mn_pv_isalp(c))
      continue;
    unsigned long num;
    size_t end;
    int k = c == '[' ? placeholder_at(text, n, i, 1, 1, &num, &end)
                     : placeholder_at(text, n, i, 0, 0, &num, &end);
    const entry *e = k >= 0 ? entry_by_num(p, k, num) : NULL;
    if(!e)
      continue;
    mn_buf_append(&out, text + pos, i - pos);
    mn_buf_puts(&out, e->value);
    pos = end;
    i = end - 1;
  }
  mn_buf_append(&out, text + pos, n - pos);
  return mn_buf_steal(&out, NULL);
}

json_t *mn_privacy_summary(const mn_privacy *p)
{
  size_t values[K_COUNT] = { 0 }, hits[K_COUNT] = { 0 };
  for(size_t k = 0; k < p->n_ent; k++) {
    const entry *e = &p->ent[k];
    values[e->kind] += e->hits > 0;
    hits[e->kind] += e->hits;
  }
  json_t *v = json_object(), *h = json_object();
  for(int k = 0; k < K_COUNT; k++) {
    json_object_set_new(v, kind_name[k], json_integer((json_int_t)values[k]));
    json_object_set_new(h, kind_name[k], json_integer((json_int_t)hits[k]));
  }
  json_t *o = json_object();
  json_object_set_new(o, "values", v);
  json_object_set_new(o, "replacements", h);
  return o;
}

/* ---- the handle's life ------------------------------------------------------------------------ */

mn_privacy *mn_privacy_new(void)
{
  mn_privacy *p = mn_xcalloc(1, sizeof *p);
  p->index = json_object();
  return p;
}

void mn_privacy_free(mn_privacy *p)
{
  if(!p)
    return;
  for(size_t k = 0; k < p->n_ent; k++) {
    free(p->ent[k].key);
    free(p->ent[k].value);
  }
  free(p->ent);
  json_decref(p->index);
  for(int k = 0; k < K_COUNT; k++)
    free(p->slots[k].slot);
  mn_pv_persons_free(p);
  free(p);
}

int mn_privacy_add_names(mn_privacy *p, const char *const *names, size_t n)
{
  for(size_t k = 0; k < n; k++)
    if(names[k] && mn_pv_add_name(p, names[k], 0) == MN_ELIMIT)
      return MN_ELIMIT;
  return MN_OK;
}

size_t mn_privacy_name_count(const mn_privacy *p)
{
  return p->n_per;
}
