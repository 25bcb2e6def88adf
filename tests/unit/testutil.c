#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int mn_fake_start(mn_fake *f, const char *const *args)
{
  const char *bin = getenv("MN_FAKELLM");
  if(!bin) {
    fprintf(stderr, "MN_FAKELLM is not set\n");
    return -1;
  }
  int pfd[2];
  if(pipe(pfd) != 0)
    return -1;
  const char *argv[64];
  size_t n = 0;
  argv[n++] = bin;
  argv[n++] = "--port";
  argv[n++] = "0";
  for(size_t i = 0; args && args[i] && n < 62; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  if(pid < 0)
    return -1;
  if(pid == 0) {
    dup2(pfd[1], 1);
    close(pfd[0]);
    close(pfd[1]);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(pfd[1]);
  FILE *in = fdopen(pfd[0], "r");
  char line[128];
  f->pid = pid;
  f->port = 0;
  while(in && fgets(line, sizeof line, in)) {
    if(sscanf(line, "PORT %d", &f->port) == 1)
      break;
  }
  if(in)
    fclose(in);
  if(f->port <= 0) {
    mn_fake_stop(f);
    return -1;
  }
  snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d", f->port);
  return 0;
}

void mn_fake_stop(mn_fake *f)
{
  if(f->pid > 0) {
    kill(f->pid, SIGTERM);
    while(waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
      ;
  }
  f->pid = 0;
}

char *mn_test_tmpdir(void)
{
  char tmpl[] = "/tmp/mn-test-XXXXXX";
  if(!mkdtemp(tmpl))
    return NULL;
  return strdup(tmpl);
}

int mn_test_write_file(const char *path, const char *data, size_t len)
{
  FILE *f = fopen(path, "wb");
  if(!f)
    return -1;
  size_t w = fwrite(data, 1, len, f);
  return (fclose(f) == 0 && w == len) ? 0 : -1;
}

char *mn_test_read_file(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  if(!f)
    return NULL;
  size_t cap = 4096, len = 0;
  char *p = malloc(cap);
  size_t r;
  while(p && (r = fread(p + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if(cap - len < 2) {
      cap *= 2;
      p = realloc(p, cap);
    }
  }
  fclose(f);
  if(!p)
    return NULL;
  p[len] = '\0';
  if(len_out)
    *len_out = len;
  return p;
}
