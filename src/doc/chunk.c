/* Chunkers. Hot loops work a 64-bit word at a time and never copy text:
 * the filings are tens of MB and chunking runs inside the sandbox's
 * budget, so section, page and paragraph aim at hundreds of MB/s. */
#include "doc/chunk.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "doc/code.h"
#include "util/str.h"
#include "minions.h"
#include "util/mem.h"

#define HI8 0x8080808080808080ULL

static int is_cont(unsigned char c)
{
  return (c & 0xC0) == 0x80;
}

static int is_ws(unsigned char c)
{
  return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Lead bytes (not 10xxxxxx) in an 8-byte word: 8 minus the bytes whose top
 * bits are 10, summed by one multiply (without -mpopcnt, which a portable
 * build lacks, __builtin_popcountll is a libgcc call). */
static unsigned word_chars(uint64_t w)
{
  uint64_t cont = (w & ~(w << 1) & HI8) >> 7;   /* 1 in each continuation byte */
  return 8u - (unsigned)((cont * 0x0101010101010101ULL) >> 56);
}

size_t mn_chunk_count_chars(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, n = 0;
  for(; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    n += word_chars(w);
  }
  for(; i < len; i++)
    n += !is_cont(p[i]);
  return n;
}

/* The first position at or after pos that is not inside a character:
 * bytes 10xxxxxx go with the character before them, as they are counted.
 * Cuts found after an ASCII byte (a newline, a space, a form feed) pass
 * through here, since in invalid text such a byte can be followed by
 * stray continuation bytes, and a cut before them would break the rule
 * of chunk.h. Stray bytes that follow a delimiter a method drops (a form
 * feed, the newline of a blank line between paragraphs) are dropped with
 * it. */
static size_t glue(const char *t, size_t pos, size_t end)
{
  while(pos < end && is_cont((unsigned char)t[pos]))
    pos++;
  return pos;
}

/* The position `n` characters after pos (a lead byte or end), not past
 * end. Lands on a lead byte, so a cut there never splits a sequence. */
static size_t adv(const char *t, size_t pos, size_t end, size_t n)
{
  const unsigned char *p = (const unsigned char *)t;
  size_t i = pos;
  while(n >= 8 && i + 8 <= end) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    n -= word_chars(w);
    i += 8;
  }
  while(i < end) {
    if(!is_cont(p[i])) {
      if(n == 0)
        break;
      n--;
    }
    i++;
  }
  return i;
}

/* The position `n` characters before pos, not before start. */
static size_t back(const char *t, size_t pos, size_t start, size_t n)
{
  const unsigned char *p = (const unsigned char *)t;
  size_t i = pos;
  while(n > 0 && i > start) {
    i--;
    while(i > start && is_cont(p[i]))
      i--;
    n--;
  }
  return i;
}

/* ---- pages -------------------------------------------------------------- */

void mn_page_index_build(mn_page_index *ix, const char *text, size_t len)
{
  size_t cap = 0;
  ix->ff = NULL;
  ix->n = 0;
  const char *p = text, *end = text + len;
  while(p < end && (p = memchr(p, '\f', (size_t)(end - p))) != NULL) {
    MN_GROW(ix->ff, cap, ix->n + 1);
    ix->ff[ix->n++] = (size_t)(p - text);
    p++;
  }
}

int mn_page_index_of(const mn_page_index *ix, size_t off)
{
  if(ix->n == 0)
    return -1;
  /* number of form feeds strictly before off */
  size_t lo = 0, hi = ix->n;
  while(lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if(ix->ff[mid] < off)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > (size_t)INT32_MAX ? INT32_MAX : (int)lo;
}

void mn_page_index_free(mn_page_index *ix)
{
  free(ix->ff);
  ix->ff = NULL;
  ix->n = 0;
}

int mn_page_of(const char *text, size_t len, size_t off)
{
  if(!text || !memchr(text, '\f', len))
    return -1;
  if(off > len)
    off = len;
  size_t n = 0;
  const char *p = text, *end = text + off;
  while(p < end && (p = memchr(p, '\f', (size_t)(end - p))) != NULL) {
    n++;
    p++;
  }
  return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

/* ---- names -------------------------------------------------------------- */

static const char *const METHOD_NAMES[] = { "section", "page", "paragraph", "code" };

int mn_chunk_method_parse(const char *name)
{
  for(int i = 0; name && i < 4; i++)
    if(strcasecmp(name, METHOD_NAMES[i]) == 0)
      return i;
  return -1;
}

const char *mn_chunk_method_name(mn_chunk_method m)
{
  return (unsigned)m < 4 ? METHOD_NAMES[m] : NULL;
}

void mn_chunk_list_free(mn_chunk_list *l)
{
  if(!l)
    return;
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

/* ---- emitting ----------------------------------------------------------- */

typedef struct ctx {
  const char *t;
  size_t len, doc;
  const mn_chunk_opts *o;
  mn_page_index pages;
  mn_chunk_list *out;
  size_t base_n;      /* out->n on entry, to undo on error */
} ctx;

/* Add [a, b) unless it is blank. */
static int emit(ctx *c, size_t a, size_t b)
{
  const unsigned char *p = (const unsigned char *)c->t;
  size_t s = a, e = b;
  while(s < e && is_ws(p[s]))
    s++;
  if(s == e)
    return 0;
  while(e > s && is_ws(p[e - 1]))
    e--;
  if(c->o->max_chunks && c->out->n - c->base_n >= c->o->max_chunks)
    return MN_ELIMIT;
  MN_GROW(c->out->items, c->out->cap, c->out->n + 1);
  mn_chunk *k = &c->out->items[c->out->n++];
  k->doc = c->doc;
  k->off = a;
  k->len = b - a;
  k->chars = mn_chunk_count_chars(c->t + a, b - a);
  k->page_start = mn_page_index_of(&c->pages, s);
  k->page_end = mn_page_index_of(&c->pages, e - 1);
  return 0;
}

/* ---- where to cut ------------------------------------------------------- */

/* Is the whitespace at i the end of a sentence ("end. Next", "it!" Next)?
 * Single letters before the dot ("U.S. ", "J. Smith") do not count. */
static int sentence_end_before(const unsigned char *p, size_t start, size_t i)
{
  size_t j = i;
  /* closing quotes and brackets after the punctuation */
  while(j > start) {
    unsigned char c = p[j - 1];
    if(c == ')' || c == '"' || c == '\'' || c == ']') {
      j--;
    } else if(j - start >= 3 && p[j - 3] == 0xE2 && p[j - 2] == 0x80 &&
              (c == 0x9D || c == 0x99)) {
      j -= 3;  /* ” ’ */
    } else {
      break;
    }
  }
  if(j <= start)
    return 0;
  unsigned char c = p[j - 1];
  if(c == '!' || c == '?')
    return 1;
  if(c != '.')
    return 0;
  if(j - start >= 3 && (p[j - 3] == '.' || is_ws(p[j - 3])) &&
     ((p[j - 2] | 0x20) >= 'a' && (p[j - 2] | 0x20) <= 'z'))
    return 0;
  return j - start >= 2 && !is_ws(p[j - 2]);
}

/* Position just after the last sentence end in [lo, hi), or 0. */
static size_t last_sentence(const char *t, size_t start, size_t lo, size_t hi)
{
  const unsigned char *p = (const unsigned char *)t;
  for(size_t i = hi; i-- > lo;) {
    unsigned char c = p[i];
    if(c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      if(i > start && sentence_end_before(p, start, i))
        return i + 1;
    } else if(i >= start + 2 && ((c == 0x82 && p[i - 1] == 0x80 && p[i - 2] == 0xE3) ||
                                 ((c == 0x81 || c == 0x9F) && p[i - 1] == 0xBC &&
                                  p[i - 2] == 0xEF))) {
      return i + 1;   /* 。！？ end sentences without a space */
    }
  }
  return 0;
}

/* Position just after the last whitespace in [lo, hi), or 0. */
static size_t last_space(const char *t, size_t lo, size_t hi)
{
  for(size_t i = hi; i-- > lo;)
    if(is_ws((unsigned char)t[i]))
      return i + 1;
  return 0;
}

static size_t last_newline(const char *t, size_t lo, size_t hi)
{
  if(hi <= lo)
    return 0;
  const char *nl = mn_memrchr(t + lo, '\n', hi - lo);
  return nl ? (size_t)(nl - t) + 1 : 0;
}

/* Position just after the last blank line in [lo, hi), or 0. */
static size_t last_blank_line(const char *t, size_t lo, size_t hi)
{
  const unsigned char *p = (const unsigned char *)t;
  size_t i = hi;
  while(i > lo) {
    const char *nl = mn_memrchr(t + lo, '\n', i - lo);
    if(!nl)
      return 0;
    size_t e = (size_t)(nl - t);   /* a line ends at e; blank if only ws back to the previous '\n' */
    size_t k = e;
    while(k > lo && p[k - 1] != '\n' && is_ws(p[k - 1]))
      k--;
    if(k > lo && p[k - 1] == '\n')
      return e + 1;
    i = e;
  }
  return 0;
}

enum { CUT_SECTION, CUT_PARAGRAPH, CUT_CODE };

/* Split [a, b) into pieces of at most max characters, cutting where
 * `mode` prefers. overlap applies to CUT_SECTION. */
static int split_span(ctx *c, size_t a, size_t b, size_t max, size_t overlap, int mode)
{
  if(max == 0)
    return emit(c, a, b);
  const char *t = c->t;
  size_t pos = a;
  size_t half = max / 2, fifth = max / 5;
  while(pos < b) {
    /* window [pos, end) of max chars; lo50/lo80 start its last half/fifth */
    size_t lo50 = adv(t, pos, b, max - half);
    size_t lo80 = adv(t, lo50, b, half - fifth);
    size_t end = adv(t, lo80, b, fifth);
    if(end >= b)
      return emit(c, pos, b);
    size_t cut = 0;
    switch(mode) {
    case CUT_SECTION:
      if(!(cut = last_newline(t, lo80, end)) && !(cut = last_sentence(t, pos, lo80, end)))
        cut = last_space(t, lo80, end);
      break;
    case CUT_PARAGRAPH:
      if(!(cut = last_sentence(t, pos, lo50, end)))
        cut = last_space(t, lo80, end);
      break;
    default:
      if(!(cut = last_blank_line(t, lo50, end)) && !(cut = last_newline(t, pos + 1, end)))
        cut = last_space(t, lo80, end);
      break;
    }
    if(cut > pos)   /* 0: none found */
      cut = glue(t, cut, end);
    if(cut <= pos || cut > end)
      cut = end;
    int rc = emit(c, pos, cut);
    if(rc)
      return rc;
    size_t next = overlap ? back(t, cut, pos, overlap) : cut;
    if(next <= pos)
      next = adv(t, pos, b, 1);
    pos = next;
  }
  return 0;
}

/* ---- page markers (texts without form feeds) ---------------------------- */

typedef struct marker {
  size_t ls, le;        /* the line, le after its '\n' */
  unsigned long num;
} marker;

/* Decoration around a page number: returns its width in bytes at p[i]
 * (0 if none) and whether it is a dash. */
static size_t deco_at(const unsigned char *p, size_t i, size_t e, int *dash)
{
  unsigned char c = p[i];
  *dash = c == '-' || c == '=';
  if(strchr("-=*_|#[]()<> \t\r", c) && c)
    return 1;
  if(c == 0xE2 && i + 2 < e && p[i + 1] == 0x80 && (p[i + 2] == 0x93 || p[i + 2] == 0x94)) {
    *dash = 1;   /* – — */
    return 3;
  }
  return 0;
}

/* Same, for the decoration ending just before p[j]. */
static size_t deco_before(const unsigned char *p, size_t i, size_t j, int *dash)
{
  if(j >= i + 3 && p[j - 3] == 0xE2 && p[j - 2] == 0x80 &&
     (p[j - 1] == 0x93 || p[j - 1] == 0x94)) {
    *dash = 1;
    return 3;
  }
  return j > i ? deco_at(p, j - 1, j, dash) : 0;
}

static int parse_num(const unsigned char *p, size_t *i, size_t e, unsigned long *out)
{
  size_t k = *i;
  unsigned long v = 0;
  while(k < e && k - *i < 6 && p[k] >= '0' && p[k] <= '9')
    v = v * 10 + (unsigned long)(p[k++] - '0');
  if(k == *i || (k < e && p[k] >= '0' && p[k] <= '9'))
    return 0;
  *i = k;
  *out = v;
  return 1;
}

/* Is line [ls, e) (without its newline) a page marker? */
static int is_marker(const unsigned char *p, size_t ls, size_t e, unsigned long *num)
{
  if(e - ls > 48)
    return 0;
  size_t i = ls, j = e, w;
  int dash, left_dash = 0, right_dash = 0;
  while(i < e && (w = deco_at(p, i, e, &dash)) > 0) {
    left_dash |= dash;
    i += w;
  }
  while(j > i && (w = deco_before(p, i, j, &dash)) > 0) {
    right_dash |= dash;
    j -= w;
  }
  if(i >= j)
    return 0;
  if(p[i] >= '0' && p[i] <= '9') {
    /* a bare number only between dashes ("- 3 -"): "(3)" or "[3]" alone
     * on a line are more often list items or references */
    return left_dash && right_dash && parse_num(p, &i, j, num) && i == j;
  }
  if(j - i < 6 || strncasecmp((const char *)p + i, "page", 4) != 0)
    return 0;
  i += 4;
  if(p[i] != ' ' && p[i] != '\t')
    return 0;
  while(i < j && (p[i] == ' ' || p[i] == '\t'))
    i++;
  if(!parse_num(p, &i, j, num))
    return 0;
  if(i == j)
    return 1;
  /* "Page 3 of 10" or "Page 3/10" */
  while(i < j && p[i] == ' ')
    i++;
  if(i + 2 <= j && strncasecmp((const char *)p + i, "of", 2) == 0)
    i += 2;
  else if(i < j && p[i] == '/')
    i++;
  else
    return 0;
  while(i < j && p[i] == ' ')
    i++;
  unsigned long total;
  return parse_num(p, &i, j, &total) && i == j;
}

/* Page-marker lines with increasing numbers; returns how many. */
static size_t find_markers(const char *t, size_t len, marker **out)
{
  const unsigned char *p = (const unsigned char *)t;
  marker *m = NULL;
  size_t n = 0, cap = 0, ls = 0;
  while(ls < len) {
    const char *nl = memchr(t + ls, '\n', len - ls);
    size_t e = nl ? (size_t)(nl - t) : len;
    size_t f = ls;
    while(f < e && (p[f] == ' ' || p[f] == '\t'))
      f++;
    unsigned char c = f < e ? p[f] : 0;
    unsigned long num;
    /* cheap first-byte filter before the full match */
    if((c == 'P' || c == 'p' || c == '-' || c == '=' || c == '[' || c == '(' ||
        c == '*' || c == '#' || c == '<' || c == 0xE2) &&
       is_marker(p, ls, e, &num) && (n == 0 || num > m[n - 1].num)) {
      MN_GROW(m, cap, n + 1);
      m[n].ls = ls;
      m[n].le = nl ? e + 1 : e;
      m[n].num = num;
      n++;
    }
    ls = nl ? e + 1 : len;
  }
  *out = m;
  return n;
}

static int all_ws(const char *t, size_t a, size_t b)
{
  for(size_t i = a; i < b; i++)
    if(!is_ws((unsigned char)t[i]))
      return 0;
  return 1;
}

static int chunk_pages(ctx *c)
{
  const mn_chunk_opts *o = c->o;
  int rc = 0;
  if(c->pages.n) {
    size_t start = 0;
    for(size_t k = 0; k < c->pages.n && !rc; k++) {
      rc = split_span(c, start, c->pages.ff[k], o->max_chars, 0, CUT_SECTION);
      start = glue(c->t, c->pages.ff[k] + 1, c->len);
    }
    if(!rc)
      rc = split_span(c, start, c->len, o->max_chars, 0, CUT_SECTION);
    return rc;
  }
  marker *m;
  size_t n = find_markers(c->t, c->len, &m);
  if(n < 2) {
    free(m);
    /* no pages at all: fixed-size sections; "no limit" means one chunk */
    return split_span(c, 0, c->len, o->max_chars, o->overlap, CUT_SECTION);
  }
  /* Markers are headers when the text starts with one, footers when the
   * text ends with one; otherwise a first marker "1" ends page 1. */
  int footer;
  if(all_ws(c->t, 0, m[0].ls))
    footer = 0;
  else if(all_ws(c->t, m[n - 1].le, c->len))
    footer = 1;
  else
    footer = m[0].num <= 1;
  size_t start = 0;
  for(size_t k = 0; k < n && !rc; k++) {
    size_t cut = glue(c->t, footer ? m[k].le : m[k].ls, c->len);
    rc = split_span(c, start, cut, o->max_chars, 0, CUT_SECTION);
    start = cut;
  }
  if(!rc)
    rc = split_span(c, start, c->len, o->max_chars, 0, CUT_SECTION);
  free(m);
  return rc;
}

/* ---- paragraphs --------------------------------------------------------- */

/* End of the line starting at ls (after its '\n', or len). */
static size_t line_end(const char *t, size_t ls, size_t len)
{
  const char *nl = memchr(t + ls, '\n', len - ls);
  return nl ? (size_t)(nl - t) + 1 : len;
}

static int blank_line(const char *t, size_t ls, size_t le)
{
  return all_ws(t, ls, le);
}

static int chunk_paragraphs(ctx *c)
{
  const char *t = c->t;
  size_t len = c->len, max = c->o->max_chars;
  size_t g_start = 0, g_end = 0, g_chars = 0;
  int have = 0, rc = 0;
  size_t ls = 0;
  while(ls < len && !rc) {
    /* skip blank lines */
    size_t le = line_end(t, ls, len);
    if(blank_line(t, ls, le)) {
      ls = le;
      continue;
    }
    /* the paragraph: lines up to the next blank line */
    size_t ps = ls ? glue(t, ls, le) : 0, pe = le;
    while(pe < len) {
      size_t e2 = line_end(t, pe, len);
      if(blank_line(t, pe, e2))
        break;
      pe = e2;
    }
    ls = pe;
    size_t pchars = mn_chunk_count_chars(t + ps, pe - ps);
    if(have) {
      size_t gap = mn_chunk_count_chars(t + g_end, ps - g_end);
      if(pchars <= max && g_chars + gap + pchars <= max) {
        g_end = pe;
        g_chars += gap + pchars;
        continue;
      }
      rc = emit(c, g_start, g_end);
      have = 0;
      if(rc)
        break;
    }
    if(pchars > max) {
      rc = split_span(c, ps, pe, max, 0, CUT_PARAGRAPH);
    } else {
      g_start = ps;
      g_end = pe;
      g_chars = pchars;
      have = 1;
    }
  }
  if(have && !rc)
    rc = emit(c, g_start, g_end);
  return rc;
}

/* ---- code --------------------------------------------------------------- */

static int chunk_code(ctx *c)
{
  mn_code_lang lang = mn_code_lang_from_hint(c->o->lang);
  if(lang == MN_LANG_UNKNOWN)
    lang = mn_code_detect(c->t, c->len);
  size_t *starts;
  size_t n = mn_code_pieces(c->t, c->len, lang, &starts);
  int rc = 0;
  for(size_t k = 0; k < n && !rc; k++) {
    size_t end = k + 1 < n ? starts[k + 1] : c->len;
    rc = split_span(c, starts[k], end, c->o->max_chars, 0, CUT_CODE);
  }
  free(starts);
  return rc;
}

/* ---- entry point -------------------------------------------------------- */

int mn_chunk_text(const char *text, size_t len, size_t doc,
                  const mn_chunk_opts *opts, mn_chunk_list *out)
{
  if(!opts || !out || (!text && len))
    return MN_EINVAL;
  if((unsigned)opts->method > MN_CHUNK_CODE)
    return MN_EINVAL;
  int sized = opts->method == MN_CHUNK_SECTION || opts->method == MN_CHUNK_PARAGRAPH;
  if(sized && opts->max_chars == 0)
    return MN_EINVAL;
  if(opts->overlap && opts->overlap >= opts->max_chars)
    return MN_EINVAL;
  if(len == 0)
    return 0;
  ctx c = { text, len, doc, opts, { NULL, 0 }, out, out->n };
  mn_page_index_build(&c.pages, text, len);
  int rc;
  switch(opts->method) {
  case MN_CHUNK_SECTION:
    rc = split_span(&c, 0, len, opts->max_chars, opts->overlap, CUT_SECTION);
    break;
  case MN_CHUNK_PAGE:
    rc = chunk_pages(&c);
    break;
  case MN_CHUNK_PARAGRAPH:
    rc = chunk_paragraphs(&c);
    break;
  default:
    rc = chunk_code(&c);
    break;
  }
  mn_page_index_free(&c.pages);
  if(rc)
    out->n = c.base_n;
  return rc;
}
