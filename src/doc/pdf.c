#include "doc/pdf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/str.h"
#include "util/utf8.h"
#include "minions.h"
#include "util/mem.h"
#include "util/time.h"

extern char **environ;

#define READ_CHUNK (64 * 1024)
#define ERR_KEEP 4096           /* stderr bytes kept for the message */
#define MAX_PARALLEL 8

typedef struct child {
  size_t idx;                   /* which path */
  pid_t pid;
  int out_fd, err_fd;           /* -1 once at EOF */
  char *out;
  size_t out_len, out_cap;
  char err[ERR_KEEP];
  size_t err_len;
  double deadline;
} child;

int mn_pdf_default_parallel(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if(n < 2)
    return 2;
  return n > 4 ? 4 : (int)n;
}

static char *shown(const char *path)
{
  return mn_utf8_printable(path, strlen(path), 300);
}

static char *fail_msg(const char *path, const char *fmt, const char *detail)
{
  char *p = shown(path);
  char *m = mn_xasprintf(fmt, p, detail);
  free(p);
  return m;
}

/* pipe() with both ends close-on-exec (pipe2 is not in POSIX 2008). */
static int cloexec_pipe(int fds[2])
{
  if(pipe(fds) != 0)
    return -1;
  if(fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) != 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  return 0;
}

/* Start pdftotext on path. 0 or an MN_E* code with *errmsg set. */
static int spawn_one(child *c, const char *path, char **errmsg)
{
  int op[2], ep[2];
  if(cloexec_pipe(op) != 0) {
    *errmsg = fail_msg(path, "%s: cannot run pdftotext: %s", strerror(errno));
    return MN_EIO;
  }
  if(cloexec_pipe(ep) != 0) {
    *errmsg = fail_msg(path, "%s: cannot run pdftotext: %s", strerror(errno));
    close(op[0]);
    close(op[1]);
    return MN_EIO;
  }
  /* a name starting with '-' would be read as an option */
  char *arg = path[0] == '-' ? mn_xasprintf("./%s", path) : mn_xstrdup(path);
  char *argv[] = { "pdftotext", "-enc", "UTF-8", arg, "-", NULL };
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, op[1], 1);
  posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
  posix_spawnattr_init(&at);
  /* the caller may block or ignore signals (SIGPIPE in network programs);
   * the child starts clean so it dies normally when we stop reading */
  sigset_t none, defs;
  sigemptyset(&none);
  sigemptyset(&defs);
  sigaddset(&defs, SIGPIPE);
  sigaddset(&defs, SIGTERM);
  sigaddset(&defs, SIGINT);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &defs);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int e = posix_spawnp(&pid, "pdftotext", &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  free(arg);
  close(op[1]);
  close(ep[1]);
  if(e != 0) {
    close(op[0]);
    close(ep[0]);
    if(e == ENOENT) {
      *errmsg = mn_xstrdup("pdftotext not found: install poppler-utils");
      return MN_EUNSUPPORTED;
    }
    *errmsg = fail_msg(path, "%s: cannot run pdftotext: %s", strerror(e));
    return MN_EIO;
  }
  fcntl(op[0], F_SETFL, O_NONBLOCK);
  fcntl(ep[0], F_SETFL, O_NONBLOCK);
  c->pid = pid;
  c->out_fd = op[0];
  c->err_fd = ep[0];
  return 0;
}

static void kill_child(child *c)
{
  if(c->out_fd >= 0)
    close(c->out_fd);
  if(c->err_fd >= 0)
    close(c->err_fd);
  c->out_fd = c->err_fd = -1;
  if(c->pid > 0) {
    kill(c->pid, SIGKILL);
    while(waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  c->pid = 0;
  free(c->out);
  c->out = NULL;
}

/* The stderr line that best explains a failure: the first one naming an
 * error (poppler prints warnings before it), else the first line. */
static char *err_line(const char *s, size_t n)
{
  const char *best = NULL;
  size_t best_len = 0;
  const char *p = s, *end = s + n;
  while(p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    while(l && (p[l - 1] == '\r' || p[l - 1] == ' '))
      l--;
    if(l) {
      if(!best) {
        best = p;
        best_len = l;
      }
      if(mn_memmem(p, l, "Error", 5)) {
        best = p;
        best_len = l;
        break;
      }
    }
    p = nl ? nl + 1 : end;
  }
  if(!best)
    return mn_xstrdup("no message");
  return mn_utf8_printable(best, best_len, 200);
}

/* Why a finished child failed, or NULL if it succeeded. */
static char *exit_problem(const child *c, int status, const char *path, int *code)
{
  char detail[64];
  *code = MN_EPARSE;
  if(WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return NULL;
  if(WIFEXITED(status) && WEXITSTATUS(status) == 127 && c->out_len == 0 &&
     c->err_len == 0) {
    /* exec failed after the spawn (older C libraries report it this way) */
    *code = MN_EUNSUPPORTED;
    return mn_xstrdup("pdftotext not found: install poppler-utils");
  }
  if(WIFSIGNALED(status)) {
    snprintf(detail, sizeof detail, "%d", WTERMSIG(status));
    return fail_msg(path, "%s: pdftotext was killed by signal %s", detail);
  }
  char *line = err_line(c->err, c->err_len);
  char *p = shown(path);
  char *m = mn_xasprintf("%s: pdftotext failed (exit %d): %s", p,
                         WEXITSTATUS(status), line);
  free(p);
  free(line);
  return m;
}

/* Read what is there on fd. Returns 1 at EOF, 0 if more may come, or an
 * MN_E* code. */
static int drain(child *c, int is_out, size_t *total, size_t max_total)
{
  int fd = is_out ? c->out_fd : c->err_fd;
  for(;;) {
    char tmp[READ_CHUNK];
    char *dst = tmp;
    if(is_out) {
      if(c->out_cap - c->out_len < READ_CHUNK + 1) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 4 * READ_CHUNK;
        c->out = mn_xrealloc(c->out, cap);
        c->out_cap = cap;
      }
      dst = c->out + c->out_len;
    }
    ssize_t r = read(fd, dst, READ_CHUNK);
    if(r < 0) {
      if(errno == EINTR)
        continue;
      if(errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      return MN_EIO;
    }
    if(r == 0)
      return 1;
    if(is_out) {
      if(max_total && (size_t)r > max_total - *total)
        return MN_ELIMIT;
      *total += (size_t)r;
      c->out_len += (size_t)r;
    } else {
      size_t keep = ERR_KEEP - c->err_len;
      if(keep > (size_t)r)
        keep = (size_t)r;
      memcpy(c->err + c->err_len, tmp, keep);
      c->err_len += keep;
    }
  }
}

typedef struct by_size {
  size_t idx;
  off_t size;
} by_size;

static int cmp_size_desc(const void *a, const void *b)
{
  const by_size *x = a, *y = b;
  if(x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int mn_pdf_extract(const char *const *paths, size_t n, int parallel,
                   size_t max_total, double timeout_s, char **texts,
                   size_t *lens, char **errmsg)
{
  if(parallel < 1)
    parallel = 1;
  if(parallel > MAX_PARALLEL)
    parallel = MAX_PARALLEL;
  *errmsg = NULL;
  for(size_t i = 0; i < n; i++) {
    texts[i] = NULL;
    lens[i] = 0;
  }
  /* biggest files first, so that no long conversion starts last and runs
   * alone; the results still land by index */
  by_size *order = mn_xmalloc((n ? n : 1) * sizeof *order);
  for(size_t i = 0; i < n; i++) {
    struct stat st;
    order[i].idx = i;
    order[i].size = stat(paths[i], &st) == 0 ? st.st_size : 0;
  }
  qsort(order, n, sizeof *order, cmp_size_desc);
  child run[MAX_PARALLEL];
  int running = 0, rc = 0;
  size_t next = 0, total = 0;
  struct pollfd pfd[2 * MAX_PARALLEL];

  while(rc == 0 && (next < n || running > 0)) {
    while(rc == 0 && running < parallel && next < n) {
      child *c = &run[running];
      memset(c, 0, sizeof *c);
      c->idx = order[next].idx;
      rc = spawn_one(c, paths[c->idx], errmsg);
      if(rc)
        break;
      c->deadline = mn_now() + timeout_s;
      running++;
      next++;
    }
    if(rc)
      break;

    /* wait for output, or for the nearest deadline */
    double now = mn_now(), soonest = now + 3600;
    nfds_t np = 0;
    int exited_pending = 0;
    for(int k = 0; k < running; k++) {
      if(run[k].deadline < soonest)
        soonest = run[k].deadline;
      if(run[k].out_fd >= 0)
        pfd[np++] = (struct pollfd){ run[k].out_fd, POLLIN, 0 };
      if(run[k].err_fd >= 0)
        pfd[np++] = (struct pollfd){ run[k].err_fd, POLLIN, 0 };
      if(run[k].out_fd < 0 && run[k].err_fd < 0)
        exited_pending = 1;
    }
    int wait_ms = (int)((soonest - now) * 1000) + 1;
    if(wait_ms < 0)
      wait_ms = 0;
    if(exited_pending && wait_ms > 20)
      wait_ms = 20;  /* a child closed its pipes; look for its exit soon */
    if(poll(pfd, np, wait_ms) < 0 && errno != EINTR) {
      *errmsg = mn_xasprintf("cannot wait for pdftotext: %s", strerror(errno));
      rc = MN_EIO;
      break;
    }

    now = mn_now();
    for(int k = 0; k < running && rc == 0; k++) {
      child *c = &run[k];
      for(int is_out = 1; is_out >= 0 && rc == 0; is_out--) {
        int *fd = is_out ? &c->out_fd : &c->err_fd;
        if(*fd < 0)
          continue;
        int r = drain(c, is_out, &total, max_total);
        if(r == 1) {
          close(*fd);
          *fd = -1;
        } else if(r == MN_ELIMIT) {
          char lim[32];
          snprintf(lim, sizeof lim, "%zu", max_total);
          *errmsg = fail_msg(paths[c->idx],
                             "%s: documents exceed the size limit of %s bytes", lim);
          rc = MN_ELIMIT;
        } else if(r < 0) {
          *errmsg = fail_msg(paths[c->idx], "%s: cannot read pdftotext output: %s",
                             strerror(errno));
          rc = MN_EIO;
        }
      }
      if(rc)
        break;
      if(c->out_fd < 0 && c->err_fd < 0) {
        int status = 0;
        pid_t w;
        while((w = waitpid(c->pid, &status, WNOHANG)) < 0 && errno == EINTR)
          ;
        if(w == c->pid || (w < 0 && errno == ECHILD)) {
          /* ECHILD: the caller ignores SIGCHLD, so the status is lost;
           * judge by the output alone */
          if(w < 0)
            status = 0;
          c->pid = 0;
          int code;
          char *why = exit_problem(c, status, paths[c->idx], &code);
          if(why) {
            *errmsg = why;
            rc = code;
            break;
          }
          c->out = mn_xrealloc(c->out, c->out_len + 1);
          c->out[c->out_len] = '\0';
          texts[c->idx] = c->out;
          lens[c->idx] = c->out_len;
          c->out = NULL;
          run[k] = run[--running];
          k--;
          continue;
        }
      }
      if(now > c->deadline) {
        char secs[32];
        snprintf(secs, sizeof secs, "%g", timeout_s);
        *errmsg = fail_msg(paths[c->idx], "%s: pdftotext took longer than %s s", secs);
        rc = MN_ETIMEOUT;
      }
    }
  }

  free(order);
  if(rc) {
    for(int k = 0; k < running; k++)
      kill_child(&run[k]);
    for(size_t i = 0; i < n; i++) {
      free(texts[i]);
      texts[i] = NULL;
      lens[i] = 0;
    }
  }
  return rc;
}
