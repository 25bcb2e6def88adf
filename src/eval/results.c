/* The evaluation's results file; see results.h. */
#include "eval/results.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "minions.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

#define MAX_RESULTS_BYTES ((size_t)1 << 30)

static int same_key(json_t *row, const char *id, const char *protocol)
{
  const char *a = mn_json_str(row, "id"), *b = mn_json_str(row, "protocol");
  return a && b && !strcmp(a, id) && !strcmp(b, protocol);
}

json_t *mn_results_find(const mn_results *r, const char *id, const char *protocol)
{
  for(size_t i = r->n; i-- > 0;)
    if(same_key(r->rows[i], id, protocol))
      return r->rows[i];
  return NULL;
}

/* Keep row as the one for its key (a later line replaces an earlier). */
static void keep(mn_results *r, json_t *row)
{
  const char *id = mn_json_str(row, "id"), *p = mn_json_str(row, "protocol");
  for(size_t i = 0; id && p && i < r->n; i++)
    if(same_key(r->rows[i], id, p)) {
      json_decref(r->rows[i]);
      memmove(&r->rows[i], &r->rows[i + 1], (r->n - i - 1) * sizeof *r->rows);
      r->n--;
      break;
    }
  MN_GROW(r->rows, r->cap, r->n + 1);
  r->rows[r->n++] = row;
}

int mn_results_open(mn_results *r, const char *path, char **errmsg)
{
  memset(r, 0, sizeof *r);
  r->fd = -1;
  r->path = mn_xstrdup(path);
  int fd = open(path, O_RDWR | O_CREAT | O_APPEND, 0600);
  if(fd < 0) {
    *errmsg = mn_xasprintf("%s: %s", path, strerror(errno));
    return MN_EIO;
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  struct stat st;
  if(fstat(fd, &st) != 0 || (size_t)st.st_size > MAX_RESULTS_BYTES) {
    *errmsg = mn_xasprintf("%s: cannot read it, or larger than 1 GiB", path);
    close(fd);
    return MN_EIO;
  }
  size_t size = (size_t)st.st_size;
  char *text = mn_xmalloc(size + 1);
  size_t got = 0;
  while(got < size) {
    ssize_t k = pread(fd, text + got, size - got, (off_t)got);
    if(k <= 0) {
      if(k < 0 && errno == EINTR)
        continue;
      break;
    }
    got += (size_t)k;
  }
  text[got] = '\0';
  /* complete lines only: a line without its newline was being written
   * when the last run was killed, and is cut off */
  size_t good = 0;
  for(size_t i = 0; i < got;) {
    char *nl = memchr(text + i, '\n', got - i);
    if(!nl)
      break;
    size_t len = (size_t)(nl - (text + i));
    json_t *row = len ? mn_json_loadb(text + i, len, NULL) : NULL;
    if(row && json_is_object(row) && mn_json_str(row, "id") && mn_json_str(row, "protocol"))
      keep(r, row);
    else
      json_decref(row);   /* a foreign or damaged line: ignored, kept in the file */
    i += len + 1;
    good = i;
  }
  free(text);
  if(good < got && ftruncate(fd, (off_t)good) != 0) {
    *errmsg = mn_xasprintf("%s: cannot cut off its torn last line: %s", path, strerror(errno));
    close(fd);
    return MN_EIO;
  }
  r->fd = fd;
  return MN_OK;
}

int mn_results_append(mn_results *r, json_t *row, char **errmsg)
{
  char *line = json_dumps(row, JSON_COMPACT | JSON_ENSURE_ASCII);
  if(!line) {
    json_decref(row);
    *errmsg = mn_xstrdup("a result could not be written as JSON");
    return MN_EIO;
  }
  size_t len = strlen(line);
  line = mn_xrealloc(line, len + 2);
  line[len++] = '\n';
  /* one write: with O_APPEND a line is never interleaved with another */
  size_t done = 0;
  while(done < len) {
    ssize_t k = write(r->fd, line + done, len - done);
    if(k < 0 && errno == EINTR)
      continue;
    if(k <= 0) {
      *errmsg = mn_xasprintf("%s: %s", r->path, strerror(errno));
      free(line);
      json_decref(row);
      return MN_EIO;
    }
    done += (size_t)k;
  }
  free(line);
  fsync(r->fd);
  keep(r, row);
  return MN_OK;
}

void mn_results_close(mn_results *r)
{
  if(r->fd >= 0)
    close(r->fd);
  for(size_t i = 0; i < r->n; i++)
    json_decref(r->rows[i]);
  free(r->rows);
  free(r->path);
  memset(r, 0, sizeof *r);
  r->fd = -1;
}
