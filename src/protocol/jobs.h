/* MinionS jobs: what the decompose step produces, the execute step runs and
 * the aggregate step reads. */
#ifndef MN_PROTOCOL_JOBS_H
#define MN_PROTOCOL_JOBS_H

#include <jansson.h>
#include <stddef.h>

#include "minions.h"
#include "sandbox/sandbox.h"

/* A job whose reply is not a JSON object is asked again, once. */
#define MN_JOB_ATTEMPTS 2

typedef enum mn_job_status {
  MN_JOB_PENDING = 0,
  MN_JOB_ANSWERED,      /* the worker answered */
  MN_JOB_ABSTAINED,     /* answer null, empty or "none": dropped */
  MN_JOB_FAILED         /* truncated, unparseable, or the request failed */
} mn_job_status;

typedef struct mn_job {
  char *task, *advice;          /* owned */
  const char *chunk;            /* chunk_len bytes: chunk_own, or after
                                   mn_jobs_share_chunks() a piece of a
                                   document (not NUL-terminated) */
  char *chunk_own;              /* owned copy, NULL when chunk is shared */
  size_t chunk_len;
  int job_id, task_id, chunk_id, sample;
  mn_job_status status;
  char *answer, *explanation, *citation;  /* owned; NULL when absent */
  char *error;                  /* owned; why it failed */
  int attempts;                 /* replies asked for, at most MN_JOB_ATTEMPTS */
} mn_job;

typedef struct mn_job_list {
  mn_job *v;
  size_t n, cap;
} mn_job_list;

/* Append a job (takes task, advice, chunk). */
void mn_jobs_add(mn_job_list *l, char *task, char *advice, char *chunk, size_t chunk_len);
/* Number the jobs: job_id in order, task_id equal for equal task texts and
 * chunk_id equal for equal chunk texts (first-seen order, from 0). */
void mn_jobs_number(mn_job_list *l);
/* Repeat every job `samples` times (sample = 0..samples-1), renumbering job_id. */
void mn_jobs_expand_samples(mn_job_list *l, int samples);
/* Chunks that are pieces of the documents point into them instead of
 * holding a copy (docs must outlive the jobs). Chunk functions cut a
 * document in order, so the search starts where the last chunk was found
 * and the text scanned is bounded (a few times the documents' size): a
 * chunk not found in time keeps its copy. Returns the jobs now sharing. */
size_t mn_jobs_share_chunks(mn_job_list *l, const mn_docs *docs);
/* Free one job's strings (a job dropped before it ran). */
void mn_job_free(mn_job *j);
void mn_jobs_free(mn_job_list *l);

/* As the sandbox's prev_jobs/transform_outputs input (borrowed pointers). */
mn_sandbox_done_job *mn_jobs_for_sandbox(const mn_job_list *l);

/* Worker output (a parsed JSON object) into the job: sets status and the
 * answer/explanation/citation strings. Non-string answers are kept as JSON. */
void mn_job_set_output(mn_job *j, const json_t *out);

/* The default listing the remote reads: answered jobs grouped by task, then
 * chunk, with ids. Caller frees. */
char *mn_jobs_format_outputs(const mn_job_list *l);

/* Run-log entries: manifests (what was asked) and outputs (what came back). */
json_t *mn_jobs_manifests_json(const mn_job_list *l);
json_t *mn_jobs_outputs_json(const mn_job_list *l);

#endif
