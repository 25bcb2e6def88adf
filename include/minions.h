/* minions.h: the public API of libminions.
 *
 * Minions lets a small language model that runs next to the data (Ollama,
 * llama.cpp, vLLM, ...) collaborate with a frontier model in the cloud
 * (OpenAI, Anthropic, Together, Gemini, ...) so that only the local model
 * reads long documents.
 *
 * Conventions (after libgit2 and sqlite3.h):
 *  - Handles are opaque. Each has a _new function that fills an `out`
 *    parameter and a _free function; _free(NULL) is a no-op.
 *  - Functions returning int return MN_OK (0) or a negative MN_E* code; the
 *    handle then holds a one-line message (mn_*_errmsg) until its next call.
 *  - Strings returned as `const char *` are owned by the handle and stay
 *    valid until the handle is freed or the next call that changes it.
 *    Strings passed in are copied unless stated otherwise.
 *  - Option structs begin with a `version` field and have an _INIT macro
 *    that sets it; start from the macro and change fields. A struct from a
 *    newer header than the library knows is refused with MN_EINVAL, so a
 *    program built against a later release fails clearly, not silently.
 *  - Values from a closed set (protocols, chunking methods, ...) are enums;
 *    each has _name() (the spelling the command line and run logs use, NULL
 *    when out of range) and _parse() (the value, or -1 for an unknown name).
 *  - Memory: when an allocation fails the library writes one line to stderr
 *    and calls abort(), as a long-running tool cannot go on sensibly without
 *    memory; MN_ENOMEM is returned only when libcurl cannot allocate.
 *  - No global mutable state except what mn_global_init() sets up.
 *    Distinct handles may be used from distinct threads at once; one handle
 *    must not be used from two threads at once (except mn_run_cancel).
 */
#ifndef MINIONS_H
#define MINIONS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MN_VERSION_MAJOR 0
#define MN_VERSION_MINOR 1

/* Only what this header declares is exported from the shared library. */
#if defined(__GNUC__) || defined(__clang__)
#define MN_EXTERN __attribute__((visibility("default")))
#else
#define MN_EXTERN
#endif

/* ---- Errors --------------------------------------------------------- */

enum {
  MN_OK = 0,
  MN_EINVAL = -1,       /* a bad argument, option or flag */
  MN_ENOMEM = -2,       /* out of memory */
  MN_EIO = -3,          /* a file could not be read or written */
  MN_ENET = -4,         /* could not connect, or the connection broke */
  MN_EHTTP = -5,        /* the server answered with an HTTP error status */
  MN_EPARSE = -6,       /* a reply, file or model output could not be parsed */
  MN_ETIMEOUT = -7,     /* a time limit passed */
  MN_ECANCELLED = -8,   /* mn_run_cancel() was called */
  MN_ELIMIT = -9,       /* a size or count cap was reached */
  MN_ESANDBOX = -10,    /* remote-written code was refused or failed */
  MN_EUNSUPPORTED = -11,/* unknown provider, protocol or file type */
  MN_ENOTFOUND = -12,   /* a file or folder does not exist */
  MN_EAUTH = -13,       /* an API key is missing or was refused */
  MN_EMODEL = -14,      /* a model's reply was unusable after the retries */
  MN_EREFUSED = -15     /* the model refused, or the provider blocked the
                           prompt or the reply (safety, recitation...) */
};

/* A short, static description of an error code ("timeout", ...). */
MN_EXTERN const char *mn_strerror(int code);

/* The library version as "MAJOR.MINOR.PATCH"; static storage. */
MN_EXTERN const char *mn_version(void);

/* Reference-counted set-up of the libraries underneath (libcurl). Call once
 * before any other function from a single thread; pair every successful
 * call with mn_global_cleanup(). */
MN_EXTERN int mn_global_init(void);
MN_EXTERN void mn_global_cleanup(void);

/* ---- Documents -------------------------------------------------------- */

/* A set of documents, each a name and a UTF-8 text. */
typedef struct mn_docs mn_docs;

MN_EXTERN int mn_docs_new(mn_docs **out);
/* Add a file or a folder. Plain text and Markdown are read as they are;
 * PDFs go through `pdftotext` with page breaks kept as form feeds; folders
 * are walked recursively in byte order of their names, taking text-like
 * files only. Invalid UTF-8 is repaired (each bad byte becomes U+FFFD) when
 * it is a small part of the file, otherwise the file is rejected as binary.
 * Returns MN_ENOTFOUND, MN_EIO, MN_EUNSUPPORTED, MN_ELIMIT or MN_EPARSE with
 * a message naming the path; on failure nothing is added. */
MN_EXTERN int mn_docs_add_path(mn_docs *docs, const char *path);
/* Add text held in memory (copied; repaired like a file). */
MN_EXTERN int mn_docs_add_text(mn_docs *docs, const char *name, const char *text, size_t len);
MN_EXTERN size_t mn_docs_count(const mn_docs *docs);
/* Name and text of document i (owned by docs); NULL if i is out of range. */
MN_EXTERN const char *mn_docs_name(const mn_docs *docs, size_t i);
MN_EXTERN const char *mn_docs_text(const mn_docs *docs, size_t i, size_t *len_out);
/* Total bytes of text over all documents. */
MN_EXTERN size_t mn_docs_total_bytes(const mn_docs *docs);
/* Limit on the total bytes of text (default 512 MiB; 0: no limit). */
MN_EXTERN void mn_docs_set_max_bytes(mn_docs *docs, size_t max_bytes);
MN_EXTERN const char *mn_docs_errmsg(const mn_docs *docs);
MN_EXTERN void mn_docs_free(mn_docs *docs);

/* ---- Chunks and retrieval --------------------------------------------- */

/* A piece of a document: text is mn_docs_text(docs, doc) + offset, length
 * bytes long. Pages are 0-based, counted from the document's form feeds;
 * -1 when it has none. */
typedef struct mn_chunk_info {
  size_t index;        /* position in the list of all chunks of the documents */
  size_t doc;          /* document index */
  size_t offset, length;
  size_t chars;        /* length in characters (code points) */
  int page_start, page_end;
  double score;        /* retrieval score, higher is better; 0 for chunking */
} mn_chunk_info;

typedef enum mn_chunk_method {
  MN_CHUNK_SECTION = 0, /* fixed size with overlap. A chunk ends, in this order
                           of preference, after the last newline, sentence end
                           or space in the last 20% of its max_chars window,
                           else at the window's end. Chunks are contiguous:
                           without overlap their concatenation is the text
                           (minus whitespace-only pieces); with overlap each
                           chunk starts `overlap` characters before the
                           previous one ended. */
  MN_CHUNK_PAGE = 1,    /* one chunk per page, without its form feed. Without
                           form feeds, lines such as "Page 3", "Page 3 of 10",
                           "- 3 -", "[Page 3]", "--- Page 3 ---" (at least two,
                           numbers increasing) delimit pages, each marker line
                           kept in its page; with neither, the section method.
                           Longer pages are split like sections. */
  MN_CHUNK_PARAGRAPH = 2, /* paragraphs (separated by blank lines) packed up
                           to max_chars; a longer paragraph is split at
                           sentence ends, else at spaces. */
  MN_CHUNK_CODE = 3     /* top-level functions, classes, structs, impl blocks
                           of C/C++, Python, JavaScript/TypeScript, Go, Rust
                           (language from the content): the preamble
                           (imports) is one chunk, each definition one more
                           with the comments, decorators and declarations
                           before it; longer pieces are split at blank lines,
                           else line ends. */
} mn_chunk_method;

/* "section", "page", "paragraph", "code" (any case) */
MN_EXTERN const char *mn_chunk_method_name(mn_chunk_method m);
MN_EXTERN int mn_chunk_method_parse(const char *name);

#define MN_CHUNKING_VERSION 1

typedef struct mn_chunking {
  unsigned int version;   /* MN_CHUNKING_VERSION */
  mn_chunk_method method; /* default MN_CHUNK_SECTION */
  size_t max_chars;       /* default 3000; 0 with PAGE or CODE: whole pages
                             or definitions, however long */
  size_t overlap;         /* SECTION only; default 0 */
} mn_chunking;

#define MN_CHUNKING_INIT { MN_CHUNKING_VERSION, MN_CHUNK_SECTION, 3000, 0 }

/* Cut every document into chunks, in document order. *out is malloc'd
 * (caller frees); MN_EINVAL for bad options (message in mn_docs_errmsg). */
MN_EXTERN int mn_docs_chunk(mn_docs *docs, const mn_chunking *how, mn_chunk_info **out, size_t *n_out);
/* The k chunks that best match query, best first, ranked exactly as
 * --retrieval bm25 and the sandbox's bm25_top_k rank (SQLite FTS5 BM25 with
 * the project's tokenizer settings). */
MN_EXTERN int mn_docs_retrieve(mn_docs *docs, const mn_chunking *how, const char *query, size_t k,
                     mn_chunk_info **out, size_t *n_out);

/* ---- Usage, cost, timing ------------------------------------------------ */

typedef struct mn_usage {
  uint64_t prompt_tokens;        /* input tokens, cached ones included */
  uint64_t completion_tokens;    /* output tokens */
  uint64_t cached_prompt_tokens; /* part of prompt_tokens served from cache */
  uint64_t calls;                /* requests answered (retries included) */
  uint64_t unreported_calls;     /* of those, calls whose provider reported no
                                    token counts: their tokens are unknown and
                                    not in the sums above (never counted as 0) */
} mn_usage;

/* Seconds. overhead_time = total_time - local_call_time - remote_call_time
 * where the call times are wall-clock time spent waiting on each side. */
typedef struct mn_timing {
  double local_call_time;
  double remote_call_time;
  double total_time;
  double overhead_time;
} mn_timing;

/* ---- Events ------------------------------------------------------------- */

typedef enum mn_side { MN_SIDE_LOCAL = 0, MN_SIDE_REMOTE = 1 } mn_side;

typedef enum mn_event_type {
  MN_EVENT_RUN_STARTED,    /* text: protocol name */
  MN_EVENT_ROUND_STARTED,  /* round */
  MN_EVENT_MESSAGE,        /* side, to_model, text: a message to or from a model */
  MN_EVENT_USAGE,          /* usage_local, usage_remote, cost_usd updated */
  MN_EVENT_JOBS_PROGRESS,  /* jobs_done of jobs_total (MinionS execute step) */
  MN_EVENT_RETRY,          /* side, text: why a request or reply is retried */
  MN_EVENT_FINAL_ANSWER,   /* text: the answer */
  MN_EVENT_ERROR,          /* code, text: what failed */
  MN_EVENT_WARNING         /* side, text: a reply that is usable but suspect
                              (cut at the token limit) */
} mn_event_type;

typedef struct mn_event {
  mn_event_type type;
  int round;               /* 1-based; 0 outside rounds */
  mn_side side;
  int to_model;            /* MESSAGE: 1 = sent to the model, 0 = its reply */
  const char *text;        /* may be NULL; valid during the callback only */
  const char *label;       /* short kind of message ("advice", "code", ...) or NULL */
  size_t jobs_done, jobs_total;
  const mn_usage *usage_local, *usage_remote;
  double cost_usd;         /* remote cost so far; < 0 when unknown */
  int code;                /* ERROR: the MN_E* code */
} mn_event;

/* Called on the thread that runs the protocol, in order. Must not call back
 * into the same mn_run except mn_run_cancel(). */
typedef void (*mn_event_cb)(const mn_event *event, void *userdata);

/* ---- Runs --------------------------------------------------------------- */

typedef enum mn_protocol {
  MN_PROTOCOL_MINION = 0,      /* "minion": a chat between the two models */
  MN_PROTOCOL_MINIONS = 1,     /* "minions": the remote decomposes the task
                                  into jobs over chunks for the local model */
  MN_PROTOCOL_REMOTE_ONLY = 2, /* "remote-only": the remote reads everything */
  MN_PROTOCOL_LOCAL_ONLY = 3   /* "local-only": the local reads everything */
} mn_protocol;

MN_EXTERN const char *mn_protocol_name(mn_protocol p);
MN_EXTERN int mn_protocol_parse(const char *name);

/* How MinionS turns the task into jobs. */
typedef enum mn_decompose {
  MN_DECOMPOSE_CODE = 0,  /* "code": the remote writes a Lua program */
  MN_DECOMPOSE_PLAN = 1   /* "plan": the remote writes a JSON plan */
} mn_decompose;

MN_EXTERN const char *mn_decompose_name(mn_decompose d);
MN_EXTERN int mn_decompose_parse(const char *name);

/* Which chunks each MinionS task keeps. */
typedef enum mn_retrieval {
  MN_RETRIEVAL_NONE = 0,      /* "none": every chunk */
  MN_RETRIEVAL_BM25 = 1,      /* "bm25": the best by SQLite FTS5 BM25 */
  MN_RETRIEVAL_EMBEDDING = 2  /* "embedding": the nearest by an embedding model */
} mn_retrieval;

MN_EXTERN const char *mn_retrieval_name(mn_retrieval r);
MN_EXTERN int mn_retrieval_parse(const char *name);

#define MN_RUN_OPTS_VERSION 3

typedef struct mn_run_opts {
  unsigned int version;      /* MN_RUN_OPTS_VERSION */
  mn_protocol protocol;      /* default MN_PROTOCOL_MINION */
  const char *local_spec;    /* "PROVIDER:MODEL", e.g. "ollama:llama3.2" */
  const char *remote_spec;   /* e.g. "openai:gpt-4o" */
  const char *const *local_urls; /* base URLs for the local model; several
                                    spread MinionS jobs; NULL: the default */
  size_t n_local_urls;
  const char *remote_url;    /* base URL override for the remote; NULL: default */
  const char *task;
  const char *doc_metadata;  /* short description of the documents, or NULL */
  const char *log_path;      /* run-log file; NULL: a new file in log_dir */
  const char *log_dir;       /* NULL: $MINIONS_LOG_DIR, else $XDG_STATE_HOME/minions/logs,
                                else ~/.local/state/minions/logs (made 0700) */
  const char *prices_path;   /* price table (JSON); NULL: the shipped one */
  int max_rounds;            /* Minion/MinionS rounds; default 3 */
  int stream;                /* 1: stream replies (SSE/NDJSON); 0 (default):
                                whole bodies, which every server supports */
  double local_temperature;  /* default 0.0 */
  double remote_temperature; /* default 0.0 */
  int local_max_tokens;      /* default 2048 */
  int remote_max_tokens;     /* default 4096 */
  long connect_timeout_ms;   /* default 10 s */
  long request_timeout_ms;   /* whole request, default 600 s */
  long idle_timeout_ms;      /* no byte received, default 120 s */
  int max_retries;           /* per request on 429/5xx/network, default 4 */
  int privacy;               /* 1: redact personal data before it reaches the
                                remote, restore it in the answer (Minion) */

  /* MinionS */
  int tasks_per_round;       /* tasks the remote should write per round; default 3 */
  int samples;               /* times each job is run (at the local temperature); default 1 */
  int max_jobs;              /* cap on jobs per round; default 2048 */
  int local_parallel;        /* local requests in flight per endpoint; default 8 */
  mn_decompose decompose;    /* default MN_DECOMPOSE_CODE */
  mn_chunk_method chunking;  /* plan mode's default method; default SECTION */
  int chunk_chars;           /* plan-mode default chunk size in characters; default 3000 */
  mn_retrieval retrieval;    /* default MN_RETRIEVAL_NONE */
  int retrieval_k;           /* chunks kept per task with retrieval; default 10 */
  const char *embed_spec;    /* embedding model for MN_RETRIEVAL_EMBEDDING,
                                PROVIDER:MODEL (ollama or openai-compatible) */
  const char *embed_url;     /* its base URL; NULL: the first local URL */

  mn_event_cb on_event;      /* optional */
  void *event_userdata;

  /* version 2 */
  int num_ctx;               /* Ollama context window of the local model; 0:
                                sized from the prompts */

  /* version 3 */
  const char *cache_path;    /* response cache (an SQLite file, made if
                                missing): a request identical to one already
                                answered (same endpoint, model and canonical
                                body) is answered from it without a call;
                                NULL: no cache */
  double max_cost_usd;       /* remote spend cap in US dollars: a remote call
                                that could take the run's priced remote spend
                                past it is not made, and the run fails with
                                MN_ELIMIT saying so; 0: no cap */
} mn_run_opts;

/* C99 designated initialisers: fields not named are 0/NULL. */
#define MN_RUN_OPTS_INIT { .version = MN_RUN_OPTS_VERSION, \
  .protocol = MN_PROTOCOL_MINION, .max_rounds = 3, .stream = 0, \
  .local_temperature = 0.0, .remote_temperature = 0.0, \
  .local_max_tokens = 2048, .remote_max_tokens = 4096, \
  .connect_timeout_ms = 10000, .request_timeout_ms = 600000, \
  .idle_timeout_ms = 120000, .max_retries = 4, \
  .tasks_per_round = 3, .samples = 1, .max_jobs = 2048, .local_parallel = 8, \
  .decompose = MN_DECOMPOSE_CODE, .chunking = MN_CHUNK_SECTION, \
  .chunk_chars = 3000, .retrieval = MN_RETRIEVAL_NONE, .retrieval_k = 10 }

typedef struct mn_run mn_run;

/* sizeof(mn_run_opts) in this library: bindings that lay the struct out
 * themselves (Python's ctypes) check theirs against it. */
MN_EXTERN size_t mn_run_opts_size(void);

/* Check the options, parse the model specs, find API keys and load the
 * price table. Fails with MN_EINVAL (bad option), MN_EUNSUPPORTED (unknown
 * provider or protocol), MN_EAUTH (a required API key variable is unset) or
 * MN_EIO/MN_EPARSE (price table). On failure *out is still set when
 * possible so that mn_run_errmsg() can explain; free it with mn_run_free(). */
MN_EXTERN int mn_run_new(mn_run **out, const mn_run_opts *opts);
/* Run the protocol over the documents (docs is borrowed for the call).
 * Writes the run log even when the run fails. */
MN_EXTERN int mn_run_execute(mn_run *run, const mn_docs *docs);
/* Ask to stop a run under way; safe from another thread or a signal
 * handler. mn_run_execute() then returns MN_ECANCELLED soon. */
MN_EXTERN void mn_run_cancel(mn_run *run);

MN_EXTERN const char *mn_run_answer(const mn_run *run);   /* NULL before success */
MN_EXTERN const char *mn_run_protocol(const mn_run *run);   /* its name */
MN_EXTERN void mn_run_usage(const mn_run *run, mn_usage *remote_out, mn_usage *local_out);
/* Remote cost in US dollars; < 0 when the price of the remote model is not
 * in the price table. Local models cost nothing. */
MN_EXTERN double mn_run_cost_usd(const mn_run *run);
/* The part of it paid now: remote calls that went to the server (answers
 * from the response cache cost nothing again); < 0 when unknown. */
MN_EXTERN double mn_run_paid_usd(const mn_run *run);
MN_EXTERN void mn_run_timing(const mn_run *run, mn_timing *out);
MN_EXTERN int mn_run_rounds(const mn_run *run);
/* Requests answered from the response cache (cache_path) and requests that
 * went to a server with the cache on; both 0 without a cache. */
MN_EXTERN void mn_run_cache_stats(const mn_run *run, uint64_t *hits, uint64_t *misses);
/* Path of the run log written (or NULL if it could not be written). */
MN_EXTERN const char *mn_run_log_file(const mn_run *run);
MN_EXTERN const char *mn_run_errmsg(const mn_run *run);
MN_EXTERN void mn_run_free(mn_run *run);

/* ---- Chat sessions ------------------------------------------------------- */

/* Follow-up questions about the same documents. Each question is answered
 * by one run of the options' protocol (default "minion"), with the earlier
 * questions and answers carried in its task as history; once the history
 * passes history_limit bytes the remote model summarises its oldest turns.
 * The session writes one log (opts->log_path, else a new file in the log
 * folder): each question's run log is an entry of its "questions", the
 * file rewritten after every question. */
typedef struct mn_chat mn_chat;

/* opts (its strings too) is copied; opts->task is ignored. The documents
 * are borrowed and must outlive the session. Errors as mn_run_new(). */
MN_EXTERN int mn_chat_new(mn_chat **out, const mn_run_opts *opts, const mn_docs *docs);
/* Size of the history (bytes) before the oldest turns are summarised;
 * default 6000. */
MN_EXTERN void mn_chat_set_history_limit(mn_chat *chat, size_t bytes);
/* Answer one question; *answer_out (owned by the session, valid until the
 * next call) is set on success. A failed question leaves the history as it
 * was. */
MN_EXTERN int mn_chat_ask(mn_chat *chat, const char *question, const char **answer_out);
/* The run of the last question (usage, cost, timing, log file), or NULL. */
MN_EXTERN const mn_run *mn_chat_last_run(const mn_chat *chat);
/* Make the question being answered (and any later one) finish soon with
 * MN_ECANCELLED; safe from another thread or a signal handler. */
MN_EXTERN void mn_chat_cancel(mn_chat *chat);
/* Totals over the session, summaries included. */
MN_EXTERN void mn_chat_usage(const mn_chat *chat, mn_usage *remote_out, mn_usage *local_out);
MN_EXTERN double mn_chat_cost_usd(const mn_chat *chat);
MN_EXTERN const char *mn_chat_errmsg(const mn_chat *chat);
MN_EXTERN void mn_chat_free(mn_chat *chat);

/* ---- Evaluation ------------------------------------------------------------ */

/* Accuracy and cost of protocols on a question-answer dataset, the way the
 * paper's Table 1 measures them: every question of the dataset is run with
 * each protocol, its answer scored against the gold answer (by figure with
 * a tolerance when the gold is one, else by an LLM judge, else by
 * normalised text), and each result appended to OUT/results.jsonl as it
 * comes. A later mn_eval_execute() with the same out_dir continues where
 * the last one stopped, even after kill -9: a question and protocol with a
 * result is never run again (one that ended in an error is). Then the
 * summary per protocol and models goes to OUT/summary.md, .csv and .json,
 * and accuracy against remote cost to OUT/accuracy_cost.svg. */

typedef struct mn_eval_progress {
  size_t total;        /* runs to make: questions x protocols */
  size_t done;         /* finished, now or in an earlier invocation */
  size_t resumed;      /* of those, results read back from results.jsonl */
  size_t correct;      /* of those, scored correct */
  size_t failed;       /* of those, ended in an error */
  double spend_usd;    /* remote money this invocation spent (runs and
                          judge; cache hits cost nothing) */
  int budget_stop;     /* 1 once max_cost_usd stopped new questions */
  const char *last;    /* "ID PROTOCOL" of the run just finished, or NULL */
} mn_eval_progress;

#define MN_EVAL_OPTS_VERSION 1

typedef struct mn_eval_opts {
  unsigned int version;       /* MN_EVAL_OPTS_VERSION */
  const char *dataset;        /* JSONL: FinanceBench's form or the generic one
                                 (question, answer, id, context) */
  const char *docs_dir;       /* FinanceBench's PDFs; NULL: pdfs/ beside the
                                 dataset */
  const mn_protocol *protocols;
  size_t n_protocols;
  const mn_run_opts *run;     /* models and settings of every run; protocol,
                                 task, log_path, cache_path, max_cost_usd
                                 and on_event are the evaluation's */
  const char *judge_spec;     /* PROVIDER:MODEL of the LLM judge; NULL: the
                                 remote model; "none": no judge */
  const char *judge_url;      /* its base URL; NULL: the provider's (or the
                                 remote URL when the judge is the remote) */
  const char *out_dir;        /* required; made if missing */
  const char *cache_path;     /* NULL: OUT/cache.sqlite; "": no cache */
  double max_cost_usd;        /* stop starting questions once the spend
                                 could pass it; 0: no cap */
  double tolerance;           /* relative, figures; 0: 0.01 */
  int parallel;               /* questions at once; 0: 4 */
  size_t limit;               /* the first N questions; 0: all */
  void (*on_progress)(const mn_eval_progress *p, void *userdata);
                              /* after each run, one call at a time */
  void *progress_userdata;
} mn_eval_opts;

#define MN_EVAL_OPTS_INIT { .version = MN_EVAL_OPTS_VERSION }

typedef struct mn_eval mn_eval;

/* Check the options, load the dataset and read back earlier results.
 * Errors as mn_run_new(), and MN_ENOTFOUND/MN_EPARSE for the dataset; *out
 * is still set when possible for mn_eval_errmsg(). */
MN_EXTERN int mn_eval_new(mn_eval **out, const mn_eval_opts *opts);
/* Run what is left, then write the summary files. MN_OK when every run
 * ended (some may have failed: see the progress counts), MN_ECANCELLED,
 * or an error writing results. */
MN_EXTERN int mn_eval_execute(mn_eval *ev);
/* Stop starting runs and cancel those under way (their questions stay to
 * do); safe from another thread or a signal handler. */
MN_EXTERN void mn_eval_cancel(mn_eval *ev);
MN_EXTERN void mn_eval_get_progress(const mn_eval *ev, mn_eval_progress *out);
MN_EXTERN const char *mn_eval_errmsg(const mn_eval *ev);
MN_EXTERN void mn_eval_free(mn_eval *ev);

/* ---- Prices -------------------------------------------------------------- */

/* Dollars for `u` at the given prices per million tokens (input, cached
 * input, output). Cached tokens are billed at the cached price and the rest
 * of the prompt at the input price. */
MN_EXTERN double mn_cost_usd(const mn_usage *u, double in_per_m, double cached_in_per_m,
                   double out_per_m);

#ifdef __cplusplus
}
#endif
#endif
