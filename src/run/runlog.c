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

/* A member of a conversation entry kept in the spill file instead of in
 * memory: its value, dumped as the log file shows it, at off. */
typedef struct spilled {
  json_t *turn;            /* borrowed from conversation */
  char *key;
  off_t off;
  size_t len;
} spilled;

struct mn_runlog {
  json_t *root;
  json_t *conversation;
  /* Job manifests and outputs are most of a MinionS log (a few MB per
   * round) and no later round reads them: they wait for the final write
   * in an unnamed temporary file (tmpfile(): 0600, unlinked at once, gone
   * with the process) instead of in memory. */
  FILE *spill;
  int spill_off;           /* 1: never spill (tests; the spill file failed) */
  spilled *sp;
  size_t n_sp, cap_sp;
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
  for(size_t i = 0; i < log->n_sp; i++)
    free(log->sp[i].key);
  free(log->sp);
  if(log->spill)
    fclose(log->spill);
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

/* ---- writing: indented JSON, streamed, spilled members spliced in ------- */

/* Output with jansson's JSON_INDENT(2) layout at any depth: a value dumped
 * on its own is shifted right by `pad` spaces after each newline (JSON
 * text has no raw newline but those the layout puts). */
typedef struct out {
  int (*sink)(struct out *o, const char *p, size_t n);
  int fd;                  /* file sink */
  FILE *file;              /* spill sink */
  size_t pad;
  int err;
  size_t len;              /* bytes written */
  size_t n;
  char buf[1 << 16];
} out;

static int fd_sink(out *o, const char *p, size_t n)
{
  while(n > 0) {
    ssize_t w = write(o->fd, p, n);
    if(w < 0 && errno == EINTR)
      continue;
    if(w <= 0) {
      if(w == 0)
        errno = EIO;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int file_sink(out *o, const char *p, size_t n)
{
  return fwrite(p, 1, n, o->file) == n ? 0 : -1;
}

static void out_flush(out *o)
{
  if(!o->err && o->n && o->sink(o, o->buf, o->n) != 0)
    o->err = errno ? errno : EIO;
  o->n = 0;
}

static void out_raw(out *o, const char *p, size_t n)
{
  o->len += n;
  while(n > 0 && !o->err) {
    size_t k = sizeof o->buf - o->n < n ? sizeof o->buf - o->n : n;
    memcpy(o->buf + o->n, p, k);
    o->n += k;
    p += k;
    n -= k;
    if(o->n == sizeof o->buf)
      out_flush(o);
  }
}

static void out_pad(out *o, size_t pad)
{
  static const char spaces[] = "                                ";
  while(pad > 0) {
    size_t k = pad < sizeof spaces - 1 ? pad : sizeof spaces - 1;
    out_raw(o, spaces, k);
    pad -= k;
  }
}

/* text with every newline followed by o->pad spaces */
static void out_shifted(out *o, const char *p, size_t n)
{
  while(n > 0) {
    const char *nl = memchr(p, '\n', n);
    size_t k = nl ? (size_t)(nl - p) + 1 : n;
    out_raw(o, p, k);
    if(nl)
      out_pad(o, o->pad);
    p += k;
    n -= k;
  }
}

static int dump_cb(const char *p, size_t n, void *ud)
{
  out *o = ud;
  out_shifted(o, p, n);
  return o->err ? -1 : 0;
}

static void out_value(out *o, const json_t *v, size_t depth)
{
  o->pad = 2 * depth;
  if(json_dump_callback(v, dump_cb, o, JSON_INDENT(2) | JSON_ENCODE_ANY) != 0 && !o->err)
    o->err = ENOMEM;
}

static void out_key(out *o, const char *key, size_t depth)
{
  json_t *k = json_string(key);
  out_pad(o, 2 * depth);
  out_value(o, k, depth);
  json_decref(k);
  out_raw(o, ": ", 2);
}

static const spilled *find_spilled(const mn_runlog *log, const json_t *turn, const char *key)
{
  for(size_t i = 0; log && i < log->n_sp; i++)
    if(log->sp[i].turn == turn && !strcmp(log->sp[i].key, key))
      return &log->sp[i];
  return NULL;
}

static int has_spilled(const mn_runlog *log, const json_t *turn)
{
  for(size_t i = 0; log && i < log->n_sp; i++)
    if(log->sp[i].turn == turn)
      return 1;
  return 0;
}

/* A spilled value, copied from the spill file at its depth. */
static void out_spilled(out *o, const mn_runlog *log, const spilled *s, size_t depth)
{
  char buf[1 << 15];
  o->pad = 2 * depth;
  if(fflush(log->spill) != 0 || fseeko(log->spill, s->off, SEEK_SET) != 0) {
    o->err = errno ? errno : EIO;
    return;
  }
  size_t left = s->len;
  while(left > 0 && !o->err) {
    size_t k = fread(buf, 1, left < sizeof buf ? left : sizeof buf, log->spill);
    if(k == 0) {
      o->err = EIO;
      break;
    }
    out_shifted(o, buf, k);
    left -= k;
  }
  fseeko(log->spill, 0, SEEK_END);
}

/* The value at depth; the root and conversation entries holding spilled
 * members are laid out here, everything else by jansson. */
static void out_node(out *o, const mn_runlog *log, const json_t *v, size_t depth)
{
  int is_root = log && v == log->root, is_conv = log && v == log->conversation;
  if(!(is_root || is_conv || has_spilled(log, v)) ||
     (json_is_object(v) && json_object_size(v) == 0) ||
     (json_is_array(v) && json_array_size(v) == 0)) {
    out_value(o, v, depth);
    return;
  }
  if(json_is_array(v)) {
    out_raw(o, "[\n", 2);
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
      out_pad(o, 2 * (depth + 1));
      out_node(o, log, e, depth + 1);
      out_raw(o, i + 1 < json_array_size(v) ? ",\n" : "\n", i + 1 < json_array_size(v) ? 2 : 1);
    }
    out_pad(o, 2 * depth);
    out_raw(o, "]", 1);
    return;
  }
  out_raw(o, "{\n", 2);
  const char *key;
  json_t *m;
  size_t i = 0, n = json_object_size(v);
  json_object_foreach((json_t *)v, key, m) {
    out_key(o, key, depth + 1);
    const spilled *s = find_spilled(log, v, key);
    if(s)
      out_spilled(o, log, s, depth + 1);
    else
      out_node(o, log, m, depth + 1);
    i++;
    out_raw(o, i < n ? ",\n" : "\n", i < n ? 2 : 1);
  }
  out_pad(o, 2 * depth);
  out_raw(o, "}", 1);
}

void mn_runlog_turn_set_spilled(mn_runlog *log, json_t *turn, const char *key, json_t *value)
{
  if(!log->spill_off && !log->spill) {
    log->spill = tmpfile();
    if(!log->spill)
      log->spill_off = 1;
    else   /* children (pdftotext, the sandbox helper) have no business with it */
      fcntl(fileno(log->spill), F_SETFD, FD_CLOEXEC);
  }
  off_t off = log->spill_off ? -1 : ftello(log->spill);
  if(off >= 0) {
    out *o = mn_xcalloc(1, sizeof *o);
    o->sink = file_sink;
    o->file = log->spill;
    out_value(o, value, 0);
    out_flush(o);
    size_t len = o->len;
    int err = o->err || fflush(log->spill) != 0;
    free(o);
    if(err) {
      /* what was spilled before stays readable; this one stays in memory */
      log->spill_off = 1;
      fseeko(log->spill, off, SEEK_SET);
    } else {
      MN_GROW(log->sp, log->cap_sp, log->n_sp + 1);
      log->sp[log->n_sp++] = (spilled){ turn, mn_xstrdup(key), off, len };
      json_decref(value);
      value = json_null();   /* holds the member's place in the key order */
    }
  }
  json_object_set_new(turn, key, value);
}

void mn_runlog_set_spill(mn_runlog *log, int on)
{
  log->spill_off = !on;
}

size_t mn_runlog_spilled_bytes(const mn_runlog *log)
{
  size_t n = 0;
  for(size_t i = 0; i < log->n_sp; i++)
    n += log->sp[i].len;
  return n;
}

void mn_runlog_set(mn_runlog *log, const char *key, json_t *value)
{
  json_object_set_new(log->root, key, value);
}

void mn_runlog_cache_begin(mn_runlog *log, const char *file)
{
  json_object_set_new(log->root, "cache", json_pack("{s:s, s:I, s:I, s:[]}", "file", file,
                                                    "hits", (json_int_t)0,
                                                    "misses", (json_int_t)0, "calls"));
}

void mn_runlog_cache_call(mn_runlog *log, int round, const char *side, const char *label,
                          int job_id, int cached)
{
  json_t *calls = log ? json_object_get(json_object_get(log->root, "cache"), "calls") : NULL;
  if(!calls)
    return;
  json_t *c = json_pack("{s:i, s:s, s:s, s:b}", "round", round, "side", side,
                        "label", label ? label : "", "cached", cached);
  if(job_id >= 0)
    json_object_set_new(c, "job_id", json_integer(job_id));
  json_array_append_new(calls, c);
}

void mn_runlog_cache_totals(mn_runlog *log, uint64_t hits, uint64_t misses)
{
  json_t *cache = json_object_get(log->root, "cache");
  if(!cache)
    return;
  json_object_set_new(cache, "hits", json_integer((json_int_t)hits));
  json_object_set_new(cache, "misses", json_integer((json_int_t)misses));
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

/* The log as indented JSON in a new file readable by its owner only,
 * streamed: no copy of the whole text is made. */
static int write_file(const mn_runlog *log, const json_t *root, const char *path)
{
  unlink(path);  /* a temporary left by a killed run with our pid */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if(fd < 0)
    return -1;
  out *o = mn_xcalloc(1, sizeof *o);
  o->sink = fd_sink;
  o->fd = fd;
  out_node(o, log, root, 0);
  out_flush(o);
  int saved = o->err;
  free(o);
  if(close(fd) != 0 && !saved)
    saved = errno;
  errno = saved;
  return saved ? -1 : 0;
}

static int write_log(const mn_runlog *log, const json_t *root, const char *path, char **errmsg);

/* The whole log in memory: spilled members are read back. */
json_t *mn_runlog_json(mn_runlog *log)
{
  for(size_t i = 0; i < log->n_sp; i++) {
    spilled *s = &log->sp[i];
    char *text = mn_xmalloc(s->len + 1);
    json_t *v = NULL;
    if(fflush(log->spill) == 0 && fseeko(log->spill, s->off, SEEK_SET) == 0 &&
       fread(text, 1, s->len, log->spill) == s->len)
      v = json_loadb(text, s->len, JSON_DECODE_ANY, NULL);
    free(text);
    fseeko(log->spill, 0, SEEK_END);
    json_object_set_new(s->turn, s->key, v ? v : json_string("(lost: the run log's spill file "
                                                             "could not be read)"));
    free(s->key);
  }
  log->n_sp = 0;
  return log->root;
}

int mn_runlog_write(mn_runlog *log, const char *path, char **errmsg)
{
  return write_log(log, log->root, path, errmsg);
}

int mn_runlog_write_json(const json_t *root, const char *path, char **errmsg)
{
  return write_log(NULL, root, path, errmsg);
}

static int write_log(const mn_runlog *log, const json_t *root, const char *path, char **errmsg)
{
  char *tmp = mn_xasprintf("%s.tmp.%ld", path, (long)getpid());
  int rc = MN_EIO;
  if(make_parents(path) != 0) {
    *errmsg = mn_xasprintf("cannot create the folder of %s: %s", path, strerror(errno));
    goto out;
  }
  if(write_file(log, root, tmp) != 0) {
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
