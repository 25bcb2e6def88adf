/* Chunkers: cut a document's text into pieces for the local model.
 *
 * A chunk is a span of its document's text (no copy). Sizes are counted in
 * characters (Unicode code points); a chunk boundary never falls inside a
 * UTF-8 sequence. Pages are 0-based, counted from form feeds ('\f', as
 * pdftotext writes them); page_start/page_end are -1 when the document has
 * no form feed. Shared by the sandbox's chunk_by_* functions, plan mode,
 * retrieval and `minions chunks`.
 */
#ifndef MN_DOC_CHUNK_H
#define MN_DOC_CHUNK_H

#include <stddef.h>

typedef struct mn_chunk {
  size_t doc;          /* index of the document */
  size_t off;          /* byte offset of the chunk in the document text */
  size_t len;          /* length in bytes */
  size_t chars;        /* length in characters */
  int page_start;      /* page of the chunk's first byte, or -1 */
  int page_end;        /* page of its last byte, or -1 */
} mn_chunk;

typedef struct mn_chunk_list {
  mn_chunk *items;
  size_t n, cap;
} mn_chunk_list;

void mn_chunk_list_free(mn_chunk_list *l);

typedef enum mn_chunk_method {
  MN_CHUNK_SECTION,    /* fixed size with overlap, preferring to cut at line
                          or sentence ends near the limit */
  MN_CHUNK_PAGE,       /* one chunk per page (form feeds, common page-marker lines) */
  MN_CHUNK_PARAGRAPH,  /* blank-line paragraphs packed up to max_chars; long
                          paragraphs split at sentence ends */
  MN_CHUNK_CODE        /* top-level functions/classes of C, Python, JS/TS, Go, Rust */
} mn_chunk_method;

/* "section", "page", "paragraph", "code" -> method; -1 if unknown. */
int mn_chunk_method_parse(const char *name);
const char *mn_chunk_method_name(mn_chunk_method m);

typedef struct mn_chunk_opts {
  mn_chunk_method method;
  size_t max_chars;    /* section/paragraph (and page/code pieces that are
                          longer are split); default 3000 */
  size_t overlap;      /* section only; default 0; must be < max_chars */
} mn_chunk_opts;

#define MN_CHUNK_OPTS_INIT { MN_CHUNK_SECTION, 3000, 0 }

/* Append the chunks of text[0..len) (document number `doc`) to out.
 * Returns 0 or MN_EINVAL (bad options). Empty or whitespace-only chunks are
 * not produced. */
int mn_chunk_text(const char *text, size_t len, size_t doc,
                  const mn_chunk_opts *opts, mn_chunk_list *out);

/* Page index (0-based, -1 if the text has no form feed) of byte `off`. */
int mn_page_of(const char *text, size_t len, size_t off);

#endif
