/* The sandbox that runs remote-written Lua (MinionS code mode).
 *
 * The remote model writes a program defining prepare_jobs(context,
 * prev_jobs) and optionally transform_outputs(jobs) (DESIGN.md section 3).
 * It runs here, next to the documents, in a fresh Lua 5.4 state per call,
 * with allow-listed globals only and budgets on memory, instructions, wall
 * time, job count and string sizes. Anything it does wrong becomes an error
 * message meant to be sent back to the remote model so it can try again.
 *
 * What the program sees:
 *  - base functions: assert error ipairs next pairs pcall xpcall select
 *    tonumber tostring type rawequal rawlen rawget rawset getmetatable
 *    setmetatable (tables only, no __gc) print (captured) unpack _G _VERSION;
 *  - the string (no dump, pack, unpack, packsize), table, math and utf8
 *    libraries; the string metatable is protected and its __index is the
 *    sandbox's string table;
 *  - chunk_by_section(doc, max_chars=3000, overlap=0) (overlap at most
 *    max_chars/2), chunk_by_paragraph(doc, max_chars=3000),
 *    chunk_by_page(doc [, max_chars]) and chunk_by_code(doc [, max_chars])
 *    (whole pages and definitions unless max_chars is given): arrays of
 *    strings (src/doc/chunk.h); bm25_top_k(query, chunks, k): up to k of
 *    the chunks, in the order they have in `chunks`, where query is a
 *    string, an array of keywords, or an array of {keyword, weight} pairs
 *    (weight > 0, default 1; at most 256); the index of the last chunk
 *    array is kept, so querying the same array per task costs one index.
 *    Their arguments are checked with messages naming the function and
 *    the argument ("chunk_by_section: max_chars must be a positive
 *    integer, got -3").
 *  Nothing else: no io, os, require, package, load*, dofile, debug,
 *  coroutine, collectgarbage; source text only (no bytecode).
 *
 * Where it runs: each call starts the helper program minions-sandbox
 * (src/sandbox/isolate.h) with an empty environment, which confines itself
 * (rlimits; on Linux a seccomp filter: no file, socket or process) before
 * the program runs, and is killed at the wall deadline; what it sends back
 * is checked again here. The calling process never runs remote code.
 *
 * Budgets: memory_bytes caps the Lua heap and the C memory held for the
 * program together: the chunkers' lists, the BM25 index (counted at the
 * size of the text it indexes) and the copies of the jobs it returns all
 * count against it (documents and previous jobs pushed by C do not; they
 * are inputs). The chunkers also stop at 1e6 chunks per call and an index
 * at 64 MiB or twice the documents' size; the helper's address space is
 * capped a little above the budget plus the inputs. VM
 * instructions and the work of C functions count against `instructions`;
 * the wall clock is checked by the count hook, by the allocator and by
 * every C function that can take long. Once the instruction or time budget is spent every further
 * instruction raises again, so pcall/xpcall cannot swallow it, and the
 * reported error names the budget whatever the program did with the error.
 * Lua pattern matching (find, match, gmatch, gsub) is the sandbox's own
 * implementation of Lua 5.4 pattern semantics with a step count, because
 * the stock matcher cannot be interrupted inside one call.
 *
 * Thread safety: every call has its own helper process and Lua state;
 * distinct calls may run on distinct threads at once.
 */
#ifndef MN_SANDBOX_SANDBOX_H
#define MN_SANDBOX_SANDBOX_H

#include <stddef.h>

typedef struct mn_sandbox_limits {
  size_t memory_bytes;      /* Lua heap + C memory held for the program;
                               default 256 MiB */
  unsigned long long instructions; /* VM instruction budget; default 2e9 */
  long wall_ms;             /* wall-clock deadline; default 10000 */
  size_t max_jobs;          /* default 2048 */
  size_t max_string_bytes;  /* any single string the program builds or
                               returns (task, advice, chunk, transform output);
                               also the largest program accepted; default
                               8 MiB */
  size_t max_total_bytes;   /* sum of the task, advice and chunk bytes of all
                               jobs returned; default 256 MiB */
} mn_sandbox_limits;

#define MN_SANDBOX_LIMITS_INIT { 256u << 20, 2000000000ULL, 10000, 2048, \
  8u << 20, 256u << 20 }

/* A job as the program returned it. Strings are NUL-terminated, contain no
 * NUL byte (the program gets an error if it returns one) and are valid UTF-8
 * (invalid bytes, e.g. from cutting a character with string.sub, become
 * U+FFFD). */
typedef struct mn_sandbox_job {
  char *task;      /* required, non-empty */
  char *advice;    /* may be NULL */
  char *chunk;     /* required (may be empty) */
  size_t chunk_len;
} mn_sandbox_job;

/* A job of the previous round, with the worker's output, for prev_jobs and
 * transform_outputs. Strings may be NULL (answer NULL = abstained); a NULL
 * string becomes an absent field (nil) in Lua. */
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

/* Run prepare_jobs(context, prev_jobs). docs may be NULL (context is then
 * an empty array); prev_jobs is nil when prev is NULL, else an array of
 * n_prev tables. limits NULL means MN_SANDBOX_LIMITS_INIT.
 *
 * On success returns MN_OK; *jobs (malloc'd array, free with
 * mn_sandbox_jobs_free) holds *n_jobs >= 1 jobs and *has_transform says
 * whether the program defines transform_outputs.
 *
 * On failure returns MN_ELIMIT when a budget or cap was exceeded (memory,
 * instructions, time, job count, string or total size), MN_EINVAL for bad
 * arguments from C, MN_ESANDBOX (refused or failing program, invalid jobs,
 * a helper process that died), or, when the sandbox itself could not run,
 * MN_ENOTFOUND (no helper program) or MN_EIO (it could not start, confine
 * itself or reply); *errmsg (caller frees) then says what went wrong in words the
 * remote model can act on: the first line is the cause (a Lua error keeps
 * its "program:LINE:" position), then optionally a "stack:" line and the
 * program's print output (capped). *jobs is NULL and *n_jobs 0. */
int mn_sandbox_prepare_jobs(const char *code, size_t code_len,
                            const mn_sandbox_docs *docs,
                            const mn_sandbox_done_job *prev, size_t n_prev,
                            const mn_sandbox_limits *limits,
                            mn_sandbox_job **jobs, size_t *n_jobs,
                            int *has_transform, char **errmsg);
void mn_sandbox_jobs_free(mn_sandbox_job *jobs, size_t n);

/* Run the program's transform_outputs(jobs, context) in a fresh state (the
 * program's top level runs again first) and return its string in *out
 * (caller frees; valid UTF-8 without NUL bytes, at most max_string_bytes).
 * jobs is the array described for prev_jobs. Errors as for
 * mn_sandbox_prepare_jobs (*out is then NULL); a program without
 * transform_outputs is an MN_ESANDBOX error. */
int mn_sandbox_transform_outputs(const char *code, size_t code_len,
                                 const mn_sandbox_docs *docs,
                                 const mn_sandbox_done_job *jobs, size_t n_jobs,
                                 const mn_sandbox_limits *limits,
                                 char **out, char **errmsg);

#endif
