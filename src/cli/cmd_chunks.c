/* minions chunks / minions retrieve: see how documents are cut and what
 * retrieval finds, with the same chunkers and ranking the protocols use. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char chunks_help[] =
"usage: minions chunks PATH... [--chunk METHOD] [--chunk-chars N] [--overlap N] [--json]\n"
"       minions retrieve PATH... --query TEXT [--retrieval-k K] [--chunk METHOD]\n"
"                       [--chunk-chars N] [--overlap N] [--json]\n"
"\n"
"chunks prints the chunks the documents are cut into; retrieve prints the K\n"
"chunks that best match TEXT (BM25 over SQLite FTS5, ranked exactly as\n"
"--retrieval bm25 and the sandbox's bm25_top_k), best first.\n"
"\n"
"  --chunk METHOD     section (default), page, paragraph or code\n"
"  --chunk-chars N    chunk size in characters (default 3000 for section and\n"
"                     paragraph; whole pages and definitions for page and code)\n"
"  --overlap N        characters shared by consecutive section chunks (default 0)\n"
"  --query TEXT       what to look for (retrieve)\n"
"  --retrieval-k K    how many chunks to return (retrieve; default 10)\n"
"  --json             a JSON array of {index, doc, page_start, page_end, chars,\n"
"                     text} (plus score for retrieve); pages are 0-based, from\n"
"                     the documents' form feeds, null when there are none\n"
"  -h, --help         this text\n"
"The names are those of 'minions run' (--chunk, --chunk-chars, --retrieval-k).\n";

static json_t *page_json(int p)
{
  return p < 0 ? json_null() : json_integer(p);
}

static void print_chunks(mn_docs *docs, const mn_chunk_info *v, size_t n, int json, int scores)
{
  if(json) {
    json_t *a = json_array();
    for(size_t i = 0; i < n; i++) {
      const char *text = mn_docs_text(docs, v[i].doc, NULL) + v[i].offset;
      json_t *o = json_object();
      json_object_set_new(o, "index", json_integer((json_int_t)v[i].index));
      json_object_set_new(o, "doc", json_string(mn_docs_name(docs, v[i].doc)));
      json_object_set_new(o, "page_start", page_json(v[i].page_start));
      json_object_set_new(o, "page_end", page_json(v[i].page_end));
      json_object_set_new(o, "chars", json_integer((json_int_t)v[i].chars));
      if(scores)
        json_object_set_new(o, "score", json_real(v[i].score));
      json_object_set_new(o, "text", json_stringn(text, v[i].length));
      json_array_append_new(a, o);
    }
    json_dumpf(a, stdout, JSON_INDENT(2));
    fputc('\n', stdout);
    json_decref(a);
    return;
  }
  for(size_t i = 0; i < n; i++) {
    const char *text = mn_docs_text(docs, v[i].doc, NULL) + v[i].offset;
    printf("--- chunk %zu | %s", v[i].index, mn_docs_name(docs, v[i].doc));
    if(v[i].page_start >= 0)
      printf(" | pages %d-%d", v[i].page_start, v[i].page_end);
    printf(" | %zu chars", v[i].chars);
    if(scores)
      printf(" | score %.3f", v[i].score);
    printf("\n%.*s\n", (int)v[i].length, text);
  }
}

int cmd_chunks(int argc, char **argv, int retrieve)
{
  cli_args a = { argc, argv, 0, NULL };
  const char **paths = NULL;
  size_t n_paths = 0;
  mn_chunking how = MN_CHUNKING_INIT;
  const char *query = NULL;
  long k = 10, n;
  int size_given = 0;
  int json = 0, pos, rc = CLI_USAGE;
  const char *f, *v;
  mn_docs *docs = NULL;
  mn_chunk_info *chunks = NULL;
  size_t n_chunks = 0;

  while((f = cli_next(&a, &pos))) {
    if(pos) {
      paths = realloc(paths, (n_paths + 1) * sizeof *paths);
      paths[n_paths++] = f;
    } else if(!strcmp(f, "--help") || !strcmp(f, "-h")) {
      fputs(chunks_help, stdout);
      rc = CLI_OK;
      goto out;
    } else if(!strcmp(f, "--json")) {
      json = 1;
    } else if(!strcmp(f, "--chunk")) {
      int m;
      if(!(v = cli_value(&a, f)) ||
         cli_choice(f, v, mn_chunk_method_parse, "section, page, paragraph or code", &m))
        goto out;
      how.method = (mn_chunk_method)m;
    } else if(!strcmp(f, "--max-chars") || !strcmp(f, "--k")) {
      cli_error("%s is now %s, as in 'minions run'", f,
                !strcmp(f, "--k") ? "--retrieval-k" : "--chunk-chars");
      goto out;
    } else if(!strcmp(f, "--chunk-chars") || !strcmp(f, "--overlap") ||
              (retrieve && !strcmp(f, "--retrieval-k"))) {
      if(!(v = cli_value(&a, f)) || cli_int(f, v, !strcmp(f, "--overlap") ? 0 : 1, 100000000, &n))
        goto out;
      if(!strcmp(f, "--chunk-chars")) {
        how.max_chars = (size_t)n;
        size_given = 1;
      }
      else if(!strcmp(f, "--overlap"))
        how.overlap = (size_t)n;
      else
        k = n;
    } else if(retrieve && !strcmp(f, "--query")) {
      if(!(query = cli_value(&a, f)))
        goto out;
    } else {
      cli_error("unknown option '%s' (see 'minions %s --help')", f, retrieve ? "retrieve" : "chunks");
      goto out;
    }
  }
  if(!n_paths) {
    cli_error("give one or more files or folders (see 'minions %s --help')",
              retrieve ? "retrieve" : "chunks");
    goto out;
  }
  if(retrieve && (!query || !*query)) {
    cli_error("--query is required");
    goto out;
  }
  if(!size_given && (how.method == MN_CHUNK_PAGE || how.method == MN_CHUNK_CODE))
    how.max_chars = 0;
  rc = CLI_FAIL;
  if(!(docs = cli_load_docs(paths, n_paths, NULL, 0)))
    goto out;
  int code = retrieve ? mn_docs_retrieve(docs, &how, query, (size_t)k, &chunks, &n_chunks)
                      : mn_docs_chunk(docs, &how, &chunks, &n_chunks);
  if(code != MN_OK) {
    cli_error("%s", mn_docs_errmsg(docs));
    rc = code == MN_EINVAL ? CLI_USAGE : CLI_FAIL;
    goto out;
  }
  print_chunks(docs, chunks, n_chunks, json, retrieve);
  rc = CLI_OK;
out:
  free(chunks);
  mn_docs_free(docs);
  free(paths);
  return rc;
}
