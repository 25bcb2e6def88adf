/* Values the privacy shield knows by what stands around them: dates of
 * birth, IDs and SSNs after their keyword ("DOB", "MRN", "policy number"),
 * and street addresses (a house number, capitalised words ending in a
 * street suffix, then unit, city, state and ZIP). These read words and
 * their order, which a regular expression would only hide in a longer
 * pattern, so they are small hand-written readers; each looks a bounded
 * distance ahead and only moves forward. */
#include "privacy/internal.h"

#include <stdio.h>
#include <string.h>

#include "util/mem.h"

/* ---- dates --------------------------------------------------------------------------- */

static const char *const months[12] = {
  "january", "february", "march", "april", "may", "june", "july", "august",
  "september", "october", "november", "december"
};

/* A month name or abbreviation ("Mar", "Mar.", "Sept") at t[i]: 1..12, or 0. */
static int month_at(const char *t, size_t n, size_t i, size_t *end)
{
  if(mn_pv_word_before(t, i))
    return 0;
  size_t j = i;
  while(mn_pv_isalp(mn_pv_at(t, n, j)) && j - i < 10)
    j++;
  size_t len = j - i;
  if(len < 3 || mn_pv_word_at(t, n, j))
    return 0;
  for(int m = 0; m < 12; m++) {
    size_t ml = strlen(months[m]);
    if(len > ml || (len != ml && len != 3 && !(m == 8 && len == 4)))
      continue;
    size_t k = 0;
    while(k < len && mn_pv_lower((unsigned char)t[i + k]) == months[m][k])
      k++;
    if(k < len)
      continue;
    if(len < ml && mn_pv_at(t, n, j) == '.')
      j++;
    *end = j;
    return m + 1;
  }
  return 0;
}


static int year_ok(unsigned y)
{
  return y >= 1900 && y <= 2100;
}

/* A date at t[i]: ISO, M/D/Y (D.M.Y with dots or a day over 12), "March
 * 14, 1962", "14 March 1962", "March 1962". Returns the end, 0 if none;
 * key gets "YYYY-MM-DD" or "YYYY-MM". */
size_t mn_pv_parse_date(const char *t, size_t n, size_t i, char key[16])
{
  if(mn_pv_word_before(t, i))
    return 0;
  unsigned y = 0, m = 0, d = 0;
  size_t j = i, e = 0;
  if(mn_pv_isdig(mn_pv_at(t, n, i))) {
    size_t la;
    unsigned a = mn_pv_read_num(t, n, &j, &la);
    int sep = mn_pv_at(t, n, j);
    if((sep == '-' || sep == '/' || sep == '.') && mn_pv_isdig(mn_pv_at(t, n, j + 1))) {
      size_t k = j + 1, lb, lc;
      unsigned b = mn_pv_read_num(t, n, &k, &lb);
      if(lb > 2 || mn_pv_at(t, n, k) != sep || !mn_pv_isdig(mn_pv_at(t, n, k + 1)))
        return 0;
      size_t q = k + 1;
      unsigned c = mn_pv_read_num(t, n, &q, &lc);
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
      int nc = mn_pv_at(t, n, e);
      if(mn_pv_word_at(t, n, e) || ((nc == sep || nc == '.' || nc == '-' || nc == '/') && mn_pv_isdig(mn_pv_at(t, n, e + 1))))
        return 0;
    } else if(la <= 2 && a >= 1 && a <= 31) {
      size_t k = mn_pv_skip_ordinal(t, n, j), ly;
      size_t k2 = mn_pv_skip_blanks(t, n, k, 2);
      if(k2 == k)
        return 0;
      if(mn_pv_lower(mn_pv_at(t, n, k2)) == 'o' && mn_pv_lower(mn_pv_at(t, n, k2 + 1)) == 'f' && mn_pv_at(t, n, k2 + 2) == ' ')
        k2 = mn_pv_skip_blanks(t, n, k2 + 2, 2);
      int mo = month_at(t, n, k2, &k);
      if(!mo)
        return 0;
      if(mn_pv_at(t, n, k) == ',')
        k++;
      k2 = mn_pv_skip_blanks(t, n, k, 2);
      if(k2 == k)
        return 0;
      y = mn_pv_read_num(t, n, &k2, &ly);
      if(ly != 4 || mn_pv_word_at(t, n, k2))
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
    size_t k2 = mn_pv_skip_blanks(t, n, k, 2);
    if(k2 == k)
      return 0;
    unsigned a = mn_pv_read_num(t, n, &k2, &ln);
    if(ln == 4) {
      y = a;
    } else if(ln >= 1 && ln <= 2) {
      d = a;
      k2 = mn_pv_skip_ordinal(t, n, k2);
      if(mn_pv_at(t, n, k2) == ',')
        k2++;
      size_t k3 = mn_pv_skip_blanks(t, n, k2, 2);
      if(k3 == k2)
        return 0;
      y = mn_pv_read_num(t, n, &k3, &ln);
      if(ln != 4)
        return 0;
      k2 = k3;
    } else {
      return 0;
    }
    if(mn_pv_word_at(t, n, k2))
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
  int c = mn_pv_lower(mn_pv_at(t, n, i));
  for(size_t k = 0; k < sizeof id_keywords / sizeof id_keywords[0]; k++) {
    const keyword *kw = &id_keywords[k];
    if(kw->text[0] != c)
      continue;
    size_t e = mn_pv_kw_at(t, n, i, kw->text, kw->exact);
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
      e = mn_pv_kw_at(t, n, j, words[w], 0);
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
  if(!mn_pv_isaln(mn_pv_at(t, n, i)) || mn_pv_word_before(t, i))
    return 0;
  size_t e = i;
  int digits = 0;
  for(;;) {
    size_t cs = e;
    int alldig = 1;
    while(mn_pv_isaln(mn_pv_at(t, n, e)) && e - i < 40) {
      digits += mn_pv_isdig((unsigned char)t[e]);
      alldig &= mn_pv_isdig((unsigned char)t[e]);
      e++;
    }
    int c = mn_pv_at(t, n, e);
    if((c == '-' || c == '.' || c == '/') && mn_pv_isaln(mn_pv_at(t, n, e + 1))) {
      e++;
      continue;
    }
    if(c == ' ' && alldig && e - cs <= 4 && mn_pv_isdig(mn_pv_at(t, n, e + 1))) {
      size_t q = e + 1;
      while(mn_pv_isdig(mn_pv_at(t, n, q)))
        q++;
      if(q - e - 1 <= 4 && !mn_pv_isalp(mn_pv_at(t, n, q))) {
        e++;
        continue;
      }
    }
    break;
  }
  if(e - i < 3 || e - i >= 40 || mn_pv_word_at(t, n, e) || digits < 2)
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
    if(mn_pv_isaln((unsigned char)t[i]))
      k[m++] = (char)(mn_pv_islo((unsigned char)t[i]) ? t[i] - 32 : t[i]);
  k[m] = '\0';
  return k;
}

/* t[j] is a full stop ending a sentence: ". " after a word of five or more
 * letters (not "Mar." or "St.") */
static int sentence_end(const char *t, size_t n, size_t j)
{
  if(t[j] != '.' || !mn_pv_isws(mn_pv_at(t, n, j + 1)))
    return 0;
  size_t k = j;
  while(k > 0 && mn_pv_isalp((unsigned char)t[k - 1]) && j - k < 5)
    k--;
  return j - k >= 5;
}

void mn_pv_scan_keywords(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    if(!mn_pv_isalp((unsigned char)t[i]) || mn_pv_word_before(t, i))
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
        size_t e = mn_pv_parse_date(t, n, j, key);
        if(e) {
          mn_pv_add_span(sp, j, e, K_DOB, -1, mn_xstrdup(key));
          break;
        }
        if(t[j] == ';' || (t[j] == '\n' && text_seen) || sentence_end(t, n, j))
          break;
        text_seen |= mn_pv_isaln((unsigned char)t[j]);
      }
    } else {
      size_t j = skip_filler(t, n, end);
      size_t e = parse_id_value(t, n, j);
      if(e)
        mn_pv_add_span(sp, j, e, kw->kind, -1, alnum_key(t, j, e));
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


/* ", Apt 4B", " Suite 200", " #12" after a street. */
static size_t parse_unit(const char *t, size_t n, size_t j)
{
  static const char *const units[] = { "apartment", "apt", "suite", "ste", "unit", "floor", "fl",
                                       "room", "rm", "building", "bldg", NULL };
  if(mn_pv_at(t, n, j) == ',')
    j++;
  size_t k = mn_pv_skip_blanks(t, n, j, 2);
  if(k == j)
    return 0;
  size_t e = 0;
  if(mn_pv_at(t, n, k) == '#') {
    e = k + 1;
  } else {
    for(int u = 0; units[u] && !e; u++)
      e = mn_pv_kw_at(t, n, k, units[u], 0);
    if(!e)
      return 0;
    if(mn_pv_at(t, n, e) == '.')
      e++;
    e = mn_pv_skip_blanks(t, n, e, 1);
    if(mn_pv_at(t, n, e) == '#')
      e++;
  }
  size_t v = e;
  while((mn_pv_isaln(mn_pv_at(t, n, v)) || (mn_pv_at(t, n, v) == '-' && v > e)) && v - e < 8)
    v++;
  if(v == e || mn_pv_word_at(t, n, v))
    return 0;
  return v;
}

/* ", Springfield, IL 62704" (or on the next line): city words, then a
 * two-letter state, or a state name followed by a ZIP code. */
static size_t parse_city(const char *t, size_t n, size_t j)
{
  size_t k = j;
  if(mn_pv_at(t, n, k) == ',')
    k++;
  size_t s = k;
  int newlines = 0;
  while(k < n && mn_pv_isws((unsigned char)t[k]) && k - s < 12)
    if(t[k++] == '\n' && ++newlines > 1)
      return 0;
  if(k == s)
    return 0;
  int words = 0;
  size_t e;
  while(words < 3 && (e = mn_pv_cap_word(t, n, k, 0))) {
    words++;
    k = e;
    if(mn_pv_at(t, n, k) == ' ' && mn_pv_cap_word(t, n, k + 1, 0))
      k++;
    else
      break;
  }
  if(!words)
    return 0;
  if(mn_pv_at(t, n, k) == ',')
    k++;
  size_t k2 = mn_pv_skip_blanks(t, n, k, 2);
  if(k2 == k)
    return 0;
  int two = mn_pv_isup(mn_pv_at(t, n, k2)) && mn_pv_isup(mn_pv_at(t, n, k2 + 1)) && !mn_pv_word_at(t, n, k2 + 2);
  if(two) {
    e = k2 + 2;
  } else {
    e = mn_pv_cap_word(t, n, k2, 0);
    if(!e)
      return 0;
    if(mn_pv_at(t, n, e) == ' ' && mn_pv_cap_word(t, n, e + 1, 0))
      e = mn_pv_cap_word(t, n, e + 1, 0);
  }
  size_t z = mn_pv_skip_blanks(t, n, e, 2);
  if(z > e && mn_pv_isdig(mn_pv_at(t, n, z))) {
    size_t q = z, lz;
    mn_pv_read_num(t, n, &q, &lz);
    if(lz == 5) {
      if(mn_pv_at(t, n, q) == '-' && mn_pv_isdig(mn_pv_at(t, n, q + 1))) {
        size_t q2 = q + 1, l4;
        mn_pv_read_num(t, n, &q2, &l4);
        if(l4 == 4)
          q = q2;
      }
      if(!mn_pv_word_at(t, n, q))
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
    e = mn_pv_kw_at(t, n, i, po[k], 0);
  if(e) {
    size_t j = mn_pv_skip_blanks(t, n, e, 2), ln;
    if(j == e)
      return 0;
    if(mn_pv_at(t, n, j) == '#')
      j++;
    mn_pv_read_num(t, n, &j, &ln);
    if(ln < 1 || ln > 8 || mn_pv_word_at(t, n, j))
      return 0;
    size_t c = parse_city(t, n, j);
    return c ? c : j;
  }
  if(!mn_pv_isdig(mn_pv_at(t, n, i)) || !mn_pv_num_start_ok(t, i))
    return 0;
  size_t j = i, ln;
  mn_pv_read_num(t, n, &j, &ln);
  if(ln > 6)
    return 0;
  int year_like = ln == 4 && (t[i] == '1' || t[i] == '2');
  if(mn_pv_at(t, n, j) == '-' && mn_pv_isdig(mn_pv_at(t, n, j + 1))) {
    j++;
    mn_pv_read_num(t, n, &j, &ln);
    if(ln > 6)
      return 0;
  } else if(mn_pv_isalp(mn_pv_at(t, n, j)) && mn_pv_at(t, n, j + 1) == ' ') {
    j++;
  }
  size_t k = mn_pv_skip_blanks(t, n, j, 2);
  if(k == j)
    return 0;
  static const char *const directions[] = { "n", "s", "e", "w", "ne", "nw", "se", "sw", NULL };
  size_t street_end = 0;
  int words = 0;
  for(int w = 0; w < 6; w++) {
    size_t we = mn_pv_cap_word(t, n, k, 1);
    if(!we)
      break;
    words++;
    if(words >= 2 && mn_pv_word_in(t, k, we, street_suffixes)) {
      street_end = we;
      break;
    }
    size_t next = we;
    if(mn_pv_at(t, n, next) == '.' && mn_pv_word_in(t, k, we, directions))
      next++;
    if(mn_pv_at(t, n, next) != ' ')
      break;
    k = next + 1;
  }
  if(!street_end || mn_pv_kw_at(t, n, mn_pv_skip_blanks(t, n, street_end, 1), "of", 0))
    return 0;   /* "Court of Appeals", "Square of" */
  e = street_end;
  size_t after = mn_pv_at(t, n, e) == '.' ? e + 1 : e;
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
    if(mn_pv_isws(c) || c == ',' || c == '.') {
      space = m > 0;
      continue;
    }
    if(space)
      k[m++] = ' ';
    space = 0;
    k[m++] = (char)mn_pv_lower(c);
  }
  k[m] = '\0';
  return k;
}

void mn_pv_scan_addresses(const char *t, size_t n, spans *sp)
{
  for(size_t i = 0; i < n; i++) {
    int c = (unsigned char)t[i];
    if(!(mn_pv_isdig(c) || c == 'P' || c == 'p') || mn_pv_word_before(t, i))
      continue;
    size_t e = parse_address(t, n, i);
    if(e) {
      mn_pv_add_span(sp, i, e, K_ADDRESS, -1, address_key(t, i, e));
      i = e - 1;
    } else {
      while(i + 1 < n && mn_pv_isaln((unsigned char)t[i + 1]))
        i++;
    }
  }
}

