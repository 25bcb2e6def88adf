/* minions run: one task, one protocol, one answer. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const char run_help[] =
"usage: minions run --protocol P --task TEXT --context PATH... [options]\n"
"\n"
"Answer TASK about the documents at PATH with protocol P.\n"
"\n"
"Protocol and models:\n"
"  --protocol P          minions       the remote decomposes the task into\n"
"                                      jobs the local model runs in parallel\n"
"                                      on chunks, then aggregates (main one)\n"
"                        minion        the remote chats with the local model,\n"
"                                      which alone reads the documents\n"
"                        remote-only   documents + task to the remote model\n"
"                        local-only    documents + task to the local model\n"
"  --local SPEC          local model, PROVIDER:MODEL (e.g. ollama:llama3.2)\n"
"  --remote SPEC         remote model, PROVIDER:MODEL (e.g. openai:gpt-4o)\n"
"  --local-url URL       base URL of the local server (repeat to spread jobs\n"
"                        over several servers)\n"
"  --remote-url URL      base URL of the remote API\n"
"\n"
"  Providers (key variable; base URL variable):\n"
"    openai (OPENAI_API_KEY; OPENAI_BASE_URL)      together (TOGETHER_API_KEY)\n"
"    openrouter (OPENROUTER_API_KEY)               groq (GROQ_API_KEY)\n"
"    deepseek (DEEPSEEK_API_KEY)                   mistral (MISTRAL_API_KEY)\n"
"    anthropic (ANTHROPIC_API_KEY)                 gemini (GEMINI_API_KEY)\n"
"    ollama (no key; OLLAMA_HOST, default http://127.0.0.1:11434)\n"
"    openai-compatible: any /v1/chat/completions server (llama.cpp, vLLM,\n"
"      tokasaurus, LM Studio, Lemonade); key optional\n"
"      (OPENAI_COMPATIBLE_API_KEY; OPENAI_COMPATIBLE_BASE_URL,\n"
"      default http://127.0.0.1:8080/v1)\n"
"\n"
"Task and documents:\n"
"  --task TEXT           the question or task (required)\n"
"  --context PATH...     files or folders: text, Markdown, PDF (needs\n"
"                        pdftotext), code; folders are read recursively\n"
"  --doc-metadata TEXT   a short description of the documents\n"
"  --privacy             keep personal data from the remote model (minion):\n"
"                        names, e-mails, phones, SSNs, cards, IPs, dates of\n"
"                        birth, addresses and record numbers in the task and\n"
"                        the local model's answers become placeholders such\n"
"                        as [PERSON_1], put back in the final answer\n"
"\n"
"Output:\n"
"  --json                print one JSON object: answer, protocol, usage,\n"
"                        cost_usd, timing, log_file\n"
"  --log FILE            write the run log to FILE (default: a new file in\n"
"                        the log folder)\n"
"  --log-dir DIR         folder for run logs (default $MINIONS_LOG_DIR, else\n"
"                        ./minions_logs)\n"
"  --prices FILE         price table (JSON, dollars per 1M tokens) instead of\n"
"                        the built-in one\n"
"  --quiet               no progress or warnings on stderr\n"
"  --verbose             show whole messages on stderr\n"
"\n"
"Tuning:\n"
"  --max-rounds N        rounds of the Minion/MinionS protocols (default 3)\n"
"  --local-temperature T sampling temperature of the local model (default 0)\n"
"  --remote-temperature T  of the remote model (default 0)\n"
"\n"
"MinionS:\n"
"  --decompose code|plan code: the remote writes a Lua program that makes the\n"
"                        jobs, run here in a sandbox (default); plan: the\n"
"                        remote returns a JSON plan and no code runs\n"
"  --tasks-per-round N   instructions the remote should write per round (3)\n"
"  --samples K           run each job K times (default 1; use with\n"
"                        --local-temperature above 0)\n"
"  --max-jobs N          cap on jobs per round (default 2048)\n"
"  --local-parallel N    local requests in flight per server (default 8)\n"
"  --chunk METHOD        plan mode's default chunking: section, page,\n"
"                        paragraph or code (default section)\n"
"  --chunk-chars N       plan mode's default chunk size (default 3000)\n"
"  --retrieval R         none (default), bm25 (SQLite FTS5) or embedding\n"
"  --retrieval-k K       chunks kept per task with retrieval (default 10)\n"
"  --embed-model SPEC    embedding model for --retrieval embedding\n"
"                        (ollama:MODEL or openai-compatible:MODEL)\n"
"  --embed-url URL       its base URL (default: the first --local-url)\n"
"  --local-max-tokens N  reply cap of the local model (default 2048)\n"
"  --remote-max-tokens N reply cap of the remote model (default 4096)\n"
"  --stream              ask for streamed replies (SSE, NDJSON): progress is\n"
"                        seen as it comes and a stalled server is noticed by\n"
"                        --idle-timeout; default: whole replies\n"
"  --idle-timeout S      with --stream, give up on a reply when no byte came\n"
"                        for S seconds (default 120)\n"
"  --timeout SECONDS     limit on one request (default 600)\n"
"  --connect-timeout S   limit on connecting (default 10)\n"
"  --retries N           retries on 429/5xx/network errors (default 4)\n"
"\n"
"Exit status: 0 answered, 1 the run failed, 2 bad usage.\n";

static mn_run *g_run;  /* for the signal handler: cancelling is signal-safe */

static void on_signal(int sig)
{
  (void)sig;
  if(g_run)
    mn_run_cancel(g_run);
}

typedef struct progress {
  int enabled;              /* trace on stderr (a terminal, or --verbose) */
  int verbose;
  int quiet;                /* not even warnings */
} progress;

static void show_message(const mn_event *ev, int verbose)
{
  const char *who = ev->side == MN_SIDE_LOCAL ? "local" : "remote";
  const char *text = ev->text ? ev->text : "";
  size_t len = strlen(text);
  size_t show = verbose ? len : (len > 120 ? 120 : len);
  fprintf(stderr, "%s %s%s%s: ", ev->to_model ? "->" : "<-", who,
          ev->label ? " " : "", ev->label ? ev->label : "");
  for(size_t i = 0; i < show; i++)
    fputc(!verbose && (text[i] == '\n' || text[i] == '\r') ? ' ' : text[i], stderr);
  fprintf(stderr, "%s\n", show < len ? "..." : "");
}

static void on_event(const mn_event *ev, void *ud)
{
  const progress *p = ud;
  if(ev->type == MN_EVENT_WARNING && !p->quiet)
    fprintf(stderr, "minions: warning: %s\n", ev->text ? ev->text : "");
  if(!p->enabled)
    return;
  switch(ev->type) {
  case MN_EVENT_ROUND_STARTED:
    fprintf(stderr, "== round %d\n", ev->round);
    break;
  case MN_EVENT_MESSAGE:
    show_message(ev, p->verbose);
    break;
  case MN_EVENT_RETRY:
    fprintf(stderr, "!! retrying %s: %s\n", ev->side == MN_SIDE_LOCAL ? "local" : "remote",
            ev->text ? ev->text : "");
    break;
  case MN_EVENT_JOBS_PROGRESS:
    fprintf(stderr, "\r   jobs %zu/%zu", ev->jobs_done, ev->jobs_total);
    if(ev->jobs_done == ev->jobs_total)
      fputc('\n', stderr);
    break;
  default:
    break;
  }
}

typedef struct run_cli {
  mn_run_opts o;
  const char **context;
  size_t n_context;
  const char **local_urls;
  size_t n_local_urls;
  int json, quiet, verbose;
  int chat;                 /* minions chat: no --task, questions on stdin */
  int protocol_given;
  long history_limit;       /* chat: bytes of history before summarising; 0: default */
} run_cli;

/* 0 ok, CLI_USAGE on a bad flag, -1 for --help */
static int parse(run_cli *c, int argc, char **argv)
{
  cli_args a = { argc, argv, 0, NULL };
  const char *f, *v;
  int pos;
  long n;
  double d;
  int e;
  while((f = cli_next(&a, &pos))) {
    if(pos) {
      cli_error("unexpected argument '%s' (see 'minions run --help')", f);
      return CLI_USAGE;
    }
#define VALUE() do { if(!(v = cli_value(&a, f))) return CLI_USAGE; } while(0)
    if(!strcmp(f, "--help") || !strcmp(f, "-h")) {
      return -1;
    } else if(!strcmp(f, "--protocol")) {
      VALUE();
      if(cli_choice(f, v, mn_protocol_parse, "minions, minion, remote-only or local-only", &e))
        return CLI_USAGE;
      c->o.protocol = (mn_protocol)e;
      c->protocol_given = 1;
    } else if(!strcmp(f, "--local")) {
      VALUE(); c->o.local_spec = v;
    } else if(!strcmp(f, "--remote")) {
      VALUE(); c->o.remote_spec = v;
    } else if(!strcmp(f, "--local-url")) {
      VALUE();
      c->local_urls = realloc(c->local_urls, (c->n_local_urls + 1) * sizeof *c->local_urls);
      c->local_urls[c->n_local_urls++] = v;
    } else if(!strcmp(f, "--remote-url")) {
      VALUE(); c->o.remote_url = v;
    } else if(!strcmp(f, "--task") && !c->chat) {
      VALUE(); c->o.task = v;
    } else if(!strcmp(f, "--doc-metadata")) {
      VALUE(); c->o.doc_metadata = v;
    } else if(!strcmp(f, "--context")) {
      if(cli_values(&a, f, &c->context, &c->n_context))
        return CLI_USAGE;
    } else if(!strcmp(f, "--json")) {
      c->json = 1;
    } else if(!strcmp(f, "--log")) {
      VALUE(); c->o.log_path = v;
      if(c->chat) {
        cli_error("chat writes one run log per question: use --log-dir DIR");
        return CLI_USAGE;
      }
    } else if(!strcmp(f, "--history-limit") && c->chat) {
      VALUE(); if(cli_int(f, v, 100, 10000000, &n)) return CLI_USAGE;
      c->history_limit = n;
    } else if(!strcmp(f, "--log-dir")) {
      VALUE(); c->o.log_dir = v;
    } else if(!strcmp(f, "--prices")) {
      VALUE(); c->o.prices_path = v;
    } else if(!strcmp(f, "--quiet")) {
      c->quiet = 1;
    } else if(!strcmp(f, "--verbose")) {
      c->verbose = 1;
    } else if(!strcmp(f, "--stream")) {
      c->o.stream = 1;
    } else if(!strcmp(f, "--no-stream")) {
      c->o.stream = 0;
    } else if(!strcmp(f, "--idle-timeout")) {
      VALUE(); if(cli_double(f, v, 0.001, 86400, &d)) return CLI_USAGE;
      c->o.idle_timeout_ms = (long)(d * 1000);
    } else if(!strcmp(f, "--privacy")) {
      c->o.privacy = 1;
    } else if(!strcmp(f, "--max-rounds")) {
      VALUE(); if(cli_int(f, v, 1, 100, &n)) return CLI_USAGE;
      c->o.max_rounds = (int)n;
    } else if(!strcmp(f, "--local-max-tokens")) {
      VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return CLI_USAGE;
      c->o.local_max_tokens = (int)n;
    } else if(!strcmp(f, "--remote-max-tokens")) {
      VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return CLI_USAGE;
      c->o.remote_max_tokens = (int)n;
    } else if(!strcmp(f, "--timeout")) {
      VALUE(); if(cli_double(f, v, 0.001, 86400, &d)) return CLI_USAGE;
      c->o.request_timeout_ms = (long)(d * 1000);
      if(c->o.idle_timeout_ms > c->o.request_timeout_ms)
        c->o.idle_timeout_ms = c->o.request_timeout_ms;
    } else if(!strcmp(f, "--connect-timeout")) {
      VALUE(); if(cli_double(f, v, 0.001, 3600, &d)) return CLI_USAGE;
      c->o.connect_timeout_ms = (long)(d * 1000);
    } else if(!strcmp(f, "--local-temperature")) {
      VALUE(); if(cli_double(f, v, 0, 2, &d)) return CLI_USAGE;
      c->o.local_temperature = d;
    } else if(!strcmp(f, "--remote-temperature")) {
      VALUE(); if(cli_double(f, v, 0, 2, &d)) return CLI_USAGE;
      c->o.remote_temperature = d;
    } else if(!strcmp(f, "--decompose")) {
      VALUE(); if(cli_choice(f, v, mn_decompose_parse, "code or plan", &e)) return CLI_USAGE;
      c->o.decompose = (mn_decompose)e;
    } else if(!strcmp(f, "--tasks-per-round")) {
      VALUE(); if(cli_int(f, v, 1, 100, &n)) return CLI_USAGE;
      c->o.tasks_per_round = (int)n;
    } else if(!strcmp(f, "--samples")) {
      VALUE(); if(cli_int(f, v, 1, 64, &n)) return CLI_USAGE;
      c->o.samples = (int)n;
    } else if(!strcmp(f, "--max-jobs")) {
      VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return CLI_USAGE;
      c->o.max_jobs = (int)n;
    } else if(!strcmp(f, "--local-parallel")) {
      VALUE(); if(cli_int(f, v, 1, 4096, &n)) return CLI_USAGE;
      c->o.local_parallel = (int)n;
    } else if(!strcmp(f, "--chunk")) {
      VALUE();
      if(cli_choice(f, v, mn_chunk_method_parse, "section, page, paragraph or code", &e))
        return CLI_USAGE;
      c->o.chunking = (mn_chunk_method)e;
    } else if(!strcmp(f, "--chunk-chars")) {
      VALUE(); if(cli_int(f, v, 200, 1000000, &n)) return CLI_USAGE;
      c->o.chunk_chars = (int)n;
    } else if(!strcmp(f, "--retrieval")) {
      VALUE();
      if(cli_choice(f, v, mn_retrieval_parse, "none, bm25 or embedding", &e))
        return CLI_USAGE;
      c->o.retrieval = (mn_retrieval)e;
    } else if(!strcmp(f, "--retrieval-k")) {
      VALUE(); if(cli_int(f, v, 1, 100000, &n)) return CLI_USAGE;
      c->o.retrieval_k = (int)n;
    } else if(!strcmp(f, "--embed-model")) {
      VALUE(); c->o.embed_spec = v;
    } else if(!strcmp(f, "--embed-url")) {
      VALUE(); c->o.embed_url = v;
    } else if(!strcmp(f, "--retries")) {
      VALUE(); if(cli_int(f, v, 0, 20, &n)) return CLI_USAGE;
      c->o.max_retries = (int)n;
    } else {
      cli_error("unknown option '%s' (see 'minions run --help')", f);
      return CLI_USAGE;
    }
#undef VALUE
  }
  if(!c->protocol_given && !c->chat) {
    cli_error("--protocol is required (minions, minion, remote-only or local-only)");
    return CLI_USAGE;
  }
  if(!c->chat && (!c->o.task || !*c->o.task)) {
    cli_error("--task is required");
    return CLI_USAGE;
  }
  if(!c->n_context) {
    cli_error("--context is required (one or more files or folders)");
    return CLI_USAGE;
  }
  c->o.local_urls = c->local_urls;
  c->o.n_local_urls = c->n_local_urls;
  return 0;
}

/* " (usage not reported for N of M calls)" when a provider sent none for
 * some calls: their tokens are unknown, so the sums are lower bounds */
static const char *unreported(const mn_usage *u, char *buf, size_t size)
{
  if(!u->unreported_calls)
    return "";
  snprintf(buf, size, " (usage not reported for %llu of %llu calls)",
           (unsigned long long)u->unreported_calls, (unsigned long long)u->calls);
  return buf;
}

static json_t *usage_json(const mn_usage *u)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:I}", "prompt_tokens", (json_int_t)u->prompt_tokens,
                   "completion_tokens", (json_int_t)u->completion_tokens,
                   "cached_prompt_tokens", (json_int_t)u->cached_prompt_tokens,
                   "calls", (json_int_t)u->calls,
                   "unreported_calls", (json_int_t)u->unreported_calls);
}

static void print_json(const mn_run *run, int rc)
{
  mn_usage remote, local;
  mn_timing t;
  mn_run_usage(run, &remote, &local);
  mn_run_timing(run, &t);
  double cost = mn_run_cost_usd(run);
  const char *answer = mn_run_answer(run);
  const char *log = mn_run_log_file(run);
  json_t *o = json_object();
  json_object_set_new(o, "answer", answer ? json_string(answer) : json_null());
  json_object_set_new(o, "protocol", json_string(mn_run_protocol(run)));
  json_object_set_new(o, "rounds", json_integer(mn_run_rounds(run)));
  json_object_set_new(o, "usage", json_pack("{s:o,s:o}", "remote", usage_json(&remote),
                                             "local", usage_json(&local)));
  json_object_set_new(o, "cost_usd", cost >= 0 ? json_real(cost) : json_null());
  json_object_set_new(o, "timing", json_pack("{s:f,s:f,s:f,s:f}",
    "local_call_time", t.local_call_time, "remote_call_time", t.remote_call_time,
    "total_time", t.total_time, "overhead_time", t.overhead_time));
  json_object_set_new(o, "log_file", log ? json_string(log) : json_null());
  if(rc != MN_OK)
    json_object_set_new(o, "error", json_string(mn_run_errmsg(run)));
  char *s = json_dumps(o, JSON_INDENT(2));
  if(s)
    puts(s);
  free(s);
  json_decref(o);
}

static void print_text(const mn_run *run)
{
  mn_usage remote, local;
  mn_timing t;
  mn_run_usage(run, &remote, &local);
  mn_run_timing(run, &t);
  double cost = mn_run_cost_usd(run);
  char costbuf[32];
  if(cost >= 0)
    snprintf(costbuf, sizeof costbuf, "$%.4f", cost);
  else
    snprintf(costbuf, sizeof costbuf, "cost unknown");
  printf("%s\n\n", mn_run_answer(run));
  char ur[96], ul[96];
  printf("[%s] remote %llu in + %llu out tokens (%s)%s | local %llu in + %llu out tokens%s | "
         "%.2f s (remote %.2f s, local %.2f s)%s%s\n",
         mn_run_protocol(run),
         (unsigned long long)remote.prompt_tokens, (unsigned long long)remote.completion_tokens,
         costbuf, unreported(&remote, ur, sizeof ur),
         (unsigned long long)local.prompt_tokens, (unsigned long long)local.completion_tokens,
         unreported(&local, ul, sizeof ul),
         t.total_time, t.remote_call_time, t.local_call_time,
         mn_run_log_file(run) ? " | log " : "",
         mn_run_log_file(run) ? mn_run_log_file(run) : "");
}

static const char chat_help[] =
"usage: minions chat --context PATH... [run options, without --task]\n"
"\n"
"Answer questions about the documents one after another, one question per\n"
"line on standard input (typed, or piped from a file). Each is answered\n"
"with the Minion protocol (or --protocol P) while the earlier questions and\n"
"answers are carried along; once that history grows long, the remote model\n"
"summarises its oldest part. Every question writes its own run log (--log-dir).\n"
"Ends at end of input; exit status 1 if any question failed.\n"
"\n"
"  --history-limit N   bytes of earlier questions and answers carried before\n"
"                      the oldest are summarised (default 6000)\n"
"See 'minions run --help' for the options.\n";

static void print_chat_summary(const mn_chat *chat)
{
  const mn_run *run = mn_chat_last_run(chat);
  mn_usage remote, local;
  mn_chat_usage(chat, &remote, &local);
  double cost = mn_chat_cost_usd(chat);
  char costbuf[32];
  if(cost >= 0)
    snprintf(costbuf, sizeof costbuf, "$%.4f", cost);
  else
    snprintf(costbuf, sizeof costbuf, "cost unknown");
  mn_timing t;
  mn_run_timing(run, &t);
  fprintf(stderr, "[chat] this answer %.2f s | session so far: remote %llu in + %llu out tokens (%s), "
          "local %llu in + %llu out tokens%s%s\n", t.total_time,
          (unsigned long long)remote.prompt_tokens, (unsigned long long)remote.completion_tokens,
          costbuf, (unsigned long long)local.prompt_tokens, (unsigned long long)local.completion_tokens,
          mn_run_log_file(run) ? " | log " : "", mn_run_log_file(run) ? mn_run_log_file(run) : "");
}

int cmd_chat(int argc, char **argv)
{
  run_cli c = { .o = MN_RUN_OPTS_INIT, .chat = 1 };
  int rc = parse(&c, argc, argv);
  if(rc) {
    free(c.context);
    free(c.local_urls);
    if(rc < 0) {
      fputs(chat_help, stdout);
      return CLI_OK;
    }
    return rc;
  }
  progress prog = { !c.quiet && (isatty(2) || c.verbose), c.verbose, c.quiet };
  c.o.on_event = on_event;
  c.o.event_userdata = &prog;
  mn_chat *chat = NULL;
  mn_docs *docs = cli_load_docs(c.context, c.n_context);
  if(!docs) {
    rc = CLI_FAIL;
    goto out;
  }
  int code = mn_chat_new(&chat, &c.o, docs);
  if(code != MN_OK) {
    cli_error("%s", mn_chat_errmsg(chat));
    rc = (code == MN_EINVAL || code == MN_EUNSUPPORTED) ? CLI_USAGE : CLI_FAIL;
    goto out;
  }
  if(c.history_limit)
    mn_chat_set_history_limit(chat, (size_t)c.history_limit);
  int interactive = isatty(0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  rc = CLI_OK;
  for(;;) {
    if(interactive) {
      fputs("> ", stderr);
      fflush(stderr);
    }
    if((len = getline(&line, &cap, stdin)) < 0)
      break;
    while(len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if(!line[strspn(line, " \t")])
      continue;
    const char *answer = NULL;
    if(mn_chat_ask(chat, line, &answer) != MN_OK) {
      cli_error("%s", mn_chat_errmsg(chat));
      rc = CLI_FAIL;
      continue;
    }
    if(c.json)
      print_json((mn_run *)mn_chat_last_run(chat), MN_OK);
    else
      printf("%s\n\n", answer);
    fflush(stdout);
    if(!c.quiet && !c.json)
      print_chat_summary(chat);
  }
  free(line);
out:
  mn_chat_free(chat);
  mn_docs_free(docs);
  free(c.context);
  free(c.local_urls);
  return rc;
}

int cmd_run(int argc, char **argv)
{
  run_cli c = { .o = MN_RUN_OPTS_INIT };
  int rc = parse(&c, argc, argv);
  if(rc) {
    free(c.context);
    free(c.local_urls);
    if(rc < 0) {
      fputs(run_help, stdout);
      return CLI_OK;
    }
    return rc;
  }
  progress prog = { !c.quiet && isatty(2), c.verbose, c.quiet };
  if(c.verbose && !c.quiet)
    prog.enabled = 1;
  c.o.on_event = on_event;
  c.o.event_userdata = &prog;

  mn_run *run = NULL;
  mn_docs *docs = NULL;
  int code = mn_run_new(&run, &c.o);
  if(code != MN_OK) {
    cli_error("%s", run ? mn_run_errmsg(run) : mn_strerror(code));
    rc = (code == MN_EINVAL || code == MN_EUNSUPPORTED) ? CLI_USAGE : CLI_FAIL;
    goto out;
  }
  docs = cli_load_docs(c.context, c.n_context);
  if(!docs) {
    rc = CLI_FAIL;
    goto out;
  }

  g_run = run;
  struct sigaction sa = { 0 };
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  code = mn_run_execute(run, docs);
  g_run = NULL;

  if(c.json)
    print_json(run, code);
  if(code != MN_OK) {
    cli_error("%s", mn_run_errmsg(run));
    rc = CLI_FAIL;
  } else {
    if(!c.json)
      print_text(run);
    rc = CLI_OK;
  }
out:
  mn_docs_free(docs);
  mn_run_free(run);
  free(c.context);
  free(c.local_urls);
  return rc;
}
