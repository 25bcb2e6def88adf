/* The hostile corpus: every program in tests/sandbox/hostile/ (*.lua) must be
 * stopped with the error its first line announces ("-- expect: TEXT"),
 * within a bounded time, and leave no trace outside the process: nothing in
 * the working directory (an empty temp dir), no canary file /tmp/mn-pwned,
 * no process left behind (each run's helper is reaped), nothing written to
 * stdout or stderr.
 *
 * A second comment line "-- limits: key=value ..." may change the limits
 * for one program (instructions, wall_ms, memory_mb, max_jobs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/utf8.h"
#include "minions.h"
#include "sandbox/sandbox.h"
#include "testutil.h"
#include "util/mem.h"
#include "util/time.h"

#define CANARY "/tmp/mn-pwned"
#define MAX_SECONDS 2.0
#define BIG_DOC_BYTES (5u << 20)

static const char SMALL_DOC[] =
  "ACME Corp annual report.\n\nRevenue grew 12% to $4.2 billion.\f"
  "Page two: costs and risks.\n";

static char *corpus_dir(void)
{
  const char *src = getenv("MN_SOURCE_DIR");
  if(src)
    return mn_xasprintf("%s/tests/sandbox/hostile", src);
  /* run by hand: this file lives in tests/unit/ */
  char *here = strdup(__FILE__);
  char *slash = strrchr(here, '/');
  if(slash)
    *slash = '\0';
  char *dir = mn_xasprintf("%s/../sandbox/hostile", slash ? here : ".");
  free(here);
  return dir;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t dir_entries(const char *path)
{
  DIR *d = opendir(path);
  if(!d)
    return (size_t)-1;
  size_t n = 0;
  struct dirent *e;
  while((e = readdir(d)))
    if(strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

/* "-- key: value" on one of the first lines; copied into out. */
static int header_value(const char *code, const char *key, char *out, size_t size)
{
  char pat[64];
  snprintf(pat, sizeof pat, "-- %s: ", key);
  const char *p = code;
  for(int line = 0; line < 4 && p && *p; line++) {
    if(strncmp(p, pat, strlen(pat)) == 0) {
      p += strlen(pat);
      size_t n = strcspn(p, "\r\n");
      if(n >= size)
        n = size - 1;
      memcpy(out, p, n);
      out[n] = '\0';
      return 1;
    }
    p = strchr(p, '\n');
    if(p)
      p++;
  }
  return 0;
}

static void apply_limits(const char *spec, mn_sandbox_limits *lim)
{
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  for(char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " ")) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = '\0';
    unsigned long long v = strtoull(eq + 1, NULL, 10);
    if(!strcmp(tok, "instructions"))
      lim->instructions = v;
    else if(!strcmp(tok, "wall_ms"))
      lim->wall_ms = (long)v;
    else if(!strcmp(tok, "memory_mb"))
      lim->memory_bytes = (size_t)v << 20;
    else if(!strcmp(tok, "max_jobs"))
      lim->max_jobs = (size_t)v;
    else
      fail_msg("unknown limit '%s'", tok);
  }
}

static mn_sandbox_limits corpus_limits(void)
{
  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  lim.wall_ms = 1000;
  lim.memory_bytes = 64u << 20;
  lim.max_jobs = 500;
  lim.max_string_bytes = 4u << 20;
  lim.max_total_bytes = 64u << 20;
  return lim;
}

/* Where stdout and stderr go while the corpus runs. */
typedef struct capture {
  int saved_out, saved_err;
  char path[64];
} capture;

static void capture_start(capture *c)
{
  fflush(stdout);
  fflush(stderr);
  snprintf(c->path, sizeof c->path, "/tmp/mn-sbout-XXXXXX");
  int fd = mkstemp(c->path);
  assert_true(fd >= 0);
  c->saved_out = dup(1);
  c->saved_err = dup(2);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
}

/* Restore stdout and stderr; returns what was written meanwhile (caller
 * frees) and its size in *size. */
static char *capture_stop(capture *c, size_t *size)
{
  fflush(stdout);
  fflush(stderr);
  dup2(c->saved_out, 1);
  dup2(c->saved_err, 2);
  close(c->saved_out);
  close(c->saved_err);
  char *text = mn_test_read_file(c->path, size);
  unlink(c->path);
  return text;
}

typedef struct result {
  char name[96];
  double seconds;
  int rc;
  char *err;
  char expect[200];
  int ok;
  char why[200];
} result;

/* Valid UTF-8 without control characters other than newline and tab: the
 * message goes into JSON for the remote model. */
static int clean_text(const char *s)
{
  mn_utf8_stats st;
  mn_utf8_scan(s, strlen(s), &st);
  if(st.invalid)
    return 0;
  for(const unsigned char *p = (const unsigned char *)s; *p; p++)
    if(*p < 0x20 && *p != '\n' && *p != '\t')
      return 0;
  return 1;
}

static int is_budget_message(const char *err)
{
  return !strncmp(err, "time limit", 10) || !strncmp(err, "instruction budget", 18) ||
         !strncmp(err, "memory limit", 12);
}

static void corpus_is_stopped_without_trace(void **state)
{
  (void)state;
  char *dir = corpus_dir();
  DIR *d = opendir(dir);
  assert_non_null(d);
  char *names[512];
  size_t n = 0;
  struct dirent *e;
  while((e = readdir(d)) && n < 512) {
    size_t l = strlen(e->d_name);
    if(l > 4 && !strcmp(e->d_name + l - 4, ".lua"))
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  assert_true(n >= 30);

  char *big = malloc(BIG_DOC_BYTES);
  for(size_t i = 0; i < BIG_DOC_BYTES; i++)
    big[i] = i % 97 == 96 ? '\n' : "revenue and costs "[i % 18];
  const char *texts[] = { SMALL_DOC, big };
  size_t lens[] = { sizeof SMALL_DOC - 1, BIG_DOC_BYTES };
  mn_sandbox_docs docs = { texts, lens, 2 };

  unlink(CANARY);
  char *tmp = mn_test_tmpdir();
  assert_non_null(tmp);
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(tmp), 0);

  result *res = calloc(n, sizeof *res);
  for(size_t i = 0; i < n; i++) {
    result *r = &res[i];
    capture cap;
    capture_start(&cap);
    snprintf(r->name, sizeof r->name, "%s", names[i]);
    char *path = mn_xasprintf("%s/%s", dir, names[i]);
    size_t len;
    char *code = mn_test_read_file(path, &len);
    free(path);
    if(!code || !header_value(code, "expect", r->expect, sizeof r->expect)) {
      snprintf(r->why, sizeof r->why, "no '-- expect:' line");
      free(code);
      free(capture_stop(&cap, &len));
      continue;
    }
    mn_sandbox_limits lim = corpus_limits();
    char spec[200];
    if(header_value(code, "limits", spec, sizeof spec))
      apply_limits(spec, &lim);
    mn_sandbox_job *jobs = NULL;
    size_t nj = 0;
    int ht = 0;
    double t0 = mn_now();
    r->rc = mn_sandbox_prepare_jobs(code, len, &docs, NULL, 0, &lim, &jobs, &nj, &ht, &r->err);
    r->seconds = mn_now() - t0;
    free(code);
    size_t printed = 0;
    char *out = capture_stop(&cap, &printed);
    if(printed) {
      snprintf(r->why, sizeof r->why, "wrote %zu bytes to stdout/stderr: %.100s", printed, out);
    } else if(r->rc == MN_OK) {
      snprintf(r->why, sizeof r->why, "was NOT stopped (%zu jobs)", nj);
      mn_sandbox_jobs_free(jobs, nj);
    } else if(jobs || nj) {
      snprintf(r->why, sizeof r->why, "failed but returned jobs");
    } else if(!r->err || !strstr(r->err, r->expect)) {
      snprintf(r->why, sizeof r->why, "wrong error");
    } else if(!clean_text(r->err)) {
      snprintf(r->why, sizeof r->why, "message is not clean UTF-8 text");
    } else if(r->seconds >= MAX_SECONDS) {
      snprintf(r->why, sizeof r->why, "took %.2f s", r->seconds);
    } else if(is_budget_message(r->err) && r->rc != MN_ELIMIT) {
      snprintf(r->why, sizeof r->why, "budget error with code %d, not MN_ELIMIT", r->rc);
    } else if(dir_entries(".") != 0) {
      snprintf(r->why, sizeof r->why, "left a file in the working directory");
    } else if(access(CANARY, F_OK) == 0) {
      snprintf(r->why, sizeof r->why, "created " CANARY);
    } else {
      r->ok = 1;
    }
    free(out);
  }

  int bad = 0;
  double worst = 0;
  printf("%-40s %7s  %s\n", "hostile program", "ms", "error (first line)");
  for(size_t i = 0; i < n; i++) {
    result *r = &res[i];
    const char *err = r->err ? r->err : "(none)";
    int l = (int)strcspn(err, "\n");
    printf("%-40s %7.1f  %.*s\n", r->name, r->seconds * 1000, l > 90 ? 90 : l, err);
    if(!r->ok) {
      printf("  FAILED: %s; expected \"%s\"; full message:\n%s\n", r->why, r->expect, err);
      bad++;
    }
    if(r->seconds > worst)
      worst = r->seconds;
    free(r->err);
    free(names[i]);
  }
  printf("%zu hostile programs, %d failed, slowest %.0f ms\n", n, bad, worst * 1000);

  int st;
  errno = 0;
  pid_t child = waitpid(-1, &st, WNOHANG);
  int child_errno = errno;
  assert_int_equal(chdir(cwd), 0);
  assert_int_equal(dir_entries(tmp), 0);
  rmdir(tmp);
  free(tmp);
  free(res);
  free(big);
  free(dir);

  assert_int_equal(bad, 0);
  assert_true(access(CANARY, F_OK) != 0);
  /* no child left: every helper was reaped, and nothing else started */
  assert_int_equal(child, -1);
  assert_int_equal(child_errno, ECHILD);
}

typedef struct dumpbuf {
  char data[65536];
  size_t len;
} dumpbuf;

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
  (void)L;
  dumpbuf *b = ud;
  if(sz > sizeof b->data - b->len)
    return 1;
  memcpy(b->data + b->len, p, sz);
  b->len += sz;
  return 0;
}

/* The program itself as bytecode (made with stock Lua's string.dump path):
 * refused before it is loaded. */
static void bytecode_program_is_refused(void **state)
{
  (void)state;
  lua_State *L = luaL_newstate();
  assert_int_equal(luaL_loadstring(L, "function prepare_jobs() return {{task='t', chunk='c'}} end"),
                   LUA_OK);
  static dumpbuf b;
  b.len = 0;
  assert_int_equal(lua_dump(L, dump_writer, &b, 0), 0);
  size_t len = b.len;
  const char *bc = b.data;
  assert_true(len > 4 && bc[0] == 0x1b);
  mn_sandbox_limits lim = corpus_limits();
  mn_sandbox_job *jobs = NULL;
  size_t nj = 0;
  char *err = NULL;
  int rc = mn_sandbox_prepare_jobs(bc, len, NULL, NULL, 0, &lim, &jobs, &nj, NULL, &err);
  assert_int_equal(rc, MN_ESANDBOX);
  assert_non_null(strstr(err, "binary"));
  assert_null(jobs);
  free(err);
  /* the same with a leading newline is text to Lua's loader, which must
   * still refuse it through mode "t" (it is not valid source either) */
  char *shifted = malloc(len + 1);
  shifted[0] = '\n';
  memcpy(shifted + 1, bc, len);
  rc = mn_sandbox_prepare_jobs(shifted, len + 1, NULL, NULL, 0, &lim, &jobs, &nj, NULL, &err);
  assert_int_equal(rc, MN_ESANDBOX);
  assert_non_null(strstr(err, "program:"));
  free(err);
  free(shifted);
  lua_close(L);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(corpus_is_stopped_without_trace),
    cmocka_unit_test(bytecode_program_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
