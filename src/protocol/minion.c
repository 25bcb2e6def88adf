/* Minion: the remote supervisor chats with the local worker, which alone
 * holds the documents (paper section 4, appendix D.1).
 *
 * Each round the worker answers the supervisor's message; the supervisor
 * first reasons over the answer in free text, then decides in JSON whether
 * to answer or ask again. The last round forces an answer. Unlike the
 * reference implementation, the worker's context window is sized to its
 * prompt and a reply that is not usable JSON is re-asked, never guessed. */
#include <stdlib.h>
#include <string.h>

#include "protocol/privacy.h"
#include "protocol/prompts.h"
#include "protocol/run_internal.h"
#include "util/mem.h"

static int nonempty(const json_t *obj, const char *key)
{
  const char *s = mn_json_str(obj, key);
  return s && s[strspn(s, " \t\r\n")] != '\0';
}

static const char *check_start(const json_t *o)
{
  return nonempty(o, "message") ? NULL : "field 'message' must be a non-empty string";
}

static const char *check_decision(const json_t *o)
{
  const char *d = mn_json_str(o, "decision");
  if(d && !strcmp(d, "provide_final_answer"))
    return nonempty(o, "answer") ? NULL : "field 'answer' must hold the final answer";
  if(d && !strcmp(d, "request_additional_info"))
    return nonempty(o, "message") ? NULL : "field 'message' must hold the next question";
  return "field 'decision' must be \"provide_final_answer\" or \"request_additional_info\"";
}

static const char *check_final(const json_t *o)
{
  return nonempty(o, "answer") ? NULL : "field 'answer' must hold the final answer";
}

int mn_proto_run_minion(mn_run *run, const mn_docs *docs)
{
  const mn_run_opts *o = &run->opts;
  mn_conv sup = { 0 }, wrk = { 0 };
  json_t *obj = NULL;
  char *raw = NULL, *message = NULL, *task = NULL, *meta_text = NULL, *shown = NULL;
  int rc;

  /* --privacy: the supervisor sees personal data only as placeholders; its
   * messages are restored for the worker, the worker's answers redacted */
  mn_privacy *priv = o->privacy ? mn_privacy_new() : NULL;
  if(priv) {
    if((rc = mn_privacy_protect(priv, run, o->task, &task)) != MN_OK)
      goto out;
    if(o->doc_metadata &&
       (rc = mn_privacy_protect(priv, run, o->doc_metadata, &meta_text)) != MN_OK)
      goto out;
  }
  const char *doc_meta = meta_text ? meta_text : o->doc_metadata;
  char *meta = doc_meta ? mn_xasprintf("\nThe documents: %s", doc_meta) : mn_xstrdup("");
  mn_conv_take(&sup, "user", mn_xasprintf(MN_PROMPT_MINION_SUPERVISOR_START,
                                          o->max_rounds, task ? task : o->task, meta));
  free(meta);
  rc = mn_proto_chat_json(run, MN_SIDE_REMOTE, "first question", sup.msgs, sup.n,
                        o->remote_temperature, o->remote_max_tokens,
                        MN_SCHEMA_MINION_START, "supervisor_message", check_start, &obj, &raw);
  mn_runlog_turn(run->log, "remote", sup.msgs[0].content, raw);
  if(rc)
    goto out;
  mn_conv_take(&sup, "assistant", raw);
  raw = NULL;
  message = priv ? mn_privacy_restore(priv, mn_json_str(obj, "message"))
               : mn_xstrdup(mn_json_str(obj, "message"));
  json_decref(obj);
  obj = NULL;

  char *text = mn_proto_documents_text(docs);
  mn_conv_take(&wrk, "system", mn_xasprintf(MN_PROMPT_MINION_WORKER_SYSTEM, text, o->task));
  free(text);

  for(int round = 1; round <= o->max_rounds; round++) {
    run->rounds = round;
    mn_event ev = { .type = MN_EVENT_ROUND_STARTED, .round = round };
    mn_proto_emit(run, &ev);

    /* worker */
    mn_conv_take(&wrk, "user", message);
    message = NULL;
    const char *reply;
    if((rc = mn_proto_conv_chat(run, MN_SIDE_LOCAL, "answer", &wrk, &reply)) != MN_OK)
      goto out;
    const char *answer = reply;
    if(priv) {
      free(shown);
      if((rc = mn_privacy_protect(priv, run, reply, &shown)) != MN_OK)
        goto out;
      answer = shown;
    }

    int last = round == o->max_rounds;
    if(last) {
      mn_conv_take(&sup, "user", mn_xasprintf(MN_PROMPT_MINION_SUPERVISOR_FINAL, answer));
    } else {
      /* reason in free text first: JSON mode would cut the reasoning short */
      mn_conv_take(&sup, "user", mn_xasprintf(MN_PROMPT_MINION_SUPERVISOR_REASON, answer));
      if((rc = mn_proto_conv_chat(run, MN_SIDE_REMOTE, "reasoning", &sup, NULL)) != MN_OK)
        goto out;
      mn_conv_add(&sup, "user", MN_PROMPT_MINION_SUPERVISOR_DECIDE);
    }

    rc = mn_proto_chat_json(run, MN_SIDE_REMOTE, last ? "final answer" : "decision",
                          sup.msgs, sup.n, o->remote_temperature, o->remote_max_tokens,
                          MN_SCHEMA_MINION_DECISION, "supervisor_decision",
                          last ? check_final : check_decision, &obj, &raw);
    mn_runlog_turn(run->log, "remote", sup.msgs[sup.n - 1].content, raw);
    if(rc)
      goto out;
    mn_conv_take(&sup, "assistant", raw);
    raw = NULL;
    const char *decision = mn_json_str(obj, "decision");
    if(last || (decision && !strcmp(decision, "provide_final_answer"))) {
      run->answer = priv ? mn_privacy_restore(priv, mn_json_str(obj, "answer"))
                         : mn_xstrdup(mn_json_str(obj, "answer"));
      break;
    }
    message = priv ? mn_privacy_restore(priv, mn_json_str(obj, "message"))
                   : mn_xstrdup(mn_json_str(obj, "message"));
    json_decref(obj);
    obj = NULL;
  }
  rc = MN_OK;
out:
  if(priv) {
    /* counts only: the values must not reach a file that may be shared */
    mn_runlog_set(run->log, "privacy", mn_privacy_summary(priv));
    mn_privacy_free(priv);
  }
  free(task);
  free(meta_text);
  free(shown);
  json_decref(obj);
  free(raw);
  free(message);
  mn_conv_free(&sup);
  mn_conv_free(&wrk);
  return rc;
}
