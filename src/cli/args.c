#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("minions: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* The short options, the same in every command (curl, git, ollama alike). */
static const struct { char c; const char *name; } shorts[] = {
  { 'h', "--help" }, { 'V', "--version" }, { 'v', "--verbose" }, { 'q', "--quiet" },
  { 'o', "--output" },
};

const char *cli_next(cli_args *a, int *positional)
{
  static char name[128];
  a->inline_value = NULL;
  *positional = 0;
  if(a->i >= a->argc)
    return NULL;
  const char *arg = a->argv[a->i++];
  if(arg[0] == '-' && arg[1] && arg[1] != '-' && !arg[2]) {
    for(size_t k = 0; k < sizeof shorts / sizeof shorts[0]; k++)
      if(shorts[k].c == arg[1])
        return shorts[k].name;
    return arg;   /* an unknown short option: the caller names it */
  }
  if(strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
    *positional = 1;
    return arg;
  }
  const char *eq = strchr(arg, '=');
  if(eq) {
    size_t n = (size_t)(eq - arg);
    if(n >= sizeof name)
      n = sizeof name - 1;
    memcpy(name, arg, n);
    name[n] = '\0';
    a->inline_value = eq + 1;
    return name;
  }
  return arg;
}

const char *cli_value(cli_args *a, const char *flag)
{
  if(a->inline_value)
    return a->inline_value;
  if(a->i >= a->argc) {
    cli_error("%s needs a value", flag);
    return NULL;
  }
  return a->argv[a->i++];
}

int cli_int(const char *flag, const char *value, long lo, long hi, long *out)
{
  char *end;
  errno = 0;
  long v = strtol(value, &end, 10);
  if(errno || end == value || *end || v < lo || v > hi) {
    cli_error("%s expects a whole number from %ld to %ld, got '%s'", flag, lo, hi, value);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_choice(const char *flag, const char *value, int (*parse)(const char *),
               const char *choices, int *out)
{
  int v = parse(value);
  if(v < 0) {
    cli_error("%s must be %s, got '%s'", flag, choices, value);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_double(const char *flag, const char *value, double lo, double hi, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(value, &end);
  if(errno || end == value || *end || !isfinite(v) || v < lo || v > hi) {
    cli_error("%s expects a number from %g to %g, got '%s'", flag, lo, hi, value);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_values(cli_args *a, const char *flag, const char ***list, size_t *n)
{
  size_t before = *n;
  if(a->inline_value) {
    *list = realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = a->inline_value;
  }
  /* values run to the next option; "-" alone (standard input) is a value */
  while(a->i < a->argc && (a->argv[a->i][0] != '-' || !strcmp(a->argv[a->i], "-"))) {
    *list = realloc(*list, (*n + 1) * sizeof **list);
    (*list)[(*n)++] = a->argv[a->i++];
  }
  if(*n == before) {
    cli_error("%s needs at least one value", flag);
    return -1;
  }
  return 0;
}

#define STDIN_MAX (256u << 20)

/* Everything on standard input, at most STDIN_MAX bytes; NULL on error. */
static char *read_stdin(size_t *len)
{
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  for(;;) {
    if(!buf) {
      cli_error("out of memory reading standard input");
      return NULL;
    }
    if(n == cap) {
      if(cap >= STDIN_MAX) {
        cli_error("standard input is larger than %u MiB; give the file with --context PATH",
                  STDIN_MAX >> 20);
        free(buf);
        return NULL;
      }
      char *nb = realloc(buf, cap * 2);
      if(!nb)
        free(buf);
      buf = nb;
      cap *= 2;
      continue;
    }
    size_t k = fread(buf + n, 1, cap - n, stdin);
    n += k;
    if(k == 0) {
      if(ferror(stdin)) {
        cli_error("cannot read standard input");
        free(buf);
        return NULL;
      }
      break;
    }
  }
  *len = n;
  return buf;
}

mn_docs *cli_load_docs(const char *const *paths, size_t n, const char *const *texts,
                       size_t n_texts)
{
  mn_docs *docs = NULL;
  if(mn_docs_new(&docs) != MN_OK) {
    cli_error("cannot create the document set");
    return NULL;
  }
  for(size_t i = 0; i < n + n_texts; i++) {
    int rc;
    if(i >= n) {
      char name[32];
      snprintf(name, sizeof name, "text %zu", i - n + 1);
      rc = mn_docs_add_text(docs, name, texts[i - n], strlen(texts[i - n]));
    } else if(!strcmp(paths[i], "-")) {
      size_t len;
      char *t = read_stdin(&len);
      if(!t) {
        mn_docs_free(docs);
        return NULL;
      }
      rc = mn_docs_add_text(docs, "standard input", t, len);
      free(t);
    } else {
      rc = mn_docs_add_path(docs, paths[i]);
    }
    if(rc != MN_OK) {
      cli_error("%s", mn_docs_errmsg(docs));
      mn_docs_free(docs);
      return NULL;
    }
  }
  return docs;
}

void cli_on_interrupt(void (*handler)(int))
{
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int cli_run_option(cli_args *a, const char *f, mn_run_opts *o, const char ***urls, size_t *n_urls)
{
  const char *v;
  long n;
  double d;
  int e;
#define VALUE() do { if(!(v = cli_value(a, f))) return -1; } while(0)
  if(!strcmp(f, "--local")) {
    VALUE(); o->local_spec = v;
  } else if(!strcmp(f, "--remote")) {
    VALUE(); o->remote_spec = v;
  } else if(!strcmp(f, "--local-url")) {
    VALUE();
    *urls = realloc(*urls, (*n_urls + 1) * sizeof **urls);
    (*urls)[(*n_urls)++] = v;
    o->local_urls = *urls;
    o->n_local_urls = *n_urls;
  } else if(!strcmp(f, "--remote-url")) {
    VALUE(); o->remote_url = v;
  } else if(!strcmp(f, "--prices")) {
    VALUE(); o->prices_path = v;
  } else if(!strcmp(f, "--num-ctx")) {
    VALUE(); if(cli_int(f, v, 256, 10000000, &n)) return -1;
    o->num_ctx = (int)n;
  } else if(!strcmp(f, "--stream")) {
    o->stream = 1;
  } else if(!strcmp(f, "--no-stream")) {
    o->stream = 0;
  } else if(!strcmp(f, "--max-rounds")) {
    VALUE(); if(cli_int(f, v, 1, 100, &n)) return -1;
    o->max_rounds = (int)n;
  } else if(!strcmp(f, "--timeout")) {
    VALUE(); if(cli_double(f, v, 0.001, 86400, &d)) return -1;
    o->request_timeout_ms = (long)(d * 1000);
    if(o->idle_timeout_ms > o->request_timeout_ms)
      o->idle_timeout_ms = o->request_timeout_ms;
  } else if(!strcmp(f, "--retries")) {
    VALUE(); if(cli_int(f, v, 0, 20, &n)) return -1;
    o->max_retries = (int)n;
  } else if(!strcmp(f, "--decompose")) {
    VALUE(); if(cli_choice(f, v, mn_decompose_parse, "code or plan", &e)) return -1;
    o->decompose = (mn_decompose)e;
  } else if(!strcmp(f, "--max-jobs")) {
    VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return -1;
    o->max_jobs = (int)n;
  } else if(!strcmp(f, "--local-parallel")) {
    VALUE(); if(cli_int(f, v, 1, 4096, &n)) return -1;
    o->local_parallel = (int)n;
  } else if(!strcmp(f, "--chunk-chars")) {
    VALUE(); if(cli_int(f, v, 200, 1000000, &n)) return -1;
    o->chunk_chars = (int)n;
  } else if(!strcmp(f, "--retrieval")) {
    VALUE(); if(cli_choice(f, v, mn_retrieval_parse, "none, bm25 or embedding", &e)) return -1;
    o->retrieval = (mn_retrieval)e;
  } else if(!strcmp(f, "--retrieval-k")) {
    VALUE(); if(cli_int(f, v, 1, 100000, &n)) return -1;
    o->retrieval_k = (int)n;
  } else {
    return 0;
  }
#undef VALUE
  return 1;
}
