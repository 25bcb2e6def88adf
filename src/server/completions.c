/* POST /v1/chat/completions: the request read as OpenAI defines it, one
 * run of the protocol its `model` names, the reply as chat.completion or a
 * stream of chat.completion.chunk events (see server.h). */
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

#define STREAM_BUFFER_MAX ((size_t)64 << 20)

/* The text of a message's content: a string, or the "text" parts of an
 * array of parts (images and other parts are not documents). NULL if none. */
static char *content_text(json_t *content)
{
  if(json_is_string(content))
    return strdup(json_string_value(content));
  if(!json_is_array(content))
    return NULL;
  size_t total = 0, i;
  json_t *part;
  json_array_foreach(content, i, part) {
    const char *t = json_string_value(json_object_get(part, "text"));
    if(t)
      total += strlen(t) + 1;
  }
  if(!total)
    return NULL;
  char *out = malloc(total + 1), *p = out;
  if(!out)
    return NULL;
  json_array_foreach(content, i, part) {
    const char *t = json_string_value(json_object_get(part, "text"));
    if(t) {
      size_t l = strlen(t);
      memcpy(p, t, l);
      p += l;
      *p++ = '\n';
    }
  }
  *p = '\0';
  return out;
}

static void completion_id(char *out, size_t size)
{
  static atomic_uint counter;
  snprintf(out, size, "chatcmpl-mn%lx%04x", (unsigned long)time(NULL),
           (atomic_fetch_add(&counter, 1) + 1) & 0xffffu);
}

static json_t *usage_json(const mn_run *run)
{
  mn_usage r, l;
  mn_run_usage(run, &r, &l);
  json_int_t prompt = (json_int_t)(r.prompt_tokens + l.prompt_tokens);
  json_int_t completion = (json_int_t)(r.completion_tokens + l.completion_tokens);
  return json_pack("{s:I,s:I,s:I}", "prompt_tokens", prompt, "completion_tokens", completion,
                   "total_tokens", prompt + completion);
}

/* What Minions adds to a reply: cost and tokens per side. */
static json_t *minions_json(const mn_run *run)
{
  mn_usage r, l;
  mn_run_usage(run, &r, &l);
  double cost = mn_run_cost_usd(run);
  mn_timing t;
  mn_run_timing(run, &t);
  return json_pack("{s:s,s:o,s:{s:I,s:I},s:{s:I,s:I},s:f}", "protocol", mn_run_protocol(run),
                   "cost_usd", cost >= 0 ? json_real(cost) : json_null(),
                   "remote", "prompt_tokens", (json_int_t)r.prompt_tokens, "completion_tokens",
                   (json_int_t)r.completion_tokens,
                   "local", "prompt_tokens", (json_int_t)l.prompt_tokens, "completion_tokens",
                   (json_int_t)l.completion_tokens, "seconds", t.total_time);
}

/* ---- streaming ------------------------------------------------------------ */

typedef struct stream {
  srv *s;
  mn_run *run;
  mn_docs *docs;
  char id[64];
  char model[32];
  long created;
  int include_usage;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t more;
  char *buf;               /* SSE bytes not yet sent */
  size_t len, cap;
  int done;                /* the run ended and everything is in buf */
  size_t jobs_shown;       /* last jobs count announced, for throttling */
} stream;

static void push(stream *st, const char *bytes, size_t n)
{
  pthread_mutex_lock(&st->mu);
  if(st->len + n <= STREAM_BUFFER_MAX) {
    if(st->len + n > st->cap) {
      size_t cap = (st->len + n) * 2 + 4096;
      char *b = realloc(st->buf, cap);
      if(b) {
        st->buf = b;
        st->cap = cap;
      }
    }
    if(st->len + n <= st->cap) {
      memcpy(st->buf + st->len, bytes, n);
      st->len += n;
    }
  }
  pthread_cond_signal(&st->more);
  pthread_mutex_unlock(&st->mu);
}

/* One chat.completion.chunk event with this delta and finish reason. */
static void push_chunk(stream *st, json_t *delta, const char *finish, json_t *usage)
{
  json_t *choices = json_array();
  if(delta)
    json_array_append_new(choices, json_pack("{s:i,s:o,s:n,s:o}", "index", 0, "delta", delta,
                                             "logprobs", "finish_reason",
                                             finish ? json_string(finish) : json_null()));
  json_t *c = json_pack("{s:s,s:s,s:I,s:s,s:o}", "id", st->id, "object",
                        "chat.completion.chunk", "created", (json_int_t)st->created, "model",
                        st->model, "choices", choices);
  if(usage)
    json_object_set_new(c, "usage", usage);
  else if(st->include_usage)
    json_object_set_new(c, "usage", json_null());
  char *text = json_dumps(c, JSON_COMPACT);
  json_decref(c);
  if(!text)
    return;
  size_t n = strlen(text);
  char *ev = malloc(n + 9);
  if(ev) {
    memcpy(ev, "data: ", 6);
    memcpy(ev + 6, text, n);
    memcpy(ev + 6 + n, "\n\n", 2);
    push(st, ev, n + 8);
    free(ev);
  }
  free(text);
}

static void progress(stream *st, const char *text)
{
  push_chunk(st, json_pack("{s:s}", "reasoning_content", text), NULL, NULL);
}

/* The run's events as progress the chat front-end shows as thinking. */
static void on_event(const mn_event *e, void *ud)
{
  stream *st = ud;
  char line[300];
  switch(e->type) {
  case MN_EVENT_ROUND_STARTED:
    snprintf(line, sizeof line, "Round %d.\n", e->round);
    progress(st, line);
    break;
  case MN_EVENT_JOBS_PROGRESS:
    /* about every tenth of the jobs, and the last */
    if(e->jobs_done == e->jobs_total || e->jobs_total < 10 ||
       e->jobs_done >= st->jobs_shown + e->jobs_total / 10) {
      st->jobs_shown = e->jobs_done;
      snprintf(line, sizeof line, "Local model: %zu of %zu jobs done.\n", e->jobs_done,
               e->jobs_total);
      progress(st, line);
    }
    break;
  case MN_EVENT_MESSAGE:
    if(e->side == MN_SIDE_REMOTE && e->to_model && e->label) {
      snprintf(line, sizeof line, "Asking the remote model (%s).\n", e->label);
      progress(st, line);
    }
    break;
  case MN_EVENT_RETRY:
    snprintf(line, sizeof line, "Retrying: %.200s\n", e->text ? e->text : "");
    progress(st, line);
    break;
  default:
    break;
  }
}

static void *stream_run(void *arg)
{
  stream *st = arg;
  int rc = mn_run_execute(st->run, st->docs);
  if(rc == MN_OK) {
    push_chunk(st, json_pack("{s:s}", "content", mn_run_answer(st->run)), NULL, NULL);
    json_t *fin = json_object();
    push_chunk(st, fin, "stop", NULL);
  } else {
    /* OpenAI streams an error as an event with an "error" object */
    json_t *e = json_pack("{s:{s:s,s:s,s:n,s:s}}", "error", "message", mn_run_errmsg(st->run),
                          "type", "server_error", "param", "code", mn_strerror(rc));
    char *text = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if(text) {
      push(st, "data: ", 6);
      push(st, text, strlen(text));
      push(st, "\n\n", 2);
      free(text);
    }
  }
  if(st->include_usage) {
    json_t *u = usage_json(st->run);
    json_object_set_new(u, "minions", minions_json(st->run));
    push_chunk(st, NULL, NULL, u);
  }
  push(st, "data: [DONE]\n\n", 14);
  pthread_mutex_lock(&st->mu);
  st->done = 1;
  pthread_cond_signal(&st->more);
  pthread_mutex_unlock(&st->mu);
  return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
  (void)pos;
  stream *st = cls;
  pthread_mutex_lock(&st->mu);
  while(!st->len && !st->done)
    pthread_cond_wait(&st->more, &st->mu);
  ssize_t n;
  if(st->len) {
    size_t k = st->len < max ? st->len : max;
    memcpy(out, st->buf, k);
    memmove(st->buf, st->buf + k, st->len - k);
    st->len -= k;
    n = (ssize_t)k;
  } else {
    n = MHD_CONTENT_READER_END_OF_STREAM;
  }
  pthread_mutex_unlock(&st->mu);
  return n;
}

/* The connection ended (finished, or the client went away): stop the run,
 * wait for it, free everything. */
static void stream_free(void *cls)
{
  stream *st = cls;
  mn_run_cancel(st->run);
  pthread_join(st->thread, NULL);
  mn_run_free(st->run);
  mn_docs_free(st->docs);
  mn_srv_run_release(st->s);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->more);
  free(st->buf);
  free(st);
}

/* ---- the request ---------------------------------------------------------- */

static struct MHD_Response *bad(int *status, const char *code, const char *msg)
{
  *status = 400;
  return mn_srv_error("invalid_request_error", code, "%s", msg);
}

struct MHD_Response *mn_srv_completions(srv *s, const char *body, size_t len, int *status)
{
  json_error_t je;
  json_t *req = json_loadb(body, len, 0, &je);
  if(!req || !json_is_object(req)) {
    json_decref(req);
    *status = 400;
    return mn_srv_error("invalid_request_error", "invalid_json",
                        "the body must be a JSON object (%s)", req ? "not an object" : je.text);
  }
  struct MHD_Response *r = NULL;
  mn_docs *docs = NULL;
  const char *model = json_string_value(json_object_get(req, "model"));
  json_t *msgs = json_object_get(req, "messages");
  int protocol = model ? mn_protocol_parse(model) : -1;
  if(!model) {
    r = bad(status, "missing_model", "\"model\" is required: minions, minion, remote-only or "
            "local-only");
    goto out;
  }
  if(protocol < 0) {
    *status = 404;
    r = mn_srv_error("invalid_request_error", "model_not_found",
                     "the model '%.60s' does not exist here: use minions, minion, remote-only "
                     "or local-only", model);
    goto out;
  }
  if(!json_is_array(msgs) || json_array_size(msgs) == 0) {
    r = bad(status, "invalid_messages", "\"messages\" must be a non-empty array");
    goto out;
  }
  /* the task: the last user message; documents: every other message */
  size_t task_at = json_array_size(msgs);
  for(size_t i = json_array_size(msgs); i-- > 0;) {
    json_t *m = json_array_get(msgs, i);
    if(!json_is_object(m) || !json_is_string(json_object_get(m, "role"))) {
      r = bad(status, "invalid_messages", "each message needs a \"role\" and a \"content\"");
      goto out;
    }
    if(task_at == json_array_size(msgs) && !strcmp(json_string_value(json_object_get(m, "role")),
                                                   "user"))
      task_at = i;
  }
  char *task = task_at < json_array_size(msgs)
             ? content_text(json_object_get(json_array_get(msgs, task_at), "content")) : NULL;
  if(!task || !*task) {
    free(task);
    r = bad(status, "invalid_messages", "no user message with text: the last user message is "
            "the task");
    goto out;
  }
  mn_docs_new(&docs);
  for(size_t i = 0; i < json_array_size(msgs); i++) {
    if(i == task_at)
      continue;
    json_t *m = json_array_get(msgs, i);
    char *text = content_text(json_object_get(m, "content"));
    if(text && *text) {
      char name[64];
      snprintf(name, sizeof name, "message %zu (%s)", i + 1,
               json_string_value(json_object_get(m, "role")));
      if(mn_docs_add_text(docs, name, text, strlen(text)) != MN_OK) {
        free(text);
        free(task);
        r = bad(status, "invalid_documents", mn_docs_errmsg(docs));
        goto out;
      }
    }
    free(text);
  }
  if(mn_docs_count(docs) == 0) {
    free(task);
    r = bad(status, "no_documents", "no documents: put them in the messages before the "
            "question (the last user message is the task)");
    goto out;
  }
  int stream_on = json_is_true(json_object_get(req, "stream"));
  if(!mn_srv_run_acquire(s)) {
    free(task);
    *status = 429;
    r = mn_srv_error("requests", "rate_limit_exceeded",
                     "%d runs are under way, the most this server runs at once; try again",
                     s->o.max_runs);
    goto out;
  }

  stream *st = NULL;
  mn_run_opts ro = s->run;
  ro.protocol = (mn_protocol)protocol;
  ro.task = task;
  if(stream_on) {
    st = calloc(1, sizeof *st);
    st->s = s;
    completion_id(st->id, sizeof st->id);
    snprintf(st->model, sizeof st->model, "%s", mn_protocol_name((mn_protocol)protocol));
    st->created = (long)time(NULL);
    st->include_usage = json_is_true(json_object_get(json_object_get(req, "stream_options"),
                                                     "include_usage"));
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->more, NULL);
    ro.on_event = on_event;
    ro.event_userdata = st;
  }
  mn_run *run = NULL;
  int rc = mn_run_new(&run, &ro);
  free(task);
  if(rc != MN_OK) {
    *status = rc == MN_EINVAL ? 400 : 500;
    r = mn_srv_error(rc == MN_EINVAL ? "invalid_request_error" : "server_error",
                     mn_strerror(rc), "%s", run ? mn_run_errmsg(run) : mn_strerror(rc));
    mn_run_free(run);
    mn_srv_run_release(s);
    if(st) {
      pthread_mutex_destroy(&st->mu);
      pthread_cond_destroy(&st->more);
      free(st);
    }
    goto out;
  }

  if(st) {
    st->run = run;
    st->docs = docs;
    docs = NULL;
    /* the first event at once: the role, as OpenAI sends it */
    push_chunk(st, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL, NULL);
    if(pthread_create(&st->thread, NULL, stream_run, st) != 0) {
      st->done = 1;
      push(st, "data: [DONE]\n\n", 14);
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_read, st,
                                          stream_free);
    MHD_add_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    *status = 200;
    goto out;
  }

  rc = mn_run_execute(run, docs);
  if(rc == MN_OK) {
    char id[64];
    completion_id(id, sizeof id);
    json_t *choice = json_pack("{s:i,s:{s:s,s:s,s:n},s:n,s:s}", "index", 0, "message", "role",
                               "assistant", "content", mn_run_answer(run), "refusal",
                               "logprobs", "finish_reason", "stop");
    json_t *reply = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o,s:o}", "id", id, "object",
                              "chat.completion", "created", (json_int_t)time(NULL), "model",
                              mn_protocol_name((mn_protocol)protocol), "choices", choice,
                              "usage", usage_json(run), "minions", minions_json(run));
    *status = 200;
    r = mn_srv_json(reply);
  } else {
    *status = 502;
    r = mn_srv_error("server_error", mn_strerror(rc), "the %s run failed: %s",
                     mn_protocol_name((mn_protocol)protocol), mn_run_errmsg(run));
  }
  mn_run_free(run);
  mn_srv_run_release(s);
out:
  mn_docs_free(docs);
  json_decref(req);
  return r;
}
