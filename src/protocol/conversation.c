/* Conversations with a model: free-text turns, and turns whose reply must
 * be a JSON object (asked for, parsed leniently, checked, re-asked). */
#include <stdlib.h>
#include <string.h>

#include "protocol/run_internal.h"
#include "util/json_lenient.h"
#include "util/mem.h"

int mn_proto_chat_json(mn_run *run, mn_side side, const char *label,
                     const mn_llm_msg *msgs, size_t n_msgs, double temperature,
                     int max_tokens, const char *schema, const char *schema_name,
                     mn_json_check_fn check, json_t **out, char **raw_out)
{
  *out = NULL;
  if(raw_out)
    *raw_out = NULL;
  /* room for the conversation plus a (bad reply, correction) pair per re-ask */
  mn_llm_msg *conv = mn_xcalloc(n_msgs + 2, sizeof *conv);
  memcpy(conv, msgs, n_msgs * sizeof *conv);
  char *bad_reply = NULL, *correction = NULL;
  int rc = MN_EMODEL;
  for(int attempt = 0; attempt <= MN_JSON_REASKS; attempt++) {
    size_t n = n_msgs;
    if(attempt > 0) {
      conv[n++] = (mn_llm_msg){ "assistant", bad_reply };
      conv[n++] = (mn_llm_msg){ "user", correction };
    }
    mn_llm_req req = { .msgs = conv, .n_msgs = n, .temperature = temperature,
                        .max_tokens = max_tokens, .json_schema = schema,
                        .schema_name = schema_name, .json_object = 1,
                        .sample = attempt };   /* a re-ask wants a fresh reply */
    mn_llm_result res = { 0 };
    rc = mn_proto_chat(run, side, label, &req, &res);
    if(rc != MN_OK) {
      mn_llm_result_free(&res);
      break;
    }
    char *perr = NULL;
    json_t *obj = mn_json_parse_lenient(res.text, res.text_len, &perr);
    const char *why = NULL;
    char *whybuf = NULL;
    if(!obj)
      why = whybuf = mn_xasprintf("it was not a JSON object (%s)", perr ? perr : "no object found");
    else if(!json_is_object(obj))
      why = "it was not a JSON object";
    else if(check)
      why = check(obj);
    free(perr);
    if(!why) {
      *out = obj;
      if(raw_out) {
        *raw_out = res.text;
        res.text = NULL;
      }
      mn_llm_result_free(&res);
      rc = MN_OK;
      break;
    }
    json_decref(obj);
    free(bad_reply);
    free(correction);
    bad_reply = res.text;
    res.text = NULL;
    correction = mn_xasprintf("Your reply could not be used: %s. Reply again with only "
                              "the JSON object, in the format asked for.", why);
    mn_event ev = { .type = MN_EVENT_RETRY, .round = run->rounds, .side = side, .text = correction };
    mn_proto_emit(run, &ev);
    free(whybuf);
    mn_llm_result_free(&res);
    rc = mn_proto_fail(run, MN_EMODEL, "%s model gave no usable JSON after %d attempts: %s",
                     side == MN_SIDE_LOCAL ? "local" : "remote", attempt + 1, correction);
  }
  free(bad_reply);
  free(correction);
  free(conv);
  return rc;
}

int mn_proto_conv_chat(mn_run *run, mn_side side, const char *label, mn_conv *conv,
                     const char **reply)
{
  const mn_run_opts *o = &run->opts;
  int local = side == MN_SIDE_LOCAL;
  mn_llm_req req = { .msgs = conv->msgs, .n_msgs = conv->n,
                      .temperature = local ? o->local_temperature : o->remote_temperature,
                      .max_tokens = local ? o->local_max_tokens : o->remote_max_tokens,
                      .num_ctx = local ? o->num_ctx : 0 };
  mn_llm_result res = { 0 };
  int rc = mn_proto_chat(run, side, label, &req, &res);
  mn_runlog_turn(run->log, local ? "local" : "remote", conv->msgs[conv->n - 1].content, res.text);
  if(rc == MN_OK) {
    mn_conv_take(conv, "assistant", res.text);
    res.text = NULL;
    if(reply)
      *reply = conv->msgs[conv->n - 1].content;
  }
  mn_llm_result_free(&res);
  return rc;
}

void mn_conv_take(mn_conv *c, const char *role, char *content)
{
  MN_GROW(c->msgs, c->cap, c->n + 1);
  c->msgs[c->n++] = (mn_llm_msg){ role, content };
}

void mn_conv_add(mn_conv *c, const char *role, const char *content)
{
  mn_conv_take(c, role, mn_xstrdup(content));
}

void mn_conv_free(mn_conv *c)
{
  for(size_t i = 0; i < c->n; i++)
    free((char *)c->msgs[i].content);
  free(c->msgs);
  c->msgs = NULL;
  c->n = c->cap = 0;
}
