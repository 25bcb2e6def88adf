/* BM25 retrieval on an in-memory SQLite FTS5 table.
 *
 * Scoring is done by our own FTS5 auxiliary function, mn_bm25w(), rather
 * than the built-in bm25(): FTS5's bm25() weights columns, not query terms,
 * and callers (the sandbox's bm25_top_k, plan mode) pass weighted keywords.
 * mn_bm25w() reads the same per-phrase statistics through the extension API
 * and applies the same formula, times a weight per phrase.
 */
#include "doc/bm25.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "minions.h"
#include "util/buf.h"
#include "util/mem.h"

/* The type tag of the weights pointer bound to mn_bm25w()'s argument; a
 * pointer of any other tag (or SQL text) reads as NULL. */
#define WEIGHTS_PTR_TYPE "mn_bm25_weights"
/* Words longer than this are not words (base64, hashes, junk). */
#define MAX_WORD_BYTES 128

struct mn_bm25 {
  sqlite3 *db;
  sqlite3_stmt *query;
  size_t n;
  mn_bm25_opts opts;
  unsigned *wlen;      /* words with a letter, per text (word_length) */
  double avg_wlen;
  char err[256];
};

/* What mn_bm25w() gets for one query. */
typedef struct weights {
  const double *w;     /* weight of phrase i; phrases past n weigh 1 */
  size_t n;
  double k1, b;
  const unsigned *dl;  /* lengths by rowid instead of FTS5's, or NULL */
  size_t n_dl;
  double avgdl;
} weights;

/* Per-query statistics, computed on the first row and kept as FTS5 auxdata
 * for the remaining rows of the same MATCH. */
typedef struct phrase_stats {
  int n_phrase;
  double avgdl;
  double *idf;
  double *freq;        /* scratch: occurrences of each phrase in this row */
} phrase_stats;

/* ---- Stop words --------------------------------------------------------- */

/* English function words. Content words never go here: BM25's IDF already
 * discounts words that are merely common in the corpus. */
static const char *const stop_english[] = {
  "a", "about", "above", "after", "again", "against", "all", "also", "am",
  "an", "and", "any", "are", "as", "at", "be", "because", "been", "before",
  "being", "below", "between", "both", "but", "by", "can", "could", "did",
  "do", "does", "doing", "done", "down", "during", "each", "either", "else",
  "etc", "ever", "every", "few", "for", "from", "further", "had", "has",
  "have", "having", "he", "her", "here", "hers", "herself", "him", "himself",
  "his", "how", "however", "i", "if", "in", "into", "is", "it", "its",
  "itself", "just", "let", "may", "me", "might", "more", "most", "much",
  "must", "my", "myself", "neither", "no", "nor", "not", "now", "of", "off",
  "on", "once", "one", "only", "or", "other", "others", "our", "ours",
  "ourselves", "out", "over", "own", "per", "same", "shall", "she", "should",
  "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
  "themselves", "then", "there", "these", "they", "this", "those", "though",
  "through", "thus", "to", "too", "under", "until", "up", "upon", "us",
  "very", "via", "was", "we", "were", "what", "whatever", "when", "where",
  "whether", "which", "while", "who", "whom", "whose", "why", "will", "with",
  "within", "without", "would", "yet", "you", "your", "yours", "yourself",
};

/* Words that phrase a request to a model ("answer in units of percents and
 * round to one decimal place, using the details shown in ...") and say
 * nothing about which passage holds the answer. */
static const char *const stop_request[] = {
  "according", "answer", "answered", "answering", "answers", "ask", "asked",
  "asking", "assume", "assuming", "base", "based", "basing", "calculate",
  "calculated", "calculating", "calculation", "compute", "computed",
  "computing", "conclusion", "conclusions", "decimal", "decimals", "define",
  "defined", "definition", "describe", "detail", "details", "drawing",
  "explain", "extract", "find", "give", "given", "help", "information",
  "judgment", "judgments", "kindly", "know", "like", "mentioned", "please",
  "primarily", "provide", "provided", "question", "questions", "rely",
  "relying", "respond", "response", "round", "rounded", "rounding", "shown",
  "tell", "unit", "units", "use", "used", "using", "utilize", "utilizing",
  "want",
};

static int in_list(const char *w, const char *const *list, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(!strcmp(w, list[i]))
      return 1;
  return 0;
}

static int is_stop_word(const char *lower)
{
  return in_list(lower, stop_english, sizeof stop_english / sizeof *stop_english) ||
         in_list(lower, stop_request, sizeof stop_request / sizeof *stop_request);
}

/* ---- Words -------------------------------------------------------------- */

typedef struct word {
  const char *p;       /* start in the input */
  size_t len;          /* bytes */
  size_t chars;        /* code points */
  int has_alpha, has_digit;
} word;

/* Word characters as FTS5's unicode61 sees them: letters, numbers and
 * private-use characters, plus marks so that a decomposed accent stays in
 * its word. Erring towards fewer separators than FTS5 is safe: FTS5 splits
 * a quoted string again and matches its parts as a phrase. */
static int word_char(utf8proc_int32_t c, int *alpha, int *digit)
{
  switch(utf8proc_category(c)) {
  case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
  case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
  case UTF8PROC_CATEGORY_LO:
    *alpha = 1;
    return 1;
  case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
  case UTF8PROC_CATEGORY_NO:
    *digit = 1;
    return 1;
  case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
  case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CO:
    return 1;
  default:
    return 0;
  }
}

/* Next word of s[*pos..len) into *w; 0 when there is none. Invalid UTF-8
 * bytes are separators. */
static int next_word(const char *s, size_t len, size_t *pos, word *w)
{
  size_t i = *pos;
  memset(w, 0, sizeof *w);
  while(i < len) {
    unsigned char b = (unsigned char)s[i];
    utf8proc_int32_t c = b;
    utf8proc_ssize_t n = 1;
    int a = 0, d = 0, wc;
    if(b < 0x80) {         /* most text is ASCII; skip the table lookups */
      d = b >= '0' && b <= '9';
      a = (b | 0x20) >= 'a' && (b | 0x20) <= 'z';
      wc = a || d;
    } else {
      n = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
                           (utf8proc_ssize_t)(len - i), &c);
      if(n <= 0) {
        if(w->p)
          break;
        i++;
        continue;
      }
      wc = word_char(c, &a, &d);
    }
    if(!wc) {
      if(w->p)
        break;
      i += (size_t)n;
      continue;
    }
    if(!w->p)
      w->p = s + i;
    w->has_alpha |= a;
    w->has_digit |= d;
    w->chars++;
    i += (size_t)n;
  }
  *pos = i;
  if(!w->p)
    return 0;
  w->len = (size_t)(s + i - w->p);
  return 1;
}

/* Lower-cased copy of p[0..len) into out (NUL-terminated, at most cap-1
 * bytes; 0 if it does not fit). */
static int lower_word(const char *p, size_t len, char *out, size_t cap)
{
  size_t i = 0, o = 0;
  while(i < len) {
    utf8proc_int32_t c;
    utf8proc_ssize_t n = utf8proc_iterate((const utf8proc_uint8_t *)p + i,
                                          (utf8proc_ssize_t)(len - i), &c);
    if(n <= 0)
      return 0;  /* next_word never yields invalid UTF-8 */
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t m = utf8proc_encode_char(utf8proc_tolower(c), enc);
    if(o + (size_t)m + 1 > cap)
      return 0;
    memcpy(out + o, enc, (size_t)m);
    o += (size_t)m;
    i += (size_t)n;
  }
  out[o] = '\0';
  return 1;
}

/* ---- Queries ------------------------------------------------------------ */

/* A query on its way to FTS5: the MATCH expression and one weight per
 * phrase, in the order FTS5 numbers phrases (left to right). */
typedef struct query {
  mn_buf expr;
  char **phrase;       /* lower-cased phrase texts, to merge duplicates */
  double *w;
  size_t n, cap_phrase, cap_w;
} query;

static void query_init(query *q)
{
  memset(q, 0, sizeof *q);
  mn_buf_init(&q->expr, 0);
}

static void query_free(query *q)
{
  for(size_t i = 0; i < q->n; i++)
    free(q->phrase[i]);
  free(q->phrase);
  free(q->w);
  mn_buf_free(&q->expr);
}

/* Add a phrase: `text` is its words as written, separated by single
 * spaces, made only of word characters, so it needs no escaping inside
 * quotes; FTS5 folds case and stems it like the texts. `key` is the same
 * lower-cased: a phrase seen before adds its weight to the first one. */
static void query_add(query *q, const char *key, const char *text, double weight)
{
  for(size_t i = 0; i < q->n; i++)
    if(!strcmp(q->phrase[i], key)) {
      q->w[i] += weight;
      return;
    }
  if(q->n >= MN_BM25_MAX_PHRASES)
    return;
  MN_GROW(q->phrase, q->cap_phrase, q->n + 1);
  MN_GROW(q->w, q->cap_w, q->n + 1);
  q->phrase[q->n] = mn_xstrdup(key);
  q->w[q->n] = weight;
  q->n++;
  /* The expression is unbounded in principle but capped in practice by
   * MN_BM25_MAX_PHRASES x (MN_BM25_MAX_PHRASE_WORDS x MAX_WORD_BYTES). */
  (void)mn_buf_printf(&q->expr, "%s\"%s\"", q->n > 1 ? " OR " : "", text);
}

static void parse_free_text(query *q, const char *text, const mn_bm25_opts *o)
{
  size_t len = strlen(text);
  if(len > MN_BM25_MAX_QUERY_BYTES)
    len = MN_BM25_MAX_QUERY_BYTES;
  size_t pos = 0;
  word w;
  char low[MAX_WORD_BYTES * 4 + 1], prev[MAX_WORD_BYTES * 4 + 1];
  char orig[MAX_WORD_BYTES + 1], prev_orig[MAX_WORD_BYTES + 1];
  prev[0] = '\0';
  while(next_word(text, len, &pos, &w)) {
    if(!w.has_alpha && !w.has_digit)
      continue;
    if(w.len > MAX_WORD_BYTES || !lower_word(w.p, w.len, low, sizeof low)) {
      prev[0] = '\0';
      continue;
    }
    /* A lone letter is mostly debris of punctuation: "3M's", "U.S.". */
    if(o->stop_words && (is_stop_word(low) || (w.chars == 1 && w.has_alpha))) {
      prev[0] = '\0';
      continue;
    }
    memcpy(orig, w.p, w.len);
    orig[w.len] = '\0';
    query_add(q, low, orig, 1.0);
    /* Adjacent words often name one thing ("balance sheet", "cash flow")
     * that their parts, each common in a filing, do not. */
    if(o->pair_weight > 0 && prev[0]) {
      char *key = mn_xasprintf("%s %s", prev, low);
      char *text = mn_xasprintf("%s %s", prev_orig, orig);
      query_add(q, key, text, o->pair_weight);
      free(key);
      free(text);
    }
    strcpy(prev, low);
    strcpy(prev_orig, orig);
    if(o->split_alnum && w.has_alpha && w.has_digit) {
      /* "fy2018" is rare in filings but "2018" heads their tables; digit
       * runs of two or more are searched as words of their own. */
      for(size_t i = 0; low[i];) {
        size_t j = i;
        while(low[j] >= '0' && low[j] <= '9')
          j++;
        if(j - i >= 2) {
          char run[MAX_WORD_BYTES * 4 + 1];
          memcpy(run, low + i, j - i);
          run[j - i] = '\0';
          query_add(q, run, run, 1.0);
        }
        i = j > i ? j : i + 1;
      }
    }
  }
}

static void parse_term(query *q, const mn_bm25_term *t)
{
  if(!t->text || !(t->weight > 0) || !isfinite(t->weight))
    return;
  size_t len = strlen(t->text);
  if(len > MN_BM25_MAX_QUERY_BYTES)
    len = MN_BM25_MAX_QUERY_BYTES;
  mn_buf key = MN_BUF_INIT(0), ph = MN_BUF_INIT(0);
  size_t pos = 0, nw = 0;
  word w;
  char low[MAX_WORD_BYTES * 4 + 1];
  while(nw < MN_BM25_MAX_PHRASE_WORDS && next_word(t->text, len, &pos, &w)) {
    if(!w.has_alpha && !w.has_digit)
      continue;
    if(w.len > MAX_WORD_BYTES || !lower_word(w.p, w.len, low, sizeof low))
      continue;
    (void)mn_buf_printf(&key, "%s%s", nw ? " " : "", low);
    (void)mn_buf_printf(&ph, "%s%.*s", nw ? " " : "", (int)w.len, w.p);
    nw++;
  }
  if(nw)
    query_add(q, mn_buf_str(&key), mn_buf_str(&ph), t->weight);
  mn_buf_free(&key);
  mn_buf_free(&ph);
}

char *mn_bm25_match_expr(const char *text, const mn_bm25_opts *opts)
{
  mn_bm25_opts def = MN_BM25_OPTS_INIT;
  query q;
  query_init(&q);
  if(text)
    parse_free_text(&q, text, opts ? opts : &def);
  char *s = mn_buf_steal(&q.expr, NULL);
  query_free(&q);
  return s;
}

/* ---- The scoring function ------------------------------------------------ */

/* xQueryPhrase callback; FTS5 passes its pUserData as the third argument. */
static int count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *ud)
{
  (*(sqlite3_int64 *)ud)++;
  return SQLITE_OK;
}

static void free_stats(void *p)
{
  phrase_stats *st = p;
  if(st) {
    free(st->idf);
    free(st->freq);
    free(st);
  }
}

/* Statistics over the whole table for the current MATCH; NULL and *rc set
 * on failure. IDF and its floor are those of FTS5's bm25(). */
static phrase_stats *get_stats(const Fts5ExtensionApi *api, Fts5Context *fts,
                               int *rc)
{
  phrase_stats *st = api->xGetAuxdata(fts, 0);
  if(st)
    return st;
  sqlite3_int64 rows = 0, tokens = 0;
  *rc = api->xRowCount(fts, &rows);
  if(*rc == SQLITE_OK)
    *rc = api->xColumnTotalSize(fts, -1, &tokens);
  if(*rc != SQLITE_OK)
    return NULL;
  if(rows < 1)
    rows = 1;
  st = mn_xcalloc(1, sizeof *st);
  st->n_phrase = api->xPhraseCount(fts);
  st->avgdl = tokens > 0 ? (double)tokens / (double)rows : 1.0;
  st->idf = mn_xcalloc((size_t)st->n_phrase + 1, sizeof *st->idf);
  st->freq = mn_xcalloc((size_t)st->n_phrase + 1, sizeof *st->freq);
  for(int i = 0; i < st->n_phrase; i++) {
    sqlite3_int64 hits = 0;
    *rc = api->xQueryPhrase(fts, i, &hits, count_row);
    if(*rc != SQLITE_OK) {
      free_stats(st);
      return NULL;
    }
    double idf = log(((double)rows - (double)hits + 0.5) / ((double)hits + 0.5));
    st->idf[i] = idf > 0 ? idf : 1e-6;
  }
  *rc = api->xSetAuxdata(fts, st, free_stats);
  return *rc == SQLITE_OK ? st : NULL;  /* on failure FTS5 freed it */
}

/* mn_bm25w(table, weights): the row's weighted BM25 score, higher better. */
static void bm25w_func(const Fts5ExtensionApi *api, Fts5Context *fts,
                       sqlite3_context *ctx, int nval, sqlite3_value **val)
{
  const weights *wt = nval == 1 ? sqlite3_value_pointer(val[0], WEIGHTS_PTR_TYPE)
                                : NULL;
  if(!wt) {
    sqlite3_result_error(ctx, "mn_bm25w: bad arguments", -1);
    return;
  }
  int rc = SQLITE_OK;
  phrase_stats *st = get_stats(api, fts, &rc);
  if(!st) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  int ninst = 0, dl = 0;
  rc = api->xInstCount(fts, &ninst);
  if(rc == SQLITE_OK)
    rc = api->xColumnSize(fts, -1, &dl);
  if(rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  double avgdl = st->avgdl;
  sqlite3_int64 row = api->xRowid(fts);
  if(wt->dl && row >= 0 && (size_t)row < wt->n_dl) {
    dl = (int)wt->dl[row];
    avgdl = wt->avgdl;
  }
  memset(st->freq, 0, (size_t)st->n_phrase * sizeof *st->freq);
  for(int i = 0; i < ninst; i++) {
    int ph, col, off;
    rc = api->xInst(fts, i, &ph, &col, &off);
    if(rc != SQLITE_OK) {
      sqlite3_result_error_code(ctx, rc);
      return;
    }
    if(ph >= 0 && ph < st->n_phrase)
      st->freq[ph] += 1.0;
  }
  double norm = wt->k1 * (1.0 - wt->b + wt->b * (double)dl / avgdl);
  double score = 0;
  for(int i = 0; i < st->n_phrase; i++) {
    double f = st->freq[i];
    if(f <= 0)
      continue;
    double w = (size_t)i < wt->n ? wt->w[i] : 1.0;
    score += w * st->idf[i] * (f * (wt->k1 + 1.0)) / (f + norm);
  }
  sqlite3_result_double(ctx, score);
}

/* ---- Index -------------------------------------------------------------- */

static int register_bm25w(sqlite3 *db)
{
  fts5_api *api = NULL;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, NULL);
  if(rc == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, (void *)&api, "fts5_api_ptr", NULL);
    sqlite3_step(st);
    rc = sqlite3_finalize(st);
  }
  if(rc != SQLITE_OK)
    return rc;
  if(!api || api->iVersion < 2)
    return SQLITE_ERROR;
  return api->xCreateFunction(api, "mn_bm25w", NULL, bm25w_func, NULL);
}

static int fail_build(mn_bm25 *ix, const char *what, char **errmsg)
{
  if(errmsg)
    *errmsg = mn_xasprintf("bm25 index: %s: %s", what,
                           ix->db ? sqlite3_errmsg(ix->db) : "cannot open SQLite");
  mn_bm25_free(ix);
  return MN_EIO;
}

int mn_bm25_build_opts(mn_bm25 **out, const char *const *texts,
                       const size_t *lens, size_t n, const mn_bm25_opts *opts,
                       char **errmsg)
{
  mn_bm25_opts def = MN_BM25_OPTS_INIT;
  if(errmsg)
    *errmsg = NULL;
  if(!out || (n && !texts))
    return MN_EINVAL;
  *out = NULL;
  if(!opts)
    opts = &def;
  if(!(opts->k1 >= 0) || !(opts->b >= 0 && opts->b <= 1) || !isfinite(opts->k1) ||
     !(opts->pair_weight >= 0) || !isfinite(opts->pair_weight)) {
    if(errmsg)
      *errmsg = mn_xstrdup("bm25 index: k1 and pair_weight must be finite and "
                           ">= 0, b within 0..1");
    return MN_EINVAL;
  }
  for(size_t i = 0; i < n; i++) {
    size_t l = texts[i] ? (lens ? lens[i] : strlen(texts[i])) : 0;
    if(l > INT_MAX) {
      if(errmsg)
        *errmsg = mn_xasprintf("bm25 index: text %zu is larger than 2 GiB", i);
      return MN_ELIMIT;
    }
  }

  mn_bm25 *ix = mn_xcalloc(1, sizeof *ix);
  ix->opts = *opts;
  ix->n = n;
  /* One connection per index and one index per thread: no mutexes. */
  if(sqlite3_open_v2(":memory:", &ix->db, SQLITE_OPEN_READWRITE |
                     SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
    return fail_build(ix, "open", errmsg);
  /* no temporary files, ever: the sandbox helper may open none */
  sqlite3_exec(ix->db, "PRAGMA temp_store=MEMORY", NULL, NULL, NULL);
  if(register_bm25w(ix->db) != SQLITE_OK)
    return fail_build(ix, "FTS5 is not available", errmsg);
  /* Contentless: we only need rowids back, not a second copy of the text.
   * remove_diacritics 2 folds accents so "resume" finds "résumé". */
  const char *ddl = opts->stem
    ? "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
      "tokenize='porter unicode61 remove_diacritics 2')"
    : "CREATE VIRTUAL TABLE t USING fts5(body, content='', "
      "tokenize='unicode61 remove_diacritics 2')";
  if(sqlite3_exec(ix->db, ddl, NULL, NULL, NULL) != SQLITE_OK)
    return fail_build(ix, "create table", errmsg);

  sqlite3_stmt *ins = NULL;
  if(sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
     sqlite3_prepare_v2(ix->db, "INSERT INTO t(rowid, body) VALUES(?1, ?2)",
                        -1, &ins, NULL) != SQLITE_OK)
    return fail_build(ix, "insert", errmsg);
  for(size_t i = 0; i < n; i++) {
    const char *s = texts[i] ? texts[i] : "";
    size_t l = texts[i] ? (lens ? lens[i] : strlen(texts[i])) : 0;
    sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
    sqlite3_bind_text(ins, 2, s, (int)l, SQLITE_STATIC);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    if(rc != SQLITE_DONE) {
      sqlite3_finalize(ins);
      return fail_build(ix, "insert", errmsg);
    }
  }
  sqlite3_finalize(ins);
  /* FTS5 counts every token, and a table row of figures is mostly
   * numbers: counting only words keeps BM25 from treating the financial
   * statements, where numeric answers live, as long rambling texts. */
  if(opts->word_length) {
    ix->wlen = mn_xcalloc(n + 1, sizeof *ix->wlen);
    double total = 0;
    for(size_t i = 0; i < n; i++) {
      size_t l = texts[i] ? (lens ? lens[i] : strlen(texts[i])) : 0, pos = 0;
      word w;
      while(next_word(texts[i] ? texts[i] : "", l, &pos, &w))
        ix->wlen[i] += (unsigned)w.has_alpha;
      total += ix->wlen[i];
    }
    ix->avg_wlen = n && total > 0 ? total / (double)n : 1.0;
  }
  if(sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
    return fail_build(ix, "commit", errmsg);

  if(sqlite3_prepare_v2(ix->db,
       "SELECT rowid, mn_bm25w(t, ?2) AS s FROM t WHERE t MATCH ?1 "
       "ORDER BY s DESC, rowid LIMIT ?3", -1, &ix->query, NULL) != SQLITE_OK)
    return fail_build(ix, "prepare query", errmsg);
  *out = ix;
  return MN_OK;
}

int mn_bm25_build(mn_bm25 **out, const char *const *texts, const size_t *lens,
                  size_t n, char **errmsg)
{
  return mn_bm25_build_opts(out, texts, lens, n, NULL, errmsg);
}

void mn_bm25_free(mn_bm25 *ix)
{
  if(!ix)
    return;
  sqlite3_finalize(ix->query);
  sqlite3_close(ix->db);
  free(ix->wlen);
  free(ix);
}

size_t mn_bm25_count(const mn_bm25 *ix)
{
  return ix ? ix->n : 0;
}

const char *mn_bm25_errmsg(const mn_bm25 *ix)
{
  return ix ? ix->err : "";
}

static int run_query(mn_bm25 *ix, query *q, size_t k, mn_bm25_hit **hits,
                     size_t *n_hits)
{
  if(!q->n || !k || !ix->n)
    return MN_OK;
  weights wt = { q->w, q->n, ix->opts.k1, ix->opts.b, ix->wlen, ix->n, ix->avg_wlen };
  size_t lim = k < ix->n ? k : ix->n;
  sqlite3_stmt *st = ix->query;
  sqlite3_bind_text(st, 1, mn_buf_str(&q->expr), (int)q->expr.len, SQLITE_STATIC);
  sqlite3_bind_pointer(st, 2, &wt, WEIGHTS_PTR_TYPE, NULL);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)lim);
  mn_bm25_hit *out = mn_xmalloc(lim * sizeof *out);
  size_t got = 0;
  int rc;
  while((rc = sqlite3_step(st)) == SQLITE_ROW && got < lim) {
    out[got].index = (size_t)sqlite3_column_int64(st, 0);
    out[got].score = sqlite3_column_double(st, 1);
    got++;
  }
  if(rc != SQLITE_ROW && rc != SQLITE_DONE) {
    snprintf(ix->err, sizeof ix->err, "bm25 query: %s", sqlite3_errmsg(ix->db));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(out);
    return MN_EIO;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);  /* the weights live on our stack */
  if(!got) {
    free(out);
    out = NULL;
  }
  *hits = out;
  *n_hits = got;
  return MN_OK;
}

int mn_bm25_query(mn_bm25 *ix, const char *text, size_t k, mn_bm25_hit **hits,
                  size_t *n_hits)
{
  if(!hits || !n_hits)
    return MN_EINVAL;
  *hits = NULL;
  *n_hits = 0;
  if(!ix || !text)
    return MN_EINVAL;
  ix->err[0] = '\0';
  query q;
  query_init(&q);
  parse_free_text(&q, text, &ix->opts);
  int rc = run_query(ix, &q, k, hits, n_hits);
  query_free(&q);
  return rc;
}

int mn_bm25_query_terms(mn_bm25 *ix, const mn_bm25_term *terms, size_t n_terms,
                        size_t k, mn_bm25_hit **hits, size_t *n_hits)
{
  if(!hits || !n_hits)
    return MN_EINVAL;
  *hits = NULL;
  *n_hits = 0;
  if(!ix || (n_terms && !terms))
    return MN_EINVAL;
  ix->err[0] = '\0';
  query q;
  query_init(&q);
  for(size_t i = 0; i < n_terms; i++)
    parse_term(&q, &terms[i]);
  int rc = run_query(ix, &q, k, hits, n_hits);
  query_free(&q);
  return rc;
}
