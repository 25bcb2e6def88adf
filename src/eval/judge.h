/* The LLM judge of an evaluation: a model told the question, the gold
 * answer and the answer says whether the answer is correct, and why
 * (prompt: MN_PROMPT_EVAL_JUDGE). One judge per worker thread: a judge
 * owns its transport, which is driven from one thread. */
#ifndef MN_EVAL_JUDGE_H
#define MN_EVAL_JUDGE_H

#include "minions.h"

typedef struct mn_judge mn_judge;

/* price: $ per 1M tokens (input, cached, output), or NULL when unknown.
 * Errors as mn_client_new (*errmsg set). */
int mn_judge_new(mn_judge **out, const char *spec, const char *url, const mn_run_opts *run,
                 const double *price, char **errmsg);
/* Judge one answer: *correct 1/0 and *reason (caller frees) on MN_OK; on
 * failure *reason says why (one line). *cost_usd is what the call cost
 * (0 when unknown or failed), *usage its tokens. */
int mn_judge_grade(mn_judge *j, const char *question, const char *gold, const char *answer,
                   int *correct, char **reason, double *cost_usd, mn_usage *usage);
/* Stop a grading under way soon (another thread). */
void mn_judge_cancel(mn_judge *j);
void mn_judge_free(mn_judge *j);

#endif
