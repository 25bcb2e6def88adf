/* The privacy shield: hand-written scanners find personal data, a table
 * gives each value a stable placeholder, and restore maps them back.
 *
 * Redaction runs in three steps. Scanners propose spans (start, end, kind);
 * spans are accepted longest first (ties by kind rank) into a byte mask so
 * that no two overlap; then values that were found only thanks to a nearby
 * keyword (IDs, SSNs, dates of birth) are looked for again without the
 * keyword, so "MRN: 00482913" also hides a later bare "00482913". Scanners
 * only move forward and look a bounded distance around them, so the whole
 * pass is linear in the text. */
#include "protocol/privacy.h"
#include "protocol/prompts.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "protocol/run_internal.h"
#include "util/str.h"
#include "util/buf.h"
#include "util/mem.h"

/* ---- kinds ---------------------------------------------------------- */

enum {
  K_PERSON, K_EMAIL, K_PHONE, K_SSN, K_CARD, K_IP, K_DOB, K_ADDRESS, K_ID,
  K_COUNT,
  K_KEEP = K_COUNT   /* a placeholder already in the text: copied as is */
};

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

/* ---- the handle ------------------------------------------------------- */

typedef struct entry {
  int kind;
  unsigned num;
  char *key;        /* normal form the value is recognised by */
  char *value;      /* the text as first seen: what restore gives back */
  size_t hits;
} entry;

/* slot[num]: entry index + 1, SLOT_RESERVED for a number seen in the input,
 * 0 for free. */
#define SLOT_RESERVED (-1L)
typedef struct kind_slots {
  long *slot;
  size_t cap;
  unsigned next;    /* every number below it is used or reserved */
} kind_slots;

typedef struct person {
  char *name;       /* as registered, titles stripped, one space between words */
  char *fold;       /* case-folded name: identity of the person */
  char **tok;
  size_t n_tok;
  int title_only;   /* seen only after a title ("Mr. France", "Prof. Code
                       Sec."): its words alone may mean something else (the
                       country, the tax code), so they need a title too,
                       until the local model or a form label names it */
} person;

/* A text that names a person: a full form, a variant or a lone part. */
typedef struct npat {
  char *text;
  size_t len;
  int exact;        /* 1: capitals as written (or all capitals); 0: any case */
  int needs_title;  /* a common word: only right after "Mr.", "Dr." ... */
  long person;      /* index into persons, or -1: the text is its own value */
  unsigned bucket;  /* lower-cased first code point, mod 256 */
} npat;

struct mn_privacy {
  entry *ent;
  size_t n_ent, ent_cap;
  long *hash;       /* open addressing over ent, -1 empty */
  size_t hash_cap;
  kind_slots slots[K_COUNT];

  person *per;
  size_t n_per, per_cap;
  npat *pat;        /* sorted by bucket */
  size_t n_pat, pat_cap;
  size_t bucket_start[257];
  int pats_dirty;
};

/* ---- bytes and code points -------------------------------------------- */

static int isdig(int c) { return c >= '0' && c <= '9'; }
static int isup(int c) { return c >= 'A' && c <= 'Z'; }
static int islo(int c) { return c >= 'a' && c <= 'z'; }
static int isalp(int c) { return isup(c) || islo(c); }
static int isaln(int c) { return isalp(c) || isdig(c); }
static int lower(int c) { return isup(c) ? c + 32 : c; }
static int isws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static int ishex(int c) { return isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int at(const char *t, size_t n, size_t i) { return i < n ? (unsigned char)t[i] : 0; }

/* The code point at t[i] (-1 for an invalid byte) and its length. */
static int32_t decode(const char *t, size_t n, size_t i, size_t *len)
{
  utf8proc_int32_t c;
  utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)t + i,
                                        (utf8proc_ssize_t)(n - i), &c);
  if(k <= 0) {
    *len = 1;
    return -1;
  }
  *len = (size_t)k;
  return c;
}

/* The code point ending at t[i] (-1 if invalid). */
static int32_t decode_before(const char *t, size_t i)
{
  size_t j = i;
  int k = 0;
  while(j > 0 && k < 4) {
    j--;
    k++;
    if(((unsigned char)t[j] & 0xC0) != 0x80)
      break;
  }
  size_t len;
  int32_t c = decode(t, i, j, &len);
  return j + len == i ? c : -1;
}

/* Letters, marks, digits and '_' make words. An invalid byte does not: a
 * name next to garbage is still found (better hide too much than leak). */
static int is_word_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return isaln(c) || c == '_';
  utf8proc_category_t cat = utf8proc_category(c);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);
}

static int is_letter_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return isalp(c);
  utf8proc_category_t cat = utf8proc_category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
}

static int is_upper_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return isup(c);
  utf8proc_category_t cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}

static int word_before(const char *t, size_t i)
{
  return i > 0 && is_word_cp(decode_before(t, i));
}

static int word_at(const char *t, size_t n, size_t i)
{
  size_t len;
  return i < n && is_word_cp(decode(t, n, i, &len));
}

/* Case-folded copy (simple lower-casing per code point). */
static char *fold(const char *s, size_t n)
{
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, "", 0);
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = decode(s, n, i, &len);
    if(c < 0) {
      mn_buf_append(&b, s + i, 1);
    } else {
      utf8proc_uint8_t enc[4];
      utf8proc_ssize_t k = utf8proc_encode_char(utf8proc_tolower(c), enc);
      mn_buf_append(&b, enc, (size_t)k);
    }
    i += len;
  }
  return mn_buf_steal(&b, NULL);
}

/* ASCII keyword `kw` (lower case; ' ' matches one or more blanks) at t[i],
 * case-insensitive unless `exact`, as a whole word. Returns the end or 0. */
static size_t kw_at(const char *t, size_t n, size_t i, const char *kw, int exact)
{
  if(word_before(t, i))
    return 0;
  size_t j = i;
  for(const char *k = kw; *k; k++) {
    if(*k == ' ') {
      if(j >= n || (t[j] != ' ' && t[j] != '\t'))
        return 0;
      while(j < n && (t[j] == ' ' || t[j] == '\t'))
        j++;
      continue;
    }
    int c = at(t, n, j);
    if(exact ? c != (isalp(*k) ? *k - 32 : *k) : lower(c) != *k)
      return 0;
    j++;
  }
  if(isaln(kw[strlen(kw) - 1]) && word_at(t, n, j))
    return 0;
  return j;
}

/* ---- the value table ---------------------------------------------------- */

static uint64_t hash_str(int kind, const char *key)
{
  uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
  for(const unsigned char *s = (const unsigned char *)key; *s; s++)
    h = (h ^ *s) * 1099511628211ull;
  return h;
}

static void hash_insert(mn_privacy *p, long idx)
{
  size_t mask = p->hash_cap - 1;
  size_t h = (size_t)hash_str(p->ent[idx].kind, p->ent[idx].key) & mask;
  while(p->hash[h] >= 0)
    h = (h + 1) & mask;
  p->hash[h] = idx;
}

static void hash_grow(mn_privacy *p)
{
  free(p->hash);
  p->hash_cap = p->hash_cap ? p->hash_cap * 2 : 64;
  p->hash = mn_xmalloc(p->hash_cap * sizeof *p->hash);
  for(size_t i = 0; i < p->hash_cap; i++)
    p->hash[i] = -1;
  for(size_t i = 0; i < p->n_ent; i++)
    hash_insert(p, (long)i);
}

static long find_entry(const mn_privacy *p, int kind, const char *key)
{
  if(!p->hash_cap)
    return -1;
  size_t mask = p->hash_cap - 1;
  for(size_t h = (size_t)hash_str(kind, key) & mask;; h = (h + 1) & mask) {
    long i = p->hash[h];
    if(i < 0)
      return -1;
    if(p->ent[i].kind == kind && !strcmp(p->ent[i].key, key))
      return i;
  }
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
  long i = find_entry(p, kind, key);
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
  p->n_ent++;
  if(p->n_ent * 2 > p->hash_cap)
    hash_grow(p);
  else
    hash_insert(p, (long)p->n_ent - 1);
  return e;
}

/* "[KIND_N]" or, in restore, "kind_n" with any case and no brackets: the
 * kind, number and end of a placeholder at t[i], or -1. */
static int placeholder_at(const char *t, size_t n, size_t i, int any_case,
                          int brackets, unsigned long *num, size_t *end)
{
  size_t j = i;
  if(brackets) {
    if(at(t, n, j) != '[')
      return -1;
    j++;
  } else if(word_before(t, i) || (i > 0 && t[i - 1] == '[')) {
    return -1;   /* "[PERSON_1" is a broken bracket form, not a bare one */
  }
  for(int k = 0; k < K_COUNT; k++) {
    const char *tag = kind_tag[k];
    size_t m = 0;
    while(tag[m] && (any_case ? lower(at(t, n, j + m)) == lower(tag[m])
                              : at(t, n, j + m) == tag[m]))
      m++;
    if(tag[m] || at(t, n, j + m) != '_')
      continue;
    size_t d = j + m + 1, ds = d;
    unsigned long v = 0;
    while(isdig(at(t, n, d)) && d - ds < 9)
      v = v * 10 + (unsigned long)(t[d++] - '0');
    if(d == ds || isdig(at(t, n, d)))
      continue;
    if(brackets) {
      if(at(t, n, d) != ']')
        continue;
      d++;
    } else if(word_at(t, n, d)) {
      continue;
    }
    *num = v;
    *end = d;
    return k;
  }
  return -1;
}

/* ---- spans ---------------------------------------------------------------- */

typedef struct span {
  size_t s, e;
  int kind;
  long person;      /* PERSON: index into persons, -1: the text itself */
  char *key;        /* normal form (owned), NULL: computed from the text */
  int accepted;
} span;

typedef struct spans {
  span *v;
  size_t n, cap;
} spans;

static void add_span(spans *sp, size_t s, size_t e, int kind, long person, char *key)
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
    add_span(sp, i, end, K_KEEP, -1, NULL);
  }
}

/* ---- e-mail addresses ---------------------------------------------------------- */

static int email_local_char(int c)
{
  return isaln(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '\'';
}

static void scan_emails(const char *t, size_t n, spans *sp)
{
  for(const char *b = memchr(t, '@', n); b; b = memchr(b + 1, '@', n - (size_t)(b + 1 - t))) {
    size_t a = (size_t)(b - t), s = a;
    while(s > 0 && a - s < 64 && email_local_char((unsigned char)t[s - 1]))
      s--;
    while(s < a && (t[s] == '.' || t[s] == '\''))
      s++;
    if(s == a || word_before(t, s) || t[a - 1] == '.')
      continue;
    size_t e = a + 1, tld = 0;
    int dots = 0, ok = 1;
    for(;;) {
      size_t ls = e;
      while(isaln(at(t, n, e)) || (at(t, n, e) == '-' && e > ls))
        e++;
      if(e == ls || e - ls > 63 || t[e - 1] == '-') {
        ok = 0;
        break;
      }
      tld = ls;
      if(at(t, n, e) == '.' && isaln(at(t, n, e + 1))) {
        e++;
        dots++;
        continue;
      }
      break;
    }
    if(!ok || !dots || e - tld < 2 || word_at(t, n, e))
      continue;
    for(size_t k = tld; k < e; k++)
      if(!isalp((unsigned char)t[k]))
        ok = 0;
    if(!ok)
      continue;
    char *key = mn_xstrndup(t + s, e - s);
    for(char *c = key; *c; c++)
      *c = (char)lower((unsigned char)*c);
    add_span(sp, s, e, K_EMAIL, -1, key);
  }
}

/* ---- IP addresses --------------------------------------------------------------- */

static void scan_ipv4(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    if(!isdig((unsigned char)t[i]) || word_before(t, i) || (i > 0 && t[i - 1] == '.'))
      continue;
    size_t e = i;
    int ok = 1;
    for(int k = 0; k < 4 && ok; k++) {
      if(k) {
        if(at(t, n, e) != '.') {
          ok = 0;
          break;
        }
        e++;
      }
      size_t s = e;
      unsigned v = 0;
      while(isdig(at(t, n, e)) && e - s < 3)
        v = v * 10 + (unsigned)(t[e++] - '0');
      if(e == s || v > 255 || isdig(at(t, n, e)))
        ok = 0;
    }
    if(!ok) {
      while(i + 1 < n && isdig((unsigned char)t[i + 1]))
        i++;
      continue;
    }
    if(word_at(t, n, e) || (at(t, n, e) == '.' && isdig(at(t, n, e + 1))))
      continue;
    add_span(sp, i, e, K_IP, -1, mn_xstrndup(t + i, e - i));
    i = e - 1;
  }
}

static void scan_ipv6(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    int c = (unsigned char)t[i];
    if(!ishex(c) && c != ':')
      continue;
    size_t e = i;
    int colons = 0;
    while(e < n && (ishex((unsigned char)t[e]) || t[e] == ':' || t[e] == '.')) {
      colons += t[e] == ':';
      e++;
    }
    size_t run_end = e;
    int start_ok = !word_before(t, i) && !(i > 0 && (t[i - 1] == ':' || t[i - 1] == '.'));
    if(colons < 2 || e - i > 45 || !start_ok || word_at(t, n, e)) {
      i = run_end - 1;
      continue;
    }
    while(e > i && t[e - 1] == '.')
      e--;
    if(e - i >= 2 && t[e - 1] == ':' && t[e - 2] != ':')
      e--;
    char buf[64], canon[INET6_ADDRSTRLEN];
    memcpy(buf, t + i, e - i);
    buf[e - i] = '\0';
    unsigned char addr[16];
    int groups = 0;
    for(size_t k = i; k < e; k++)
      if(ishex((unsigned char)t[k]) && (k == i || t[k - 1] == ':' || t[k - 1] == '.'))
        groups++;
    /* "::1" and "a::b" also occur in code and ratios; real addresses have
     * three or more groups */
    if(groups >= 3 && inet_pton(AF_INET6, buf, addr) == 1 &&
       inet_ntop(AF_INET6, addr, canon, sizeof canon))
      add_span(sp, i, e, K_IP, -1, mn_xstrdup(canon));
    i = run_end - 1;
  }
}

/* ---- phone numbers, SSNs, card numbers ---------------------------------------------- */

/* A number may start here: not inside a word, an amount, a decimal or a
 * longer number. */
static int num_start_ok(const char *t, size_t i)
{
  if(i == 0)
    return 1;
  int c = (unsigned char)t[i - 1];
  if(isaln(c) || c == '_' || c == '$' || c == '/' || c == '\\' || c == '#' || c == '+' || c == '*')
    return 0;
  if((c == '.' || c == ',' || c == '-' || c == ':') && i >= 2 && isdig((unsigned char)t[i - 2]))
    return 0;
  if(c >= 0x80) {
    int32_t cp = decode_before(t, i);
    if(is_word_cp(cp) || (cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_SC))
      return 0;
  }
  return 1;
}

static int num_end_ok(const char *t, size_t n, size_t e)
{
  int c = at(t, n, e);
  if(isaln(c) || c == '_' || c == '%')
    return 0;
  if((c == '.' || c == ',' || c == '/' || c == '-' || c == ':') && isdig(at(t, n, e + 1)))
    return 0;
  return !(c >= 0x80 && word_at(t, n, e));
}

/* A word like "phone" or "fax" shortly before t[i], on the same line. */
static int phone_context(const char *t, size_t i)
{
  static const char *const words[] = {
    "phone", "telephone", "tel", "mobile", "cell", "cellphone", "fax", "pager",
    "call", "contact", "ph", "mob", "whatsapp", "landline", NULL
  };
  size_t s = i > 40 ? i - 40 : 0;
  for(size_t k = i; k > s; k--)
    if(t[k - 1] == '\n') {
      s = k;
      break;
    }
  for(size_t k = s; k < i; k++) {
    if(!isalp((unsigned char)t[k]) || (k > s && isalp((unsigned char)t[k - 1])))
      continue;
    for(int w = 0; words[w]; w++) {
      size_t m = 0;
      while(words[w][m] && k + m < i && lower((unsigned char)t[k + m]) == words[w][m])
        m++;
      if(!words[w][m] && (k + m >= i || !isalp((unsigned char)t[k + m])))
        return 1;
    }
  }
  return 0;
}

static int luhn_ok(const char *d, size_t nd)
{
  int sum = 0, nonzero = 0;
  for(size_t k = 0; k < nd; k++) {
    int v = d[nd - 1 - k] - '0';
    nonzero |= v;
    if(k & 1) {
      v *= 2;
      if(v > 9)
        v -= 9;
    }
    sum += v;
  }
  return nonzero && sum % 10 == 0;
}

#define MAX_GROUPS 8

typedef struct grp {
  size_t s, e;      /* digits */
  char sep;         /* before this group: 0, ' ', '-', '.', or ')' right after "(NNN)" */
  int paren;        /* the group was written "(NNN)" */
} grp;

/* What groups g[a..b) are: K_SSN, K_CARD, K_PHONE or -1. */
static int classify_number(const char *t, const grp *g, int a, int b, int plus, size_t start)
{
  char d[MAX_GROUPS * 20];
  size_t nd = 0, len[MAX_GROUPS];
  int paren_at = -1;
  char sep = 0;
  int uniform = 1;
  for(int k = a; k < b; k++) {
    len[k - a] = g[k].e - g[k].s;
    memcpy(d + nd, t + g[k].s, len[k - a]);
    nd += len[k - a];
    if(g[k].paren)
      paren_at = k - a;
    if(k > a) {
      if(!sep)
        sep = g[k].sep;
      else if(g[k].sep != sep)
        uniform = 0;
    }
  }
  int ng = b - a;
  if(!plus && paren_at < 0 && ng == 3 && len[0] == 3 && len[1] == 2 && len[2] == 4 &&
     g[a + 1].sep == '-' && g[a + 2].sep == '-') {
    int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
    if(area != 0 && area != 666 && area < 900 && memcmp(d + 3, "00", 2) && memcmp(d + 5, "0000", 4))
      return K_SSN;
  }
  if(!plus && paren_at < 0 && nd >= 13 && nd <= 19 && uniform && (ng == 1 || sep == ' ' || sep == '-')) {
    int shape = ng == 1;
    if(!shape && ng >= 3) {
      shape = 1;
      for(int k = 0; k < ng - 1; k++)
        shape &= len[k] == 4;
      shape &= len[ng - 1] >= 1 && len[ng - 1] <= 4;
    }
    if(ng == 3 && len[0] == 4 && len[1] == 6 && (len[2] == 5 || len[2] == 4))
      shape = 1;
    /* a row of years ("2016 2017 2018 2019") is not a card */
    int years = ng >= 3;
    for(int k = 0, off = 0; k < ng && years; off += (int)len[k], k++)
      years = len[k] == 4 && (!memcmp(d + off, "19", 2) || !memcmp(d + off, "20", 2));
    if(shape && !years && d[0] != '0' && luhn_ok(d, nd))
      return K_CARD;
  }
  if(plus)
    return nd >= 8 && nd <= 15 && (ng >= 2 || nd >= 10) ? K_PHONE : -1;
  int off = ng == 4 && len[0] == 1 && d[0] == '1';
  if(ng - off == 3 && len[off] == 3 && len[off + 1] == 3 && len[off + 2] == 4 &&
     (paren_at < 0 || paren_at == off)) {
    int spaces = 1;
    for(int k = a + off + 1; k < b; k++)
      spaces &= g[k].sep == ' ';
    /* blank-separated 3-3-4 digits could be a table row: ask for a
     * plausible area code and exchange */
    size_t ao = (size_t)off;
    if(paren_at >= 0 || !spaces || (d[ao] >= '2' && d[ao + 3] >= '2'))
      return K_PHONE;
  }
  if(nd >= 7 && nd <= 15 && (ng >= 2 || nd == 10 || nd == 11) && phone_context(t, start))
    return K_PHONE;
  return -1;
}

static char *digits_key(const char *t, size_t s, size_t e, int kind)
{
  char *k = mn_xmalloc(e - s + 1);
  size_t m = 0;
  for(size_t i = s; i < e; i++)
    if(isdig((unsigned char)t[i]))
      k[m++] = t[i];
  k[m] = '\0';
  /* +1 555 ... and (555) ... are the same North American number */
  if(kind == K_PHONE && m == 11 && k[0] == '1')
    memmove(k, k + 1, m);
  return k;
}

static void scan_numbers(const char *t, size_t n, spans *sp)
{
  size_t i = 0;
  while(i < n) {
    int c = (unsigned char)t[i];
    int opener = (c == '+' || c == '(') && isdig(at(t, n, i + 1));
    if((!isdig(c) && !opener) || !num_start_ok(t, i)) {
      i++;
      continue;
    }
    grp g[MAX_GROUPS];
    int ng = 0, plus = c == '+', bad = 0;
    size_t j = i + (size_t)plus;
    char sep = 0;
    while(ng < MAX_GROUPS) {
      size_t gs;
      if(at(t, n, j) == '(') {
        /* "(NNN)" only as an area code: first, or after "+CC" or "1" */
        if(ng > 1 || (ng == 1 && !plus && g[0].e - g[0].s != 1))
          break;
        gs = j + 1;
        size_t k = gs;
        while(isdig(at(t, n, k)) && k - gs < 4)
          k++;
        if(k == gs || at(t, n, k) != ')') {
          if(ng == 0)
            bad = 1;
          break;
        }
        g[ng++] = (grp){ gs, k, sep, 1 };
        j = k + 1;
        if((at(t, n, j) == ' ' || at(t, n, j) == '-') && isdig(at(t, n, j + 1))) {
          sep = ' ';
          j++;
        } else if(isdig(at(t, n, j))) {
          sep = ')';
        } else {
          break;
        }
        continue;
      }
      gs = j;
      while(isdig(at(t, n, j)))
        j++;
      if(j - gs > 19 || j == gs) {
        bad = 1;
        break;
      }
      g[ng++] = (grp){ gs, j, sep, 0 };
      int s = at(t, n, j);
      if((s == ' ' || s == '-' || s == '.') &&
         (isdig(at(t, n, j + 1)) || (at(t, n, j + 1) == '(' && isdig(at(t, n, j + 2))))) {
        sep = (char)s;
        j++;
        continue;
      }
      break;
    }
    if(bad || ng == 0) {
      i = j > i ? j : i + 1;
      while(i < n && isdig((unsigned char)t[i]))
        i++;
      continue;
    }
    /* the longest run of groups that is something, cut only at blanks */
    for(int a = 0; a < ng;) {
      int found = 0;
      if(a == 0 || g[a].sep == ' ') {
        for(int b = ng; b > a; b--) {
          if(b < ng && g[b].sep != ' ')
            continue;
          size_t s = a == 0 ? i : g[a].s - (size_t)g[a].paren;
          size_t e = g[b - 1].e + (size_t)g[b - 1].paren;
          if(!num_end_ok(t, n, e))
            continue;
          int kind = classify_number(t, g, a, b, plus && a == 0, s);
          if(kind < 0)
            continue;
          add_span(sp, s, e, kind, -1, digits_key(t, s, e, kind));
          a = b;
          found = 1;
          break;
        }
      }
      if(!found)
        a++;
    }
    size_t last = g[ng - 1].e + (size_t)g[ng - 1].paren;
    i = last > i ? last : i + 1;
  }
}

/* ---- dates --------------------------------------------------------------------------- */

static const char *const months[12] = {
  "january", "february", "march", "april", "may", "june", "july", "august",
  "september", "october", "november", "december"
};

/* A month name or abbreviation ("Mar", "Mar.", "Sept") at t[i]: 1..12, or 0. */
static int month_at(const char *t, size_t n, size_t i, size_t *end)
{
  if(word_before(t, i))
    return 0;
  size_t j = i;
  while(isalp(at(t, n, j)) && j - i < 10)
    j++;
  size_t len = j - i;
  if(len < 3 || word_at(t, n, j))
    return 0;
  for(int m = 0; m < 12; m++) {
    size_t ml = strlen(months[m]);
    if(len > ml || (len != ml && len != 3 && !(m == 8 && len == 4)))
      continue;
    size_t k = 0;
    while(k < len && lower((unsigned char)t[i + k]) == months[m][k])
      k++;
    if(k < len)
      continue;
    if(len < ml && at(t, n, j) == '.')
      j++;
    *end = j;
    return m + 1;
  }
  return 0;
}

/* Digits at t[*j] (at most 9 read); returns the value, *len the count. */
static unsigned read_num(const char *t, size_t n, size_t *j, size_t *len)
{
  size_t s = *j;
  unsigned v = 0;
  while(isdig(at(t, n, *j))) {
    if(*j - s < 9)
      v = v * 10 + (unsigned)(t[*j] - '0');
    (*j)++;
  }
  *len = *j - s;
  return v;
}

static size_t skip_blanks(const char *t, size_t n, size_t j, size_t max)
{
  size_t s = j;
  while((at(t, n, j) == ' ' || at(t, n, j) == '\t') && j - s < max)
    j++;
  return j;
}

static size_t skip_ordinal(const char *t, size_t n, size_t j)
{
  static const char *const suf[] = { "st", "nd", "rd", "th" };
  for(int k = 0; k < 4; k++)
    if(lower(at(t, n, j)) == suf[k][0] && lower(at(t, n, j + 1)) == suf[k][1] &&
       !word_at(t, n, j + 2))
      return j + 2;
  return j;
}

static int year_ok(unsigned y)
{
  return y >= 1900 && y <= 2100;
}

/* A date at t[i]: ISO, M/D/Y (D.M.Y with dots or a day over 12), "March
 * 14, 1962", "14 March 1962", "March 1962". Returns the end, 0 if none;
 * key gets "YYYY-MM-DD" or "YYYY-MM". */
static size_t parse_date(const char *t, size_t n, size_t i, char key[16])
{
  if(word_before(t, i))
    return 0;
  unsigned y = 0, m = 0, d = 0;
  size_t j = i, e = 0;
  if(isdig(at(t, n, i))) {
    size_t la;
    unsigned a = read_num(t, n, &j, &la);
    int sep = at(t, n, j);
    if((sep == '-' || sep == '/' || sep == '.') && isdig(at(t, n, j + 1))) {
      size_t k = j + 1, lb, lc;
      unsigned b = read_num(t, n, &k, &lb);
      if(lb > 2 || at(t, n, k) != sep || !isdig(at(t, n, k + 1)))
        return 0;
      size_t q = k + 1;
      unsigned c = read_num(t, n, &q, &lc);
      if(la == 4 && lc <= 2) {
        y = a, m = b, d = c;
      } else if(la <= 2 && (lc == 4 || lc == 2)) {
        y = lc == 2 ? (c > 30 ? 1900 + c : 2000 + c) : c;
        if(sep == '.' || a > 12)
          d = a, m = b;
        else
          m = a, d = b;
      } else {
        return 0;
      }
      e = q;
      int nc = at(t, n, e);
      if(word_at(t, n, e) || ((nc == sep || nc == '.' || nc == '-' || nc == '/') && isdig(at(t, n, e + 1))))
        return 0;
    } else if(la <= 2 && a >= 1 && a <= 31) {
      size_t k = skip_ordinal(t, n, j), ly;
      size_t k2 = skip_blanks(t, n, k, 2);
      if(k2 == k)
        return 0;
      if(lower(at(t, n, k2)) == 'o' && lower(at(t, n, k2 + 1)) == 'f' && at(t, n, k2 + 2) == ' ')
        k2 = skip_blanks(t, n, k2 + 2, 2);
      int mo = month_at(t, n, k2, &k);
      if(!mo)
        return 0;
      if(at(t, n, k) == ',')
        k++;
      k2 = skip_blanks(t, n, k, 2);
      if(k2 == k)
        return 0;
      y = read_num(t, n, &k2, &ly);
      if(ly != 4 || word_at(t, n, k2))
        return 0;
      d = a, m = (unsigned)mo, e = k2;
    } else {
      return 0;
    }
  } else {
    size_t k, ln;
    int mo = month_at(t, n, i, &k);
    if(!mo)
      return 0;
    size_t k2 = skip_blanks(t, n, k, 2);
    if(k2 == k)
      return 0;
    unsigned a = read_num(t, n, &k2, &ln);
    if(ln == 4) {
      y = a;
    } else if(ln >= 1 && ln <= 2) {
      d = a;
      k2 = skip_ordinal(t, n, k2);
      if(at(t, n, k2) == ',')
        k2++;
      size_t k3 = skip_blanks(t, n, k2, 2);
      if(k3 == k2)
        return 0;
      y = read_num(t, n, &k3, &ln);
      if(ln != 4)
        return 0;
      k2 = k3;
    } else {
      return 0;
    }
    if(word_at(t, n, k2))
      return 0;
    m = (unsigned)mo, e = k2;
  }
  if(!year_ok(y) || m < 1 || m > 12 || d > 31)
    return 0;
  if(d)
    snprintf(key, 16, "%04u-%02u-%02u", y, m, d);
  else
    snprintf(key, 16, "%04u-%02u", y, m);
  return e;
}

/* ---- values after a keyword: dates of birth, IDs, SSNs -------------------------------- */

typedef struct keyword {
  const char *text;   /* lower case */
  int kind;
  int exact;          /* acronym: only in capitals */
} keyword;

static const keyword id_keywords[] = {
  { "mrn", K_ID, 0 }, { "medical record number", K_ID, 0 }, { "medical record no", K_ID, 0 },
  { "medical record", K_ID, 0 }, { "record number", K_ID, 0 }, { "record no", K_ID, 0 },
  { "patient id", K_ID, 0 }, { "patient number", K_ID, 0 }, { "patient no", K_ID, 0 },
  { "member id", K_ID, 0 }, { "member number", K_ID, 0 }, { "member no", K_ID, 0 },
  { "subscriber id", K_ID, 0 }, { "subscriber number", K_ID, 0 },
  { "policy number", K_ID, 0 }, { "policy no", K_ID, 0 }, { "policy id", K_ID, 0 },
  { "group number", K_ID, 0 }, { "group no", K_ID, 0 }, { "group id", K_ID, 0 },
  { "insurance id", K_ID, 0 }, { "insurance number", K_ID, 0 }, { "insurance no", K_ID, 0 },
  { "card number", K_ID, 0 }, { "card no", K_ID, 0 },
  { "account number", K_ID, 0 }, { "account no", K_ID, 0 }, { "acct", K_ID, 0 },
  { "license number", K_ID, 0 }, { "licence number", K_ID, 0 }, { "license no", K_ID, 0 },
  { "driver's license", K_ID, 0 }, { "drivers license", K_ID, 0 },
  { "passport number", K_ID, 0 }, { "passport no", K_ID, 0 }, { "passport", K_ID, 0 },
  { "chart number", K_ID, 0 }, { "chart no", K_ID, 0 }, { "case number", K_ID, 0 },
  { "claim number", K_ID, 0 }, { "claim id", K_ID, 0 }, { "employee id", K_ID, 0 },
  { "student id", K_ID, 0 }, { "customer id", K_ID, 0 }, { "health plan id", K_ID, 0 },
  { "beneficiary id", K_ID, 0 }, { "medicare id", K_ID, 0 }, { "medicare number", K_ID, 0 },
  { "medicaid id", K_ID, 0 }, { "medicaid number", K_ID, 0 },
  { "npi", K_ID, 1 }, { "dea", K_ID, 1 }, { "id", K_ID, 1 },
  { "ssn", K_SSN, 0 }, { "social security number", K_SSN, 0 }, { "social security no", K_SSN, 0 },
  { "social security", K_SSN, 0 }, { "sin", K_SSN, 1 }, { "social insurance number", K_SSN, 0 },
  { "national id number", K_SSN, 0 }, { "national id", K_SSN, 0 },
  { "national identification number", K_SSN, 0 }, { "national insurance number", K_SSN, 0 },
  { "nin", K_SSN, 1 }, { "nhs number", K_SSN, 0 }, { "nhs no", K_SSN, 0 }, { "tax id", K_SSN, 0 },
  { "tin", K_SSN, 1 }, { "itin", K_SSN, 1 },
  { "date of birth", K_DOB, 0 }, { "birth date", K_DOB, 0 }, { "birthdate", K_DOB, 0 },
  { "birthday", K_DOB, 0 }, { "born", K_DOB, 0 }, { "dob", K_DOB, 0 }, { "d.o.b.", K_DOB, 0 },
  { "d.o.b", K_DOB, 0 },
};

/* The longest keyword at t[i], or NULL; *end gets its end. */
static const keyword *keyword_at(const char *t, size_t n, size_t i, size_t *end)
{
  const keyword *best = NULL;
  int c = lower(at(t, n, i));
  for(size_t k = 0; k < sizeof id_keywords / sizeof id_keywords[0]; k++) {
    const keyword *kw = &id_keywords[k];
    if(kw->text[0] != c)
      continue;
    size_t e = kw_at(t, n, i, kw->text, kw->exact);
    if(e && (!best || e > *end)) {
      best = kw;
      *end = e;
    }
  }
  return best;
}

/* Past the filler between a keyword and its value: ": ", " #", " number is ",
 * "(s)", a line break... */
static size_t skip_filler(const char *t, size_t n, size_t j)
{
  static const char *const words[] = { "number", "num", "no", "nr", "is", "id", "of", "the", "was", NULL };
  size_t s = j;
  int newlines = 0;
  while(j < n && j - s < 24) {
    int c = (unsigned char)t[j];
    if(c == '\n' && ++newlines > 1)
      break;
    if(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ':' || c == '#' || c == '=' ||
       c == '.' || c == '-' || c == '(' || c == ')') {
      j++;
      continue;
    }
    size_t e = 0;
    for(int w = 0; words[w] && !e; w++)
      e = kw_at(t, n, j, words[w], 0);
    if(!e)
      break;
    j = e;
  }
  return j;
}

/* An identifier at t[i]: letters and digits, joined by '-', '.', '/' or, for
 * short all-digit groups ("123 45 6789"), single blanks. Needs two digits. */
static size_t parse_id_value(const char *t, size_t n, size_t i)
{
  if(!isaln(at(t, n, i)) || word_before(t, i))
    return 0;
  size_t e = i;
  int digits = 0;
  for(;;) {
    size_t cs = e;
    int alldig = 1;
    while(isaln(at(t, n, e)) && e - i < 40) {
      digits += isdig((unsigned char)t[e]);
      alldig &= isdig((unsigned char)t[e]);
      e++;
    }
    int c = at(t, n, e);
    if((c == '-' || c == '.' || c == '/') && isaln(at(t, n, e + 1))) {
      e++;
      continue;
    }
    if(c == ' ' && alldig && e - cs <= 4 && isdig(at(t, n, e + 1))) {
      size_t q = e + 1;
      while(isdig(at(t, n, q)))
        q++;
      if(q - e - 1 <= 4 && !isalp(at(t, n, q))) {
        e++;
        continue;
      }
    }
    break;
  }
  if(e - i < 3 || e - i >= 40 || word_at(t, n, e) || digits < 2)
    return 0;
  if(e - i == 4 && digits == 4 && (t[i] == '1' || t[i] == '2'))  /* a year */
    return 0;
  return e;
}

static char *alnum_key(const char *t, size_t s, size_t e)
{
  char *k = mn_xmalloc(e - s + 1);
  size_t m = 0;
  for(size_t i = s; i < e; i++)
    if(isaln((unsigned char)t[i]))
      k[m++] = (char)(islo((unsigned char)t[i]) ? t[i] - 32 : t[i]);
  k[m] = '\0';
  return k;
}

/* t[j] is a full stop ending a sentence: ". " after a word of five or more
 * letters (not "Mar." or "St.") */
static int sentence_end(const char *t, size_t n, size_t j)
{
  if(t[j] != '.' || !isws(at(t, n, j + 1)))
    return 0;
  size_t k = j;
  while(k > 0 && isalp((unsigned char)t[k - 1]) && j - k < 5)
    k--;
  return j - k >= 5;
}

static void scan_keywords(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    if(!isalp((unsigned char)t[i]) || word_before(t, i))
      continue;
    size_t end = 0;
    const keyword *kw = keyword_at(t, n, i, &end);
    if(!kw)
      continue;
    if(kw->kind == K_DOB) {
      /* the first date close by, in the same sentence: "born in
       * Springfield on March 14, 1962", "DOB (MM/DD/YYYY): 03/14/1962" */
      int text_seen = 0;
      for(size_t j = end; j < n && j < end + 48; j++) {
        char key[16];
        size_t e = parse_date(t, n, j, key);
        if(e) {
          add_span(sp, j, e, K_DOB, -1, mn_xstrdup(key));
          break;
        }
        if(t[j] == ';' || (t[j] == '\n' && text_seen) || sentence_end(t, n, j))
          break;
        text_seen |= isaln((unsigned char)t[j]);
      }
    } else {
      size_t j = skip_filler(t, n, end);
      size_t e = parse_id_value(t, n, j);
      if(e)
        add_span(sp, j, e, kw->kind, -1, alnum_key(t, j, e));
    }
    i = end - 1;
  }
}

/* ---- street addresses ------------------------------------------------------------------ */

static const char *const street_suffixes[] = {
  "street", "st", "avenue", "ave", "av", "road", "rd", "boulevard", "blvd", "lane", "ln",
  "drive", "dr", "court", "ct", "way", "place", "pl", "terrace", "ter", "circle", "cir",
  "parkway", "pkwy", "highway", "hwy", "square", "sq", "trail", "trl", "crescent", "cres",
  "close", "alley", "plaza", "row", "route", "rte", "expressway", "freeway", "pike",
  "turnpike", "loop", "path", "walk", "grove", "gardens", "heights", "hts", "mews", NULL
};

static int word_in(const char *t, size_t s, size_t e, const char *const *list)
{
  for(int k = 0; list[k]; k++) {
    size_t m = 0;
    while(s + m < e && list[k][m] && lower((unsigned char)t[s + m]) == list[k][m])
      m++;
    if(s + m == e && !list[k][m])
      return 1;
  }
  return 0;
}

/* A capitalised word ("Maple", "O'Neil", "São") or an ordinal ("42nd") at
 * t[j]; returns its end or 0. */
static size_t cap_word(const char *t, size_t n, size_t j, int ordinals)
{
  if(word_before(t, j))
    return 0;
  if(ordinals && isdig(at(t, n, j))) {
    size_t e = j;
    while(isdig(at(t, n, e)) && e - j < 3)
      e++;
    size_t o = skip_ordinal(t, n, e);
    return o != e ? o : 0;
  }
  size_t len;
  int32_t c = decode(t, n, j, &len);
  if(!is_upper_cp(c))
    return 0;
  size_t e = j + len;
  while(e < n && e - j < 40) {
    c = decode(t, n, e, &len);
    if(is_letter_cp(c)) {
      e += len;
    } else if((c == '\'' || c == '-' || c == 0x2019) && e + len < n) {
      size_t l2;
      if(!is_letter_cp(decode(t, n, e + len, &l2)))
        break;
      e += len;
    } else {
      break;
    }
  }
  return word_at(t, n, e) ? 0 : e;
}

/* ", Apt 4B", " Suite 200", " #12" after a street. */
static size_t parse_unit(const char *t, size_t n, size_t j)
{
  static const char *const units[] = { "apartment", "apt", "suite", "ste", "unit", "floor", "fl",
                                       "room", "rm", "building", "bldg", NULL };
  if(at(t, n, j) == ',')
    j++;
  size_t k = skip_blanks(t, n, j, 2);
  if(k == j)
    return 0;
  size_t e = 0;
  if(at(t, n, k) == '#') {
    e = k + 1;
  } else {
    for(int u = 0; units[u] && !e; u++)
      e = kw_at(t, n, k, units[u], 0);
    if(!e)
      return 0;
    if(at(t, n, e) == '.')
      e++;
    e = skip_blanks(t, n, e, 1);
    if(at(t, n, e) == '#')
      e++;
  }
  size_t v = e;
  while((isaln(at(t, n, v)) || (at(t, n, v) == '-' && v > e)) && v - e < 8)
    v++;
  if(v == e || word_at(t, n, v))
    return 0;
  return v;
}

/* ", Springfield, IL 62704" (or on the next line): city words, then a
 * two-letter state, or a state name followed by a ZIP code. */
static size_t parse_city(const char *t, size_t n, size_t j)
{
  size_t k = j;
  if(at(t, n, k) == ',')
    k++;
  size_t s = k;
  int newlines = 0;
  while(k < n && isws((unsigned char)t[k]) && k - s < 12)
    if(t[k++] == '\n' && ++newlines > 1)
      return 0;
  if(k == s)
    return 0;
  int words = 0;
  size_t e;
  while(words < 3 && (e = cap_word(t, n, k, 0))) {
    words++;
    k = e;
    if(at(t, n, k) == ' ' && cap_word(t, n, k + 1, 0))
      k++;
    else
      break;
  }
  if(!words)
    return 0;
  if(at(t, n, k) == ',')
    k++;
  size_t k2 = skip_blanks(t, n, k, 2);
  if(k2 == k)
    return 0;
  int two = isup(at(t, n, k2)) && isup(at(t, n, k2 + 1)) && !word_at(t, n, k2 + 2);
  if(two) {
    e = k2 + 2;
  } else {
    e = cap_word(t, n, k2, 0);
    if(!e)
      return 0;
    if(at(t, n, e) == ' ' && cap_word(t, n, e + 1, 0))
      e = cap_word(t, n, e + 1, 0);
  }
  size_t z = skip_blanks(t, n, e, 2);
  if(z > e && isdig(at(t, n, z))) {
    size_t q = z, lz;
    read_num(t, n, &q, &lz);
    if(lz == 5) {
      if(at(t, n, q) == '-' && isdig(at(t, n, q + 1))) {
        size_t q2 = q + 1, l4;
        read_num(t, n, &q2, &l4);
        if(l4 == 4)
          q = q2;
      }
      if(!word_at(t, n, q))
        return q;
    }
  }
  return two ? e : 0;
}

/* "42 Maple Avenue", "1600 N. 5th St., Apt 4", "P.O. Box 77" and what follows. */
static size_t parse_address(const char *t, size_t n, size_t i)
{
  static const char *const po[] = { "p.o. box", "p. o. box", "po box", "post office box", NULL };
  size_t e = 0;
  for(int k = 0; po[k] && !e; k++)
    e = kw_at(t, n, i, po[k], 0);
  if(e) {
    size_t j = skip_blanks(t, n, e, 2), ln;
    if(j == e)
      return 0;
    if(at(t, n, j) == '#')
      j++;
    read_num(t, n, &j, &ln);
    if(ln < 1 || ln > 8 || word_at(t, n, j))
      return 0;
    size_t c = parse_city(t, n, j);
    return c ? c : j;
  }
  if(!isdig(at(t, n, i)) || !num_start_ok(t, i))
    return 0;
  size_t j = i, ln;
  read_num(t, n, &j, &ln);
  if(ln > 6)
    return 0;
  int year_like = ln == 4 && (t[i] == '1' || t[i] == '2');
  if(at(t, n, j) == '-' && isdig(at(t, n, j + 1))) {
    j++;
    read_num(t, n, &j, &ln);
    if(ln > 6)
      return 0;
  } else if(isalp(at(t, n, j)) && at(t, n, j + 1) == ' ') {
    j++;
  }
  size_t k = skip_blanks(t, n, j, 2);
  if(k == j)
    return 0;
  static const char *const directions[] = { "n", "s", "e", "w", "ne", "nw", "se", "sw", NULL };
  size_t street_end = 0;
  int words = 0;
  for(int w = 0; w < 6; w++) {
    size_t we = cap_word(t, n, k, 1);
    if(!we)
      break;
    words++;
    if(words >= 2 && word_in(t, k, we, street_suffixes)) {
      street_end = we;
      break;
    }
    size_t next = we;
    if(at(t, n, next) == '.' && word_in(t, k, we, directions))
      next++;
    if(at(t, n, next) != ' ')
      break;
    k = next + 1;
  }
  if(!street_end || kw_at(t, n, skip_blanks(t, n, street_end, 1), "of", 0))
    return 0;   /* "Court of Appeals", "Square of" */
  e = street_end;
  size_t after = at(t, n, e) == '.' ? e + 1 : e;
  size_t u = parse_unit(t, n, after);
  if(u)
    e = after = u;
  size_t c = parse_city(t, n, after);
  /* "the 1998 London Court ...": a year, not a house number, unless a
   * city follows */
  if(!c && year_like)
    return 0;
  return c ? c : e;
}

static char *address_key(const char *t, size_t s, size_t e)
{
  char *k = mn_xmalloc(e - s + 1);
  size_t m = 0;
  int space = 0;
  for(size_t i = s; i < e; i++) {
    int c = (unsigned char)t[i];
    if(isws(c) || c == ',' || c == '.') {
      space = m > 0;
      continue;
    }
    if(space)
      k[m++] = ' ';
    space = 0;
    k[m++] = (char)lower(c);
  }
  k[m] = '\0';
  return k;
}

static void scan_addresses(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    int c = (unsigned char)t[i];
    if(!(isdig(c) || c == 'P' || c == 'p') || word_before(t, i))
      continue;
    size_t e = parse_address(t, n, i);
    if(e) {
      add_span(sp, i, e, K_ADDRESS, -1, address_key(t, i, e));
      i = e - 1;
    } else {
      while(i + 1 < n && isaln((unsigned char)t[i + 1]))
        i++;
    }
  }
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const titles[] = {
  "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "doctor", "sir", "dame",
  "rev", "nurse", "judge", NULL
};

static const char *const name_suffixes[] = {
  "jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "md", "m.d.", "m.d", "phd", "ph.d.", "ph.d",
  "do", "d.o.", "d.o", "rn", "np", "pa", "pa-c", "dds", "esq", "esq.", NULL
};

static const char *const particles[] = {
  "van", "von", "de", "del", "della", "der", "den", "da", "di", "du", "la", "le", "bin",
  "ibn", "al", "el", "ben", "dos", "das", NULL
};

/* Words that make a name an organisation, not a person. */
static const char *const org_words[] = {
  "hospital", "clinic", "center", "centre", "inc", "inc.", "llc", "ltd", "corp", "corp.",
  "corporation", "company", "university", "college", "institute", "insurance", "bank",
  "group", "associates", "pharmacy", "laboratories", "labs", "foundation", "department",
  "health", "healthcare", "medical", "services", NULL
};

/* Capitalised words that are also names: alone, they count as a name only
 * right after a title, so "May", "Grant" and "White" keep their meaning. */
static const char *const common_words[] = {
  "january", "february", "march", "april", "may", "june", "july", "august", "september",
  "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
  "saturday", "sunday", "will", "mark", "bill", "grant", "hope", "faith", "joy", "rose",
  "lily", "iris", "summer", "autumn", "dawn", "young", "white", "black", "brown", "green",
  "gray", "grey", "king", "long", "little", "hill", "wood", "case", "price", "chase", "page",
  "post", "bell", "miles", "rich", "frank", "art", "guy", "sun", "star", "north", "south",
  "east", "west", "don", "ray", "dean", "major", "love", "best", "bush", "lane", "park", "ford", "banks", "hall", "field", "fields", "stone", "wells", "ward",
  "rice", "hunt", "chance", "sterling", "gold", "silver", "crystal", "amber", "grace",
  "mercy", "victory", "patient", "doctor", "nurse", "the", "and", "not", "all", "new",
  "care", "general", "unity", "christian", "christmas", "easter", "english", "french",
  "german", "british", "american", "street", "church", "house", "court", "judge",
  "cross", "fox", "wolf", "bird", "swift", "sharp", "strong", "more", "lord", "duke",
  "earl", "prince", "pope", "pat", "sue", "gene", "jean", "kay", "van", "al",
  /* places that are also surnames */
  "france", "england", "jordan", "chad", "georgia", "israel", "kenya", "paris", "london",
  "washington", "lincoln", "austin", "houston", "dallas", "orlando", "jackson", "madison",
  "florence", "victoria", "sydney", "chelsea", "savannah", "brooklyn", "phoenix",
  "carolina", "virginia", "indiana", "nevada", "dakota", "montana", "camden", "wales",
  "ireland", "holland", "china", "india", "america", NULL
};

static int list_has(const char *const *list, const char *s, size_t len)
{
  return word_in(s, 0, len, list);
}

/* t[i] is preceded by a title: "Dr. ", "Mrs ", "MR. " */
static int title_before(const char *t, size_t i)
{
  size_t j = i;
  while(j > 0 && (t[j - 1] == ' ' || t[j - 1] == '\t') && i - j < 3)
    j--;
  if(j == i)
    return 0;
  if(j > 0 && t[j - 1] == '.')
    j--;
  size_t e = j;
  while(j > 0 && isalp((unsigned char)t[j - 1]) && e - j < 10)
    j--;
  if(j == e || word_before(t, j) || !isup((unsigned char)t[j]))
    return 0;
  return word_in(t, j, e, titles);
}

static void person_free(person *pe)
{
  free(pe->name);
  free(pe->fold);
  for(size_t k = 0; k < pe->n_tok; k++)
    free(pe->tok[k]);
  free(pe->tok);
}

static int is_initial(const char *tok)
{
  size_t len;
  int32_t c = decode(tok, strlen(tok), 0, &len);
  return is_letter_cp(c) && (tok[len] == '\0' || (tok[len] == '.' && tok[len + 1] == '\0'));
}

static size_t cp_count(const char *s)
{
  size_t k = 0;
  for(; *s; s++)
    k += ((unsigned char)*s & 0xC0) != 0x80;
  return k;
}

static void add_pat(mn_privacy *p, const char *text, int exact, long person)
{
  size_t len = strlen(text);
  if(!len)
    return;
  size_t l;
  int32_t c = decode(text, len, 0, &l);
  MN_GROW(p->pat, p->pat_cap, p->n_pat + 1);
  npat *np = &p->pat[p->n_pat++];
  np->text = mn_xstrdup(text);
  np->len = len;
  np->exact = exact;
  np->needs_title = exact && list_has(common_words, text, len);
  np->person = person;
  np->bucket = (unsigned)(c < 0 ? (unsigned char)text[0] : (unsigned)utf8proc_tolower(c)) & 0xFF;
}

typedef struct part {
  char *text;
  char *fold;
  long person;
} part;

/* A lone part of a name: pieces of hyphenated names need three letters. */
static void add_part(part **parts, size_t *n, size_t *cap, const char *s, size_t len, long person)
{
  char *text = mn_xstrndup(s, len);
  if(cp_count(text) < 2 || (len != strlen(s) && cp_count(text) < 3)) {
    free(text);
    return;
  }
  MN_GROW(*parts, *cap, *n + 1);
  (*parts)[(*n)++] = (part){ text, fold(text, len), person };
}

static int part_cmp(const void *a, const void *b)
{
  const part *x = a, *y = b;
  int c = strcmp(x->fold, y->fold);
  return c ? c : (x->person > y->person) - (x->person < y->person);
}

static int pat_cmp(const void *a, const void *b)
{
  const npat *x = a, *y = b;
  if(x->bucket != y->bucket)
    return x->bucket < y->bucket ? -1 : 1;
  return (x->len < y->len) - (x->len > y->len);   /* longer first */
}

/* Lone parts of a name worth matching: not initials, particles or suffixes. */
static int part_ok(const char *tok)
{
  return !is_initial(tok) && cp_count(tok) >= 2 && !list_has(particles, tok, strlen(tok));
}

static void rebuild_patterns(mn_privacy *p)
{
  for(size_t k = 0; k < p->n_pat; k++)
    free(p->pat[k].text);
  p->n_pat = 0;
  part *parts = NULL;
  size_t n_parts = 0, parts_cap = 0;
  for(size_t pi = 0; pi < p->n_per; pi++) {
    const person *pe = &p->per[pi];
    size_t k = pe->n_tok;
    char **tk = pe->tok;
    if(k == 1) {
      add_pat(p, tk[0], 1, (long)pi);
      p->pat[p->n_pat - 1].needs_title |= pe->title_only;
      continue;
    }
    add_pat(p, pe->name, 0, (long)pi);
    char *s;
    if(k >= 3) {
      s = mn_xasprintf("%s %s", tk[0], tk[k - 1]);
      add_pat(p, s, 0, (long)pi);
      free(s);
    }
    /* "Doe, John" as written (or in capitals): in any case it would also
     * swallow "Doe, john went ..." */
    s = mn_xasprintf("%s, %s", tk[k - 1], tk[0]);
    add_pat(p, s, 1, (long)pi);
    free(s);
    if(k >= 3) {
      const char *rest = pe->name + strlen(tk[0]) + 1;
      s = mn_xasprintf("%s, %.*s", tk[k - 1], (int)(strlen(rest) - strlen(tk[k - 1]) - 1), rest);
      add_pat(p, s, 1, (long)pi);
      free(s);
    }
    if(!is_initial(tk[0])) {
      size_t l;
      decode(tk[0], strlen(tk[0]), 0, &l);
      s = mn_xasprintf("%.*s. %s", (int)l, tk[0], tk[k - 1]);
      add_pat(p, s, 1, (long)pi);
      free(s);
    }
    /* lone parts: every word, and the pieces of a hyphenated one */
    for(size_t w = 0; w < k; w++) {
      if(!part_ok(tk[w]))
        continue;
      add_part(&parts, &n_parts, &parts_cap, tk[w], strlen(tk[w]), (long)pi);
      const char *h = tk[w];
      for(const char *dash; (dash = strchr(h, '-')); h = dash + 1)
        add_part(&parts, &n_parts, &parts_cap, h, (size_t)(dash - h), (long)pi);
      if(h != tk[w])
        add_part(&parts, &n_parts, &parts_cap, h, strlen(h), (long)pi);
    }
  }
  if(n_parts)
    qsort(parts, n_parts, sizeof *parts, part_cmp);
  for(size_t a = 0; a < n_parts;) {
    size_t b = a + 1;
    long owner = parts[a].person;
    while(b < n_parts && !strcmp(parts[b].fold, parts[a].fold)) {
      if(parts[b].person != owner)
        owner = -1;   /* shared by two people: its own placeholder */
      b++;
    }
    /* a one-word registered name equal to the part owns it */
    for(size_t pi = 0; pi < p->n_per; pi++)
      if(p->per[pi].n_tok == 1 && !strcmp(p->per[pi].fold, parts[a].fold))
        owner = (long)pi;
    int cautious = 1;
    for(size_t c = a; c < b; c++)
      cautious &= p->per[parts[c].person].title_only;
    for(size_t c = a; c < b; c++) {
      int dup = 0;
      for(size_t d = a; d < c; d++)
        dup |= !strcmp(parts[d].text, parts[c].text);
      if(!dup) {
        add_pat(p, parts[c].text, 1, owner);
        p->pat[p->n_pat - 1].needs_title |= cautious;
      }
    }
    a = b;
  }
  for(size_t k = 0; k < n_parts; k++) {
    free(parts[k].text);
    free(parts[k].fold);
  }
  free(parts);
  if(p->n_pat)
    qsort(p->pat, p->n_pat, sizeof *p->pat, pat_cmp);
  size_t k = 0;
  for(unsigned b = 0; b <= 256; b++) {
    while(k < p->n_pat && p->pat[k].bucket < b)
      k++;
    p->bucket_start[b] = k;
  }
  p->pats_dirty = 0;
}

/* Does pattern `pt` match t at i? Returns the end or 0. Blanks in the
 * pattern match any short run of white space (names wrap lines). */
static size_t match_pat(const npat *pt, const char *t, size_t n, size_t i)
{
  size_t a = i, b = 0;
  while(b < pt->len) {
    if(pt->text[b] == ' ') {
      size_t s = a;
      while(a < n && isws((unsigned char)t[a]) && a - s < 3)
        a++;
      if(a == s)
        return 0;
      b++;
      continue;
    }
    if(a >= n)
      return 0;
    size_t lt, lp;
    int32_t ct = decode(t, n, a, &lt), cp = decode(pt->text, pt->len, b, &lp);
    if(ct < 0 || cp < 0) {
      if(t[a] != pt->text[b])
        return 0;
      a++, b++;
      continue;
    }
    if(ct != cp) {
      if(pt->exact ? utf8proc_toupper(cp) != ct : utf8proc_tolower(ct) != utf8proc_tolower(cp))
        return 0;
    }
    a += lt;
    b += lp;
  }
  if(word_at(t, n, a))
    return 0;
  if(pt->needs_title && !title_before(t, i))
    return 0;
  return a;
}

static void scan_names(mn_privacy *p, const char *t, size_t n, spans *sp)
{
  if(p->pats_dirty)
    rebuild_patterns(p);
  if(!p->n_pat)
    return;
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = decode(t, n, i, &len);
    if(!is_word_cp(c) || word_before(t, i)) {
      i += len;
      continue;
    }
    unsigned b = (unsigned)(c < 0 ? (unsigned char)t[i] : (unsigned)utf8proc_tolower(c)) & 0xFF;
    size_t best = 0;
    const npat *bp = NULL;
    for(size_t k = p->bucket_start[b]; k < p->bucket_start[b + 1]; k++) {
      size_t e = match_pat(&p->pat[k], t, n, i);
      if(e > best) {
        best = e;
        bp = &p->pat[k];
      }
    }
    if(bp) {
      char *key = bp->person < 0 ? fold(bp->text, bp->len) : NULL;
      add_span(sp, i, best, K_PERSON, bp->person, key);
      i = best;
    } else {
      i += len;
    }
  }
}

/* Tidy a candidate name: collapse blanks, strip quotes and a trailing
 * full stop, turn "Doe, John" round, drop ", MD"-like tails. NULL if it
 * spans lines. */
static char *clean_name(const char *raw)
{
  size_t n = strlen(raw);
  if(n == 0 || n > MN_PRIVACY_MAX_NAME_BYTES * 2)
    return NULL;
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, "", 0);
  for(size_t i = 0; i < n; i++) {
    int c = (unsigned char)raw[i];
    if(c == '\n' || c == '\r') {
      mn_buf_free(&b);
      return NULL;
    }
    if(isws(c)) {
      if(b.len && b.data[b.len - 1] != ' ')
        mn_buf_putc(&b, ' ');
    } else if(!strchr("\"();:*!?", c)) {
      mn_buf_putc(&b, (char)c);
    }
  }
  char *s = mn_buf_steal(&b, NULL);
  static const char *const quotes[] = { "'", "\xE2\x80\x98", "\xE2\x80\x99", "\xE2\x80\x9C",
                                        "\xE2\x80\x9D", "\xC2\xAB", "\xC2\xBB", " ", ",", NULL };
  for(int again = 1; again;) {
    again = 0;
    size_t l = strlen(s);
    for(int q = 0; quotes[q]; q++) {
      size_t ql = strlen(quotes[q]);
      if(l >= ql && !strncmp(s, quotes[q], ql)) {
        memmove(s, s + ql, l - ql + 1);
        again = 1;
        break;
      }
      if(l >= ql && !strcmp(s + l - ql, quotes[q])) {
        s[l - ql] = '\0';
        again = 1;
        break;
      }
    }
    l = strlen(s);
    /* "John Doe." loses its full stop, "John Q." keeps the initial's */
    if(!again && l >= 3 && s[l - 1] == '.' && s[l - 3] != ' ' && s[l - 3] != '.') {
      s[l - 1] = '\0';
      again = 1;
    }
  }
  char *comma = strchr(s, ',');
  if(comma) {
    char *rest = comma + 1;
    while(*rest == ' ')
      rest++;
    if(!*rest || strchr(rest, ',') || list_has(name_suffixes, rest, strlen(rest))) {
      *comma = '\0';   /* "John Doe, MD", "John Doe, Jr., MD": drop the tail */
    } else {
      char *swapped = mn_xasprintf("%s %.*s", rest, (int)(comma - s), s);
      free(s);
      s = swapped;
    }
  }
  return s;
}

/* "VANCE-WHITAKER" -> "Vance-Whitaker": a name first seen in capitals
 * still matches its parts as usually written. Other words are kept. */
static char *title_case(const char *w)
{
  size_t n = strlen(w), letters = 0, upper = 0;
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = decode(w, n, i, &len);
    letters += is_letter_cp(c);
    upper += is_upper_cp(c);
    i += len;
  }
  if(letters < 2 || upper != letters)
    return mn_xstrdup(w);
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, "", 0);
  int start = 1;
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = decode(w, n, i, &len);
    if(c < 0) {
      mn_buf_append(&b, w + i, 1);
    } else {
      utf8proc_uint8_t enc[4];
      int32_t m = start ? c : utf8proc_tolower(c);
      mn_buf_append(&b, enc, (size_t)utf8proc_encode_char(m, enc));
      start = !is_letter_cp(c);
    }
    i += len;
  }
  return mn_buf_steal(&b, NULL);
}

/* Is the folded word `f` a token of pe, or a piece of a hyphenated one? */
static int person_has_part(const person *pe, const char *f)
{
  size_t fl = strlen(f);
  int has = 0;
  for(size_t w = 0; w < pe->n_tok && !has; w++) {
    char *tf = fold(pe->tok[w], strlen(pe->tok[w]));
    has = !strcmp(tf, f);
    for(const char *h = tf; h && !has;) {
      const char *dash = strchr(h, '-');
      size_t l = dash ? (size_t)(dash - h) : strlen(h);
      has = l == fl && !strncmp(h, f, l);
      h = dash ? dash + 1 : NULL;
    }
    free(tf);
  }
  return has;
}

/* Register one name. 1 if new, 0 if skipped or known, MN_ELIMIT. */
static int add_name(mn_privacy *p, const char *raw, int title_only)
{
  char *s = clean_name(raw);
  if(!s)
    return 0;
  /* split, then drop titles in front and suffixes at the back */
  char *tok[8];
  size_t k = 0;
  int ok = 1;
  char *save = NULL;
  for(char *w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    if(k == 8) {
      ok = 0;
      break;
    }
    tok[k++] = w;
  }
  size_t first = 0;
  while(ok && first < k) {
    size_t l = strlen(tok[first]);
    if(l && tok[first][l - 1] == '.')
      l--;
    if(!word_in(tok[first], 0, l, titles))
      break;
    first++;
  }
  while(ok && k > first) {
    char *w = tok[k - 1];
    size_t l = strlen(w);
    if(l && w[l - 1] == ',')
      w[--l] = '\0';
    if(!list_has(name_suffixes, w, l))
      break;
    k--;
  }
  if(ok && k > first) {
    size_t l = strlen(tok[k - 1]);
    if(l && tok[k - 1][l - 1] == ',')
      tok[k - 1][l - 1] = '\0';
  }
  size_t nt = k - first;
  if(!ok || nt == 0 || nt > 6) {
    free(s);
    return 0;
  }
  mn_buf nb = MN_BUF_INIT(0);
  for(size_t w = first; w < k && ok; w++) {
    const char *x = tok[w];
    size_t xl = strlen(x);
    for(const char *c = x; *c; c++)
      if(isdig((unsigned char)*c) || strchr("@[]<>/\\_=|{}#$%+&", *c))
        ok = 0;
    size_t l1;
    int32_t c0 = decode(x, xl, 0, &l1);
    if(!is_letter_cp(c0))
      ok = 0;
    /* names are capitalised (scripts without case pass) */
    if(c0 >= 0 && utf8proc_category(c0) == UTF8PROC_CATEGORY_LL && !list_has(particles, x, xl))
      ok = 0;
    if(list_has(org_words, x, xl))
      ok = 0;
    if(w > first)
      mn_buf_putc(&nb, ' ');
    char *tc = title_case(x);
    mn_buf_puts(&nb, tc);
    free(tc);
  }
  char *name = mn_buf_steal(&nb, NULL);
  if(!ok || strlen(name) > MN_PRIVACY_MAX_NAME_BYTES || (nt == 1 && cp_count(name) < 2) ||
     (nt == 1 && is_initial(name))) {
    free(s);
    free(name);
    return 0;
  }
  char *f = fold(name, strlen(name));
  int known = 0;
  for(size_t pi = 0; pi < p->n_per && !known; pi++) {
    const person *pe = &p->per[pi];
    if(!strcmp(pe->fold, f)) {
      known = 1;
      if(!title_only && p->per[pi].title_only) {
        p->per[pi].title_only = 0;   /* confirmed: its parts may stand alone */
        p->pats_dirty = 1;
      }
    }
    /* "Dr. Grant" when "Alan Grant" is known: already covered */
    else if(nt == 1 && pe->n_tok > 1 && person_has_part(pe, f))
      known = 1;
  }
  if(known) {
    free(s);
    free(name);
    free(f);
    return 0;
  }
  if(p->n_per >= MN_PRIVACY_MAX_NAMES) {
    free(s);
    free(name);
    free(f);
    return MN_ELIMIT;
  }
  /* "Mr. Hauk" seen before "Bruce Hauk": the lone word becomes a part of
   * the full name, unless its placeholder was already handed out */
  person newp = { name, f, tok + first, nt, 0 };
  for(size_t pi = 0; nt > 1 && pi < p->n_per;) {
    person *pe = &p->per[pi];
    if(pe->n_tok == 1 && person_has_part(&newp, pe->fold) &&
       find_entry(p, K_PERSON, pe->fold) < 0) {
      person_free(pe);
      memmove(pe, pe + 1, (p->n_per - pi - 1) * sizeof *pe);
      p->n_per--;
    } else {
      pi++;
    }
  }
  MN_GROW(p->per, p->per_cap, p->n_per + 1);
  person *pe = &p->per[p->n_per++];
  pe->name = name;
  pe->fold = f;
  pe->n_tok = nt;
  pe->title_only = title_only;
  pe->tok = mn_xcalloc(nt, sizeof *pe->tok);
  for(size_t w = 0; w < nt; w++)
    pe->tok[w] = title_case(tok[first + w]);
  free(s);
  p->pats_dirty = 1;
  return 1;
}

/* Capitalised words (and initials) from t[j] on one line: 1..max of them.
 * Returns the end, 0 if fewer than `min`. */
static size_t name_words(const char *t, size_t n, size_t j, int min, int max)
{
  int words = 0;
  size_t e = j, k = j;
  while(words < max) {
    size_t we = cap_word(t, n, k, 0);
    if(we && we == k + 1 && at(t, n, we) == '.')
      we++;   /* an initial: "J." */
    if(!we)
      break;
    /* "Whitaker's": the name without the possessive */
    if(we - k > 3 && !strncmp(t + we - 2, "'s", 2))
      we -= 2;
    else if(we - k > 5 && !strncmp(t + we - 4, "\xE2\x80\x99s", 4))
      we -= 4;
    words++;
    e = we;
    if(at(t, n, we) == ' ' && at(t, n, we + 1) != ' ')
      k = we + 1;
    else
      break;
  }
  return words < min ? 0 : e;
}

/* Names the text itself announces: after a title ("Dr. Alan Grant",
 * "Mrs Li") or a label ("Patient: Maria Gonzalez"). Registered, so that
 * scan_names then finds them everywhere. */
static int scan_announced_names(mn_privacy *p, const char *t, size_t n)
{
  static const char *const labels[] = {
    "patient name", "patient", "name", "full name", "emergency contact", "next of kin",
    "guardian", "spouse", "mother", "father", NULL
  };
  int rc = 0;
  for(size_t i = 0; i < n; i++) {
    if(!isalp((unsigned char)t[i]) || word_before(t, i))
      continue;
    size_t e = 0;
    int label = 0;
    if(isup((unsigned char)t[i])) {
      /* "Dr", "Mrs": capital then small letters ("MR imaging" is no title) */
      size_t we = i + 1;
      while(islo(at(t, n, we)))
        we++;
      if(word_in(t, i, we, titles) && !word_at(t, n, we))
        e = we;
    }
    /* labels count only first on their line, as in a form: "Product
     * name: Post-it Notes" inside a sentence names no one */
    size_t ls = i;
    while(ls > 0 && (t[ls - 1] == ' ' || t[ls - 1] == '\t' || t[ls - 1] == '-' || t[ls - 1] == '*'))
      ls--;
    int line_start = ls == 0 || t[ls - 1] == '\n';
    for(int l = 0; !e && line_start && labels[l]; l++) {
      size_t le = kw_at(t, n, i, labels[l], 0);
      if(le && at(t, n, le) == ':') {
        e = le + 1;
        label = 1;
      }
    }
    if(!e)
      continue;
    size_t j = e;
    if(!label && at(t, n, j) == '.')
      j++;
    size_t k = skip_blanks(t, n, j, 2);
    if(k == j) {
      i = e - 1;
      continue;
    }
    if(label) {   /* "Patient: Mrs. Maria Lopez" */
      size_t we = k;
      while(isalp(at(t, n, we)))
        we++;
      if(we > k && word_in(t, k, we, titles)) {
        we += at(t, n, we) == '.';
        k = skip_blanks(t, n, we, 2);
      }
    }
    size_t ne = name_words(t, n, k, label ? 2 : 1, label ? 4 : 3);
    if(ne) {
      char *name = mn_xstrndup(t + k, ne - k);
      int r = add_name(p, name, !label);
      free(name);
      if(r < 0)
        rc = r;
      i = ne - 1;
    } else {
      i = e - 1;
    }
  }
  return rc;
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
      letters |= isalp((unsigned char)v[c]);
    if(vl < 6 && !letters)
      continue;
    for(const char *hit = t; (hit = mn_memmem(hit, n - (size_t)(hit - t), v, vl)); hit++) {
      size_t s = (size_t)(hit - t), e = s + vl;
      if(word_before(t, s) || word_at(t, n, e))
        continue;
      if((isdig((unsigned char)v[0]) && !num_start_ok(t, s)) ||
         (isdig((unsigned char)v[vl - 1]) && !num_end_ok(t, n, e)))
        continue;
      add_span(sp, s, e, kind, -1, mn_xstrdup(key));
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
    if(!isaln((unsigned char)t[i]) || word_before(t, i))
      continue;
    char key[16];
    size_t e = parse_date(t, n, i, key);
    if(!e)
      continue;
    int known = find_entry(p, K_DOB, key) >= 0;
    for(size_t k = 0; k < n_spans && !known; k++)
      known = sp->v[k].accepted && sp->v[k].kind == K_DOB && !strcmp(sp->v[k].key, key);
    if(known)
      add_span(sp, i, e, K_DOB, -1, mn_xstrdup(key));
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
  scan_announced_names(p, t, n);   /* MN_ELIMIT: the names so far still apply */
  scan_emails(t, n, &sp);
  scan_ipv4(t, n, &sp);
  scan_ipv6(t, n, &sp);
  scan_numbers(t, n, &sp);
  scan_keywords(t, n, &sp);
  scan_addresses(t, n, &sp);
  scan_names(p, t, n, &sp);
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
    if(c != '[' && !isalp(c))
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
  free(p->hash);
  for(int k = 0; k < K_COUNT; k++)
    free(p->slots[k].slot);
  for(size_t k = 0; k < p->n_per; k++)
    person_free(&p->per[k]);
  free(p->per);
  for(size_t k = 0; k < p->n_pat; k++)
    free(p->pat[k].text);
  free(p->pat);
  free(p);
}

int mn_privacy_add_names(mn_privacy *p, const char *const *names, size_t n)
{
  for(size_t k = 0; k < n; k++)
    if(names[k] && add_name(p, names[k], 0) == MN_ELIMIT)
      return MN_ELIMIT;
  return MN_OK;
}

size_t mn_privacy_name_count(const mn_privacy *p)
{
  return p->n_per;
}

/* ---- asking the local model ------------------------------------------------------------------ */

static const char *check_names(const json_t *o)
{
  const json_t *a = json_object_get(o, "names");
  return json_is_array(a) || json_is_null(a) || json_is_string(a)
           ? NULL : "field 'names' must be an array of strings";
}

/* Does `name` occur in t, in any case, with any spacing? */
static int name_occurs(const char *t, size_t n, const char *name)
{
  char *s = clean_name(name);
  if(!s)
    return 0;
  npat pt = { s, strlen(s), 0, 0, -1, 0 };
  int found = 0;
  if(pt.len)
    for(size_t i = 0; i < n && !found; i++)
      found = !word_before(t, i) && match_pat(&pt, t, n, i) > 0;
  /* "John Doe" for a text that says "Doe, John": the cleaned form is the
   * turned-round one, so also try the name as given */
  if(!found && strchr(name, ',')) {
    npat raw = { (char *)name, strlen(name), 0, 0, -1, 0 };
    for(size_t i = 0; i < n && !found; i++)
      found = !word_before(t, i) && match_pat(&raw, t, n, i) > 0;
  }
  free(s);
  return found;
}

int mn_privacy_take_names(mn_privacy *p, const json_t *reply, const char *text)
{
  const json_t *a = json_object_get(reply, "names");
  size_t n = strlen(text);
  int added = 0;
  if(json_is_string(a)) {
    const char *s = json_string_value(a);
    if(name_occurs(text, n, s)) {
      int r = add_name(p, s, 0);
      if(r < 0)
        return r;
      added += r;
    }
    return added;
  }
  if(!json_is_array(a))
    return 0;
  for(size_t k = 0; k < json_array_size(a) && k < MN_PRIVACY_MAX_NAMES_PER_REPLY; k++) {
    const char *s = json_string_value(json_array_get(a, k));
    if(!s || !name_occurs(text, n, s))
      continue;   /* hallucinated, or not a string */
    int r = add_name(p, s, 0);
    if(r < 0)
      return r;
    added += r;
  }
  return added;
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
