/* Helpers shared by the MinionS benchmarks: fake servers, paths, medians. */
#ifndef MN_BENCH_UTIL_H
#define MN_BENCH_UTIL_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* A running fakellm. */
typedef struct bench_fake {
  pid_t pid;
  int port;
  char url[64];        /* http://127.0.0.1:PORT */
} bench_fake;

/* Start `fakellm` with the given extra arguments (NULL-terminated), wait
 * for its "PORT n" line. 0, or -1 with a message on stderr. */
int bench_fake_start(bench_fake *f, const char *fakellm, const char *const *args);
/* SIGTERM and reap it. */
void bench_fake_stop(bench_fake *f);
/* GET /_fake/stats: requests answered and the most slots busy at once.
 * 0, or -1 if the server did not answer. */
int bench_fake_stats(const bench_fake *f, long *requests, long *max_serving);
/* The whole of GET /_fake/stats (new reference), or NULL. */
struct json_t;
struct json_t *bench_fake_stats_json(const bench_fake *f);

/* The build folder: --build, else the parent of the folder holding this
 * program (binaries live in <build>/bench/). Caller frees. Also points
 * MINIONS_SANDBOX_HELPER, when unset, at <build>/minions-sandbox. */
char *bench_build_dir(const char *argv0, const char *given);
/* The FinanceBench folder: given, else $MN_SHARED_DIR/data/financebench,
 * else ../shared/data/financebench next to the source tree. Caller frees. */
char *bench_data_dir(const char *given);

/* Text of every filing of DATA/pdfs, converted once by pdftotext and kept
 * in CACHE as NAME-SIZE.txt (the naming bench_retrieval uses, so the two
 * share a cache). Fills a malloc'd array of malloc'd paths, sorted. 0, or
 * -1 with a message on stderr. */
int bench_filing_texts(const char *datadir, const char *cachedir, char ***paths, size_t *n);
/* $TMPDIR/mn-bench-retrieval, created if needed. Caller frees. */
char *bench_cache_dir(void);

/* waitpid() for child pid, with its user and system CPU time in ru as
 * wait4() (not POSIX) gives them: the growth of RUSAGE_CHILDREN across the
 * wait, exact while no other child is reaped meanwhile. ru_maxrss is the
 * largest of all children reaped so far. Returns pid, or -1 (errno). */
pid_t bench_wait_usage(pid_t pid, int *status, struct rusage *ru);

/* Median of v[0..n) (sorts v). */
double bench_median(double *v, size_t n);

/* Write a file; 0 or -1. */
int bench_write_file(const char *path, const char *text);

/* The capex job the MinionS benchmarks share: the task, and the remote's
 * program (fenced as a model writes it) cutting every filing into
 * chunk_chars sections, one job each. The local fake answers where a chunk
 * names capital expenditures (about 4% of the chunks), so the task and
 * advice avoid that phrase. Caller frees. */
#define BENCH_CAPEX_TASK \
  "How much did the company spend on capex in the last fiscal year, in millions of dollars?"
char *bench_capex_program(int chunk_chars);

#endif
