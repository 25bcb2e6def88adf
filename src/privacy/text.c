/* Bytes, code points and words: the small readers every finder of the
 * privacy shield shares. Text is UTF-8; utf8proc answers what is a letter,
 * a capital or a currency sign beyond ASCII. */
#include "privacy/internal.h"

#include <string.h>
#include <utf8proc.h>

#include "util/buf.h"

/* The code point at t[i] (-1 for an invalid byte) and its length. */
int32_t mn_pv_decode(const char *t, size_t n, size_t i, size_t *len)
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
int32_t mn_pv_decode_before(const char *t, size_t i)
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
  int32_t c = mn_pv_decode(t, i, j, &len);
  return j + len == i ? c : -1;
}

/* Letters, marks, digits and '_' make words. An invalid byte does not: a
 * name next to garbage is still found (better hide too much than leak). */
int mn_pv_is_word_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return mn_pv_isaln(c) || c == '_';
  utf8proc_category_t cat = utf8proc_category(c);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_NO);
}

int mn_pv_is_letter_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return mn_pv_isalp(c);
  utf8proc_category_t cat = utf8proc_category(c);
  return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
}

int mn_pv_is_upper_cp(int32_t c)
{
  if(c < 0)
    return 0;
  if(c < 128)
    return mn_pv_isup(c);
  utf8proc_category_t cat = utf8proc_category(c);
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LT;
}

int mn_pv_word_before(const char *t, size_t i)
{
  return i > 0 && mn_pv_is_word_cp(mn_pv_decode_before(t, i));
}

int mn_pv_word_at(const char *t, size_t n, size_t i)
{
  size_t len;
  return i < n && mn_pv_is_word_cp(mn_pv_decode(t, n, i, &len));
}

/* Case-folded copy (simple lower-casing per code point). */
char *mn_pv_fold(const char *s, size_t n)
{
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, "", 0);
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = mn_pv_decode(s, n, i, &len);
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
size_t mn_pv_kw_at(const char *t, size_t n, size_t i, const char *kw, int exact)
{
  if(mn_pv_word_before(t, i))
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
    int c = mn_pv_at(t, n, j);
    if(exact ? c != (mn_pv_isalp(*k) ? *k - 32 : *k) : mn_pv_lower(c) != *k)
      return 0;
    j++;
  }
  if(mn_pv_isaln(kw[strlen(kw) - 1]) && mn_pv_word_at(t, n, j))
    return 0;
  return j;
}

/* A number may start here: not inside a word, an amount, a decimal or a
 * longer number. */
int mn_pv_num_start_ok(const char *t, size_t i)
{
  if(i == 0)
    return 1;
  int c = (unsigned char)t[i - 1];
  if(mn_pv_isaln(c) || c == '_' || c == '$' || c == '/' || c == '\\' || c == '#' || c == '+' || c == '*')
    return 0;
  if((c == '.' || c == ',' || c == '-' || c == ':') && i >= 2 && mn_pv_isdig((unsigned char)t[i - 2]))
    return 0;
  if(c >= 0x80) {
    int32_t cp = mn_pv_decode_before(t, i);
    if(mn_pv_is_word_cp(cp) || (cp >= 0 && utf8proc_category(cp) == UTF8PROC_CATEGORY_SC))
      return 0;
  }
  return 1;
}

int mn_pv_num_end_ok(const char *t, size_t n, size_t e)
{
  int c = mn_pv_at(t, n, e);
  if(mn_pv_isaln(c) || c == '_' || c == '%')
    return 0;
  if((c == '.' || c == ',' || c == '/' || c == '-' || c == ':') && mn_pv_isdig(mn_pv_at(t, n, e + 1)))
    return 0;
  return !(c >= 0x80 && mn_pv_word_at(t, n, e));
}

/* Digits at t[*j] (at most 9 read); returns the value, *len the count. */
unsigned mn_pv_read_num(const char *t, size_t n, size_t *j, size_t *len)
{
  size_t s = *j;
  unsigned v = 0;
  while(mn_pv_isdig(mn_pv_at(t, n, *j))) {
    if(*j - s < 9)
      v = v * 10 + (unsigned)(t[*j] - '0');
    (*j)++;
  }
  *len = *j - s;
  return v;
}

size_t mn_pv_skip_blanks(const char *t, size_t n, size_t j, size_t max)
{
  size_t s = j;
  while((mn_pv_at(t, n, j) == ' ' || mn_pv_at(t, n, j) == '\t') && j - s < max)
    j++;
  return j;
}

size_t mn_pv_skip_ordinal(const char *t, size_t n, size_t j)
{
  static const char *const suf[] = { "st", "nd", "rd", "th" };
  for(int k = 0; k < 4; k++)
    if(mn_pv_lower(mn_pv_at(t, n, j)) == suf[k][0] && mn_pv_lower(mn_pv_at(t, n, j + 1)) == suf[k][1] &&
       !mn_pv_word_at(t, n, j + 2))
      return j + 2;
  return j;
}

int mn_pv_word_in(const char *t, size_t s, size_t e, const char *const *list)
{
  for(int k = 0; list[k]; k++) {
    size_t m = 0;
    while(s + m < e && list[k][m] && mn_pv_lower((unsigned char)t[s + m]) == list[k][m])
      m++;
    if(s + m == e && !list[k][m])
      return 1;
  }
  return 0;
}

/* A capitalised word ("Maple", "O'Neil", "São") or an ordinal ("42nd") at
 * t[j]; returns its end or 0. */
size_t mn_pv_cap_word(const char *t, size_t n, size_t j, int ordinals)
{
  if(mn_pv_word_before(t, j))
    return 0;
  if(ordinals && mn_pv_isdig(mn_pv_at(t, n, j))) {
    size_t e = j;
    while(mn_pv_isdig(mn_pv_at(t, n, e)) && e - j < 3)
      e++;
    size_t o = mn_pv_skip_ordinal(t, n, e);
    return o != e ? o : 0;
  }
  size_t len;
  int32_t c = mn_pv_decode(t, n, j, &len);
  if(!mn_pv_is_upper_cp(c))
    return 0;
  size_t e = j + len;
  while(e < n && e - j < 40) {
    c = mn_pv_decode(t, n, e, &len);
    if(mn_pv_is_letter_cp(c)) {
      e += len;
    } else if((c == '\'' || c == '-' || c == 0x2019) && e + len < n) {
      size_t l2;
      if(!mn_pv_is_letter_cp(mn_pv_decode(t, n, e + len, &l2)))
        break;
      e += len;
    } else {
      break;
    }
  }
  return mn_pv_word_at(t, n, e) ? 0 : e;
}
