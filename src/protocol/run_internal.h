/* What every protocol shares: the run handle's insides and the helpers that
 * call a model with accounting (usage, time, events, run log). */
#ifndef MN_PROTOCOL_RUN_INTERNAL_H
#define MN_PROTOCOL_RUN_INTERNAL_H

#include <signal.h>

#include "llm/client.h"
#include "minions.h"
#include "run/runlog.h"
#include "util/json.h"

struct mn_run {
  /* options, with strings owned by the run */
  mn_run_opts opts;
  char **owned;               /* every string copied from opts */
  size_t n_owned, owned_cap;

  mn_llm *llm;                /* the transport every client shares */
  mn_client *local;           /* NULL when the protocol has no local side */
  mn_client *remote;          /* NULL when the protocol has no remote side */
  mn_client *embed;           /* retrieval by embeddings only */
  double price_in, price_cached, price_out;  /* per 1M; price_in < 0: unknown */
  struct mn_cache *cache;     /* response cache (opts.cache_path) or NULL */
  double paid_usd;            /* spent on remote calls that went to the server
                                 (a chat session's, carried from question to
                                 question), for the spend cap */
  double call_estimate;       /* the cap's upper estimate of the call being made */

  mn_usage usage[2];          /* indexed by mn_side */
  double call_time[2];        /* wall seconds waiting on each side */
  double t_start;
  mn_timing timing;
  int rounds;
  char *answer;
  char *log_file;
  mn_runlog *log;
  int log_to_caller;          /* a chat session keeps the log in its own file */
  char *errmsg;
  volatile sig_atomic_t cancelled;
};

/* Replace the run's task (copied) before mn_run_execute(). */
void mn_proto_set_task(mn_run *run, const char *task);

/* Set the run's one-line error message (printf-style) and return code. */
int mn_proto_fail(mn_run *run, int code, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

void mn_proto_emit(mn_run *run, const mn_event *ev);
/* Emit a MESSAGE event. */
void mn_proto_message(mn_run *run, mn_side side, int to_model, const char *label,
                    const char *text);
/* Add a call's usage to a side and emit a USAGE event. */
void mn_proto_add_usage(mn_run *run, mn_side side, const mn_usage *u);
/* With a response cache: one model call in the run log's cache record
 * (job_id < 0: not a job), then the cache's first read or write error, if
 * any, as a warning event. */
void mn_proto_note_call(mn_run *run, mn_side side, const char *label, int job_id, int cached);
/* Remote cost so far (< 0 if unknown). */
double mn_proto_cost_now(const mn_run *run);

/* One chat with a side's model, synchronously: emits the outgoing message
 * (the last message of req) and the reply, adds usage and wait time.
 * Returns out->code; on failure the run's error message is set. */
int mn_proto_chat(mn_run *run, mn_side side, const char *label,
                const mn_llm_req *req, mn_llm_result *out);

/* Checks a parsed reply; returns NULL if usable, else a short reason that
 * is sent back to the model ("field 'decision' must be ..."). */
typedef const char *(*mn_json_check_fn)(const json_t *reply);

/* A chat whose reply must be a JSON object: asks for it in the provider's
 * JSON mode (schema when given), parses leniently, checks it, and re-asks
 * up to MN_JSON_REASKS times with the reason, counting every attempt's
 * tokens. `msgs` is the conversation so far; the re-asks are not added to
 * it. On success *out is the object (caller decrefs) and *raw_out the raw
 * text of the reply that was used (caller frees; may be NULL). */
#define MN_JSON_REASKS 2
int mn_proto_chat_json(mn_run *run, mn_side side, const char *label,
                     const mn_llm_msg *msgs, size_t n_msgs, double temperature,
                     int max_tokens, const char *schema, const char *schema_name,
                     mn_json_check_fn check, json_t **out, char **raw_out);

/* A conversation whose message texts it owns. */
typedef struct mn_conv {
  mn_llm_msg *msgs;
  size_t n, cap;
} mn_conv;
void mn_conv_add(mn_conv *c, const char *role, const char *content);   /* copies */
void mn_conv_take(mn_conv *c, const char *role, char *content);        /* takes */
void mn_conv_free(mn_conv *c);

/* One turn of a free-text conversation: send conv to a side's model (its
 * temperature and reply cap), log the turn (the last message and the reply)
 * and, on success, append the reply to conv as the assistant's; *reply (may
 * be NULL) then points at it, owned by conv. */
int mn_proto_conv_chat(mn_run *run, mn_side side, const char *label, mn_conv *conv,
                     const char **reply);

/* Documents as one prompt section: each wrapped with its name. Caller frees. */
char *mn_proto_documents_text(const mn_docs *docs);

/* *src (of any version this library knows, checked by the caller) as the
 * current version, fields it lacks at their defaults. */
void mn_proto_opts_read(mn_run_opts *dst, const mn_run_opts *src);

/* The run-log folder: o->log_dir, else $MINIONS_LOG_DIR, else
 * $XDG_STATE_HOME/minions/logs, else ~/.local/state/minions/logs. Caller frees. */
char *mn_proto_log_dir(const mn_run_opts *o);

/* The protocols. Each sets run->answer and run->rounds on success. */
int mn_proto_run_remote_only(mn_run *run, const mn_docs *docs);
int mn_proto_run_local_only(mn_run *run, const mn_docs *docs);
int mn_proto_run_minion(mn_run *run, const mn_docs *docs);
int mn_proto_run_minions(mn_run *run, const mn_docs *docs);

/* pack.c: documents shorter than chunk_chars / 2 joined, in order, into packs
 * of at most chunk_chars bytes (each file headed by "### FILE: path"); the
 * others kept as they are. NULL when fewer than two are that small (use the
 * set as it is). *files_packed: how many went into packs. */
mn_docs *mn_proto_pack_docs(const mn_docs *docs, size_t chunk_chars, size_t *files_packed);

struct mn_job_list;
/* Retrieval "embedding": keep, for each task, the retrieval_k chunks whose
 * embeddings are closest (cosine) to the task's, dropping the other jobs. */
int mn_proto_embed_filter(mn_run *run, struct mn_job_list *jobs);

#endif
