/* Evaluation datasets: one question per line of a JSONL file.
 *
 * Two forms are read:
 *  - FinanceBench's own (the shared sample reads as is): "financebench_id",
 *    "question", "answer", "doc_name"; the document is DOCS/<doc_name>.pdf,
 *    DOCS being the docs folder given, else "pdfs" beside the dataset;
 *  - a generic one: "question", "answer", optional "id", and "context": a
 *    string or an array whose items are {"path": P}, {"text": T}, or a
 *    string, which is a path when such a file or folder exists (relative
 *    paths are taken from the dataset's folder) and text otherwise.
 * Every question needs an id that is unique in the file (resuming relies on
 * it): "financebench_id", else "id", else "line-N". Errors name the file and
 * the line.
 */
#ifndef MN_EVAL_DATASET_H
#define MN_EVAL_DATASET_H

#include <stddef.h>

typedef struct mn_eval_item {
  char *id;
  char *question;
  char *gold;
  char **paths;     /* documents to load */
  size_t n_paths;
  char **texts;     /* documents given inline */
  size_t n_texts;
  size_t line;      /* in the file, for messages */
} mn_eval_item;

typedef struct mn_eval_dataset {
  mn_eval_item *items;
  size_t n;
} mn_eval_dataset;

/* Load path. docs_dir may be NULL. MN_OK, or an MN_E* code with *errmsg
 * (caller frees) saying where and what. */
int mn_eval_dataset_load(const char *path, const char *docs_dir, mn_eval_dataset *out,
                         char **errmsg);
void mn_eval_dataset_free(mn_eval_dataset *d);
/* Keep the first n questions (all when there are fewer). */
void mn_eval_dataset_keep(mn_eval_dataset *d, size_t n);

#endif
