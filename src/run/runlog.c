#include "run/runlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/json.h"
#include "util/mem.h"

struct mn_runlog {
  json_t *root;
  json_t *conversation;
};

static json_t *str_or_null(const char *s)
{
  return s ? json_string(s) : json_null();
}

mn_runlog *mn_runlog_new(const char *protocol, const char *task,
                         const char *doc_metadata, const char *local_model,
                         const char *remote_model)
{
  mn_runlog *log = mn_xcalloc(1, sizeof *log);
  log->root = json_object();
  log->conversation = json_array();
  json_object_set_new(log->root, "protocol", str_or_null(protocol));
  json_object_set_new(log->root, "task", str_or_null(task));
  json_object_set_new(log->root, "doc_metadata", str_or_null(doc_metadata));
  json_object_set_new(log->root, "models",
                      json_pack("{s:o, s:o}", "local", str_or_null(local_model),
                                "remote", str_or_null(remote_model)));
  json_object_set_new(log->root, "documents", json_array());
  json_object_set(log->root, "conversation", log->conversation);
  json_object_set_new(log->root, "generated_final_answer", json_string(""));
  return log;
}

void mn_runlog_free(mn_runlog *log)
{
  if(!log)
    return;
  json_decref(log->conversation);
  json_decref(log->root);
  free(log);
}

void mn_runlog_add_document(mn_runlog *log, const char *name, size_t bytes)
{
  json_array_append_new(json_object_get(log->root, "documents"),
                        json_pack("{s:s, s:I}", "name", name, "bytes", (json_int_t)bytes));
}

json_t *mn_runlog_turn(mn_runlog *log, const char *user, const char *prompt,
                       const char *output)
{
  json_t *t = json_object();
  json_object_set_new(t, "user", json_string(user));
  json_object_set_new(t, "prompt", str_or_null(prompt));
  json_object_set_new(t, "output", str_or_null(output));
  json_array_append_new(log->conversation, t);
  return t;
}

void mn_runlog_turn_set(json_t *turn, const char *key, const char *value)
{
  json_object_set_new(turn, key, str_or_null(value));
}

void mn_runlog_set(mn_runlog *log, const char *key, json_t *value)
{
  json_object_set_new(log->root, key, value);
}

json_t *mn_usage_json(const mn_usage *u)
{
  return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                   "prompt_tokens", (json_int_t)u->prompt_tokens,
                   "completion_tokens", (json_int_t)u->completion_tokens,
                   "total_tokens", (json_int_t)(u->prompt_tokens + u->completion_tokens),
                   "cached_prompt_tokens", (json_int_t)u->cached_prompt_tokens,
                   "seen_prompt_tokens", (json_int_t)(u->prompt_tokens - u->cached_prompt_tokens),
                   "calls", (json_int_t)u->calls,
                   "unreported_calls", (json_int_t)u->unreported_calls);
}

json_t *mn_timing_json(const mn_timing *t)
{
  return json_pack("{s:f, s:f, s:f, s:f}",
                   "local_call_time", t->local_call_time,
                   "remote_call_time", t->remote_call_time,
                   "total_time", t->total_time,
                   "overhead_time", t->overhead_time);
}

void mn_runlog_finish(mn_runlog *log, const char *answer, int rounds,
                      const mn_usage *remote, const mn_usage *local,
                      const mn_timing *timing, double cost_usd,
                      const char *error)
{
  json_object_set_new(log->root, "generated_final_answer", json_string(answer ? answer : ""));
  json_object_set_new(log->root, "rounds", json_integer(rounds));
  json_object_set_new(log->root, "usage", json_pack("{s:o, s:o}",
                      "remote", mn_usage_json(remote), "local", mn_usage_json(local)));
  json_object_set_new(log->root, "timing", mn_timing_json(timing));
  json_object_set_new(log->root, "cost_usd", cost_usd >= 0 ? json_real(cost_usd) : json_null());
  json_object_set_new(log->root, "error", str_or_null(error));
}

/* mkdir -p for the folder part of path. Folders we create are 0700: a run
 * log holds the document's text and every model message. */
static int make_parents(const char *path)
{
  char *p = mn_xstrdup(path);
  for(char *s = p + 1; *s; s++) {
    if(*s != '/')
      continue;
    *s = '\0';
    if(mkdir(p, 0700) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  free(p);
  return 0;
}

/* The log as indented JSON in a new file readable by its owner only. */
static int write_file(const json_t *root, const char *path)
{
  char *text = json_dumps(root, JSON_INDENT(2));
  if(!text) {
    errno = ENOMEM;
    return -1;
  }
  size_t len = strlen(text);
  unlink(path);  /* a temporary left by a killed run with our pid */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if(fd < 0) {
    free(text);
    return -1;
  }
  size_t off = 0;
  while(off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if(n < 0 && errno == EINTR)
      continue;
    if(n <= 0) {
      if(n == 0)
        errno = EIO;
      break;
    }
    off += (size_t)n;
  }
  int saved = errno;
  free(text);
  if(close(fd) != 0 && off == len) {
    saved = errno;
    off = 0;
  }
  errno = saved;
  return off == len ? 0 : -1;
}

json_t *mn_runlog_json(mn_runlog *log)
{
  return log->root;
}

int mn_runlog_write(mn_runlog *log, const char *path, char **errmsg)
{
  return mn_runlog_write_json(log->root, path, errmsg);
}

int mn_runlog_write_json(const json_t *root, const char *path, char **errmsg)
{
  char *tmp = mn_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int rc = MN_EIO;
  if(make_parents(path) != 0) {
    *errmsg = mn_xasprintf("cannot create the folder of %s: %s", path, strerror(errno));
    goto out;
  }
  if(write_file(root, tmp) != 0) {
    *errmsg = mn_xasprintf("cannot write run log %s: %s", path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  if(rename(tmp, path) != 0) {
    *errmsg = mn_xasprintf("cannot write run log %s: %s", path, strerror(errno));
    unlink(tmp);
    goto out;
  }
  rc = 0;
out:
  free(tmp);
  return rc;
}

char *mn_runlog_default_path(const char *dir, const char *protocol)
{
  char stamp[32];
  time_t t = time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned tag = ((unsigned)ts.tv_nsec ^ ((unsigned)getpid() << 16)) & 0xffffu;
  return mn_xasprintf("%s/%s-%s-%04x.json", dir, stamp, protocol, tag);
}
