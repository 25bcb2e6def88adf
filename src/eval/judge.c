/* The evaluation's LLM judge; see judge.h. */
#include "eval/judge.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "llm/client.h"
#include "protocol/prompts.h"
#include "util/json_lenient.h"
#include "util/mem.h"
#include "util/utf8.h"

#define JUDGE_MAX_TOKENS 300
#define ANSWER_SHOWN_MAX (16u << 10)   /* a rambling answer is cut for the judge */

struct mn_judge {
  mn_llm *llm;
  mn_client *client;
  int priced;
  double price[3];
};

int mn_judge_new(mn_judge **out, const char *spec, const char *url, const mn_run_opts *run,
                 const double *price, char **errmsg)
{
  *out = NULL;
  mn_judge *j = mn_xcalloc(1, sizeof *j);
  mn_llm_opts lo = MN_LLM_OPTS_INIT;
  lo.connect_timeout_ms = run->connect_timeout_ms;
  lo.request_timeout_ms = run->request_timeout_ms;
  lo.idle_timeout_ms = run->idle_timeout_ms;
  lo.max_retries = run->max_retries;
  int rc = mn_llm_new(&j->llm, &lo);
  if(rc) {
    *errmsg = mn_xstrdup("judge: cannot start the HTTP transport");
    free(j);
    return rc;
  }
  mn_client_opts co = MN_CLIENT_OPTS_INIT;
  co.stream = 0;
  co.max_inflight = 1;
  const char *urls[1] = { url };
  char *err = NULL;
  rc = mn_client_new(&j->client, j->llm, spec, url ? urls : NULL, url ? 1 : 0, &co, &err);
  if(rc) {
    *errmsg = mn_xasprintf("judge %s: %s", spec, err ? err : "cannot be used");
    free(err);
    mn_llm_free(j->llm);
    free(j);
    return rc;
  }
  if(price) {
    j->priced = 1;
    memcpy(j->price, price, sizeof j->price);
  }
  *out = j;
  return MN_OK;
}

int mn_judge_grade(mn_judge *j, const char *question, const char *gold, const char *answer,
                   int *correct, char **reason, double *cost_usd, mn_usage *usage)
{
  *correct = 0;
  *reason = NULL;
  *cost_usd = 0;
  memset(usage, 0, sizeof *usage);
  char *shown = mn_utf8_printable(answer, strlen(answer), ANSWER_SHOWN_MAX);
  char *prompt = mn_xasprintf(MN_PROMPT_EVAL_JUDGE, question, gold, shown);
  free(shown);
  mn_llm_msg msg = { "user", prompt };
  mn_llm_req req = { .msgs = &msg, .n_msgs = 1, .temperature = 0, .max_tokens = JUDGE_MAX_TOKENS,
                     .json_schema = MN_SCHEMA_EVAL_JUDGE, .schema_name = "grade" };
  mn_llm_result res = { 0 };
  int rc = mn_client_chat(j->client, &req, &res);
  free(prompt);
  if(rc == MN_OK) {
    *usage = res.usage;
    if(j->priced)
      *cost_usd = mn_cost_usd(&res.usage, j->price[0], j->price[1], j->price[2]);
    char *perr = NULL;
    json_t *v = mn_json_parse_lenient(res.text, res.text_len, &perr);
    json_t *c = v ? json_object_get(v, "correct") : NULL;
    if(json_is_boolean(c)) {
      *correct = json_is_true(c);
      const char *why = json_string_value(json_object_get(v, "reason"));
      *reason = mn_utf8_printable(why ? why : "", why ? strlen(why) : 0, 300);
    } else {
      char *t = mn_utf8_printable(res.text, res.text_len, 120);
      *reason = mn_xasprintf("judge reply has no \"correct\" true/false: %s", t);
      free(t);
      rc = MN_EMODEL;
    }
    json_decref(v);
    free(perr);
  } else {
    *reason = mn_xasprintf("judge: %s", res.error ? res.error : mn_strerror(rc));
  }
  mn_llm_result_free(&res);
  return rc;
}

void mn_judge_cancel(mn_judge *j)
{
  if(j)
    mn_llm_cancel(j->llm);
}

void mn_judge_free(mn_judge *j)
{
  if(!j)
    return;
  mn_client_free(j->client);
  mn_llm_free(j->llm);
  free(j);
}
