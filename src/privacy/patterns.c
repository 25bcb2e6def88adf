/* The shapes of personal data, as a table: each row is a PCRE2 pattern and
 * a validator. A pattern ends in a callout, so the validator judges every
 * candidate end the engine reaches; saying no makes PCRE2 backtrack to a
 * shorter candidate ("+1 555 010 2000 2001" ends where a phone number can).
 * Rows run in order, most specific first; a later row's candidate may not
 * overlap what an earlier row found. Validators check what a pattern cannot
 * say well: word boundaries over
 * UTF-8, number ranges, the Luhn digit, a nearby "phone" word. Patterns are
 * in byte mode (\d is ASCII), have no nested unbounded repeats, and run
 * under a match limit, so each is linear in the text. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "privacy/internal.h"

#include <arpa/inet.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

/* Judge t[s..*e): NULL for no, else the value's normal form (owned). May
 * move *e back (a trailing dot that is not part of an address). */
typedef char *check_fn(const char *t, size_t n, size_t s, size_t *e);

typedef struct shape {
  int kind;
  const char *pattern;
  check_fn *check;
  pcre2_code *code;
} shape;

/* ---- what the validators share ------------------------------------------ */

static int ishex(int c)
{
  return mn_pv_isdig(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int number_bounds_ok(const char *t, size_t n, size_t s, size_t e)
{
  return mn_pv_num_start_ok(t, s) && mn_pv_num_end_ok(t, n, e);
}

/* The digits of t[s..e) into d (at most cap - 1); returns their count. */
static size_t digits_of(const char *t, size_t s, size_t e, char *d, size_t cap)
{
  size_t m = 0;
  for(size_t i = s; i < e && m + 1 < cap; i++)
    if(mn_pv_isdig((unsigned char)t[i]))
      d[m++] = t[i];
  d[m] = '\0';
  return m;
}

/* Digit groups in t[s..e): runs of digits. */
static int digit_groups(const char *t, size_t s, size_t e)
{
  int g = 0;
  for(size_t i = s; i < e; i++)
    g += mn_pv_isdig((unsigned char)t[i]) && (i == s || !mn_pv_isdig((unsigned char)t[i - 1]));
  return g;
}

static char *digits_key(const char *t, size_t s, size_t e)
{
  char d[64];
  digits_of(t, s, e, d, sizeof d);
  return mn_xstrdup(d);
}

/* +1 555 ... and (555) ... are the same North American number. */
static char *phone_key(const char *t, size_t s, size_t e)
{
  char *k = digits_key(t, s, e);
  if(strlen(k) == 11 && k[0] == '1')
    memmove(k, k + 1, 11);
  return k;
}

/* ---- validators ---------------------------------------------------------- */

static char *check_email(const char *t, size_t n, size_t s, size_t *e)
{
  const char *at = memchr(t + s, '@', *e - s);
  if(!at || at[-1] == '.' || mn_pv_word_before(t, s) || mn_pv_word_at(t, n, *e))
    return NULL;
  char *key = mn_xstrndup(t + s, *e - s);
  for(char *c = key; *c; c++)
    *c = (char)mn_pv_lower((unsigned char)*c);
  return key;
}

static char *check_ipv4(const char *t, size_t n, size_t s, size_t *e)
{
  if(mn_pv_word_before(t, s) || (s > 0 && t[s - 1] == '.') || mn_pv_word_at(t, n, *e) ||
     (mn_pv_at(t, n, *e) == '.' && mn_pv_isdig(mn_pv_at(t, n, *e + 1))))
    return NULL;
  for(size_t i = s; i < *e;) {
    size_t len;
    if(mn_pv_read_num(t, *e, &i, &len) > 255)
      return NULL;
    i++;   /* the dot */
  }
  return mn_xstrndup(t + s, *e - s);
}

static int ipv6_char(int c)
{
  return ishex(c) || c == ':' || c == '.';
}

static char *check_ipv6(const char *t, size_t n, size_t s, size_t *e)
{
  size_t end = *e;
  /* a run longer than the pattern allows, or glued to a word */
  if(ipv6_char(mn_pv_at(t, n, end)) || mn_pv_word_at(t, n, end) || mn_pv_word_before(t, s) ||
     (s > 0 && (t[s - 1] == ':' || t[s - 1] == '.')))
    return NULL;
  while(end > s && t[end - 1] == '.')
    end--;
  if(end - s >= 2 && t[end - 1] == ':' && t[end - 2] != ':')
    end--;
  /* "::1" and "a::b" also occur in code and ratios; real addresses have
   * three or more groups */
  int groups = 0;
  for(size_t k = s; k < end; k++)
    groups += ishex((unsigned char)t[k]) && (k == s || t[k - 1] == ':' || t[k - 1] == '.');
  char buf[64], canon[INET6_ADDRSTRLEN];
  unsigned char addr[16];
  memcpy(buf, t + s, end - s);
  buf[end - s] = '\0';
  if(groups < 3 || inet_pton(AF_INET6, buf, addr) != 1 ||
     !inet_ntop(AF_INET6, addr, canon, sizeof canon))
    return NULL;
  *e = end;
  return mn_xstrdup(canon);
}

static char *check_ssn(const char *t, size_t n, size_t s, size_t *e)
{
  if(!number_bounds_ok(t, n, s, *e))
    return NULL;
  char d[16];
  digits_of(t, s, *e, d, sizeof d);
  int area = (d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0');
  if(area == 0 || area == 666 || area >= 900 || !memcmp(d + 3, "00", 2) ||
     !memcmp(d + 5, "0000", 4))
    return NULL;
  return mn_xstrdup(d);
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

/* "2016 2017 2018 2019": a row of years, not a card. */
static int row_of_years(const char *t, size_t s, size_t e)
{
  if(digit_groups(t, s, e) < 3)
    return 0;
  for(size_t i = s; i < e;) {
    size_t len;
    size_t g = i;
    mn_pv_read_num(t, e, &i, &len);
    if(len != 4 || (!(t[g] == '1' && t[g + 1] == '9') && !(t[g] == '2' && t[g + 1] == '0')))
      return 0;
    i++;   /* the separator */
  }
  return 1;
}

static char *check_card(const char *t, size_t n, size_t s, size_t *e)
{
  char d[32];
  size_t nd = digits_of(t, s, *e, d, sizeof d);
  if(!number_bounds_ok(t, n, s, *e) || nd < 13 || nd > 19 || d[0] == '0' ||
     !luhn_ok(d, nd) || row_of_years(t, s, *e))
    return NULL;
  return mn_xstrdup(d);
}

static char *check_phone_plus(const char *t, size_t n, size_t s, size_t *e)
{
  char d[64];
  size_t nd = digits_of(t, s, *e, d, sizeof d);
  if(!number_bounds_ok(t, n, s, *e) || nd < 8 || nd > 15 ||
     (digit_groups(t, s, *e) < 2 && nd < 10))
    return NULL;
  return phone_key(t, s, *e);
}

/* (NNN) NNN-NNNN, NNN-NNN-NNNN, NNN.NNN.NNNN, with an optional 1 first. */
static char *check_phone_nanp(const char *t, size_t n, size_t s, size_t *e)
{
  if(!number_bounds_ok(t, n, s, *e))
    return NULL;
  size_t i = s;
  if(t[i] == '1' && !mn_pv_isdig(mn_pv_at(t, n, i + 1)))
    i += 2;
  if(t[i] != '(') {
    /* blank-separated 3-3-4 digits could be a table row: ask for a
     * plausible area code and exchange */
    int blanks = t[i + 3] == ' ' && t[i + 7] == ' ';
    if(blanks && (t[i] < '2' || t[i + 4] < '2'))
      return NULL;
  }
  return phone_key(t, s, *e);
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
    if(!mn_pv_isalp((unsigned char)t[k]) || (k > s && mn_pv_isalp((unsigned char)t[k - 1])))
      continue;
    for(int w = 0; words[w]; w++) {
      size_t m = 0;
      while(words[w][m] && k + m < i && mn_pv_lower((unsigned char)t[k + m]) == words[w][m])
        m++;
      if(!words[w][m] && (k + m >= i || !mn_pv_isalp((unsigned char)t[k + m])))
        return 1;
    }
  }
  return 0;
}

/* Any 7-15 digit grouping after "phone", "tel", "fax"... */
static char *check_phone_context(const char *t, size_t n, size_t s, size_t *e)
{
  char d[64];
  size_t nd = digits_of(t, s, *e, d, sizeof d);
  if(!number_bounds_ok(t, n, s, *e) || nd < 7 || nd > 15 ||
     (digit_groups(t, s, *e) < 2 && nd != 10 && nd != 11) || !phone_context(t, s))
    return NULL;
  return phone_key(t, s, *e);
}

/* ---- the table ----------------------------------------------------------- */

static shape shapes[] = {
  { K_EMAIL,
    "[A-Za-z0-9_%+-][A-Za-z0-9._%+'-]{0,63}@"
    "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}",
    check_email, NULL },
  { K_IP, "\\d{1,3}(?:\\.\\d{1,3}){3}", check_ipv4, NULL },
  /* two colons within the first two groups, then the rest of the run */
  { K_IP, "[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{0,35}+", check_ipv6, NULL },
  { K_SSN, "\\d{3}-\\d{2}-\\d{4}", check_ssn, NULL },
  /* 13-19 digits, in groups of four (the last shorter) or 4-6-5 / 4-6-4 */
  { K_CARD,
    "\\d{13,19}|\\d{4}([ -])\\d{4}\\1\\d{4}(?:\\1\\d{4})?\\1\\d{1,4}|\\d{4}([ -])\\d{6}\\2\\d{4,5}",
    check_card, NULL },
  { K_PHONE,
    "\\+\\d{1,15}(?:[ .-]\\(\\d{1,4}\\)(?:[ -]?\\d{1,15})?)?(?:[ .-]\\d{1,15}){0,6}",
    check_phone_plus, NULL },
  { K_PHONE, "(?:1[ .-])?(?:\\(\\d{3}\\)[ -]?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}", check_phone_nanp,
    NULL },
  { K_PHONE, "(?:\\(\\d{1,4}\\)[ -]?)?\\d{1,15}(?:[ .-]\\d{1,15}){0,7}", check_phone_context,
    NULL },
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

/* Far above what these patterns need at one start; a safety net only. */
#define MATCH_LIMIT 100000

static pthread_once_t compiled = PTHREAD_ONCE_INIT;

static void compile_shapes(void)
{
  for(size_t k = 0; k < N_SHAPES; k++) {
    /* every alternative must reach the validator: "(?:...)(?C1)" */
    char *re = mn_xasprintf("(?:%s)(?C1)", shapes[k].pattern);
    int err;
    PCRE2_SIZE off;
    shapes[k].code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                   PCRE2_NO_AUTO_POSSESS, &err, &off, NULL);
    free(re);
    if(!shapes[k].code)
      abort();   /* a pattern of this table is broken: a bug, not input */
    pcre2_jit_compile(shapes[k].code, PCRE2_JIT_COMPLETE);   /* optional speed-up */
  }
}

typedef struct hunt {
  const shape *sh;
  const char *t;
  size_t n;
  unsigned char *found;   /* bytes inside what an earlier row found */
  size_t end;
  char *key;
} hunt;

static int on_candidate(pcre2_callout_block *cb, void *data)
{
  hunt *h = data;
  size_t s = cb->start_match, e = cb->current_position;
  /* an earlier row (the more specific shape) has this text: a shorter
   * candidate may still stand beside it ("(0)30 1234567" before a card) */
  if(memchr(h->found + s, 1, e - s))
    return 1;
  char *key = h->sh->check(h->t, h->n, s, &e);
  if(!key)
    return 1;   /* not this one: backtrack */
  free(h->key);
  h->key = key;
  h->end = e;
  return 0;
}

void mn_pv_scan_patterns(const char *t, size_t n, spans *sp)
{
  pthread_once(&compiled, compile_shapes);
  pcre2_match_context *mc = pcre2_match_context_create(NULL);
  pcre2_match_data *md = pcre2_match_data_create(4, NULL);
  if(!mc || !md)
    abort();
  pcre2_set_match_limit(mc, MATCH_LIMIT);
  hunt h = { NULL, t, n, mn_xcalloc(n + 1, 1), 0, NULL };
  pcre2_set_callout(mc, on_candidate, &h);
  for(size_t k = 0; k < N_SHAPES; k++) {
    h.sh = &shapes[k];
    for(size_t off = 0; off < n;) {
      int rc = pcre2_match(shapes[k].code, (PCRE2_SPTR)t, n, off, 0, md, mc);
      if(rc == PCRE2_ERROR_NOMATCH)
        break;
      if(rc < 0) {   /* the match limit: go on past this start */
        off++;
        continue;
      }
      PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
      mn_pv_add_span(sp, ov[0], h.end, shapes[k].kind, -1, h.key);
      memset(h.found + ov[0], 1, h.end - ov[0]);
      h.key = NULL;
      off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
  }
  free(h.key);
  free(h.found);
  pcre2_match_data_free(md);
  pcre2_match_context_free(mc);
}
