/* mn_sandbox_prepare_jobs and mn_sandbox_transform_outputs: each call runs
 * in a fresh helper process (see isolate.h). This file starts it, sends
 * the request, reads and checks the reply and reaps the process; the
 * message formats are in wire.h, the helper's side in helper/main.c.
 */
#include "sandbox/isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "minions.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_internal.h"
#include "sandbox/wire.h"
#include "util/mem.h"
#include "util/time.h"
#include "util/utf8.h"

/* Time for starting the helper and moving the request, on top of the
 * program's own wall budget, before the helper is killed. */
#define GRACE_S 3.0
#define ERRMSG_MAX (64u << 10)
#define BROKEN 1   /* no usable reply: not an MN_E* code */

typedef struct iso_call {
  int kind;                     /* MN_SBW_PREPARE or MN_SBW_TRANSFORM */
  const char *code;
  size_t code_len;
  const mn_sandbox_docs *docs;
  const mn_sandbox_done_job *prev;
  size_t n_prev;
  int has_prev;
  mn_sandbox_limits lim;
  /* results */
  mn_sandbox_job *jobs;
  size_t n_jobs;
  int has_transform;
  char *out;
} iso_call;

static void put_str(mn_sbw *w, const char *s)
{
  mn_sbw_str(w, s, s ? strlen(s) : 0);
}

static void build_request(const iso_call *c, mn_sbw *w)
{
  const mn_sandbox_limits *l = &c->lim;
  mn_sbw_u64(w, (uint64_t)c->kind);
  mn_sbw_u64(w, l->memory_bytes);
  mn_sbw_u64(w, l->instructions);
  mn_sbw_i64(w, l->wall_ms);
  mn_sbw_u64(w, l->max_jobs);
  mn_sbw_u64(w, l->max_string_bytes);
  mn_sbw_u64(w, l->max_total_bytes);
  mn_sbw_str(w, c->code, c->code_len);
  size_t n = c->docs ? c->docs->n : 0;
  mn_sbw_u64(w, n);
  for(size_t i = 0; i < n; i++) {
    const char *t = c->docs->texts[i];
    if(!t)
      mn_sbw_str(w, "", 0);
    else
      mn_sbw_str(w, t, c->docs->lens ? c->docs->lens[i] : strlen(t));
  }
  mn_sbw_u64(w, (uint64_t)c->has_prev);
  mn_sbw_u64(w, c->n_prev);
  for(size_t i = 0; i < c->n_prev; i++) {
    const mn_sandbox_done_job *j = &c->prev[i];
    put_str(w, j->task);
    put_str(w, j->advice);
    mn_sbw_str(w, j->chunk, j->chunk ? j->chunk_len : 0);
    put_str(w, j->answer);
    put_str(w, j->explanation);
    put_str(w, j->citation);
    mn_sbw_i64(w, j->job_id);
    mn_sbw_i64(w, j->task_id);
    mn_sbw_i64(w, j->chunk_id);
  }
}

/* A string of the reply: within max bytes, no NUL, valid UTF-8 (the
 * helper's copy of the sandbox checks all that; a helper that does not
 * is not trusted). */
static int reply_str(mn_sbr *r, size_t max, int required, char **out, size_t *len)
{
  size_t n = 0;
  if(mn_sbr_str(r, max, out, &n))
    return r->err;
  if(!*out) {
    if(required)
      r->err = MN_EPARSE;
    return r->err;
  }
  if(memchr(*out, '\0', n) || !mn_utf8_valid(*out, n)) {
    free(*out);
    *out = NULL;
    r->err = MN_EPARSE;
    return r->err;
  }
  if(len)
    *len = n;
  return MN_OK;
}

/* Read the reply into c, or the helper's error into *errmsg. Returns the
 * helper's code, or BROKEN with r->err set. */
static int read_reply(iso_call *c, mn_sbr *r, char **errmsg)
{
  char magic[4];
  uint64_t version, u, count;
  int64_t rc;
  if(mn_sbr_raw(r, magic, 4) || memcmp(magic, MN_SBW_MAGIC, 4) != 0 ||
     mn_sbr_u64(r, &version) || version != MN_SBW_VERSION || mn_sbr_i64(r, &rc)) {
    if(!r->err)
      r->err = MN_EPARSE;
    return BROKEN;
  }
  if(rc != MN_OK) {
    if(rc != MN_ELIMIT && rc != MN_ESANDBOX && rc != MN_EINVAL) {
      r->err = MN_EPARSE;
      return BROKEN;
    }
    char *msg = NULL;
    size_t n = 0;
    if(mn_sbr_str(r, ERRMSG_MAX, &msg, &n) || !msg) {
      free(msg);
      if(!r->err)
        r->err = MN_EPARSE;
      return BROKEN;
    }
    *errmsg = mn_utf8_repair(msg, strnlen(msg, n), NULL);
    free(msg);
    return (int)rc;
  }
  const mn_sandbox_limits *l = &c->lim;
  if(c->kind == MN_SBW_TRANSFORM)
    return reply_str(r, l->max_string_bytes, 1, &c->out, NULL) ? BROKEN : MN_OK;

  if(mn_sbr_u64(r, &u) || u > 1 || mn_sbr_u64(r, &count) || count < 1 ||
     count > l->max_jobs) {
    if(!r->err)
      r->err = MN_EPARSE;
    return BROKEN;
  }
  c->has_transform = (int)u;
  size_t n = (size_t)count, total = 0, len = 0;
  c->jobs = mn_xcalloc(n, sizeof *c->jobs);
  for(size_t i = 0; i < n; i++) {
    mn_sandbox_job *j = &c->jobs[i];
    c->n_jobs = i + 1;
    if(reply_str(r, l->max_string_bytes, 1, &j->task, &len))
      return BROKEN;
    total += len;
    if(len == 0 || reply_str(r, l->max_string_bytes, 0, &j->advice, &len))
      break;
    total += j->advice ? len : 0;
    if(reply_str(r, l->max_string_bytes, 1, &j->chunk, &j->chunk_len))
      return BROKEN;
    total += j->chunk_len;
    if(total > l->max_total_bytes)
      break;
  }
  if(r->err || total > l->max_total_bytes || !c->jobs[c->n_jobs - 1].chunk) {
    if(!r->err)
      r->err = MN_EPARSE;
    return BROKEN;
  }
  return MN_OK;
}

static int spawn_helper(const char *path, int fd, pid_t *pid)
{
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
#ifndef MN_SANITIZE_BUILD
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#endif
  posix_spawnattr_init(&at);
  /* start clean whatever the caller blocks or ignores */
  sigset_t none, defs;
  sigemptyset(&none);
  sigemptyset(&defs);
  int sigs[] = { SIGPIPE, SIGTERM, SIGINT, SIGXCPU, SIGALRM, SIGHUP };
  for(size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaddset(&defs, sigs[i]);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &defs);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char *argv[] = { (char *)"minions-sandbox", NULL };
  char *envp[3] = { NULL };  /* nothing of ours, no key, reaches it */
#ifdef MN_SANITIZE_BUILD
  /* a sanitizer build reports the helper's findings on our stderr, with
   * the test's options (leaks do not matter in a process that ends) */
  static char asan[] = "ASAN_OPTIONS=detect_leaks=0";
  static char ubsan[512];
  const char *u = getenv("UBSAN_OPTIONS");
  snprintf(ubsan, sizeof ubsan, "UBSAN_OPTIONS=%s", u ? u : "");
  envp[0] = asan;
  envp[1] = ubsan;
#endif
  int e = posix_spawn(pid, path, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return e;
}

/* Wait for the helper to end until `until`, then kill it. Returns its
 * status, or -1 when it was not ours to reap (SIGCHLD ignored); *killed
 * says whether it had to be killed. */
static int reap(pid_t pid, double until, int *killed)
{
  int st;
  *killed = 0;
  for(;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if(w == pid)
      return st;
    if(w < 0 && errno != EINTR)
      return -1;
    if(w == 0 && mn_now() > until) {
      kill(pid, SIGKILL);
      *killed = 1;
      while(waitpid(pid, &st, 0) < 0)
        if(errno != EINTR)
          return -1;
      return st;
    }
    struct timespec ts = { 0, 1000000 };
    nanosleep(&ts, NULL);
  }
}

/* The message and code for a helper that sent no usable reply. */
static int no_reply(const iso_call *c, const char *path, int st, int err, char **errmsg)
{
  char w[32];
  mn_sb_fmt_wall(w, sizeof w, c->lim.wall_ms);
  if(err == MN_ETIMEOUT) {
    *errmsg = mn_xasprintf("time limit of %s exceeded (the sandbox process was stopped)", w);
    return MN_ELIMIT;
  }
  if(st != -1 && WIFSIGNALED(st)) {
    int sig = WTERMSIG(st);
    if(sig == SIGXCPU) {
      *errmsg = mn_xasprintf("CPU time limit exceeded (the program's time limit is %s)", w);
      return MN_ELIMIT;
    }
    char lim[32];
    mn_sb_fmt_bytes(lim, sizeof lim, c->lim.memory_bytes);
    *errmsg = mn_xasprintf("the sandbox process died (signal %d); the program may have gone "
                           "past the memory limit of %s", sig, lim);
    return MN_ESANDBOX;
  }
  if(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 127) {
    *errmsg = mn_xasprintf("the sandbox helper %s could not be started", path);
    return MN_ENOTFOUND;
  }
  if(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) != 0)
    *errmsg = mn_xasprintf("the sandbox helper %s failed (exit %d): it may be from another "
                           "version of minions, or it could not confine itself", path,
                           WEXITSTATUS(st));
  else
    *errmsg = mn_xasprintf("the sandbox helper %s sent a broken reply", path);
  return MN_EIO;
}

static int run_isolated(iso_call *c, char **errmsg)
{
  char *tried = NULL;
  char *path = mn_sandbox_helper_path(&tried);
  if(!path) {
    *errmsg = mn_xasprintf("the sandbox helper minions-sandbox was not found (looked %s); "
                           "reinstall minions or set MINIONS_SANDBOX_HELPER", tried ? tried : "");
    free(tried);
    return MN_ENOTFOUND;
  }
  int sv[2];
#ifdef SOCK_CLOEXEC
  int made = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
#else
  int made = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
#endif
  if(made != 0) {
    *errmsg = mn_xasprintf("cannot start the sandbox: %s", strerror(errno));
    free(path);
    return MN_EIO;
  }
  fcntl(sv[0], F_SETFD, FD_CLOEXEC);
  fcntl(sv[1], F_SETFD, FD_CLOEXEC);
#ifdef SO_NOSIGPIPE
  int one = 1;
  setsockopt(sv[0], SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  pid_t pid;
  int e = spawn_helper(path, sv[1], &pid);
  close(sv[1]);
  if(e != 0) {
    close(sv[0]);
    *errmsg = mn_xasprintf("cannot start the sandbox helper %s: %s", path, strerror(e));
    free(path);
    return e == ENOENT || e == EACCES ? MN_ENOTFOUND : MN_EIO;
  }
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  double deadline = mn_now() + (double)(c->lim.wall_ms > 0 ? c->lim.wall_ms : 0) / 1000.0 +
                    GRACE_S;

  mn_sbw body, head;
  mn_sbw_init(&body);
  mn_sbw_init(&head);
  build_request(c, &body);
  mn_sbw_raw(&head, MN_SBW_MAGIC, 4);
  mn_sbw_u64(&head, MN_SBW_VERSION);
  mn_sbw_u64(&head, body.total);
  int sent = mn_sbw_send(&head, sv[0], deadline);
  if(!sent)
    sent = mn_sbw_send(&body, sv[0], deadline);
  mn_sbw_free(&head);
  mn_sbw_free(&body);

  int rc = BROKEN, err = sent;
  if(sent == MN_OK || sent == MN_EIO) {   /* EIO: it may have replied before dying */
    mn_sbr *r = mn_xmalloc(sizeof *r);
    mn_sbr_init(r, sv[0], deadline);
    rc = read_reply(c, r, errmsg);
    err = r->err;
    free(r);
  }
  close(sv[0]);
  /* it has nothing left to do but end: one that lingers is killed soon
   * (at once past the deadline), and its status tells what went wrong */
  int killed;
  double soon = mn_now() + 1.0;
  int st = reap(pid, soon < deadline ? soon : deadline, &killed);
  if(rc == BROKEN) {
    mn_sandbox_jobs_free(c->jobs, c->n_jobs);
    c->jobs = NULL;
    c->n_jobs = 0;
    free(c->out);
    c->out = NULL;
    rc = no_reply(c, path, killed ? -1 : st, err, errmsg);
  }
  free(path);
  return rc;
}

int mn_sandbox_prepare_jobs(const char *code, size_t code_len,
                            const mn_sandbox_docs *docs,
                            const mn_sandbox_done_job *prev, size_t n_prev,
                            const mn_sandbox_limits *limits,
                            mn_sandbox_job **jobs, size_t *n_jobs,
                            int *has_transform, char **errmsg)
{
  if(errmsg)
    *errmsg = NULL;
  if(has_transform)
    *has_transform = 0;
  if(!jobs || !n_jobs || !errmsg || !code) {
    if(errmsg)
      *errmsg = mn_xstrdup(code ? "no place for the jobs" : "no program");
    return MN_EINVAL;
  }
  *jobs = NULL;
  *n_jobs = 0;
  mn_sandbox_limits defaults = MN_SANDBOX_LIMITS_INIT;
  iso_call c = { .kind = MN_SBW_PREPARE, .code = code, .code_len = code_len, .docs = docs,
                 .prev = prev, .n_prev = prev ? n_prev : 0, .has_prev = prev != NULL,
                 .lim = limits ? *limits : defaults };
  int rc = run_isolated(&c, errmsg);
  if(rc != MN_OK)
    return rc;
  *jobs = c.jobs;
  *n_jobs = c.n_jobs;
  if(has_transform)
    *has_transform = c.has_transform;
  return MN_OK;
}

int mn_sandbox_transform_outputs(const char *code, size_t code_len,
                                 const mn_sandbox_docs *docs,
                                 const mn_sandbox_done_job *jobs, size_t n_jobs,
                                 const mn_sandbox_limits *limits,
                                 char **out, char **errmsg)
{
  if(errmsg)
    *errmsg = NULL;
  if(!out || !errmsg || !code) {
    if(errmsg)
      *errmsg = mn_xstrdup(code ? "no place for the output" : "no program");
    return MN_EINVAL;
  }
  *out = NULL;
  mn_sandbox_limits defaults = MN_SANDBOX_LIMITS_INIT;
  iso_call c = { .kind = MN_SBW_TRANSFORM, .code = code, .code_len = code_len, .docs = docs,
                 .prev = jobs, .n_prev = jobs ? n_jobs : 0, .has_prev = 1,
                 .lim = limits ? *limits : defaults };
  int rc = run_isolated(&c, errmsg);
  if(rc != MN_OK)
    return rc;
  *out = c.out;
  return MN_OK;
}
