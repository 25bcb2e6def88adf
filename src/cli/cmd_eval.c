/* minions eval: protocols x models on a question-answer dataset, with a
 * progress bar; the work is the library's (mn_eval, minions.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char eval_help[] =
"usage: minions eval --dataset FILE.jsonl [options]\n"
"\n"
"Run every question of the dataset with each protocol, score the answers\n"
"against the gold answers and write a table of accuracy and cost per\n"
"protocol and models (the paper's Table 1). Killed at any moment, the same\n"
"command continues where it stopped; a finished question is never run again.\n"
"\n"
"Dataset:\n"
"  --dataset FILE        JSONL, one question per line: FinanceBench's own form\n"
"                        (financebench_id, question, answer, doc_name) or\n"
"                        {\"question\", \"answer\", \"id\", \"context\": paths or text}\n"
"                        (required)\n"
"  --docs DIR            FinanceBench's PDFs (default: pdfs/ beside the dataset)\n"
"  --limit N             only the first N questions (default all)\n"
"\n"
"Protocols and models (as for minions run):\n"
"  --protocols LIST      comma-separated: minions, minion, remote-only,\n"
"                        local-only (default minions,minion,remote-only,local-only)\n"
"  --local SPEC          local model, PROVIDER:MODEL\n"
"  --remote SPEC         remote model, PROVIDER:MODEL\n"
"  --local-url URL       local server (repeatable)\n"
"  --remote-url URL      remote base URL\n"
"  --judge SPEC          LLM judge for answers that are not a figure (default:\n"
"                        the remote model; none: score such answers as\n"
"                        normalised text)\n"
"  --judge-url URL       its base URL\n"
"\n"
"Output and budget:\n"
"  --out DIR             results.jsonl, summary.md/.csv/.json, accuracy_cost.svg\n"
"                        and the run logs (default ./minions-eval)\n"
"  --cache FILE          response cache (default DIR/cache.sqlite): a rerun\n"
"                        sends no request it already sent\n"
"  --no-cache            no response cache\n"
"  --max-cost USD        stop starting questions once the remote spend could\n"
"                        pass USD (default: no cap)\n"
"  --tolerance F         relative tolerance for figures (default 0.01)\n"
"  --parallel N          questions at once (default 4); the local servers'\n"
"                        limits are shared by all of them\n"
"  --prices FILE         price table instead of the built-in one\n"
"  -q, --quiet           no progress bar\n"
"  -h, --help            this text\n"
"\n"
"Tuning (as for minions run): --max-rounds N, --local-parallel N, --max-jobs N,\n"
"  --decompose code|plan, --retrieval none|bm25, --retrieval-k K, --chunk-chars N,\n"
"  --num-ctx N, --stream, --timeout S, --retries N\n"
"\n"
"Exit status: 0 every run ended (see the errors column); 1 the evaluation\n"
"failed; 2 bad usage or setup; 130 interrupted (run it again to continue).\n";

static volatile sig_atomic_t g_interrupted;
static mn_eval *volatile g_eval;

static void on_signal(int sig)
{
  (void)sig;
  g_interrupted = 1;
  if(g_eval)
    mn_eval_cancel(g_eval);
}

typedef struct bar {
  int draw;
  double width;
} bar;

/* "[#########.........]  12/59  accuracy 58.3%  $0.4213" on one line. */
static void on_progress(const mn_eval_progress *p, void *ud)
{
  bar *b = ud;
  if(!b->draw)
    return;
  const int W = 24;
  int filled = p->total ? (int)((double)W * (double)p->done / (double)p->total) : W;
  char cells[32];
  for(int i = 0; i < W; i++)
    cells[i] = i < filled ? '#' : '.';
  cells[W] = '\0';
  fprintf(stderr, "\r\033[K[%s] %zu/%zu  accuracy %.1f%%  spent $%.4f", cells, p->done,
          p->total, p->done ? 100.0 * (double)p->correct / (double)p->done : 0.0, p->spend_usd);
  if(p->failed)
    fprintf(stderr, "  errors %zu", p->failed);
  if(p->budget_stop)
    fputs("  (spend cap reached)", stderr);
  fflush(stderr);
}

static int add_protocols(const char *list, mn_protocol *out, size_t *n)
{
  *n = 0;
  const char *p = list;
  while(*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char name[32];
    if(len == 0 || len >= sizeof name || *n == 4) {
      cli_error("--protocols: a comma-separated list of minions, minion, remote-only and "
                "local-only, got '%s'", list);
      return -1;
    }
    memcpy(name, p, len);
    name[len] = '\0';
    int e = mn_protocol_parse(name);
    if(e < 0) {
      cli_error("--protocols: unknown protocol '%s' (minions, minion, remote-only or local-only)",
                name);
      return -1;
    }
    out[(*n)++] = (mn_protocol)e;
    p += len + (comma ? 1 : 0);
  }
  if(!*n) {
    cli_error("--protocols needs at least one protocol");
    return -1;
  }
  return 0;
}

int cmd_eval(int argc, char **argv)
{
  mn_run_opts ro = MN_RUN_OPTS_INIT;
  mn_eval_opts eo = MN_EVAL_OPTS_INIT;
  mn_protocol protocols[4];
  size_t n_protocols = 0;
  const char **urls = NULL;
  size_t n_urls = 0;
  int quiet = 0, no_cache = 0;
  const char *protocols_arg = "minions,minion,remote-only,local-only";
  eo.out_dir = "minions-eval";
  cli_args a = { argc, argv, 0, NULL };
  const char *f, *v;
  int pos;
  long n;
  double d;
  int rc = CLI_USAGE;
  while((f = cli_next(&a, &pos))) {
    if(pos) {
      cli_error("unexpected argument '%s' (see 'minions eval --help')", f);
      goto out;
    }
#define VALUE() do { if(!(v = cli_value(&a, f))) goto out; } while(0)
    int shared = cli_run_option(&a, f, &ro, &urls, &n_urls);
    if(shared < 0)
      goto out;
    if(shared > 0)
      continue;
    if(!strcmp(f, "--help")) {
      fputs(eval_help, stdout);
      rc = CLI_OK;
      goto out;
    } else if(!strcmp(f, "--dataset")) {
      VALUE(); eo.dataset = v;
    } else if(!strcmp(f, "--docs")) {
      VALUE(); eo.docs_dir = v;
    } else if(!strcmp(f, "--limit")) {
      VALUE(); if(cli_int(f, v, 1, 100000000, &n)) goto out;
      eo.limit = (size_t)n;
    } else if(!strcmp(f, "--protocols")) {
      VALUE(); protocols_arg = v;
    } else if(!strcmp(f, "--judge")) {
      VALUE(); eo.judge_spec = v;
    } else if(!strcmp(f, "--judge-url")) {
      VALUE(); eo.judge_url = v;
    } else if(!strcmp(f, "--out")) {
      VALUE(); eo.out_dir = v;
    } else if(!strcmp(f, "--cache")) {
      VALUE(); eo.cache_path = v;
    } else if(!strcmp(f, "--no-cache")) {
      no_cache = 1;
    } else if(!strcmp(f, "--max-cost")) {
      VALUE(); if(cli_double(f, v, 0.000001, 1e9, &d)) goto out;
      eo.max_cost_usd = d;
    } else if(!strcmp(f, "--tolerance")) {
      VALUE(); if(cli_double(f, v, 0, 0.5, &d)) goto out;
      eo.tolerance = d;
    } else if(!strcmp(f, "--parallel")) {
      VALUE(); if(cli_int(f, v, 1, 64, &n)) goto out;
      eo.parallel = (int)n;
    } else if(!strcmp(f, "--quiet")) {
      quiet = 1;
    } else {
      cli_error("unknown option '%s' (see 'minions eval --help')", f);
      goto out;
    }
#undef VALUE
  }
  if(!eo.dataset) {
    cli_error("--dataset is required (see 'minions eval --help')");
    goto out;
  }
  if(add_protocols(protocols_arg, protocols, &n_protocols))
    goto out;
  if(no_cache)
    eo.cache_path = "";
  eo.run = &ro;
  eo.protocols = protocols;
  eo.n_protocols = n_protocols;
  bar b = { .draw = !quiet && isatty(STDERR_FILENO) };
  eo.on_progress = on_progress;
  eo.progress_userdata = &b;

  mn_eval *ev = NULL;
  int erc = mn_eval_new(&ev, &eo);
  if(erc != MN_OK) {
    cli_error("%s", mn_eval_errmsg(ev));
    mn_eval_free(ev);
    rc = erc == MN_EINVAL || erc == MN_EAUTH || erc == MN_EUNSUPPORTED || erc == MN_ENOTFOUND
         ? CLI_USAGE : CLI_FAIL;
    goto out;
  }
  mn_eval_progress p;
  mn_eval_get_progress(ev, &p);
  if(p.resumed && !quiet)
    fprintf(stderr, "minions: resuming: %zu of %zu runs already in %s/results.jsonl\n",
            p.resumed, p.total, eo.out_dir);
  g_eval = ev;
  cli_on_interrupt(on_signal);   /* Ctrl-C stops; the results so far stay */
  erc = mn_eval_execute(ev);
  g_eval = NULL;
  if(b.draw)
    fputs("\r\033[K", stderr);
  mn_eval_get_progress(ev, &p);
  if(erc == MN_OK || erc == MN_ECANCELLED) {
    char *path = malloc(strlen(eo.out_dir) + 16);
    sprintf(path, "%s/summary.md", eo.out_dir);
    FILE *s = fopen(path, "r");
    if(s) {
      char buf[4096];
      size_t k;
      while((k = fread(buf, 1, sizeof buf, s)) > 0)
        fwrite(buf, 1, k, stdout);
      fclose(s);
    }
    free(path);
    if(!quiet)
      fprintf(stderr, "minions: %zu/%zu runs done (%zu resumed, %zu with errors), %zu correct; "
              "spent $%.4f%s; results in %s/\n", p.done, p.total, p.resumed, p.failed, p.correct,
              p.spend_usd, p.budget_stop ? "; stopped by --max-cost" : "", eo.out_dir);
  }
  if(erc == MN_ECANCELLED || g_interrupted) {
    cli_error("interrupted; run the same command again to continue");
    rc = CLI_INTERRUPTED;
  } else if(erc != MN_OK) {
    cli_error("%s", mn_eval_errmsg(ev));
    rc = CLI_FAIL;
  } else {
    rc = CLI_OK;
  }
  mn_eval_free(ev);
out:
  free(urls);
  return rc;
}
