/* Chunkers: cut a document's text into pieces for the local model.
 *
 * A chunk is a span of its document's text (no copy). Sizes are counted in
 * characters (Unicode code points); a chunk boundary never falls inside a
 * UTF-8 sequence. Pages are 0-based, counted from form feeds ('\f', as
 * pdftotext writes them): a byte's page is the number of form feeds before
 * it, so pages match the pieces of the text split on '\f'. page_start/page_end are
 * -1 when the document has no form feed. Shared by the sandbox's chunk_by_*
 * functions, plan mode, retrieval and `minions chunks`.
 *
 * Text need not be valid UTF-8 (the sandbox passes whatever strings the
 * program built): bytes 10xxxxxx are never cut before and are not counted
 * as characters, and every method still makes progress and stays in bounds.
 */
#ifndef MN_DOC_CHUNK_H
#define MN_DOC_CHUNK_H

#include <stddef.h>

#include "minions.h"

typedef struct mn_chunk {
  size_t doc;          /* index of the document */
  size_t off;          /* byte offset of the chunk in the document text */
  size_t len;          /* length in bytes */
  size_t chars;        /* length in characters */
  int page_start;      /* page of the chunk's first non-blank byte, or -1 */
  int page_end;        /* page of its last non-blank byte, or -1 */
} mn_chunk;

typedef struct mn_chunk_list {
  mn_chunk *items;
  size_t n, cap;
} mn_chunk_list;

void mn_chunk_list_free(mn_chunk_list *l);

/* mn_chunk_method, its name and parse functions: minions.h */

typedef struct mn_chunk_opts {
  mn_chunk_method method;
  size_t max_chars;    /* section/paragraph (and page/code pieces that are
                          longer are split); default 3000. 0 is refused for
                          section/paragraph and means "no limit" for page
                          and code. */
  size_t overlap;      /* section (and the page method's section fallback);
                          default 0; must be < max_chars */
  const char *lang;    /* code only: a language ("c", "cpp", "python",
                          "javascript", "typescript", "go", "rust") or a
                          file name whose extension names one; NULL or
                          unknown: detected from the content */
  size_t max_chunks;   /* stop with MN_ELIMIT past this many chunks from
                          one call (bounds memory for hostile sizes such as
                          max_chars 2, overlap 1); 0: no limit */
} mn_chunk_opts;

#define MN_CHUNK_OPTS_INIT { MN_CHUNK_SECTION, 3000, 0, NULL, 0 }

/* Append the chunks of text[0..len) (document number `doc`) to out, in
 * text order. Returns 0, MN_EINVAL (bad options) or MN_ELIMIT (max_chunks;
 * out is then left as it was). Empty or whitespace-only chunks are not
 * produced; no chunk has more than max_chars characters (when max_chars is
 * set). */
int mn_chunk_text(const char *text, size_t len, size_t doc,
                  const mn_chunk_opts *opts, mn_chunk_list *out);

/* Page index (0-based, -1 if the text has no form feed) of byte `off`.
 * Scans the text; for many look-ups build an mn_page_index once. */
int mn_page_of(const char *text, size_t len, size_t off);

/* Offsets of a text's form feeds, for page look-ups in O(log pages). */
typedef struct mn_page_index {
  size_t *ff;          /* ascending offsets of '\f' */
  size_t n;
} mn_page_index;

void mn_page_index_build(mn_page_index *ix, const char *text, size_t len);
/* Same answer as mn_page_of() on the indexed text. */
int mn_page_index_of(const mn_page_index *ix, size_t off);
void mn_page_index_free(mn_page_index *ix);

/* Number of characters (code points; bytes that are not 10xxxxxx) in
 * s[0..len). */
size_t mn_chunk_count_chars(const char *s, size_t len);

#endif
