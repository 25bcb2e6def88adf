/* minions serve: the OpenAI-compatible API over the library (src/server). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"

static const char serve_help[] =
"usage: minions serve --local SPEC --remote SPEC [options]\n"
"\n"
"Serve the protocols over HTTP, as an OpenAI-compatible API: POST\n"
"/v1/chat/completions with \"model\" one of minions, minion, remote-only or\n"
"local-only; the documents are the messages before the last user message,\n"
"which is the task; \"stream\": true answers in OpenAI's chunk events with the\n"
"run's progress as reasoning_content. GET /v1/models lists the protocols.\n"
"Provider keys come from this server's environment only.\n"
"\n"
"  --host ADDR           IP address to listen on (default 127.0.0.1; another\n"
"                        than loopback needs --token)\n"
"  --port N              port (default 8765; 0: any free one)\n"
"  --token TOKEN         clients must send Authorization: Bearer TOKEN\n"
"                        (default: $MINIONS_SERVE_TOKEN, else none)\n"
"  --max-runs N          runs at once; more get HTTP 429 (default 4)\n"
"  --max-body-mb N       largest request body (default 32)\n"
"  --log-dir DIR         run logs (default as for minions run)\n"
"  model and tuning options as for minions run: --local, --remote,\n"
"  --local-url, --remote-url, --prices, --max-rounds, --local-parallel, ...\n"
"  -h, --help            this text\n"
"\n"
"Stops on Ctrl-C or SIGTERM. Exit status: 0 stopped; 1 could not listen; 2\n"
"bad usage.\n";

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
  (void)sig;
  g_stop = 1;
}

static void listening(int port, void *ud)
{
  const char *host = ud;
  printf("minions: serving on http://%s:%d/ (POST /v1/chat/completions, GET /v1/models)\n",
         strchr(host, ':') ? "[::1]" : host, port);
  fflush(stdout);
}

int cmd_serve(int argc, char **argv)
{
  mn_run_opts ro = MN_RUN_OPTS_INIT;
  mn_server_opts so = { .host = "127.0.0.1", .port = 8765, .run = &ro, .stop = &g_stop };
  so.token = getenv("MINIONS_SERVE_TOKEN");
  const char **urls = NULL;
  size_t n_urls = 0;
  cli_args a = { argc, argv, 0, NULL };
  const char *f, *v;
  int pos;
  long n;
  int rc = CLI_USAGE;
  while((f = cli_next(&a, &pos))) {
    if(pos) {
      cli_error("unexpected argument '%s' (see 'minions serve --help')", f);
      goto out;
    }
    int shared = cli_run_option(&a, f, &ro, &urls, &n_urls);
    if(shared < 0)
      goto out;
    if(shared > 0)
      continue;
    if(!strcmp(f, "--help")) {
      fputs(serve_help, stdout);
      rc = CLI_OK;
      goto out;
    } else if(!strcmp(f, "--host")) {
      if(!(v = cli_value(&a, f)))
        goto out;
      so.host = v;
    } else if(!strcmp(f, "--port")) {
      if(!(v = cli_value(&a, f)) || cli_int(f, v, 0, 65535, &n))
        goto out;
      so.port = (int)n;
    } else if(!strcmp(f, "--token")) {
      if(!(v = cli_value(&a, f)))
        goto out;
      so.token = v;
    } else if(!strcmp(f, "--max-runs")) {
      if(!(v = cli_value(&a, f)) || cli_int(f, v, 1, 1024, &n))
        goto out;
      so.max_runs = (int)n;
    } else if(!strcmp(f, "--max-body-mb")) {
      if(!(v = cli_value(&a, f)) || cli_int(f, v, 1, 4096, &n))
        goto out;
      so.max_body_bytes = (size_t)n << 20;
    } else if(!strcmp(f, "--log-dir")) {
      if(!(v = cli_value(&a, f)))
        goto out;
      ro.log_dir = v;
    } else {
      cli_error("unknown option '%s' (see 'minions serve --help')", f);
      goto out;
    }
  }
  if(so.token && !*so.token)
    so.token = NULL;
  so.on_listening = listening;
  so.ud = (void *)so.host;
  cli_on_interrupt(on_stop);
  char *err = NULL;
  int src = mn_server_run(&so, &err);
  if(src != MN_OK) {
    cli_error("%s", err ? err : mn_strerror(src));
    free(err);
    rc = src == MN_EINVAL ? CLI_USAGE : CLI_FAIL;
  } else {
    rc = CLI_OK;
  }
out:
  free(urls);
  return rc;
}
