/* The evaluation's summary: one row per protocol and models (local,
 * remote) over the results, written as OUT/summary.md, .csv and .json, and
 * OUT/accuracy_cost.svg (accuracy against remote dollars per question).
 *
 * A run that ended in an error counts as a wrong answer (it is in the
 * errors column too). "cost vs remote-only" is the group's remote dollars
 * per question over those of remote-only with the same remote model. */
#ifndef MN_EVAL_SUMMARY_H
#define MN_EVAL_SUMMARY_H

#include <jansson.h>
#include <stddef.h>

typedef struct mn_summary_note {
  int budget_stop;        /* the spend cap stopped new questions */
  double max_cost_usd;
  double spend_usd;       /* this invocation */
  size_t questions;       /* in the dataset (after --limit) */
} mn_summary_note;

/* Write the four files into dir from rows (result objects). MN_OK or
 * MN_EIO with *errmsg. */
int mn_summary_write(const char *dir, json_t *const *rows, size_t n, const mn_summary_note *note,
                     char **errmsg);

#endif
