/* OUT/results.jsonl: one JSON object per finished run (question x
 * protocol), appended and synced as each run ends, so a kill -9 loses at
 * most the line being written. Reading it back keeps, for each id and
 * protocol, the last complete line; a torn last line is cut off. */
#ifndef MN_EVAL_RESULTS_H
#define MN_EVAL_RESULTS_H

#include <jansson.h>
#include <stddef.h>

typedef struct mn_results {
  int fd;              /* open for appending */
  char *path;
  json_t **rows;       /* the last row per id and protocol, file order */
  size_t n, cap;
} mn_results;

/* Open (creating) path and read what it holds. MN_OK or an MN_E* code with
 * *errmsg set. */
int mn_results_open(mn_results *r, const char *path, char **errmsg);
/* The row for id and protocol, or NULL (borrowed). */
json_t *mn_results_find(const mn_results *r, const char *id, const char *protocol);
/* Append row (its reference is taken) and sync it to disk. */
int mn_results_append(mn_results *r, json_t *row, char **errmsg);
void mn_results_close(mn_results *r);

#endif
