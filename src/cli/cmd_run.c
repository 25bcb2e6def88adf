/* minions run: one task, one protocol, one answer; minions chat: follow-up
 * questions about the same documents. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/progress.h"

static const char run_help[] =
"usage: minions run --task TEXT --context PATH... [options]\n"
"\n"
"Answer TASK about the documents at PATH. Every default is shown.\n"
"\n"
"Protocol and models:\n"
"  --protocol P          minions (default): the remote decomposes the task into\n"
"                        jobs the local model runs in parallel on chunks, then\n"
"                        aggregates; minion: the remote chats with the local\n"
"                        model, which alone reads the documents; remote-only or\n"
"                        local-only: documents + task to one model\n"
"  --local SPEC          local model, PROVIDER:MODEL (e.g. ollama:llama3.2);\n"
"                        needed by minions, minion and local-only\n"
"  --remote SPEC         remote model, PROVIDER:MODEL (e.g. openai:gpt-4o);\n"
"                        needed by minions, minion and remote-only\n"
"  --local-url URL       base URL of the local server (default: the provider's;\n"
"                        repeat to spread jobs over several servers)\n"
"  --remote-url URL      base URL of the remote API (default: the provider's)\n"
"  --num-ctx N           Ollama context window of the local model (default:\n"
"                        sized from the prompts)\n"
"\n"
"  Providers (key variable; base URL variable):\n"
"    openai (OPENAI_API_KEY; OPENAI_BASE_URL)      together (TOGETHER_API_KEY)\n"
"    openrouter (OPENROUTER_API_KEY)               groq (GROQ_API_KEY)\n"
"    deepseek (DEEPSEEK_API_KEY)                   mistral (MISTRAL_API_KEY)\n"
"    anthropic (ANTHROPIC_API_KEY)                 gemini (GEMINI_API_KEY)\n"
"    azure:DEPLOYMENT (AZURE_OPENAI_API_KEY; AZURE_OPENAI_ENDPOINT)\n"
"    ollama (no key; OLLAMA_HOST, default http://127.0.0.1:11434)\n"
"    openai-compatible: any /v1/chat/completions server (llama.cpp, vLLM,\n"
"      tokasaurus, LM Studio, Lemonade); key optional\n"
"      (OPENAI_COMPATIBLE_API_KEY; OPENAI_COMPATIBLE_BASE_URL,\n"
"      default http://127.0.0.1:8080/v1)\n"
"\n"
"Task and documents:\n"
"  --task TEXT           the question or task (required)\n"
"  --context PATH...     files or folders: text, Markdown, PDF (needs\n"
"                        pdftotext), code; folders are read recursively;\n"
"                        - reads standard input (required, or --context-text)\n"
"  --context-text TEXT   a document given inline (repeatable)\n"
"  --doc-metadata TEXT   a short description of the documents (default none)\n"
"  --privacy             keep personal data from the remote model (minion):\n"
"                        names, e-mails, phones, SSNs, cards, IPs, dates of\n"
"                        birth, addresses and record numbers in the task and\n"
"                        the local model's answers become placeholders such\n"
"                        as [PERSON_1], put back in the final answer (off)\n"
"\n"
"Output:\n"
"  -o, --output FILE     write the answer (or the --json object) to FILE\n"
"                        (default: standard output)\n"
"  --json                one JSON object: answer, protocol, usage, cost_usd,\n"
"                        timing, log_file, cache (with --cache) (default: the\n"
"                        answer, and a summary line on stderr)\n"
"  --log FILE            write the run log to FILE (default: a new file in the\n"
"                        log folder)\n"
"  --log-dir DIR         folder for run logs (default $MINIONS_LOG_DIR, else\n"
"                        $XDG_STATE_HOME/minions/logs, else\n"
"                        ~/.local/state/minions/logs)\n"
"  --prices FILE         price table (JSON, dollars per 1M tokens) instead of\n"
"                        the built-in one\n"
"  -q, --quiet           no progress or warnings on stderr\n"
"  -v, --verbose         trace the protocol's messages (whole) on stderr\n"
"                        (default on a terminal: one live progress line)\n"
"  -h, --help            this text\n"
"\n"
"Tuning:\n"
"  --max-rounds N        rounds of the Minion/MinionS protocols (default 3)\n"
"  --local-temperature T sampling temperature of the local model (default 0)\n"
"  --remote-temperature T  of the remote model (default 0)\n"
"  --local-max-tokens N  reply cap of the local model (default 2048)\n"
"  --remote-max-tokens N reply cap of the remote model (default 4096)\n"
"  --stream              ask for streamed replies (SSE, NDJSON): a stalled\n"
"                        server is noticed by --idle-timeout (default: whole\n"
"                        replies)\n"
"  --idle-timeout S      with --stream, give up on a reply when no byte came\n"
"                        for S seconds (default 120)\n"
"  --timeout SECONDS     limit on one request (default 600)\n"
"  --connect-timeout S   limit on connecting (default 10)\n"
"  --retries N           retries on 429/5xx/network errors (default 4)\n"
"\n"
"Cache and spend:\n"
"  --cache FILE          response cache: a request identical to one already\n"
"                        answered (same endpoint, model and body) is answered\n"
"                        from FILE, an SQLite file made if missing, without a\n"
"                        call, and new replies are kept in it, so a rerun\n"
"                        sends nothing; several runs may share FILE (default:\n"
"                        no cache)\n"
"  --max-cost USD        remote spend cap: a remote call that could take the\n"
"                        run past USD (what it spent on calls sent, plus this\n"
"                        call at prompt bytes / 4 and --remote-max-tokens) is\n"
"                        not made and the run fails; needs the remote model's\n"
"                        price (--prices) (default: no cap)\n"
"\n"
"MinionS:\n"
"  --decompose code|plan code: the remote writes a Lua program that makes the\n"
"                        jobs, run here in a sandbox (default); plan: the\n"
"                        remote returns a JSON plan and no code runs\n"
"  --tasks-per-round N   instructions the remote should write per round\n"
"                        (default 3)\n"
"  --samples K           run each job K times (default 1; use with\n"
"                        --local-temperature above 0)\n"
"  --max-jobs N          cap on jobs per round (default 2048)\n"
"  --local-parallel N    local requests in flight per server (default 8)\n"
"  --chunk METHOD        plan mode's chunking: section, page, paragraph or\n"
"                        code (default section)\n"
"  --chunk-chars N       chunk size (default 3000); files shorter than half\n"
"                        of it are packed together, each marked with its path\n"
"  --retrieval R         none (default), bm25 (SQLite FTS5) or embedding\n"
"  --retrieval-k K       chunks kept per task with retrieval (default 10)\n"
"  --embed-model SPEC    embedding model for --retrieval embedding\n"
"                        (ollama:MODEL or openai-compatible:MODEL; no default)\n"
"  --embed-url URL       its base URL (default: the first --local-url)\n"
"\n"
"Exit status: 0 answered; 1 the run failed; 2 bad usage or setup (a wrong\n"
"flag, a missing key or URL: nothing was sent); 130 interrupted (Ctrl-C).\n";

typedef struct run_cli {
  mn_run_opts o;
  const char **context;
  size_t n_context;
  const char **local_urls;
  size_t n_local_urls;
  const char **texts;       /* --context-text */
  size_t n_texts;
  const char *output;       /* -o FILE */
  int json, quiet, verbose;
  int chat;                 /* minions chat: no --task, questions on stdin */
  long history_limit;       /* chat: bytes of history before summarising; 0: default */
} run_cli;

static void run_cli_free(run_cli *c)
{
  free(c->context);
  free(c->local_urls);
  free(c->texts);
}

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
    int shared = cli_run_option(&a, f, &c->o, &c->local_urls, &c->n_local_urls);
    if(shared < 0)
      return CLI_USAGE;
    if(shared > 0)
      continue;
    if(!strcmp(f, "--help")) {
      return -1;
    } else if(!strcmp(f, "--version")) {
      printf("minions %s\n", mn_version());
      return -2;
    } else if(!strcmp(f, "--protocol")) {
      VALUE();
      if(cli_choice(f, v, mn_protocol_parse, "minions, minion, remote-only or local-only", &e))
        return CLI_USAGE;
      c->o.protocol = (mn_protocol)e;
    } else if(!strcmp(f, "--task") && !c->chat) {
      VALUE(); c->o.task = v;
    } else if(!strcmp(f, "--doc-metadata")) {
      VALUE(); c->o.doc_metadata = v;
    } else if(!strcmp(f, "--context")) {
      if(cli_values(&a, f, &c->context, &c->n_context))
        return CLI_USAGE;
    } else if(!strcmp(f, "--context-text")) {
      VALUE();
      c->texts = realloc(c->texts, (c->n_texts + 1) * sizeof *c->texts);
      c->texts[c->n_texts++] = v;
    } else if(!strcmp(f, "--output")) {
      VALUE(); c->output = v;
    } else if(!strcmp(f, "--json")) {
      c->json = 1;
    } else if(!strcmp(f, "--log")) {
      VALUE(); c->o.log_path = v;
    } else if(!strcmp(f, "--history-limit") && c->chat) {
      VALUE(); if(cli_int(f, v, 100, 10000000, &n)) return CLI_USAGE;
      c->history_limit = n;
    } else if(!strcmp(f, "--log-dir")) {
      VALUE(); c->o.log_dir = v;
    } else if(!strcmp(f, "--quiet")) {
      c->quiet = 1;
    } else if(!strcmp(f, "--verbose")) {
      c->verbose = 1;
    } else if(!strcmp(f, "--idle-timeout")) {
      VALUE(); if(cli_double(f, v, 0.001, 86400, &d)) return CLI_USAGE;
      c->o.idle_timeout_ms = (long)(d * 1000);
    } else if(!strcmp(f, "--privacy")) {
      c->o.privacy = 1;
    } else if(!strcmp(f, "--local-max-tokens")) {
      VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return CLI_USAGE;
      c->o.local_max_tokens = (int)n;
    } else if(!strcmp(f, "--remote-max-tokens")) {
      VALUE(); if(cli_int(f, v, 1, 1000000, &n)) return CLI_USAGE;
      c->o.remote_max_tokens = (int)n;
    } else if(!strcmp(f, "--connect-timeout")) {
      VALUE(); if(cli_double(f, v, 0.001, 3600, &d)) return CLI_USAGE;
      c->o.connect_timeout_ms = (long)(d * 1000);
    } else if(!strcmp(f, "--local-temperature")) {
      VALUE(); if(cli_double(f, v, 0, 2, &d)) return CLI_USAGE;
      c->o.local_temperature = d;
    } else if(!strcmp(f, "--remote-temperature")) {
      VALUE(); if(cli_double(f, v, 0, 2, &d)) return CLI_USAGE;
      c->o.remote_temperature = d;
    } else if(!strcmp(f, "--tasks-per-round")) {
      VALUE(); if(cli_int(f, v, 1, 100, &n)) return CLI_USAGE;
      c->o.tasks_per_round = (int)n;
    } else if(!strcmp(f, "--samples")) {
      VALUE(); if(cli_int(f, v, 1, 64, &n)) return CLI_USAGE;
      c->o.samples = (int)n;
    } else if(!strcmp(f, "--chunk")) {
      VALUE();
      if(cli_choice(f, v, mn_chunk_method_parse, "section, page, paragraph or code", &e))
        return CLI_USAGE;
      c->o.chunking = (mn_chunk_method)e;
    } else if(!strcmp(f, "--embed-model")) {
      VALUE(); c->o.embed_spec = v;
    } else if(!strcmp(f, "--embed-url")) {
      VALUE(); c->o.embed_url = v;
    } else if(!strcmp(f, "--cache")) {
      VALUE();
      if(!*v) {
        cli_error("--cache expects a file name");
        return CLI_USAGE;
      }
      c->o.cache_path = v;
    } else if(!strcmp(f, "--max-cost")) {
      VALUE(); if(cli_double(f, v, 1e-6, 1e9, &d)) return CLI_USAGE;
      c->o.max_cost_usd = d;
    } else {
      cli_error("unknown option '%s' (see 'minions %s --help')", f, c->chat ? "chat" : "run");
      return CLI_USAGE;
    }
#undef VALUE
  }
  if(!c->chat && (!c->o.task || !*c->o.task)) {
    cli_error("--task is required");
    return CLI_USAGE;
  }
  if(!c->n_context && !c->n_texts) {
    cli_error("--context is required (files or folders, - for standard input, or "
              "--context-text TEXT)");
    return CLI_USAGE;
  }
  size_t stdin_uses = 0;
  for(size_t i = 0; i < c->n_context; i++)
    stdin_uses += !strcmp(c->context[i], "-");
  if(stdin_uses && c->chat) {
    cli_error("chat reads its questions from standard input, so --context - cannot be used; "
              "give a file or --context-text");
    return CLI_USAGE;
  }
  if(stdin_uses > 1) {
    cli_error("--context - can be given once");
    return CLI_USAGE;
  }
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

/* The --json member with a cache: {"file", "hits", "misses"} */
static json_t *cache_json(const mn_run *run, const char *file)
{
  uint64_t hits, misses;
  mn_run_cache_stats(run, &hits, &misses);
  return json_pack("{s:s,s:I,s:I}", "file", file, "hits", (json_int_t)hits,
                   "misses", (json_int_t)misses);
}

/* cache: the --cache file, or NULL */
static void print_json(FILE *out, const mn_run *run, int rc, const char *cache)
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
  if(cache)
    json_object_set_new(o, "cache", cache_json(run, cache));
  if(rc != MN_OK)
    json_object_set_new(o, "error", json_string(mn_run_errmsg(run)));
  char *s = json_dumps(o, JSON_INDENT(2));
  if(s)
    fprintf(out, "%s\n", s);
  free(s);
  json_decref(o);
}

/* The one-line summary after an answer, on stderr: tokens and cost per
 * side, time, cache hits (with a cache), and where the run log went. */
static void print_summary(const mn_run *run, int cache)
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
  char ur[96], ul[96], cb[80] = "";
  if(cache) {
    uint64_t hits, misses;
    mn_run_cache_stats(run, &hits, &misses);
    snprintf(cb, sizeof cb, " | cache %llu hits, %llu misses", (unsigned long long)hits,
             (unsigned long long)misses);
  }
  fprintf(stderr, "[%s] remote %llu in + %llu out tokens (%s)%s | local %llu in + %llu out "
          "tokens%s | %.2f s (remote %.2f s, local %.2f s)%s | log %s\n",
          mn_run_protocol(run),
          (unsigned long long)remote.prompt_tokens, (unsigned long long)remote.completion_tokens,
          costbuf, unreported(&remote, ur, sizeof ur),
          (unsigned long long)local.prompt_tokens, (unsigned long long)local.completion_tokens,
          unreported(&local, ul, sizeof ul),
          t.total_time, t.remote_call_time, t.local_call_time, cb,
          mn_run_log_file(run) ? mn_run_log_file(run) : "(not written)");
}

/* -o FILE, else standard output. */
static FILE *open_output(const run_cli *c)
{
  if(!c->output || !strcmp(c->output, "-"))
    return stdout;
  FILE *f = fopen(c->output, "w");
  if(!f)
    cli_error("cannot write %s", c->output);
  return f;
}

static int close_output(FILE *f, const run_cli *c)
{
  if(f == stdout)
    return fflush(stdout) == 0 ? 0 : -1;
  if(fclose(f) != 0) {
    cli_error("cannot write %s", c->output);
    return -1;
  }
  return 0;
}

/* Setting up failed, before anything was sent: MN_EINVAL, MN_EUNSUPPORTED
 * (a flag, a spec), MN_EAUTH (no key), and MN_EIO, MN_EPARSE, MN_ENOTFOUND,
 * MN_ELIMIT for a file the options name (price table, response cache). */
static int setup_status(int code)
{
  return code == MN_EINVAL || code == MN_EUNSUPPORTED || code == MN_EAUTH || code == MN_EIO ||
         code == MN_EPARSE || code == MN_ENOTFOUND || code == MN_ELIMIT ? CLI_USAGE : CLI_FAIL;
}

static const char chat_help[] =
"usage: minions chat --context PATH... [run options, without --task]\n"
"\n"
"Answer questions about the documents one after another, one question per\n"
"line on standard input (typed, or piped from a file). Each is answered\n"
"with the Minion protocol (or --protocol P) while the earlier questions and\n"
"answers are carried along; once that history grows long, the remote model\n"
"summarises its oldest part. The whole session writes one log (--log FILE,\n"
"else a new file in the log folder). Quiet but for a progress line on a\n"
"terminal; -v traces the protocol. Ends at end of input; exit status 1 if\n"
"any question failed, 130 when interrupted.\n"
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
  fprintf(stderr, "[chat] %.1f s | session: remote %llu in + %llu out tokens (%s), "
          "local %llu in + %llu out tokens | log %s\n", t.total_time,
          (unsigned long long)remote.prompt_tokens, (unsigned long long)remote.completion_tokens,
          costbuf, (unsigned long long)local.prompt_tokens, (unsigned long long)local.completion_tokens,
          mn_run_log_file(run) ? mn_run_log_file(run) : "(not written)");
}

static volatile sig_atomic_t g_interrupted;
static mn_run *volatile g_run;     /* cancelled from the signal handler */
static mn_chat *volatile g_chat;

static void on_signal(int sig)
{
  (void)sig;
  g_interrupted = 1;
  if(g_run)
    mn_run_cancel(g_run);
  if(g_chat)
    mn_chat_cancel(g_chat);
}


/* After a cancelled run: a fresh line, where the partial log went. */
static int interrupted(const char *log)
{
  fputc('\n', stderr);
  cli_error("interrupted; %s%s", log ? "the partial run log is in " : "no run log was written",
            log ? log : "");
  return CLI_INTERRUPTED;
}

int cmd_chat(int argc, char **argv)
{
  run_cli c = { .o = MN_RUN_OPTS_INIT, .chat = 1 };
  int rc = parse(&c, argc, argv);
  if(rc) {
    run_cli_free(&c);
    if(rc == -1)
      fputs(chat_help, stdout);
    return rc < 0 ? CLI_OK : rc;
  }
  cli_progress prog;
  c.o.on_event = cli_progress_event;
  c.o.event_userdata = &prog;
  mn_chat *chat = NULL;
  FILE *out = NULL;
  mn_docs *docs = cli_load_docs(c.context, c.n_context, c.texts, c.n_texts);
  if(!docs) {
    rc = CLI_FAIL;
    goto out;
  }
  int code = mn_chat_new(&chat, &c.o, docs);
  if(code != MN_OK) {
    cli_error("%s", mn_chat_errmsg(chat));
    rc = setup_status(code);
    goto out;
  }
  if(!(out = open_output(&c))) {
    rc = CLI_USAGE;
    goto out;
  }
  if(c.history_limit)
    mn_chat_set_history_limit(chat, (size_t)c.history_limit);
  int interactive = isatty(0);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  rc = CLI_OK;
  g_chat = chat;
  cli_on_interrupt(on_signal);   /* Ctrl-C cancels; the run log is still written */
  for(;;) {
    if(interactive) {
      fputs("> ", stderr);
      fflush(stderr);
    }
    if((len = getline(&line, &cap, stdin)) < 0) {
      if(interactive)
        fputc('\n', stderr);   /* end of input after the prompt: a fresh line */
      break;
    }
    while(len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
      line[--len] = '\0';
    if(!line[strspn(line, " \t")])
      continue;
    const char *answer = NULL;
    cli_progress_start(&prog, !c.quiet && isatty(2), c.verbose, c.verbose, c.quiet);
    code = mn_chat_ask(chat, line, &answer);
    cli_progress_stop(&prog);
    if(code == MN_ECANCELLED || g_interrupted) {
      rc = interrupted(mn_run_log_file(mn_chat_last_run(chat)));
      break;
    }
    if(code != MN_OK) {
      cli_error("%s", mn_chat_errmsg(chat));
      rc = CLI_FAIL;
      continue;
    }
    if(c.json)
      print_json(out, mn_chat_last_run(chat), MN_OK, c.o.cache_path);
    else
      fprintf(out, "%s%s\n%s", interactive ? "\n" : "", answer, interactive ? "\n" : "\n");
    fflush(out);
    if(!c.quiet && !c.json)
      print_chat_summary(chat);
  }
  g_chat = NULL;
  free(line);
  if(close_output(out, &c) && rc == CLI_OK)
    rc = CLI_FAIL;
  out = NULL;
out:
  if(out && out != stdout)
    fclose(out);
  mn_chat_free(chat);
  mn_docs_free(docs);
  run_cli_free(&c);
  return rc;
}

int cmd_run(int argc, char **argv)
{
  run_cli c = { .o = MN_RUN_OPTS_INIT };
  c.o.protocol = MN_PROTOCOL_MINIONS;   /* the main protocol, unless --protocol */
  int rc = parse(&c, argc, argv);
  if(rc) {
    run_cli_free(&c);
    if(rc == -1)
      fputs(run_help, stdout);
    return rc < 0 ? CLI_OK : rc;
  }
  cli_progress prog;
  c.o.on_event = cli_progress_event;
  c.o.event_userdata = &prog;

  mn_run *run = NULL;
  mn_docs *docs = NULL;
  FILE *out = NULL;
  int code = mn_run_new(&run, &c.o);
  if(code != MN_OK) {
    cli_error("%s", run ? mn_run_errmsg(run) : mn_strerror(code));
    rc = setup_status(code);
    goto out;
  }
  if(!(docs = cli_load_docs(c.context, c.n_context, c.texts, c.n_texts))) {
    rc = CLI_FAIL;
    goto out;
  }
  if(!(out = open_output(&c))) {
    rc = CLI_USAGE;
    goto out;
  }

  g_run = run;
  cli_on_interrupt(on_signal);   /* Ctrl-C cancels; the run log is still written */
  cli_progress_start(&prog, !c.quiet && isatty(2), c.verbose, c.verbose, c.quiet);
  code = mn_run_execute(run, docs);
  cli_progress_stop(&prog);
  g_run = NULL;

  if(code == MN_ECANCELLED && g_interrupted) {
    rc = interrupted(mn_run_log_file(run));
  } else {
    if(c.json)
      print_json(out, run, code, c.o.cache_path);
    if(code != MN_OK) {
      cli_error("%s", mn_run_errmsg(run));
      rc = CLI_FAIL;
    } else {
      if(!c.json)
        fprintf(out, "%s\n", mn_run_answer(run));
      if(!c.quiet && !c.json)
        print_summary(run, c.o.cache_path != NULL);
      rc = CLI_OK;
    }
  }
  if(close_output(out, &c) && rc == CLI_OK)
    rc = CLI_FAIL;
  out = NULL;
out:
  if(out && out != stdout)
    fclose(out);
  mn_docs_free(docs);
  mn_run_free(run);
  run_cli_free(&c);
  return rc;
}
