/* The run log: one JSON file per run, with the field names the Python
 * reference writes (task, doc_metadata, conversation[{user, prompt, output,
 * job_manifests?, job_outputs?}], generated_final_answer, usage{remote,
 * local}, timing{local_call_time, remote_call_time, total_time,
 * overhead_time}) so existing notebooks read ours, plus protocol, models,
 * rounds, cost_usd and error.
 */
#ifndef MN_RUN_RUNLOG_H
#define MN_RUN_RUNLOG_H

#include <jansson.h>
#include <stdint.h>

#include "minions.h"

typedef struct mn_runlog mn_runlog;

mn_runlog *mn_runlog_new(const char *protocol, const char *task,
                         const char *doc_metadata, const char *local_model,
                         const char *remote_model);
void mn_runlog_free(mn_runlog *log);

/* Names of the documents of the run (their texts are not logged). */
void mn_runlog_add_document(mn_runlog *log, const char *name, size_t bytes);

/* Append a conversation entry: user is "remote" or "local"; prompt/output
 * may be NULL (JSON null). Returns the entry (owned by the log) so that the
 * caller can set output later or add job_manifests/job_outputs. */
json_t *mn_runlog_turn(mn_runlog *log, const char *user, const char *prompt,
                       const char *output);
/* Set a string field of an entry (NULL -> null). */
void mn_runlog_turn_set(json_t *turn, const char *key, const char *value);
/* Set a large member of an entry (value stolen) that nothing reads before
 * the log is written: it is dumped to the log's spill file at once and
 * only spliced into the file mn_runlog_write() makes, at its place among
 * the entry's members; the entry holds null meanwhile. Kept in memory
 * when no spill file can be written. */
void mn_runlog_turn_set_spilled(mn_runlog *log, json_t *turn, const char *key, json_t *value);
/* 0: keep every member in memory (tests compare both ways). Default 1. */
void mn_runlog_set_spill(mn_runlog *log, int on);
/* Bytes of members now in the spill file. */
size_t mn_runlog_spilled_bytes(const mn_runlog *log);

/* Extra top-level field (stolen reference), e.g. "privacy". */
void mn_runlog_set(mn_runlog *log, const char *key, json_t *value);

/* The response cache's record, "cache": {"file", "hits", "misses",
 * "calls": [{"round", "side", "label", "cached", "job_id"?}]}: one entry
 * per model call, answered from the cache or sent. _call does nothing
 * before _begin (or with a NULL log). */
void mn_runlog_cache_begin(mn_runlog *log, const char *file);
void mn_runlog_cache_call(mn_runlog *log, int round, const char *side, const char *label,
                          int job_id, int cached);
void mn_runlog_cache_totals(mn_runlog *log, uint64_t hits, uint64_t misses);

void mn_runlog_finish(mn_runlog *log, const char *answer, int rounds,
                      const mn_usage *remote, const mn_usage *local,
                      const mn_timing *timing, double cost_usd,
                      const char *error);

/* mn_usage in the reference's shape. New reference. */
json_t *mn_usage_json(const mn_usage *u);
json_t *mn_timing_json(const mn_timing *t);

/* Write the log to `path` (atomically: temp file + rename, 0600), creating
 * the parent folder (0700) if needed, as indented JSON streamed to the
 * file. Returns 0 or MN_EIO with *errmsg set. */
int mn_runlog_write(mn_runlog *log, const char *path, char **errmsg);
/* The same for any JSON document (a chat session's log). */
int mn_runlog_write_json(const json_t *root, const char *path, char **errmsg);
/* The log as it stands (borrowed), spilled members read back into it
 * (they stay in memory from then on). */
json_t *mn_runlog_json(mn_runlog *log);

/* A fresh file name in `dir` for a run of `protocol`:
 * DIR/YYYYmmdd-HHMMSS-PROTOCOL-XXXX.json. Caller frees. */
char *mn_runlog_default_path(const char *dir, const char *protocol);

#endif
