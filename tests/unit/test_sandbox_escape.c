/* The sandbox's process wall: a program that got out of the Lua layer
 * (simulated by tests/sandbox/escape_helper.c, a helper with a C escape
 * hatch) still cannot open a file, read a key, make a socket, start a
 * process or signal ours. And the real helper has no such hatch, and the
 * sandbox's failures of its own (no helper, a helper that dies, one that
 * sends garbage) are clear errors rather than hangs or crashes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "minions.h"
#include "sandbox/sandbox.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#define SECRET "sk-escape-test-0123456789abcdef"

/* Run a program whose jobs' tasks report what it saw; returns them joined
 * by '|' (caller frees), or NULL with *err set. */
static char *run_tasks(const char *code, int *rc, char **err)
{
  const char *texts[] = { "a document" };
  size_t lens[] = { 10 };
  mn_sandbox_docs docs = { texts, lens, 1 };
  mn_sandbox_job *jobs = NULL;
  size_t n = 0;
  *err = NULL;
  *rc = mn_sandbox_prepare_jobs(code, strlen(code), &docs, NULL, 0, NULL, &jobs, &n, NULL, err);
  if(*rc != MN_OK)
    return NULL;
  mn_buf b = MN_BUF_INIT(0);
  for(size_t i = 0; i < n; i++)
    mn_buf_printf(&b, "%s%s", i ? "|" : "", jobs[i].task);
  mn_sandbox_jobs_free(jobs, n);
  return mn_buf_steal(&b, NULL);
}

static void escaped_program_finds_nothing(void **state)
{
  const char *escape_helper = getenv("MN_ESCAPE_HELPER");
  assert_non_null(escape_helper);
  /* what an attacker wants: a key in our environment and in a file */
  char dir[] = "/tmp/mn-escape-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char keyfile[64];
  snprintf(keyfile, sizeof keyfile, "%s/key", dir);
  FILE *f = fopen(keyfile, "w");
  assert_non_null(f);
  fputs(SECRET, f);
  fclose(f);
  setenv("OPENAI_API_KEY", SECRET, 1);
  char *normal = mn_xstrdup(getenv("MINIONS_SANDBOX_HELPER"));
  setenv("MINIONS_SANDBOX_HELPER", escape_helper, 1);

  char *code = mn_xasprintf(
    "function prepare_jobs(context)\n"
    "  local seen = {}\n"
    "  for _, what in ipairs({'open %s', 'open /etc/passwd', 'getenv OPENAI_API_KEY',\n"
    "                         'environ', 'socket', 'fork', 'exec', 'kill-parent'}) do\n"
    "    seen[#seen + 1] = { task = what .. '=' .. tostring(escape(what)), chunk = context[1] }\n"
    "  end\n"
    "  return seen\n"
    "end\n", keyfile);
  int rc;
  char *err;
  char *tasks = run_tasks(code, &rc, &err);
  if(rc != MN_OK)
    fail_msg("the escape program failed: %s", err);
  printf("escape helper saw: %s\n", tasks);
  assert_null(strstr(tasks, SECRET));
  char want[200];
#ifdef MN_SANITIZE_BUILD
  /* the two sanitizer option variables, nothing else */
  snprintf(want, sizeof want, "getenv OPENAI_API_KEY=unset|environ=2|");
#else
  snprintf(want, sizeof want, "getenv OPENAI_API_KEY=unset|environ=0|");
#endif
  assert_non_null(strstr(tasks, want));
#ifdef __linux__
  /* the seccomp filter: every one of these is refused */
  snprintf(want, sizeof want, "open %s=Operation not permitted|open /etc/passwd=Operation not "
           "permitted|", keyfile);
  assert_non_null(strstr(tasks, want));
  assert_non_null(strstr(tasks, "|socket=Operation not permitted|fork=Operation not permitted|"
                         "exec=Operation not permitted|kill-parent=Operation not permitted"));
#else
  assert_non_null(strstr(tasks, "fork=Resource temporarily unavailable"));
#endif
  free(tasks);
  free(code);

  /* the real helper has no escape hatch */
  setenv("MINIONS_SANDBOX_HELPER", normal, 1);
  tasks = run_tasks("function prepare_jobs(c) return {{task = escape('environ'), chunk = ''}} end",
                    &rc, &err);
  assert_int_equal(rc, MN_ESANDBOX);
  assert_non_null(strstr(err, "global 'escape'"));
  free(err);
  unsetenv("OPENAI_API_KEY");
  free(normal);
  unlink(keyfile);
  rmdir(dir);
}

static void helper_failures_are_clear(void **state)
{
  char *normal = mn_xstrdup(getenv("MINIONS_SANDBOX_HELPER"));
  const char *good = "function prepare_jobs(c) return {{task = 't', chunk = c[1]}} end";
  int rc;
  char *err;

  setenv("MINIONS_SANDBOX_HELPER", "/nonexistent/minions-sandbox", 1);
  assert_null(run_tasks(good, &rc, &err));
  assert_int_equal(rc, MN_ENOTFOUND);
  assert_non_null(strstr(err, "sandbox helper minions-sandbox was not found"));
  assert_null(strchr(err, '\n'));
  free(err);

  /* a "helper" that sends garbage, and one that dies at once */
  char dir[] = "/tmp/mn-helper-XXXXXX";
  assert_non_null(mkdtemp(dir));
  const char *bodies[] = { "#!/bin/sh\ncat >/dev/null & printf 'MNSB garbage'\n",
                           "#!/bin/sh\nkill -SEGV $$\n" };
  const char *wants[] = { "sent a broken reply", "the sandbox process died (signal 11)" };
  for(size_t i = 0; i < 2; i++) {
    char path[64];
    snprintf(path, sizeof path, "%s/h%zu", dir, i);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(bodies[i], f);
    fclose(f);
    chmod(path, 0755);
    setenv("MINIONS_SANDBOX_HELPER", path, 1);
    double t0 = mn_now();
    assert_null(run_tasks(good, &rc, &err));
    printf("%s -> %d %s (%.0f ms)\n", wants[i], rc, err, (mn_now() - t0) * 1000);
    assert_true(rc == MN_EIO || rc == MN_ESANDBOX);
    assert_non_null(strstr(err, wants[i]));
    assert_true(mn_now() - t0 < 5.0);
    free(err);
    unlink(path);
  }
  rmdir(dir);

  /* a program that never ends inside one C call is killed at the deadline
   * even if its own clock checks were somehow defeated: stand-in, a helper
   * that reads the request and sleeps */
  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  lim.wall_ms = 300;
  char dir2[] = "/tmp/mn-helper-XXXXXX";
  assert_non_null(mkdtemp(dir2));
  char path[64];
  snprintf(path, sizeof path, "%s/sleeper", dir2);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("#!/bin/sh\nexec sleep 30\n", f);
  fclose(f);
  chmod(path, 0755);
  setenv("MINIONS_SANDBOX_HELPER", path, 1);
  const char *texts[] = { "doc" };
  size_t lens[] = { 3 };
  mn_sandbox_docs docs = { texts, lens, 1 };
  mn_sandbox_job *jobs = NULL;
  size_t n = 0;
  double t0 = mn_now();
  rc = mn_sandbox_prepare_jobs(good, strlen(good), &docs, NULL, 0, &lim, &jobs, &n, NULL, &err);
  double took = mn_now() - t0;
  printf("sleeping helper -> %d %s (%.1f s)\n", rc, err, took);
  assert_int_equal(rc, MN_ELIMIT);
  assert_non_null(strstr(err, "time limit of 300 ms exceeded"));
  assert_true(took < 10.0);
  free(err);
  unlink(path);
  rmdir(dir2);

  setenv("MINIONS_SANDBOX_HELPER", normal, 1);
  free(normal);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(escaped_program_finds_nothing),
    cmocka_unit_test(helper_failures_are_clear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
