/* Person names for the privacy shield: the registered people, the texts
 * that name each of them (full forms, turned-round forms, initials, lone
 * parts), and names the text announces itself after a title or a form
 * label. Names compare case-insensitively over Unicode (utf8proc); lone
 * parts keep their capitals so that "grant" the verb is not "Grant". */
#include "privacy/internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "util/buf.h"
#include "util/mem.h"

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
  return mn_pv_word_in(s, 0, len, list);
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
  while(j > 0 && mn_pv_isalp((unsigned char)t[j - 1]) && e - j < 10)
    j--;
  if(j == e || mn_pv_word_before(t, j) || !mn_pv_isup((unsigned char)t[j]))
    return 0;
  return mn_pv_word_in(t, j, e, titles);
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
  int32_t c = mn_pv_decode(tok, strlen(tok), 0, &len);
  return mn_pv_is_letter_cp(c) && (tok[len] == '\0' || (tok[len] == '.' && tok[len + 1] == '\0'));
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
  int32_t c = mn_pv_decode(text, len, 0, &l);
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
  (*parts)[(*n)++] = (part){ text, mn_pv_fold(text, len), person };
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
      mn_pv_decode(tk[0], strlen(tk[0]), 0, &l);
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
      while(a < n && mn_pv_isws((unsigned char)t[a]) && a - s < 3)
        a++;
      if(a == s)
        return 0;
      b++;
      continue;
    }
    if(a >= n)
      return 0;
    size_t lt, lp;
    int32_t ct = mn_pv_decode(t, n, a, &lt), cp = mn_pv_decode(pt->text, pt->len, b, &lp);
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
  if(mn_pv_word_at(t, n, a))
    return 0;
  if(pt->needs_title && !title_before(t, i))
    return 0;
  return a;
}

void mn_pv_scan_names(mn_privacy *p, const char *t, size_t n, spans *sp)
{
  if(p->pats_dirty)
    rebuild_patterns(p);
  if(!p->n_pat)
    return;
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = mn_pv_decode(t, n, i, &len);
    if(!mn_pv_is_word_cp(c) || mn_pv_word_before(t, i)) {
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
      char *key = bp->person < 0 ? mn_pv_fold(bp->text, bp->len) : NULL;
      mn_pv_add_span(sp, i, best, K_PERSON, bp->person, key);
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
    if(mn_pv_isws(c)) {
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
    int32_t c = mn_pv_decode(w, n, i, &len);
    letters += mn_pv_is_letter_cp(c);
    upper += mn_pv_is_upper_cp(c);
    i += len;
  }
  if(letters < 2 || upper != letters)
    return mn_xstrdup(w);
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, "", 0);
  int start = 1;
  for(size_t i = 0; i < n;) {
    size_t len;
    int32_t c = mn_pv_decode(w, n, i, &len);
    if(c < 0) {
      mn_buf_append(&b, w + i, 1);
    } else {
      utf8proc_uint8_t enc[4];
      int32_t m = start ? c : utf8proc_tolower(c);
      mn_buf_append(&b, enc, (size_t)utf8proc_encode_char(m, enc));
      start = !mn_pv_is_letter_cp(c);
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
    char *tf = mn_pv_fold(pe->tok[w], strlen(pe->tok[w]));
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
int mn_pv_add_name(mn_privacy *p, const char *raw, int title_only)
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
    if(!mn_pv_word_in(tok[first], 0, l, titles))
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
      if(mn_pv_isdig((unsigned char)*c) || strchr("@[]<>/\\_=|{}#$%+&", *c))
        ok = 0;
    size_t l1;
    int32_t c0 = mn_pv_decode(x, xl, 0, &l1);
    if(!mn_pv_is_letter_cp(c0))
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
  char *f = mn_pv_fold(name, strlen(name));
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
       mn_pv_entry_find(p, K_PERSON, pe->fold) < 0) {
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
    size_t we = mn_pv_cap_word(t, n, k, 0);
    if(we && we == k + 1 && mn_pv_at(t, n, we) == '.')
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
    if(mn_pv_at(t, n, we) == ' ' && mn_pv_at(t, n, we + 1) != ' ')
      k = we + 1;
    else
      break;
  }
  return words < min ? 0 : e;
}

/* Names the text itself announces: after a title ("Dr. Alan Grant",
 * "Mrs Li") or a label ("Patient: Maria Gonzalez"). Registered, so that
 * scan_names then finds them everywhere. */
int mn_pv_scan_announced_names(mn_privacy *p, const char *t, size_t n)
{
  static const char *const labels[] = {
    "patient name", "patient", "name", "full name", "emergency contact", "next of kin",
    "guardian", "spouse", "mother", "father", NULL
  };
  int rc = 0;
  for(size_t i = 0; i < n; i++) {
    if(!mn_pv_isalp((unsigned char)t[i]) || mn_pv_word_before(t, i))
      continue;
    size_t e = 0;
    int label = 0;
    if(mn_pv_isup((unsigned char)t[i])) {
      /* "Dr", "Mrs": capital then small letters ("MR imaging" is no title) */
      size_t we = i + 1;
      while(mn_pv_islo(mn_pv_at(t, n, we)))
        we++;
      if(mn_pv_word_in(t, i, we, titles) && !mn_pv_word_at(t, n, we))
        e = we;
    }
    /* labels count only first on their line, as in a form: "Product
     * name: Post-it Notes" inside a sentence names no one */
    size_t ls = i;
    while(ls > 0 && (t[ls - 1] == ' ' || t[ls - 1] == '\t' || t[ls - 1] == '-' || t[ls - 1] == '*'))
      ls--;
    int line_start = ls == 0 || t[ls - 1] == '\n';
    for(int l = 0; !e && line_start && labels[l]; l++) {
      size_t le = mn_pv_kw_at(t, n, i, labels[l], 0);
      if(le && mn_pv_at(t, n, le) == ':') {
        e = le + 1;
        label = 1;
      }
    }
    if(!e)
      continue;
    size_t j = e;
    if(!label && mn_pv_at(t, n, j) == '.')
      j++;
    size_t k = mn_pv_skip_blanks(t, n, j, 2);
    if(k == j) {
      i = e - 1;
      continue;
    }
    if(label) {   /* "Patient: Mrs. Maria Lopez" */
      size_t we = k;
      while(mn_pv_isalp(mn_pv_at(t, n, we)))
        we++;
      if(we > k && mn_pv_word_in(t, k, we, titles)) {
        we += mn_pv_at(t, n, we) == '.';
        k = mn_pv_skip_blanks(t, n, we, 2);
      }
    }
    size_t ne = name_words(t, n, k, label ? 2 : 1, label ? 4 : 3);
    if(ne) {
      char *name = mn_xstrndup(t + k, ne - k);
      int r = mn_pv_add_name(p, name, !label);
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

void mn_pv_persons_free(mn_privacy *p)
{
  for(size_t k = 0; k < p->n_per; k++)
    person_free(&p->per[k]);
  free(p->per);
  for(size_t k = 0; k < p->n_pat; k++)
    free(p->pat[k].text);
  free(p->pat);
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
      found = !mn_pv_word_before(t, i) && match_pat(&pt, t, n, i) > 0;
  /* "John Doe" for a text that says "Doe, John": the cleaned form is the
   * turned-round one, so also try the name as given */
  if(!found && strchr(name, ',')) {
    npat raw = { (char *)name, strlen(name), 0, 0, -1, 0 };
    for(size_t i = 0; i < n && !found; i++)
      found = !mn_pv_word_before(t, i) && match_pat(&raw, t, n, i) > 0;
  }
  free(s);
  return found;
}

int mn_privacy_add_names_in(mn_privacy *p, const char *const *names, size_t n,
                            const char *text)
{
  size_t len = text ? strlen(text) : 0;
  int added = 0;
  for(size_t k = 0; k < n; k++) {
    if(!names[k] || !name_occurs(text, len, names[k]))
      continue;   /* hallucinated */
    int r = mn_pv_add_name(p, names[k], 0);
    if(r < 0)
      return r;
    added += r;
  }
  return added;
}
