/* The two baselines every comparison needs: the whole document and the task
 * to one model, remote (cloud-only quality and cost) or local (free, but
 * small-model quality). They run through the same accounting, events and
 * run log as the real protocols. */
#include <stdlib.h>
#include <string.h>

#include "protocol/prompts.h"
#include "protocol/run_internal.h"
#include "util/mem.h"

/* The text after the last "Answer:" the prompt asked for, or the whole reply
 * when the model did not follow that format. */
static char *final_answer_line(const char *reply)
{
  const char *last = NULL;
  for(const char *p = strstr(reply, "Answer:"); p; p = strstr(p + 1, "Answer:"))
    last = p;
  if(!last)
    return mn_xstrdup(reply);
  last += strlen("Answer:");
  while(*last == ' ' || *last == '\t' || *last == '*')
    last++;
  size_t len = strlen(last);
  while(len && (last[len - 1] == '\n' || last[len - 1] == ' ' || last[len - 1] == '*'))
    len--;
  return len ? mn_xstrndup(last, len) : mn_xstrdup(reply);
}

static int run_baseline(mn_run *run, const mn_docs *docs, mn_side side)
{
  const mn_run_opts *o = &run->opts;
  char *meta = o->doc_metadata ? mn_xasprintf(" They are: %s.", o->doc_metadata)
                               : mn_xstrdup("");
  char *text = mn_proto_documents_text(docs);
  char *user = mn_xasprintf(MN_PROMPT_BASELINE_USER, meta, text, o->task);
  free(text);
  free(meta);

  mn_llm_msg msgs[] = { { "system", MN_PROMPT_BASELINE_SYSTEM }, { "user", user } };
  mn_llm_req req = { .msgs = msgs, .n_msgs = 2 };
  req.temperature = side == MN_SIDE_LOCAL ? o->local_temperature : o->remote_temperature;
  req.max_tokens = side == MN_SIDE_LOCAL ? o->local_max_tokens : o->remote_max_tokens;
  req.num_ctx = side == MN_SIDE_LOCAL ? o->num_ctx : 0;

  run->rounds = 1;
  mn_event ev = { .type = MN_EVENT_ROUND_STARTED, .round = 1 };
  mn_proto_emit(run, &ev);
  json_t *turn = mn_runlog_turn(run->log, side == MN_SIDE_LOCAL ? "local" : "remote",
                                user, NULL);
  mn_llm_result res = { 0 };
  int rc = mn_proto_chat(run, side, "answer", &req, &res);
  if(rc == MN_OK) {
    mn_runlog_turn_set(turn, "output", res.text);
    run->answer = final_answer_line(res.text);
  }
  mn_llm_result_free(&res);
  free(user);
  return rc;
}

int mn_proto_run_remote_only(mn_run *run, const mn_docs *docs)
{
  return run_baseline(run, docs, MN_SIDE_REMOTE);
}

int mn_proto_run_local_only(mn_run *run, const mn_docs *docs)
{
  return run_baseline(run, docs, MN_SIDE_LOCAL);
}
