/* Lexical retrieval over chunks with SQLite FTS5's bm25().
 *
 * An index is built over a set of texts (usually the chunks of the
 * documents) in an in-memory database; queries return the best texts for a
 * query, best first. The tokenizer, stemming, stop words and query weighting
 * are chosen for retrieval quality on long filings (bench/bench_retrieval.c
 * measures each choice against a plain BM25 on FinanceBench);
 * `minions retrieve`, `--retrieval bm25` and the sandbox's bm25_top_k all
 * rank through this one module with the same defaults.
 *
 * Scores are FTS5's BM25 (same per-phrase statistics and IDF as its built-in
 * bm25(), k1 = 1.2, b = 0.75 by default) with each query phrase multiplied
 * by its weight, computed by an auxiliary function registered on the
 * index's own connection. With all weights 1 and word_length off the score
 * equals -bm25(t).
 *
 * Query text is never passed to FTS5 as syntax: words are extracted here
 * and each becomes a quoted string, so "AND", "NEAR(", "*", quotes or
 * "col:" in a query are plain words or separators. A text matches when it
 * contains any query phrase (OR), so one missing word does not hide it.
 *
 * Thread safety: an index is used by one thread at a time; distinct indexes
 * may be used from distinct threads at once.
 */
#ifndef MN_DOC_BM25_H
#define MN_DOC_BM25_H

#include <stddef.h>

typedef struct mn_bm25 mn_bm25;

/* One weighted keyword (weight 1.0 is neutral). */
typedef struct mn_bm25_term {
  const char *text;
  double weight;
} mn_bm25_term;

typedef struct mn_bm25_hit {
  size_t index;        /* index of the text given to mn_bm25_build */
  double score;        /* higher is better */
} mn_bm25_hit;

/* Knobs, for the benchmark and for callers that know better. Start from
 * MN_BM25_OPTS_INIT, which holds the defaults every front end uses. */
typedef struct mn_bm25_opts {
  int stem;            /* Porter stemming of texts and queries ("revenues"
                          finds "revenue"); default 1 */
  int stop_words;      /* free-text queries drop English function words,
                          words that only phrase a request ("answer",
                          "round", "please") and lone letters; default 1 */
  int split_alnum;     /* a free-text word mixing letters and digits
                          ("FY2018") also searches its digit runs ("2018");
                          default 1 */
  double pair_weight;  /* free-text queries also search each two adjacent
                          kept words as a phrase ("balance sheet") with this
                          weight; 0 disables; default 1 */
  int word_length;     /* length normalisation counts only words with a
                          letter, not numbers, so tables of figures do not
                          count as long texts; default 1 */
  double k1;           /* term-frequency saturation; default 1.2 */
  double b;            /* length normalisation, 0..1; default 0.75 */
} mn_bm25_opts;

#define MN_BM25_OPTS_INIT { 1, 1, 1, 1.0, 1, 1.2, 0.75 }

/* Caps on what one query may make us do (words past them are ignored). */
#define MN_BM25_MAX_QUERY_BYTES (64 * 1024)
#define MN_BM25_MAX_PHRASES 256
#define MN_BM25_MAX_PHRASE_WORDS 32

/* Index n texts (borrowed only for the call) with the default options.
 * Returns 0, or MN_EINVAL (NULL arguments) / MN_EIO (SQLite failure, with
 * *errmsg set to a one-line message; caller frees). errmsg may be NULL. */
int mn_bm25_build(mn_bm25 **out, const char *const *texts, const size_t *lens,
                  size_t n, char **errmsg);
/* Same with options (NULL means defaults); MN_EINVAL for k1 or
 * pair_weight negative or not finite, or b outside 0..1. */
int mn_bm25_build_opts(mn_bm25 **out, const char *const *texts,
                       const size_t *lens, size_t n, const mn_bm25_opts *opts,
                       char **errmsg);
void mn_bm25_free(mn_bm25 *ix);

/* Number of texts in the index. */
size_t mn_bm25_count(const mn_bm25 *ix);
/* The last query error as one line ("" if none); owned by ix. */
const char *mn_bm25_errmsg(const mn_bm25 *ix);

/* Top k texts for a free-text query, best first (ties by index). *hits is
 * malloc'd (caller frees; NULL when *n_hits is 0), *n_hits <= k. A query
 * with no usable word yields no hits. Returns 0, MN_EINVAL or MN_EIO. */
int mn_bm25_query(mn_bm25 *ix, const char *query, size_t k,
                  mn_bm25_hit **hits, size_t *n_hits);
/* Same with explicit weighted keywords. A keyword of several words is a
 * phrase (the words must appear in that order, adjacent); its words are
 * kept even if they are stop words. Keywords with weight <= 0 or no word
 * are skipped. */
int mn_bm25_query_terms(mn_bm25 *ix, const mn_bm25_term *terms, size_t n_terms,
                        size_t k, mn_bm25_hit **hits, size_t *n_hits);

/* The phrases a free-text query becomes under these options, as the FTS5
 * MATCH expression sent to SQLite (malloc'd, caller frees; "" when no word
 * is usable). For tests, the benchmark and `minions retrieve --explain`. */
char *mn_bm25_match_expr(const char *query, const mn_bm25_opts *opts);

#endif
