/* Numeric and text scoring; see score.h. Hand-written: the forms of money
 * and percentages in financial text are a small grammar no library has. */
#include "eval/score.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/mem.h"

#define MAX_NUMBERS 64
#define SHORT_GOLD_WORDS 6

static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Does text[i..] start with word (any case) followed by a non-letter? */
static size_t word_at(const char *t, size_t i, const char *word)
{
  size_t n = strlen(word);
  for(size_t k = 0; k < n; k++)
    if(tolower((unsigned char)t[i + k]) != word[k])
      return 0;
  return is_alpha((unsigned char)t[i + n]) ? 0 : n;
}

/* A scale word at text[i..] (after optional spaces): its factor and length. */
static double scale_at(const char *t, size_t i, size_t *len)
{
  static const struct { const char *w; double f; } words[] = {
    { "thousands", 1e3 }, { "thousand", 1e3 }, { "k", 1e3 },
    { "millions", 1e6 }, { "million", 1e6 }, { "mm", 1e6 }, { "mn", 1e6 }, { "m", 1e6 },
    { "billions", 1e9 }, { "billion", 1e9 }, { "bn", 1e9 }, { "b", 1e9 },
    { "trillions", 1e12 }, { "trillion", 1e12 }, { "tn", 1e12 },
  };
  size_t j = i;
  while(t[j] == ' ')
    j++;
  for(size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
    size_t n = word_at(t, j, words[k].w);
    /* a lone letter counts only glued to the figure ("2.5B", not "5 m") */
    if(n && (n > 1 || j == i)) {
      *len = j - i + n;
      return words[k].f;
    }
  }
  *len = 0;
  return 1;
}

size_t mn_score_numbers(const char *t, mn_number *out, size_t max)
{
  size_t n = 0, len = strlen(t);
  for(size_t i = 0; i < len && n < max;) {
    unsigned char c = (unsigned char)t[i];
    int starts = is_digit(c) || (c == '.' && is_digit((unsigned char)t[i + 1]));
    if(!starts || (i > 0 && (is_alpha((unsigned char)t[i - 1]) || is_digit((unsigned char)t[i - 1])))) {
      /* skip the rest of a word or identifier ("FY2018", "10-K") */
      i++;
      while(i < len && (is_alpha((unsigned char)t[i - 1]) || is_digit((unsigned char)t[i - 1])) &&
            (is_alpha((unsigned char)t[i]) || is_digit((unsigned char)t[i])))
        i++;
      continue;
    }
    size_t start = i;
    /* digits, thousands separators, one decimal point */
    char digits[64];
    size_t d = 0;
    int commas = 0, point = 0;
    while(i < len && d < sizeof digits - 1) {
      unsigned char e = (unsigned char)t[i];
      if(is_digit(e)) {
        digits[d++] = (char)e;
      } else if(e == ',' && !point && is_digit((unsigned char)t[i + 1]) &&
                is_digit((unsigned char)t[i + 2]) && is_digit((unsigned char)t[i + 3]) &&
                !is_digit((unsigned char)t[i + 4])) {
        commas++;
      } else if(e == '.' && !point && is_digit((unsigned char)t[i + 1])) {
        digits[d++] = '.';
        point = 1;
      } else {
        break;
      }
      i++;
    }
    digits[d] = '\0';
    if(t[i] == '-' && is_alpha((unsigned char)t[i + 1])) {   /* "10-K", "8-K" */
      while(i < len && (t[i] == '-' || is_alpha((unsigned char)t[i])))
        i++;
      continue;
    }
    mn_number v = { .mantissa = strtod(digits, NULL), .scale = 1, .off = start };
    /* sign before it: "-", U+2212, or "(" ... ")"; a currency sign between */
    size_t b = start;
    while(b > 0 && (t[b - 1] == '$' || t[b - 1] == ' '))
      b--;
    if(b >= 2 && (unsigned char)t[b - 1] == 0xA3 && (unsigned char)t[b - 2] == 0xC2)
      b -= 2;                                           /* £ */
    if(b >= 3 && !memcmp(t + b - 3, "\xE2\x82\xAC", 3))
      b -= 3;                                           /* € */
    int neg = 0, paren = 0;
    if(b > 0 && t[b - 1] == '(') {
      paren = 1;
    } else if(b > 0 && t[b - 1] == '-' && (b < 2 || !(is_alpha((unsigned char)t[b - 2]) ||
                                                       is_digit((unsigned char)t[b - 2])))) {
      neg = 1;
    } else if(b >= 3 && !memcmp(t + b - 3, "\xE2\x88\x92", 3)) {
      neg = 1;
    }
    size_t sl;
    v.scale = scale_at(t, i, &sl);
    i += sl;
    size_t j = i;
    while(t[j] == ' ')
      j++;
    if(t[j] == '%') {
      v.percent = 1;
      i = j + 1;
    } else if(word_at(t, j, "percent")) {
      v.percent = 1;
      i = j + 7;
    }
    if(paren && t[i] == ')') {
      neg = 1;
      i++;
    }
    if(neg)
      v.mantissa = -v.mantissa;
    v.year = !point && !commas && v.scale == 1 && !v.percent && !neg && d == 4 &&
             v.mantissa >= 1900 && v.mantissa <= 2100 && !(start > 0 && t[start - 1] == '$');
    v.len = i - start;
    out[n++] = v;
  }
  return n;
}

int mn_score_gold_is_numeric(const char *gold)
{
  mn_number nums[MAX_NUMBERS];
  size_t n = mn_score_numbers(gold, nums, MAX_NUMBERS);
  if(n == 0 || n > 2)
    return 0;
  /* the words around the figure: a unit at most ("0.69 times", "USD") */
  int words = 0;
  for(size_t i = 0; gold[i];) {
    if(i == nums[0].off) {
      i += nums[0].len ? nums[0].len : 1;
      continue;
    }
    if(is_alpha((unsigned char)gold[i])) {
      words++;
      while(is_alpha((unsigned char)gold[i]))
        i++;
    } else {
      i++;
    }
  }
  return words <= 2;
}

static int near(double x, double y, double tol)
{
  if(y == 0)
    return fabs(x) < 1e-9;
  return fabs(x - y) <= tol * fabs(y) + 1e-12;
}

/* Does answer figure a equal gold figure g? *how says in what sense. */
static int same(const mn_number *a, const mn_number *g, double tol, const char **how)
{
  double av = a->mantissa * a->scale, gv = g->mantissa * g->scale;
  *how = "";
  if(a->percent == g->percent && near(av, gv, tol))
    return 1;
  if(a->percent != g->percent) {
    double ap = a->percent ? a->mantissa / 100 : a->mantissa;
    double gp = g->percent ? g->mantissa / 100 : g->mantissa;
    *how = " (a percentage written as a fraction)";
    if(near(ap, gp, tol))
      return 1;
    return 0;
  }
  /* one side without a scale word: the question may have named the unit
   * ("in USD millions") */
  static const double units[] = { 1e3, 1e6, 1e9 };
  if(g->scale == 1 && a->scale != 1) {
    *how = " (the gold taken in the answer's units)";
    if(near(a->mantissa, g->mantissa, tol))
      return 1;
    for(size_t k = 0; k < 3; k++)
      if(near(av, g->mantissa * units[k], tol))
        return 1;
  }
  if(a->scale == 1 && g->scale != 1) {
    *how = " (the answer taken in the gold's units)";
    if(near(a->mantissa, g->mantissa, tol))
      return 1;
    for(size_t k = 0; k < 3; k++)
      if(near(a->mantissa * units[k], gv, tol))
        return 1;
  }
  return 0;
}

static void quote(char *out, size_t size, const char *text, const mn_number *v)
{
  size_t l = v->len < 40 ? v->len : 40;
  snprintf(out, size, "%.*s", (int)l, text + v->off);
}

int mn_score_numeric(const char *answer, const char *gold, double tolerance, char *reason)
{
  mn_number g[MAX_NUMBERS], a[MAX_NUMBERS];
  size_t ng = mn_score_numbers(gold, g, MAX_NUMBERS);
  size_t gi = 0;
  while(gi < ng && g[gi].year)
    gi++;
  if(gi == ng)
    gi = 0;            /* only years: the year is the answer */
  if(ng == 0) {
    snprintf(reason, MN_SCORE_REASON_MAX, "the gold answer has no figure");
    return -1;
  }
  char gq[48], aq[48];
  quote(gq, sizeof gq, gold, &g[gi]);
  size_t na = mn_score_numbers(answer ? answer : "", a, MAX_NUMBERS);
  mn_buf seen = MN_BUF_INIT(160);
  for(size_t i = 0; i < na; i++) {
    if(a[i].year && !g[gi].year)
      continue;
    const char *how;
    quote(aq, sizeof aq, answer, &a[i]);
    if(same(&a[i], &g[gi], tolerance, &how)) {
      snprintf(reason, MN_SCORE_REASON_MAX, "\"%s\" matches the gold \"%s\" within %g%%%s", aq, gq,
               tolerance * 100, how);
      mn_buf_free(&seen);
      return 1;
    }
    mn_buf_printf(&seen, "%s\"%s\"", seen.len ? ", " : "", aq);
  }
  snprintf(reason, MN_SCORE_REASON_MAX, "no figure within %g%% of the gold \"%s\"; the answer has %s",
           tolerance * 100, gq, seen.len ? mn_buf_str(&seen) : "none");
  mn_buf_free(&seen);
  return 0;
}

/* Lower-case words of s joined by single spaces, articles dropped; a '.'
 * or ',' inside a figure and '%' are kept. */
static char *normalise(const char *s, size_t *words)
{
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_puts(&b, "");
  size_t n = strlen(s), w = 0;
  for(size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if(!(is_alpha(c) || is_digit(c) || c == '%' || c >= 0x80)) {
      i++;
      continue;
    }
    size_t start = b.len;
    if(b.len)
      mn_buf_putc(&b, ' ');
    size_t wstart = b.len;
    while(i < n) {
      c = (unsigned char)s[i];
      int inner = (c == '.' || c == ',') && i > 0 && is_digit((unsigned char)s[i - 1]) &&
                  is_digit((unsigned char)s[i + 1]);
      if(!(is_alpha(c) || is_digit(c) || c == '%' || c >= 0x80 || inner))
        break;
      if(c != ',')
        mn_buf_putc(&b, (char)tolower(c));
      i++;
    }
    const char *word = b.data + wstart;
    if(!strcmp(word, "a") || !strcmp(word, "an") || !strcmp(word, "the")) {
      b.len = start;
      b.data[b.len] = '\0';
    } else {
      w++;
    }
  }
  if(words)
    *words = w;
  return mn_buf_steal(&b, NULL);
}

int mn_score_exact(const char *answer, const char *gold, char *reason)
{
  size_t gw;
  char *na = normalise(answer ? answer : "", NULL), *ng = normalise(gold, &gw);
  int ok = strcmp(na, ng) == 0;
  if(ok) {
    snprintf(reason, MN_SCORE_REASON_MAX, "the answer is the gold answer (normalised)");
  } else {
    size_t l = strlen(ng);
    if(gw > 0 && gw <= SHORT_GOLD_WORDS && strncmp(na, ng, l) == 0 && (na[l] == ' ' || !na[l])) {
      ok = 1;
      snprintf(reason, MN_SCORE_REASON_MAX, "the answer starts with the gold answer \"%.60s\"", ng);
    } else {
      snprintf(reason, MN_SCORE_REASON_MAX, "the answer differs from the gold \"%.60s\"%s", ng,
               strlen(ng) > 60 ? "..." : "");
    }
  }
  free(na);
  free(ng);
  return ok;
}
