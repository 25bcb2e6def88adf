/* Chat sessions: follow-up questions, each answered by one protocol run
 * whose task carries the earlier turns; the oldest turns are summarised by
 * the remote model once the history grows past a limit, so the remote's
 * prompts stay small however long the session runs. The session writes one
 * log: each question's run log is an entry of its "questions", and the file
 * is rewritten after every question, so an interrupted session keeps what
 * was answered. */
#include <stdlib.h>
#include <string.h>

#include "protocol/run_internal.h"
#include "util/buf.h"
#include "util/mem.h"

#define DEFAULT_HISTORY_LIMIT 6000

typedef struct turn {
  char *question, *answer;
} turn;

struct mn_chat {
  mn_run *settings;        /* made from the caller's options by mn_chat_new:
                              holds copies of them, strings too, for every
                              question's run */
  const mn_docs *docs;
  char *summary;           /* of the turns already folded away, or NULL */
  turn *turns;
  size_t n_turns, cap_turns;
  size_t history_limit;
  mn_run *last;
  mn_run *volatile running;   /* the run answering now, for mn_chat_cancel */
  volatile sig_atomic_t cancelled;
  mn_usage remote, local;
  double cost;             /* < 0 once any run's cost was unknown */
  double paid;             /* spent on remote calls sent: the spend cap is
                              the session's */
  char *errmsg;
  json_t *log;             /* the session log */
  char *log_path;
};

static const char SUMMARY_PROMPT[] =
  "Summarise the conversation below, between a user and an assistant, about "
  "some documents, in at most a few sentences. Keep every fact, number and "
  "name the answers established, and what each question was about.\n\n%s";

static int chat_fail(mn_chat *c, int code, const char *msg)
{
  free(c->errmsg);
  c->errmsg = mn_xstrdup(msg);
  return code;
}

int mn_chat_new(mn_chat **out, const mn_run_opts *opts, const mn_docs *docs)
{
  *out = NULL;
  if(!opts || !docs)
    return MN_EINVAL;
  mn_chat *c = mn_xcalloc(1, sizeof *c);
  *out = c;
  c->docs = docs;
  c->history_limit = DEFAULT_HISTORY_LIMIT;
  /* checks the options and keys now, not at the first question */
  if(opts->version < 1 || opts->version > MN_RUN_OPTS_VERSION)
    return chat_fail(c, MN_EINVAL, "mn_run_opts version is not one this library knows; "
                     "start from MN_RUN_OPTS_INIT");
  mn_run_opts o;
  mn_proto_opts_read(&o, opts);
  o.task = "-";
  int rc = mn_run_new(&c->settings, &o);
  if(rc == MN_OK) {
    if(o.log_path) {
      c->log_path = mn_xstrdup(o.log_path);
    } else {
      char *dir = mn_proto_log_dir(&o);
      c->log_path = mn_runlog_default_path(dir, "chat");
      free(dir);
    }
    c->log = json_pack("{s:s,s:s,s:s?,s:s?,s:[]}", "protocol", "chat",
                       "question_protocol", mn_protocol_name(o.protocol),
                       "local_model", o.local_spec, "remote_model", o.remote_spec, "questions");
  }
  if(rc) {
    chat_fail(c, rc, mn_run_errmsg(c->settings));
    mn_run_free(c->settings);
    c->settings = NULL;
  }
  return rc;
}

void mn_chat_set_history_limit(mn_chat *chat, size_t bytes)
{
  chat->history_limit = bytes;
}

static void add_turns_text(mn_buf *b, const turn *t, size_t n)
{
  for(size_t i = 0; i < n; i++)
    mn_buf_printf(b, "User: %s\nAssistant: %s\n", t[i].question, t[i].answer);
}

static size_t history_size(const mn_chat *c)
{
  size_t n = c->summary ? strlen(c->summary) : 0;
  for(size_t i = 0; i < c->n_turns; i++)
    n += strlen(c->turns[i].question) + strlen(c->turns[i].answer) + 24;
  return n;
}

/* Fold the older half of the turns (and the old summary) into a new summary,
 * asked of the run's remote model (its local one for local-only). */
static int summarise(mn_chat *c, mn_run *run)
{
  size_t fold = c->n_turns - c->n_turns / 2;
  mn_buf b = MN_BUF_INIT(0);
  if(c->summary)
    mn_buf_printf(&b, "Summary of the earlier conversation: %s\n", c->summary);
  add_turns_text(&b, c->turns, fold);
  char *prompt = mn_xasprintf(SUMMARY_PROMPT, mn_buf_str(&b));
  mn_buf_free(&b);
  mn_llm_msg msgs[] = { { "user", prompt } };
  mn_side side = run->remote ? MN_SIDE_REMOTE : MN_SIDE_LOCAL;
  mn_llm_req req = { .msgs = msgs, .n_msgs = 1, .temperature = 0,
                      .max_tokens = side == MN_SIDE_REMOTE ? run->opts.remote_max_tokens
                                                           : run->opts.local_max_tokens };
  mn_llm_result res = { 0 };
  int rc = mn_proto_chat(run, side, "history summary", &req, &res);
  free(prompt);
  if(rc == MN_OK) {
    free(c->summary);
    c->summary = res.text;
    res.text = NULL;
    for(size_t i = 0; i < fold; i++) {
      free(c->turns[i].question);
      free(c->turns[i].answer);
    }
    memmove(c->turns, c->turns + fold, (c->n_turns - fold) * sizeof *c->turns);
    c->n_turns -= fold;
  }
  mn_llm_result_free(&res);
  return rc;
}

static char *compose_task(const mn_chat *c, const char *question)
{
  if(!c->summary && c->n_turns == 0)
    return mn_xstrdup(question);
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_puts(&b, "Earlier in this conversation about the same documents:\n");
  if(c->summary)
    mn_buf_printf(&b, "(summary) %s\n", c->summary);
  add_turns_text(&b, c->turns, c->n_turns);
  mn_buf_printf(&b, "\nThe question now (answer this one): %s", question);
  return mn_buf_steal(&b, NULL);
}

/* The question's run log becomes the session log's next entry; the file
 * is rewritten whole (atomically). The run's log_file names it. */
static void write_session_log(mn_chat *c, mn_run *run)
{
  if(!c->log || !run->log)
    return;
  json_array_append(json_object_get(c->log, "questions"), mn_runlog_json(run->log));
  json_object_set_new(c->log, "usage", json_pack("{s:o,s:o}",
                      "remote", mn_usage_json(&c->remote), "local", mn_usage_json(&c->local)));
  json_object_set_new(c->log, "cost_usd", c->cost >= 0 ? json_real(c->cost) : json_null());
  char *err = NULL;
  if(mn_runlog_write_json(c->log, c->log_path, &err) == MN_OK) {
    free(run->log_file);
    run->log_file = mn_xstrdup(c->log_path);
  } else {
    mn_event ev = { .type = MN_EVENT_ERROR, .code = MN_EIO, .text = err };
    mn_proto_emit(run, &ev);
    free(err);
  }
}

int mn_chat_ask(mn_chat *c, const char *question, const char **answer_out)
{
  *answer_out = NULL;
  if(!question || !question[strspn(question, " \t\r\n")])
    return chat_fail(c, MN_EINVAL, "the question is empty");
  mn_run_free(c->last);
  c->last = NULL;
  if(!c->settings)
    return chat_fail(c, MN_EINVAL, "the chat session was not set up (mn_chat_new failed)");
  if(c->cancelled)
    return chat_fail(c, MN_ECANCELLED, "cancelled");
  mn_run_opts o = c->settings->opts;
  o.task = question;
  int rc = mn_run_new(&c->last, &o);
  if(rc)
    return chat_fail(c, rc, mn_run_errmsg(c->last));
  mn_run *run = c->last;
  run->log_to_caller = 1;
  run->paid_usd = c->paid;
  c->running = run;
  if(c->cancelled)   /* a signal between the check above and now */
    mn_run_cancel(run);
  if(c->n_turns >= 2 && history_size(c) > c->history_limit && (rc = summarise(c, run)) != MN_OK) {
    chat_fail(c, rc, mn_run_errmsg(run));
  } else {
    /* the run's task is the question with its history */
    char *task = compose_task(c, question);
    mn_proto_set_task(run, task);
    free(task);
    rc = mn_run_execute(run, c->docs);
    if(rc)
      chat_fail(c, rc, mn_run_errmsg(run));
  }
  c->running = NULL;
  c->paid = run->paid_usd;
  mn_usage r, l;
  mn_run_usage(run, &r, &l);
  mn_usage_add(&c->remote, &r);
  mn_usage_add(&c->local, &l);
  double cost = mn_run_cost_usd(run);
  c->cost = (c->cost < 0 || cost < 0) ? -1 : c->cost + cost;
  write_session_log(c, run);
  if(rc)
    return rc;
  MN_GROW(c->turns, c->cap_turns, c->n_turns + 1);
  c->turns[c->n_turns++] = (turn){ mn_xstrdup(question), mn_xstrdup(mn_run_answer(run)) };
  *answer_out = mn_run_answer(run);
  return MN_OK;
}

void mn_chat_cancel(mn_chat *c)
{
  if(!c)
    return;
  c->cancelled = 1;
  mn_run *r = c->running;
  if(r)
    mn_run_cancel(r);
}

const mn_run *mn_chat_last_run(const mn_chat *c)
{
  return c->last;
}

void mn_chat_usage(const mn_chat *c, mn_usage *remote_out, mn_usage *local_out)
{
  if(remote_out)
    *remote_out = c->remote;
  if(local_out)
    *local_out = c->local;
}

double mn_chat_cost_usd(const mn_chat *c)
{
  return c->cost;
}

const char *mn_chat_errmsg(const mn_chat *c)
{
  return c && c->errmsg ? c->errmsg : "";
}

void mn_chat_free(mn_chat *c)
{
  if(!c)
    return;
  for(size_t i = 0; i < c->n_turns; i++) {
    free(c->turns[i].question);
    free(c->turns[i].answer);
  }
  free(c->turns);
  free(c->summary);
  mn_run_free(c->last);
  mn_run_free(c->settings);
  free(c->errmsg);
  json_decref(c->log);
  free(c->log_path);
  free(c);
}
