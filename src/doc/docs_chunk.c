/* The public chunking and retrieval calls: `minions chunks`, `minions
 * retrieve` and library users go through the same chunkers and BM25 index
 * as the protocols. */
#include <stdlib.h>
#include <string.h>

#include "doc/bm25.h"
#include "doc/chunk.h"
#include "doc/docs_internal.h"
#include "mn_version.h"
#include "util/mem.h"

static int chunk_all(mn_docs *docs, const mn_chunking *how, mn_chunk_info **out, size_t *n_out)
{
  *out = NULL;
  *n_out = 0;
  mn_chunking def = MN_CHUNKING_INIT;
  if(!how)
    how = &def;
  if(how->version < 1 || how->version > MN_CHUNKING_VERSION) {
    mn_doc_set_errmsg(docs, "mn_chunking version %u is not one this library (%s) knows; "
                      "start from MN_CHUNKING_INIT", how->version, MN_VERSION_STRING);
    return MN_EINVAL;
  }
  mn_chunk_method method = how->method;
  if(!mn_chunk_method_name(method)) {
    mn_doc_set_errmsg(docs, "unknown chunking method %d", (int)method);
    return MN_EINVAL;
  }
  int whole = method == MN_CHUNK_PAGE || method == MN_CHUNK_CODE;
  if((how->max_chars == 0 && !whole) || (how->overlap && how->overlap * 2 > how->max_chars)) {
    mn_doc_set_errmsg(docs, "chunk size must be positive (0 only for whole pages or "
                       "definitions) and the overlap at most half of it");
    return MN_EINVAL;
  }
  mn_chunk_opts co = MN_CHUNK_OPTS_INIT;
  co.method = method;
  co.max_chars = how->max_chars;
  co.overlap = how->overlap;
  mn_chunk_list cl = { 0 };
  for(size_t d = 0; d < mn_docs_count(docs); d++) {
    size_t len;
    const char *text = mn_docs_text(docs, d, &len);
    int rc = mn_chunk_text(text, len, d, &co, &cl);
    if(rc) {
      mn_chunk_list_free(&cl);
      mn_doc_set_errmsg(docs, "cannot chunk %s: %s", mn_docs_name(docs, d), mn_strerror(rc));
      return rc;
    }
  }
  mn_chunk_info *v = mn_xcalloc(cl.n ? cl.n : 1, sizeof *v);
  for(size_t i = 0; i < cl.n; i++) {
    const mn_chunk *c = &cl.items[i];
    v[i] = (mn_chunk_info){ .index = i, .doc = c->doc, .offset = c->off, .length = c->len,
                            .chars = c->chars, .page_start = c->page_start,
                            .page_end = c->page_end };
  }
  *out = v;
  *n_out = cl.n;
  mn_chunk_list_free(&cl);
  return MN_OK;
}

int mn_docs_chunk(mn_docs *docs, const mn_chunking *how, mn_chunk_info **out, size_t *n_out)
{
  return chunk_all(docs, how, out, n_out);
}

int mn_docs_retrieve(mn_docs *docs, const mn_chunking *how, const char *query, size_t k,
                     mn_chunk_info **out, size_t *n_out)
{
  mn_chunk_info *all = NULL;
  size_t n = 0;
  *out = NULL;
  *n_out = 0;
  int rc = chunk_all(docs, how, &all, &n);
  if(rc)
    return rc;
  const char **texts = mn_xcalloc(n ? n : 1, sizeof *texts);
  size_t *lens = mn_xcalloc(n ? n : 1, sizeof *lens);
  for(size_t i = 0; i < n; i++) {
    texts[i] = mn_docs_text(docs, all[i].doc, NULL) + all[i].offset;
    lens[i] = all[i].length;
  }
  mn_bm25 *ix = NULL;
  char *err = NULL;
  rc = mn_bm25_build(&ix, texts, lens, n, &err);
  free(texts);
  free(lens);
  if(rc) {
    mn_doc_set_errmsg(docs, "retrieval index: %s", err ? err : mn_strerror(rc));
    free(err);
    free(all);
    return rc;
  }
  mn_bm25_hit *hits = NULL;
  size_t nh = 0;
  rc = mn_bm25_query(ix, query ? query : "", k, &hits, &nh);
  if(rc) {
    mn_doc_set_errmsg(docs, "retrieval query: %s", mn_bm25_errmsg(ix));
  } else {
    mn_chunk_info *v = mn_xcalloc(nh ? nh : 1, sizeof *v);
    for(size_t i = 0; i < nh; i++) {
      v[i] = all[hits[i].index];
      v[i].score = hits[i].score;
    }
    *out = v;
    *n_out = nh;
  }
  free(hits);
  mn_bm25_free(ix);
  free(all);
  return rc;
}
