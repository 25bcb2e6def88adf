/* mn_eval: the evaluation runner (minions.h). Worker threads take
 * questions in dataset order; each loads the question's documents once and
 * runs every protocol still to do on them, scores the answer, appends the
 * result (results.c) and reports progress. Scoring: by figure when the gold
 * answer is one (score.c), else by the LLM judge (judge.c) when there is
 * one, else by normalised text; every score computed is kept with its
 * reason. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "eval/dataset.h"
#include "eval/judge.h"
#include "eval/results.h"
#include "eval/score.h"
#include "eval/summary.h"
#include "llm/prices.h"
#include "minions.h"
#include "mn_prices_builtin.h"
#include "util/mem.h"
#include "util/time.h"

#define MAX_PARALLEL 64
#define DEFAULT_PARALLEL 4

typedef struct worker {
  struct mn_eval *ev;
  pthread_t thread;
  _Atomic(mn_run *) run;     /* the run under way, for cancel */
  atomic_int cancelling;     /* cancel is reading `run`: do not free it */
  _Atomic(mn_judge *) judge; /* made at the first judged answer, freed after
                                the workers end */
} worker;

struct mn_eval {
  mn_eval_opts o;
  mn_run_opts run;           /* copy of *o.run */
  mn_eval_dataset ds;
  mn_results res;
  char *out_dir, *log_dir, *cache_path, *judge_spec, *judge_url;
  double judge_price[3];
  int judge_priced;
  char *errmsg;

  pthread_mutex_t mu;
  pthread_cond_t question_done;
  size_t next;               /* next question to take */
  size_t in_flight;          /* questions being run */
  mn_eval_progress prog;
  size_t questions_done_now; /* questions finished by this invocation */
  volatile sig_atomic_t cancelled;
  int write_error;
  worker *workers;
  int n_workers;
};

static int fail(mn_eval *ev, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(mn_eval *ev, int rc, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  for(char *p = buf; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  free(ev->errmsg);
  ev->errmsg = mn_xstrdup(buf);
  return rc;
}

static int make_dir(const char *path)
{
  if(mkdir(path, 0700) == 0 || errno == EEXIST) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
  }
  return -1;
}

/* The judge's price, from the run's price table; 0 when unknown. */
static int judge_price(mn_eval *ev)
{
  mn_prices *table = NULL;
  char *err = NULL;
  int rc = ev->run.prices_path
    ? mn_prices_load(&table, ev->run.prices_path, &err)
    : mn_prices_parse(&table, (const char *)mn_prices_builtin, sizeof mn_prices_builtin - 1,
                      "built-in price table", &err);
  if(rc) {
    rc = fail(ev, rc, "%s", err ? err : "cannot load the price table");
    free(err);
    return rc;
  }
  const char *colon = strchr(ev->judge_spec, ':');
  if(colon) {
    char *provider = mn_xstrndup(ev->judge_spec, (size_t)(colon - ev->judge_spec));
    const mn_price *p = mn_prices_lookup(table, provider, colon + 1);
    if(p) {
      ev->judge_price[0] = p->input;
      ev->judge_price[1] = p->cached_input;
      ev->judge_price[2] = p->output;
      ev->judge_priced = 1;
    }
    free(provider);
  }
  mn_prices_free(table);
  return MN_OK;
}

/* Options of one run of question q with protocol p. */
static mn_run_opts run_opts(mn_eval *ev, const mn_eval_item *q, mn_protocol p, double cap)
{
  mn_run_opts r = ev->run;
  r.protocol = p;
  r.task = q->question;
  r.log_path = NULL;
  r.log_dir = ev->log_dir;
  r.on_event = NULL;
  r.event_userdata = NULL;
  r.cache_path = ev->cache_path;
  r.max_cost_usd = cap;
  return r;
}

int mn_eval_new(mn_eval **out, const mn_eval_opts *opts)
{
  mn_eval *ev = mn_xcalloc(1, sizeof *ev);
  *out = ev;
  pthread_mutex_init(&ev->mu, NULL);
  pthread_cond_init(&ev->question_done, NULL);
  ev->res.fd = -1;
  if(!opts || opts->version != MN_EVAL_OPTS_VERSION)
    return fail(ev, MN_EINVAL, "mn_eval_opts version %u is not one this library (%s) knows; "
                "start from MN_EVAL_OPTS_INIT", opts ? opts->version : 0, mn_version());
  ev->o = *opts;
  if(!opts->dataset || !opts->out_dir || !opts->run)
    return fail(ev, MN_EINVAL, "an evaluation needs a dataset, an output folder and run options");
  if(!opts->protocols || opts->n_protocols == 0)
    return fail(ev, MN_EINVAL, "an evaluation needs at least one protocol");
  for(size_t i = 0; i < opts->n_protocols; i++)
    for(size_t k = 0; k < i; k++)
      if(opts->protocols[i] == opts->protocols[k])
        return fail(ev, MN_EINVAL, "protocol %s is listed twice", mn_protocol_name(opts->protocols[i]));
  if(opts->parallel < 0 || opts->parallel > MAX_PARALLEL)
    return fail(ev, MN_EINVAL, "parallel questions must be between 1 and %d, got %d", MAX_PARALLEL,
                opts->parallel);
  if(opts->max_cost_usd < 0 || opts->tolerance < 0 || opts->tolerance >= 1)
    return fail(ev, MN_EINVAL, "the spend cap must be >= 0 and the tolerance in [0, 1)");
  ev->run = *opts->run;
  if(ev->run.version != MN_RUN_OPTS_VERSION)
    return fail(ev, MN_EINVAL, "mn_run_opts version %u: the evaluation needs version %d",
                ev->run.version, MN_RUN_OPTS_VERSION);
  if(!ev->o.parallel)
    ev->o.parallel = DEFAULT_PARALLEL;
  if(ev->o.tolerance == 0)
    ev->o.tolerance = MN_SCORE_TOLERANCE;

  ev->out_dir = mn_xstrdup(opts->out_dir);
  if(make_dir(ev->out_dir) != 0)
    return fail(ev, MN_EIO, "%s: cannot make the output folder: %s", ev->out_dir, strerror(errno));
  ev->log_dir = mn_xasprintf("%s/logs", ev->out_dir);
  if(make_dir(ev->log_dir) != 0)
    return fail(ev, MN_EIO, "%s: cannot make the log folder: %s", ev->log_dir, strerror(errno));
  if(!opts->cache_path)
    ev->cache_path = mn_xasprintf("%s/cache.sqlite", ev->out_dir);
  else if(*opts->cache_path)
    ev->cache_path = mn_xstrdup(opts->cache_path);

  /* the judge: the remote model unless told otherwise */
  if(opts->judge_spec && strcmp(opts->judge_spec, "none") != 0) {
    ev->judge_spec = mn_xstrdup(opts->judge_spec);
    ev->judge_url = opts->judge_url ? mn_xstrdup(opts->judge_url) : NULL;
  } else if(!opts->judge_spec && ev->run.remote_spec) {
    ev->judge_spec = mn_xstrdup(ev->run.remote_spec);
    const char *u = opts->judge_url ? opts->judge_url : ev->run.remote_url;
    ev->judge_url = u ? mn_xstrdup(u) : NULL;
  }
  if(ev->judge_spec) {
    int rc = judge_price(ev);
    if(rc)
      return rc;
    if(ev->o.max_cost_usd > 0 && !ev->judge_priced)
      return fail(ev, MN_EINVAL, "--max-cost needs the judge's price, and %s is not in the price "
                  "table (give --prices, or --judge none)", ev->judge_spec);
    mn_judge *probe = NULL;
    char *err = NULL;
    rc = mn_judge_new(&probe, ev->judge_spec, ev->judge_url, &ev->run, NULL, &err);
    mn_judge_free(probe);
    if(rc) {
      rc = fail(ev, rc, "%s", err ? err : "the judge cannot be used");
      free(err);
      return rc;
    }
  }

  /* every protocol's options are checked now, not at its first question */
  for(size_t i = 0; i < opts->n_protocols; i++) {
    mn_eval_item probe_q = { .question = "probe" };
    mn_run_opts ro = run_opts(ev, &probe_q, opts->protocols[i], ev->o.max_cost_usd);
    mn_run *r = NULL;
    int rc = mn_run_new(&r, &ro);
    if(rc) {
      rc = fail(ev, rc, "%s: %s", mn_protocol_name(opts->protocols[i]),
                r ? mn_run_errmsg(r) : mn_strerror(rc));
      mn_run_free(r);
      return rc;
    }
    mn_run_free(r);
  }

  char *err = NULL;
  int rc = mn_eval_dataset_load(opts->dataset, opts->docs_dir, &ev->ds, &err);
  if(rc) {
    rc = fail(ev, rc, "%s", err);
    free(err);
    return rc;
  }
  if(opts->limit)
    mn_eval_dataset_keep(&ev->ds, opts->limit);
  char *rpath = mn_xasprintf("%s/results.jsonl", ev->out_dir);
  rc = mn_results_open(&ev->res, rpath, &err);
  free(rpath);
  if(rc) {
    rc = fail(ev, rc, "%s", err);
    free(err);
    return rc;
  }
  ev->prog.total = ev->ds.n * opts->n_protocols;
  for(size_t q = 0; q < ev->ds.n; q++)
    for(size_t i = 0; i < opts->n_protocols; i++) {
      json_t *row = mn_results_find(&ev->res, ev->ds.items[q].id, mn_protocol_name(opts->protocols[i]));
      json_t *e = row ? json_object_get(row, "error") : NULL;
      if(row && (!e || json_is_null(e))) {
        ev->prog.done++;
        ev->prog.resumed++;
        ev->prog.correct += json_integer_value(json_object_get(row, "score")) == 1;
      }
    }
  return MN_OK;
}

static int finished(mn_eval *ev, const mn_eval_item *q, mn_protocol p)
{
  json_t *row = mn_results_find(&ev->res, q->id, mn_protocol_name(p));
  json_t *e = row ? json_object_get(row, "error") : NULL;
  return row && (!e || json_is_null(e));
}

static json_t *usage_json(const mn_usage *u)
{
  return json_pack("{s:I,s:I,s:I,s:I,s:I}", "prompt_tokens", (json_int_t)u->prompt_tokens,
                   "completion_tokens", (json_int_t)u->completion_tokens,
                   "cached_prompt_tokens", (json_int_t)u->cached_prompt_tokens,
                   "calls", (json_int_t)u->calls, "unreported_calls",
                   (json_int_t)u->unreported_calls);
}

/* Score answer against q's gold into row; returns the judge's cost. */
static double score_into(worker *w, const mn_eval_item *q, const char *answer, json_t *row)
{
  mn_eval *ev = w->ev;
  char reason[MN_SCORE_REASON_MAX];
  json_t *scores = json_object();
  double cost = 0;
  int numeric = mn_score_numeric(answer, q->gold, ev->o.tolerance, reason);
  if(numeric >= 0)
    json_object_set_new(scores, "numeric", json_pack("{s:i,s:s}", "score", numeric, "reason", reason));
  int exact = mn_score_exact(answer, q->gold, reason);
  json_object_set_new(scores, "exact", json_pack("{s:i,s:s}", "score", exact, "reason", reason));
  const char *method;
  int score;
  if(numeric >= 0 && mn_score_gold_is_numeric(q->gold)) {
    method = "numeric";
    score = numeric;
  } else if(ev->judge_spec) {
    mn_judge *judge = atomic_load(&w->judge);
    if(!judge) {
      char *err = NULL;
      if(mn_judge_new(&judge, ev->judge_spec, ev->judge_url, &ev->run,
                      ev->judge_priced ? ev->judge_price : NULL, &err) == MN_OK) {
        atomic_store(&w->judge, judge);
      } else {
        json_object_set_new(scores, "judge", json_pack("{s:n,s:s}", "score", "reason",
                                                       err ? err : "judge unavailable"));
        free(err);
      }
    }
    int ok = 0;
    if(judge) {
      char *why = NULL;
      mn_usage u;
      int rc = mn_judge_grade(judge, q->question, q->gold, answer, &ok, &why, &cost, &u);
      json_object_set_new(scores, "judge", rc == MN_OK
        ? json_pack("{s:i,s:s,s:o}", "score", ok, "reason", why, "usage", usage_json(&u))
        : json_pack("{s:n,s:s}", "score", "reason", why));
      if(rc != MN_OK)
        ok = -1;
      free(why);
    }
    method = "judge";
    score = judge ? ok : -1;
  } else {
    method = "exact";
    score = exact;
  }
  json_t *chosen = json_object_get(scores, method);
  json_object_set_new(row, "method", json_string(method));
  json_object_set_new(row, "score", score >= 0 ? json_integer(score) : json_null());
  json_object_set(row, "reason", json_object_get(chosen, "reason"));
  json_object_set_new(row, "scores", scores);
  return cost;
}

/* One run of question q (documents loaded) with protocol p. */
static void run_one(worker *w, const mn_eval_item *q, const mn_docs *docs, const char *doc_error,
                    mn_protocol p)
{
  mn_eval *ev = w->ev;
  pthread_mutex_lock(&ev->mu);
  double cap = 0;
  if(ev->o.max_cost_usd > 0)
    cap = ev->o.max_cost_usd - ev->prog.spend_usd > 0 ? ev->o.max_cost_usd - ev->prog.spend_usd
                                                      : 1e-9;
  pthread_mutex_unlock(&ev->mu);

  json_t *row = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s}", "id", q->id, "protocol",
                          mn_protocol_name(p), "local", ev->run.local_spec, "remote",
                          ev->run.remote_spec, "question", q->question, "gold", q->gold);
  double t0 = mn_now(), spent = 0;
  mn_run_opts ro = run_opts(ev, q, p, cap);
  mn_run *run = NULL;
  int rc = doc_error ? MN_EIO : mn_run_new(&run, &ro);
  if(rc == MN_OK) {
    atomic_store(&w->run, run);
    if(ev->cancelled)
      mn_run_cancel(run);
    rc = mn_run_execute(run, docs);
    atomic_store(&w->run, NULL);
    while(atomic_load(&w->cancelling))
      ;   /* mn_eval_cancel is between its load and its mn_run_cancel */
  }
  const char *answer = run && rc == MN_OK ? mn_run_answer(run) : NULL;
  json_object_set_new(row, "answer", answer ? json_string(answer) : json_null());
  json_object_set_new(row, "error", rc == MN_OK ? json_null()
    : json_string(doc_error ? doc_error : run ? mn_run_errmsg(run) : mn_strerror(rc)));
  json_object_set_new(row, "error_code", rc == MN_OK ? json_null() : json_integer(rc));
  mn_usage ur = { 0 }, ul = { 0 };
  double cost = -1;
  uint64_t hits = 0, misses = 0;
  if(run) {
    mn_run_usage(run, &ur, &ul);
    cost = mn_run_cost_usd(run);
    mn_run_cache_stats(run, &hits, &misses);
    const char *log = mn_run_log_file(run);
    json_object_set_new(row, "log_file", log ? json_string(log) : json_null());
  }
  json_object_set_new(row, "usage", json_pack("{s:o,s:o}", "remote", usage_json(&ur), "local",
                                              usage_json(&ul)));
  json_object_set_new(row, "cost_usd", cost >= 0 ? json_real(cost) : json_null());
  json_object_set_new(row, "cache_hits", json_integer((json_int_t)hits));
  json_object_set_new(row, "cache_misses", json_integer((json_int_t)misses));
  /* money spent now: what the cache answered cost nothing again */
  if(run && mn_run_paid_usd(run) > 0)
    spent = mn_run_paid_usd(run);
  double judge_cost = 0;
  if(answer)
    judge_cost = score_into(w, q, answer, row);
  else
    json_object_set_new(row, "score", rc == MN_OK ? json_integer(0) : json_null());
  json_object_set_new(row, "judge_cost_usd", json_real(judge_cost));
  json_object_set_new(row, "time_s", json_real(mn_now() - t0));
  json_object_set_new(row, "finished_at", json_integer((json_int_t)time(NULL)));
  mn_run_free(run);

  int correct = json_integer_value(json_object_get(row, "score")) == 1;
  pthread_mutex_lock(&ev->mu);
  char *err = NULL;
  if(!ev->cancelled || rc != MN_ECANCELLED) {   /* a cancelled run stays to do */
    if(mn_results_append(&ev->res, row, &err) != MN_OK && !ev->write_error) {
      ev->write_error = 1;
      fail(ev, MN_EIO, "%s", err);
      ev->cancelled = 1;
    }
    free(err);
    ev->prog.done++;
    ev->prog.correct += correct;
    ev->prog.failed += rc != MN_OK;
  } else {
    json_decref(row);
  }
  ev->prog.spend_usd += spent + judge_cost;
  char last[300];
  snprintf(last, sizeof last, "%s %s", q->id, mn_protocol_name(p));
  ev->prog.last = last;
  if(ev->o.on_progress)
    ev->o.on_progress(&ev->prog, ev->o.progress_userdata);
  ev->prog.last = NULL;
  pthread_mutex_unlock(&ev->mu);
}

/* Take the next question with something left to run, or NULL. With a
 * spend cap a question starts only while the spend, plus the mean cost of
 * a question for it and for each one under way, stays within the cap; the
 * first question runs alone, so that there is a mean to go by. */
static const mn_eval_item *take(mn_eval *ev)
{
  const mn_eval_item *q = NULL;
  pthread_mutex_lock(&ev->mu);
  while(!q && !ev->cancelled && !ev->prog.budget_stop && ev->next < ev->ds.n) {
    const mn_eval_item *c = &ev->ds.items[ev->next];
    int todo = 0;
    for(size_t i = 0; i < ev->o.n_protocols; i++)
      todo |= !finished(ev, c, ev->o.protocols[i]);
    if(!todo) {
      ev->next++;
      continue;
    }
    if(ev->o.max_cost_usd > 0) {
      if(ev->questions_done_now == 0 && ev->in_flight > 0) {
        pthread_cond_wait(&ev->question_done, &ev->mu);
        continue;
      }
      double mean = ev->questions_done_now ? ev->prog.spend_usd / (double)ev->questions_done_now : 0;
      if(ev->prog.spend_usd + mean * (double)(ev->in_flight + 1) > ev->o.max_cost_usd) {
        ev->prog.budget_stop = 1;
        break;
      }
    }
    q = c;
    ev->next++;
    ev->in_flight++;
  }
  pthread_mutex_unlock(&ev->mu);
  return q;
}

static void *work(void *arg)
{
  worker *w = arg;
  mn_eval *ev = w->ev;
  const mn_eval_item *q;
  while((q = take(ev)) != NULL) {
    mn_docs *docs = NULL;
    char *doc_error = NULL;
    mn_docs_new(&docs);
    for(size_t i = 0; i < q->n_paths && !doc_error; i++)
      if(mn_docs_add_path(docs, q->paths[i]) != MN_OK)
        doc_error = mn_xstrdup(mn_docs_errmsg(docs));
    for(size_t i = 0; i < q->n_texts && !doc_error; i++) {
      char name[32];
      snprintf(name, sizeof name, "text %zu", i + 1);
      if(mn_docs_add_text(docs, name, q->texts[i], strlen(q->texts[i])) != MN_OK)
        doc_error = mn_xstrdup(mn_docs_errmsg(docs));
    }
    for(size_t i = 0; i < ev->o.n_protocols && !ev->cancelled; i++) {
      pthread_mutex_lock(&ev->mu);
      int done = finished(ev, q, ev->o.protocols[i]);
      pthread_mutex_unlock(&ev->mu);
      if(!done)
        run_one(w, q, docs, doc_error, ev->o.protocols[i]);
    }
    mn_docs_free(docs);
    free(doc_error);
    pthread_mutex_lock(&ev->mu);
    ev->questions_done_now++;
    ev->in_flight--;
    pthread_cond_broadcast(&ev->question_done);
    pthread_mutex_unlock(&ev->mu);
  }
  pthread_mutex_lock(&ev->mu);
  pthread_cond_broadcast(&ev->question_done);   /* a waiter may be the last one left */
  pthread_mutex_unlock(&ev->mu);
  return NULL;
}

int mn_eval_execute(mn_eval *ev)
{
  if(!ev || !ev->ds.n)
    return ev ? fail(ev, MN_EINVAL, "the evaluation was not set up") : MN_EINVAL;
  int n = ev->o.parallel;
  if((size_t)n > ev->ds.n)
    n = (int)ev->ds.n;
  ev->workers = mn_xcalloc((size_t)n, sizeof *ev->workers);
  ev->n_workers = 0;
  for(int i = 0; i < n; i++) {
    ev->workers[i].ev = ev;
    if(pthread_create(&ev->workers[i].thread, NULL, work, &ev->workers[i]) != 0)
      break;
    ev->n_workers++;
  }
  if(ev->n_workers == 0)
    return fail(ev, MN_ENOMEM, "cannot start the evaluation's threads");
  for(int i = 0; i < ev->n_workers; i++)
    pthread_join(ev->workers[i].thread, NULL);
  /* from here on no worker runs: cancel finds none */
  int nw = ev->n_workers;
  ev->n_workers = 0;
  for(int i = 0; i < nw; i++)
    mn_judge_free(atomic_exchange(&ev->workers[i].judge, NULL));
  if(ev->write_error)
    return MN_EIO;

  mn_summary_note note = { ev->prog.budget_stop, ev->o.max_cost_usd, ev->prog.spend_usd, ev->ds.n };
  char *err = NULL;
  int rc = mn_summary_write(ev->out_dir, ev->res.rows, ev->res.n, &note, &err);
  if(rc) {
    rc = fail(ev, rc, "%s", err);
    free(err);
    return rc;
  }
  return ev->cancelled ? fail(ev, MN_ECANCELLED, "the evaluation was interrupted; run it again "
                                                  "to continue") : MN_OK;
}

void mn_eval_cancel(mn_eval *ev)
{
  if(!ev)
    return;
  ev->cancelled = 1;
  for(int i = 0; i < ev->n_workers; i++) {
    worker *w = &ev->workers[i];
    atomic_store(&w->cancelling, 1);
    mn_run *r = atomic_load(&w->run);
    if(r)
      mn_run_cancel(r);
    mn_judge_cancel(atomic_load(&w->judge));
    atomic_store(&w->cancelling, 0);
  }
}

void mn_eval_get_progress(const mn_eval *ev, mn_eval_progress *out)
{
  pthread_mutex_lock((pthread_mutex_t *)&ev->mu);
  *out = ev->prog;
  out->last = NULL;
  pthread_mutex_unlock((pthread_mutex_t *)&ev->mu);
}

const char *mn_eval_errmsg(const mn_eval *ev)
{
  return ev && ev->errmsg ? ev->errmsg : "";
}

void mn_eval_free(mn_eval *ev)
{
  if(!ev)
    return;
  mn_eval_dataset_free(&ev->ds);
  if(ev->res.path)
    mn_results_close(&ev->res);
  free(ev->out_dir);
  free(ev->log_dir);
  free(ev->cache_path);
  free(ev->judge_spec);
  free(ev->judge_url);
  free(ev->errmsg);
  free(ev->workers);
  pthread_cond_destroy(&ev->question_done);
  pthread_mutex_destroy(&ev->mu);
  free(ev);
}
