/* The sandbox that runs remote-written Lua (MinionS code mode).
 *
 * The remote model writes a program defining prepare_jobs(context,
 * prev_jobs) and optionally transform_outputs(jobs) (DESIGN.md section 3).
 * It runs here, next to the documents, in a fresh Lua 5.4 state per call,
 * with allow-listed globals only and budgets on memory, instructions, wall
 * time, job count and string sizes. Anything it does wrong becomes an error
 * message meant to be sent back to the remote model so it can try again.
 */
#ifndef MN_SANDBOX_SANDBOX_H
#define MN_SANDBOX_SANDBOX_H

#include <stddef.h>

typedef struct mn_sandbox_limits {
  size_t memory_bytes;      /* Lua heap; default 256 MiB */
  unsigned long long instructions; /* VM instruction budget; default 2e9 */
  long wall_ms;             /* wall-clock deadline; default 10000 */
  size_t max_jobs;          /* default 2048 */
  size_t max_string_bytes;  /* any single string the program builds or
                               returns (task, advice, chunk, transform output);
                               default 8 MiB */
} mn_sandbox_limits;

#define MN_SANDBOX_LIMITS_INIT { 256u << 20, 2000000000ULL, 10000, 2048, 8u << 20 }

/* A job as the program returned it. */
typedef struct mn_sandbox_job {
  char *task;      /* required, non-empty */
  char *advice;    /* may be NULL */
  char *chunk;     /* required (may be empty) */
  size_t chunk_len;
} mn_sandbox_job;

/* A job of the previous round, with the worker's output, for prev_jobs and
 * transform_outputs. Strings may be NULL (answer NULL = abstained). */
typedef struct mn_sandbox_done_job {
  const char *task, *advice, *chunk;
  size_t chunk_len;
  int job_id, task_id, chunk_id;
  const char *answer, *explanation, *citation;
} mn_sandbox_done_job;

typedef struct mn_sandbox_docs {
  const char *const *texts;
  const size_t *lens;
  size_t n;
} mn_sandbox_docs;

/* Run prepare_jobs(context, prev_jobs). On success *jobs (malloc'd array,
 * free with mn_sandbox_jobs_free) holds *n_jobs >= 1 jobs and *has_transform
 * says whether the program defines transform_outputs. On failure returns
 * MN_ESANDBOX (or MN_ELIMIT for a budget) and *errmsg (caller frees) says
 * what went wrong in words the remote model can act on. */
int mn_sandbox_prepare_jobs(const char *code, size_t code_len,
                            const mn_sandbox_docs *docs,
                            const mn_sandbox_done_job *prev, size_t n_prev,
                            const mn_sandbox_limits *limits,
                            mn_sandbox_job **jobs, size_t *n_jobs,
                            int *has_transform, char **errmsg);
void mn_sandbox_jobs_free(mn_sandbox_job *jobs, size_t n);

/* Run the program's transform_outputs(jobs) in a fresh state and return its
 * string in *out (caller frees). */
int mn_sandbox_transform_outputs(const char *code, size_t code_len,
                                 const mn_sandbox_docs *docs,
                                 const mn_sandbox_done_job *jobs, size_t n_jobs,
                                 const mn_sandbox_limits *limits,
                                 char **out, char **errmsg);

#endif
