/* Inside the privacy shield: kinds, spans, the handle, and the text helpers
 * the finders share. Nothing here leaves src/privacy/. */
#ifndef MN_PRIVACY_INTERNAL_H
#define MN_PRIVACY_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "privacy/privacy.h"

enum {
  K_PERSON, K_EMAIL, K_PHONE, K_SSN, K_CARD, K_IP, K_DOB, K_ADDRESS, K_ID,
  K_COUNT,
  K_KEEP = K_COUNT   /* a placeholder already in the text: copied as is */
};

/* ---- spans: what a finder proposes ---------------------------------- */

typedef struct span {
  size_t s, e;
  int kind;
  long person;      /* PERSON: index into persons, -1: the text itself */
  char *key;        /* normal form (owned), NULL: the text itself */
  int accepted;
} span;

typedef struct spans {
  span *v;
  size_t n, cap;
} spans;

/* Appends a span; takes ownership of key. */
void mn_pv_add_span(spans *sp, size_t s, size_t e, int kind, long person, char *key);

/* ---- the handle ------------------------------------------------------ */

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
  json_t *index;    /* "kind:key" -> index into ent */
  kind_slots slots[K_COUNT];

  person *per;
  size_t n_per, per_cap;
  npat *pat;        /* sorted by bucket */
  size_t n_pat, pat_cap;
  size_t bucket_start[257];
  int pats_dirty;
};

/* Index into p->ent of the value (kind, key), or -1. */
long mn_pv_entry_find(const mn_privacy *p, int kind, const char *key);

/* ---- finders, one file each ------------------------------------------ */

/* patterns.c: e-mail, IP, SSN, card and phone shapes (the pattern table). */
void mn_pv_scan_patterns(const char *t, size_t n, spans *sp);
/* context.c: values known by what stands around them. */
void mn_pv_scan_keywords(const char *t, size_t n, spans *sp);
void mn_pv_scan_addresses(const char *t, size_t n, spans *sp);
/* A date at t[i]; returns its end (0: none) with key "YYYY-MM-DD"/"YYYY-MM". */
size_t mn_pv_parse_date(const char *t, size_t n, size_t i, char key[16]);
/* names.c */
void mn_pv_scan_names(mn_privacy *p, const char *t, size_t n, spans *sp);
int mn_pv_scan_announced_names(mn_privacy *p, const char *t, size_t n);
int mn_pv_add_name(mn_privacy *p, const char *raw, int title_only);
void mn_pv_persons_free(mn_privacy *p);

/* ---- text helpers (text.c) ------------------------------------------- */

static inline int mn_pv_isdig(int c) { return c >= '0' && c <= '9'; }
static inline int mn_pv_isup(int c) { return c >= 'A' && c <= 'Z'; }
static inline int mn_pv_islo(int c) { return c >= 'a' && c <= 'z'; }
static inline int mn_pv_isalp(int c) { return mn_pv_isup(c) || mn_pv_islo(c); }
static inline int mn_pv_isaln(int c) { return mn_pv_isalp(c) || mn_pv_isdig(c); }
static inline int mn_pv_lower(int c) { return mn_pv_isup(c) ? c + 32 : c; }
static inline int mn_pv_isws(int c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
/* t[i] as an unsigned byte, 0 past the end */
static inline int mn_pv_at(const char *t, size_t n, size_t i) { return i < n ? (unsigned char)t[i] : 0; }

/* The code point at t[i] (-1 for an invalid byte) and its length. */
int32_t mn_pv_decode(const char *t, size_t n, size_t i, size_t *len);
/* The code point ending at t[i] (-1 if invalid). */
int32_t mn_pv_decode_before(const char *t, size_t i);
/* Letters, marks, digits and '_' make words; an invalid byte does not (a
 * value next to garbage is still found: better hide too much than leak). */
int mn_pv_is_word_cp(int32_t c);
int mn_pv_is_letter_cp(int32_t c);
int mn_pv_is_upper_cp(int32_t c);
int mn_pv_word_before(const char *t, size_t i);
int mn_pv_word_at(const char *t, size_t n, size_t i);
/* Case-folded copy (simple lower-casing per code point). */
char *mn_pv_fold(const char *s, size_t n);
/* ASCII keyword kw (lower case; ' ' matches one or more blanks) at t[i],
 * case-insensitive unless exact (then capitals), as a whole word. Returns
 * the end or 0. */
size_t mn_pv_kw_at(const char *t, size_t n, size_t i, const char *kw, int exact);
/* Is t[s..e) one of the lower-case words of the NULL-ended list (any case)? */
int mn_pv_word_in(const char *t, size_t s, size_t e, const char *const *list);
/* A number may start at t[i] / end before t[e]: not inside a word, an
 * amount, a decimal or a longer number. */
int mn_pv_num_start_ok(const char *t, size_t i);
int mn_pv_num_end_ok(const char *t, size_t n, size_t e);
/* Digits at t[*j] (at most 9 read into the value); *len gets their count. */
unsigned mn_pv_read_num(const char *t, size_t n, size_t *j, size_t *len);
size_t mn_pv_skip_blanks(const char *t, size_t n, size_t j, size_t max);
/* Past "st", "nd", "rd", "th" right after a number. */
size_t mn_pv_skip_ordinal(const char *t, size_t n, size_t j);
/* A capitalised word ("Maple", "O'Neil", "São") or, with ordinals, "42nd"
 * at t[j]; returns its end or 0. */
size_t mn_pv_cap_word(const char *t, size_t n, size_t j, int ordinals);

#endif
