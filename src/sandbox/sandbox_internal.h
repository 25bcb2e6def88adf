/* Internals shared by the sandbox's source files: the per-run state that the
 * allocator, the count hook and the C functions given to Lua all consult.
 *
 * One mn_sb lives for one mn_sandbox_* call and owns one lua_State. It is
 * the allocator's userdata, so any C function running in that state finds
 * it with mn_sb_get(L) without a registry lookup.
 */
#ifndef MN_SANDBOX_INTERNAL_H
#define MN_SANDBOX_INTERNAL_H

#include <lua.h>
#include <stddef.h>

#include "doc/bm25.h"
#include "sandbox/sandbox.h"
#include "util/buf.h"

/* Why the run was stopped for good (sticky: once set, every count hook and
 * every charged C call raises again, so pcall cannot swallow it). */
enum { MN_SB_TRIP_NONE = 0, MN_SB_TRIP_INSTR, MN_SB_TRIP_TIME };

/* Why the allocator last refused a request (not sticky: a program may catch
 * a memory error and carry on within its limits). */
enum { MN_SB_REFUSED_NONE = 0, MN_SB_REFUSED_HEAP, MN_SB_REFUSED_STRING };

typedef struct mn_sb {
  lua_State *L;
  mn_sandbox_limits lim;

  /* memory */
  size_t mem_used;          /* bytes held by the Lua heap now */
  size_t mem_allow;         /* extra room granted for inputs pushed by C */
  size_t c_held;            /* C memory held for the program (chunk lists,
                               the BM25 index, copies of returned jobs):
                               counted against the same cap as the heap */
  size_t str_overhead;      /* allocation size of a string minus its length;
                               0 until calibrated */
  int calibrating;
  int inputs;               /* 1 while C pushes documents and prev jobs:
                               exempt from the caps, counted as allowance */
  int refused;              /* MN_SB_REFUSED_* of the last refusal */
  size_t refused_size;      /* string length asked for (REFUSED_STRING) */
  size_t alloc_since_clock; /* bytes allocated since the clock was read */
  unsigned charge_calls;    /* small mn_sb_charge calls, to space clock reads */

  /* instructions and time */
  unsigned long long instr; /* VM instructions plus charged C work */
  double deadline;          /* mn_now() value after which the run stops */
  int tripped;              /* MN_SB_TRIP_* */

  /* what the program printed, for error messages */
  mn_buf log;
  int log_truncated;

  /* where the error that ended the run was raised ("line 3 in function
   * 'prepare_jobs' <- ..."), written by the top-level message handler */
  char where[256];
  int where_lua_frames;     /* frames of the program among them */

  /* bm25_top_k keeps the index of its last chunk array: a program usually
   * queries the same chunks once per task. */
  mn_bm25 *bm_ix;
  const void **bm_ptrs;     /* identities of the indexed strings */
  size_t bm_n;
  int bm_ref;               /* registry ref of a table holding those strings
                               (keeps them alive, so identities stay unique) */
  size_t bm_held;           /* what the index counts in c_held */
} mn_sb;

/* The runs themselves, in the calling process: what the helper process
 * (helper/main.c) executes. Same contract as mn_sandbox_prepare_jobs and
 * mn_sandbox_transform_outputs, which run them in that helper. */
int mn_sb_prepare_jobs_here(const char *code, size_t code_len,
                            const mn_sandbox_docs *docs,
                            const mn_sandbox_done_job *prev, size_t n_prev,
                            const mn_sandbox_limits *limits,
                            mn_sandbox_job **jobs, size_t *n_jobs,
                            int *has_transform, char **errmsg);
int mn_sb_transform_outputs_here(const char *code, size_t code_len,
                                 const mn_sandbox_docs *docs,
                                 const mn_sandbox_done_job *jobs, size_t n_jobs,
                                 const mn_sandbox_limits *limits,
                                 char **out, char **errmsg);

/* Count n bytes of C memory held for the program against the memory cap:
 * 0, or -1 (nothing counted) when heap plus held memory would pass it. */
int mn_sb_hold(mn_sb *sb, size_t n);
void mn_sb_unhold(mn_sb *sb, size_t n);

/* Test only: when set, called after the environment is built with its
 * table's index, to add globals. Only tests/sandbox's escape helper sets
 * it, to stand for a program that got out of the Lua layer; the library
 * and minions-sandbox never do. */
extern void (*mn_sb_test_env_hook)(lua_State *L, int env);

/* When set, called once the documents and previous jobs are in the Lua
 * state, so their C copies can go: the helper process frees the request
 * it read (a run does not touch docs or prev after that point). */
extern void (*mn_sb_inputs_pushed_hook)(void);

/* The run state of a sandboxed lua_State. */
mn_sb *mn_sb_get(lua_State *L);

/* Count `units` of work against the instruction budget and check the wall
 * clock; raises the budget error (and keeps raising) once either is spent.
 * Every C function given to the program that can take long calls this. */
void mn_sb_charge(lua_State *L, unsigned long long units);

/* "8 MiB", "1500 KiB", "100 bytes": a byte count in words for messages. */
void mn_sb_fmt_bytes(char *out, size_t size, size_t bytes);

/* "10 s", "1500 ms": a wall-clock limit in words. */
void mn_sb_fmt_wall(char *out, size_t size, long ms);

/* Are all the limits usable (positive)? */
int mn_sb_limits_ok(const mn_sandbox_limits *l);

/* Describe the value at idx for an error message: "nil", "-3", "2.5",
 * "a string", "a table". Does not call metamethods. */
const char *mn_sb_describe(lua_State *L, int idx, char *buf, size_t size);

/* Install the sandbox's pattern functions (find, match, gmatch, gsub) into
 * the string library table at index `strlib`. They follow Lua 5.4 pattern
 * semantics but count their steps, so a pathological pattern ends with the
 * time or instruction budget instead of hanging in one C call. */
void mn_sb_open_patterns(lua_State *L, int strlib);

/* Install chunk_by_section/page/paragraph/code and bm25_top_k into the
 * environment table at index `env`. */
void mn_sb_open_docfuncs(lua_State *L, int env);

/* Release what the doc functions cached in sb (the BM25 index). */
void mn_sb_docfuncs_cleanup(mn_sb *sb);

#endif
