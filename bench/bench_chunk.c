/* Chunking and ingestion speed on the FinanceBench filings.
 *
 *   bench_chunk [PDF_DIR] [MAX_CHARS]
 *
 * Ingests every PDF of PDF_DIR (default $MN_SHARED_DIR/data/financebench/pdfs
 * or ../shared/data/financebench/pdfs) through mn_docs_add_path, timing it,
 * then runs each chunker over all the text five times on one core and
 * prints the median throughput in MB/s (text bytes per second).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/chunk.h"
#include "minions.h"
#include "util/time.h"

#define RUNS 5

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
  char def[4096];
  const char *dir = argc > 1 ? argv[1] : NULL;
  if(!dir) {
    const char *shared = getenv("MN_SHARED_DIR");
    snprintf(def, sizeof def, "%s/data/financebench/pdfs",
             shared ? shared : "../shared");
    dir = def;
  }
  size_t max_chars = argc > 2 ? strtoul(argv[2], NULL, 10) : 3000;

  mn_docs *docs;
  mn_docs_new(&docs);
  double t0 = mn_now();
  if(mn_docs_add_path(docs, dir) != MN_OK) {
    fprintf(stderr, "bench_chunk: %s\n", mn_docs_errmsg(docs));
    mn_docs_free(docs);
    return 1;
  }
  double ingest = mn_now() - t0;
  size_t total = mn_docs_total_bytes(docs);
  printf("ingest: %zu documents, %.1f MB of text in %.2f s\n",
         mn_docs_count(docs), (double)total / 1e6, ingest);

  static const mn_chunk_method methods[] = { MN_CHUNK_SECTION, MN_CHUNK_PAGE,
                                             MN_CHUNK_PARAGRAPH, MN_CHUNK_CODE };
  for(size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
    mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
    o.method = methods[m];
    o.max_chars = max_chars;
    double secs[RUNS];
    size_t n_chunks = 0;
    for(int r = 0; r < RUNS; r++) {
      mn_chunk_list l = { NULL, 0, 0 };
      double s = mn_now();
      for(size_t i = 0; i < mn_docs_count(docs); i++) {
        size_t len;
        const char *text = mn_docs_text(docs, i, &len);
        if(mn_chunk_text(text, len, i, &o, &l) != 0) {
          fprintf(stderr, "bench_chunk: chunking failed\n");
          return 1;
        }
      }
      secs[r] = mn_now() - s;
      n_chunks = l.n;
      mn_chunk_list_free(&l);
    }
    qsort(secs, RUNS, sizeof secs[0], cmp_double);
    double med = secs[RUNS / 2];
    printf("%-9s %8.0f MB/s  %7zu chunks  (median of %d, %.1f ms)\n",
           mn_chunk_method_name(methods[m]), (double)total / 1e6 / med, n_chunks,
           RUNS, med * 1e3);
  }
  mn_docs_free(docs);
  return 0;
}
