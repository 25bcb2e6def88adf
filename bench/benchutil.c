/* Helpers shared by the MinionS benchmarks. */
#include "benchutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

extern char **environ;

#define FAKE_START_TIMEOUT_MS 5000
#define STATS_MAX_BYTES 65536

int bench_fake_start(bench_fake *f, const char *fakellm, const char *const *args)
{
  int fds[2];
  memset(f, 0, sizeof *f);
  f->pid = -1;
  if(pipe(fds) != 0) {
    fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
    return -1;
  }
  const char *argv[32];
  size_t n = 0;
  argv[n++] = fakellm;
  argv[n++] = "--port";
  argv[n++] = "0";
  for(size_t i = 0; args && args[i] && n < 31; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  int rc = posix_spawn(&f->pid, fakellm, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if(rc != 0) {
    fprintf(stderr, "bench: cannot start %s: %s\n", fakellm, strerror(rc));
    close(fds[0]);
    f->pid = -1;
    return -1;
  }
  char line[128];
  size_t got = 0;
  double deadline = mn_now() + FAKE_START_TIMEOUT_MS / 1000.0;
  while(got < sizeof line - 1 && !memchr(line, '\n', got)) {
    struct pollfd p = { fds[0], POLLIN, 0 };
    int left = (int)((deadline - mn_now()) * 1000);
    if(left <= 0 || poll(&p, 1, left) <= 0)
      break;
    ssize_t r = read(fds[0], line + got, sizeof line - 1 - got);
    if(r <= 0)
      break;
    got += (size_t)r;
  }
  close(fds[0]);
  line[got] = '\0';
  if(sscanf(line, "PORT %d", &f->port) != 1 || f->port <= 0) {
    fprintf(stderr, "bench: %s did not start (no PORT line)\n", fakellm);
    bench_fake_stop(f);
    return -1;
  }
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
  return 0;
}

void bench_fake_stop(bench_fake *f)
{
  if(f->pid > 0) {
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
  }
  f->pid = -1;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
  return mn_buf_append(ud, p, size * n) ? 0 : size * n;
}

json_t *bench_fake_stats_json(const bench_fake *f)
{
  char url[128];
  snprintf(url, sizeof url, "%s/_fake/stats", f->url);
  mn_buf b = MN_BUF_INIT(STATS_MAX_BYTES);
  CURL *c = curl_easy_init();
  if(!c)
    return NULL;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  CURLcode cc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  json_t *j = cc == CURLE_OK ? json_loads(mn_buf_str(&b), 0, NULL) : NULL;
  mn_buf_free(&b);
  return j;
}

int bench_fake_stats(const bench_fake *f, long *requests, long *max_serving)
{
  json_t *j = bench_fake_stats_json(f);
  if(!j)
    return -1;
  *requests = (long)json_integer_value(json_object_get(j, "requests"));
  *max_serving = (long)json_integer_value(json_object_get(j, "max_serving"));
  json_decref(j);
  return 0;
}

/* Benchmarks run the library in-process from <build>/bench/, where the
 * library's search for its sandbox helper (beside the program) misses the
 * one the build put in <build>. */
static char *with_helper(char *build)
{
  char *helper = mn_xasprintf("%s/minions-sandbox", build);
  const char *env = getenv("MINIONS_SANDBOX_HELPER");
  if((!env || !*env) && access(helper, X_OK) == 0)
    setenv("MINIONS_SANDBOX_HELPER", helper, 1);
  free(helper);
  return build;
}

char *bench_build_dir(const char *argv0, const char *given)
{
  if(given)
    return with_helper(mn_xstrdup(given));
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if(n <= 0) {
    snprintf(self, sizeof self, "%s", argv0);
    n = (ssize_t)strlen(self);
  }
  self[n] = '\0';
  char *slash = strrchr(self, '/');
  if(!slash)
    return mn_xstrdup("..");
  *slash = '\0';               /* <build>/bench */
  return with_helper(mn_xasprintf("%s/..", self));
}

char *bench_data_dir(const char *given)
{
  if(given)
    return mn_xstrdup(given);
  const char *sh = getenv("MN_SHARED_DIR");
  if(sh && *sh)
    return mn_xasprintf("%s/data/financebench", sh);
  /* bench/<this file> -> <source>/../shared */
  char src[PATH_MAX];
  snprintf(src, sizeof src, "%s", __FILE__);
  char *slash = strrchr(src, '/');
  if(slash)
    *slash = '\0';
  else
    snprintf(src, sizeof src, ".");
  return mn_xasprintf("%s/../../shared/data/financebench", src);
}

char *bench_cache_dir(void)
{
  const char *tmp = getenv("TMPDIR");
  char *dir = mn_xasprintf("%s/mn-bench-retrieval", tmp && *tmp ? tmp : "/tmp");
  if(mkdir(dir, 0700) != 0 && errno != EEXIST)
    fprintf(stderr, "bench: %s: %s\n", dir, strerror(errno));
  return dir;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* pdftotext PDF into OUT (through a temporary file, so a half-written
 * conversion is never taken for a cached one). */
static int convert(const char *pdf, const char *out)
{
  char *tmp = mn_xasprintf("%s.%d.tmp", out, (int)getpid());
  const char *argv[] = { "pdftotext", "-enc", "UTF-8", pdf, tmp, NULL };
  pid_t pid;
  int st = 0;
  int rc = posix_spawnp(&pid, "pdftotext", NULL, NULL, (char *const *)argv, environ);
  if(rc == 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
     rename(tmp, out) == 0) {
    free(tmp);
    return 0;
  }
  unlink(tmp);
  free(tmp);
  fprintf(stderr, "bench: pdftotext failed on %s\n", pdf);
  return -1;
}

int bench_filing_texts(const char *datadir, const char *cachedir, char ***paths, size_t *n)
{
  char *pdfdir = mn_xasprintf("%s/pdfs", datadir);
  DIR *d = opendir(pdfdir);
  *paths = NULL;
  *n = 0;
  if(!d) {
    fprintf(stderr, "bench: %s: %s\n", pdfdir, strerror(errno));
    free(pdfdir);
    return -1;
  }
  size_t cap = 0;
  int rc = 0;
  struct dirent *e;
  while(rc == 0 && (e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if(len < 5 || strcmp(e->d_name + len - 4, ".pdf") != 0)
      continue;
    char *pdf = mn_xasprintf("%s/%s", pdfdir, e->d_name);
    struct stat st;
    if(stat(pdf, &st) != 0) {
      free(pdf);
      continue;
    }
    char *txt = mn_xasprintf("%s/%.*s-%lld.txt", cachedir, (int)(len - 4), e->d_name,
                             (long long)st.st_size);
    if(access(txt, R_OK) != 0 && convert(pdf, txt) != 0)
      rc = -1;
    free(pdf);
    MN_GROW(*paths, cap, *n + 1);
    (*paths)[(*n)++] = txt;
  }
  closedir(d);
  free(pdfdir);
  if(rc == 0 && *n == 0) {
    fprintf(stderr, "bench: no PDF in %s/pdfs\n", datadir);
    rc = -1;
  }
  if(*n)
    qsort(*paths, *n, sizeof **paths, cmp_str);
  return rc;
}

static struct timeval tv_sub(struct timeval a, struct timeval b)
{
  struct timeval d;
  d.tv_sec = a.tv_sec - b.tv_sec;
  d.tv_usec = a.tv_usec - b.tv_usec;
  if(d.tv_usec < 0) {
    d.tv_sec--;
    d.tv_usec += 1000000;
  }
  return d;
}

pid_t bench_wait_usage(pid_t pid, int *status, struct rusage *ru)
{
  struct rusage before, after;
  getrusage(RUSAGE_CHILDREN, &before);
  pid_t r;
  while((r = waitpid(pid, status, 0)) < 0 && errno == EINTR)
    ;
  if(r != pid)
    return -1;
  getrusage(RUSAGE_CHILDREN, &after);
  memset(ru, 0, sizeof *ru);
  ru->ru_utime = tv_sub(after.ru_utime, before.ru_utime);
  ru->ru_stime = tv_sub(after.ru_stime, before.ru_stime);
  ru->ru_maxrss = after.ru_maxrss;
  return r;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
  if(!n)
    return 0;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if(!f)
    return -1;
  size_t n = strlen(text);
  int ok = fwrite(text, 1, n, f) == n;
  return fclose(f) == 0 && ok ? 0 : -1;
}

char *bench_capex_program(int chunk_chars)
{
  return mn_xasprintf(
    "```lua\n"
    "function prepare_jobs(context, prev_jobs)\n"
    "  local jobs = {}\n"
    "  for _, doc in ipairs(context) do\n"
    "    for _, chunk in ipairs(chunk_by_section(doc, %d, 0)) do\n"
    "      jobs[#jobs + 1] = { chunk = chunk,\n"
    "        task = 'Quote the capex figure for the last fiscal year, if this excerpt gives it.',\n"
    "        advice = 'Look in the cash flow statement: purchases of property, plant and equipment.' }\n"
    "    end\n"
    "  end\n"
    "  return jobs\n"
    "end\n"
    "```", chunk_chars);
}
