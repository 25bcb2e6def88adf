/* Lexical retrieval over chunks with SQLite FTS5's bm25().
 *
 * An index is built over a set of texts (usually the chunks of the
 * documents) in an in-memory database; queries return the best texts for a
 * query, best first. The tokenizer, stemming, stop words and query weighting
 * are chosen for retrieval quality on long filings (see bench/RESULTS.md);
 * `minions retrieve`, `--retrieval bm25` and the sandbox's bm25_top_k all
 * rank through this one module with the same defaults.
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

/* Index n texts (borrowed only for the call). Returns 0, or MN_EINVAL /
 * MN_EIO (SQLite failure, with *errmsg set; caller frees). */
int mn_bm25_build(mn_bm25 **out, const char *const *texts, const size_t *lens,
                  size_t n, char **errmsg);
void mn_bm25_free(mn_bm25 *ix);

/* Top k texts for a free-text query, best first. *hits is malloc'd (caller
 * frees), *n_hits <= k. A query with no usable word yields no hits. */
int mn_bm25_query(mn_bm25 *ix, const char *query, size_t k,
                  mn_bm25_hit **hits, size_t *n_hits);
/* Same with explicit weighted keywords (each may be a phrase). */
int mn_bm25_query_terms(mn_bm25 *ix, const mn_bm25_term *terms, size_t n_terms,
                        size_t k, mn_bm25_hit **hits, size_t *n_hits);

#endif
