/* Retrieval by embeddings: rank each task's chunks by cosine similarity
 * between the task's embedding and the chunks', and keep the best k.
 * Embeddings come from the local side: Ollama's /api/embed or an
 * OpenAI-compatible /v1/embeddings endpoint. Exact (brute-force) cosine:
 * with a few thousand chunks it costs less than one model call. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm/client.h"
#include "protocol/jobs.h"
#include "protocol/run_internal.h"
#include "util/mem.h"
#include "util/time.h"

#define EMBED_BATCH 64          /* texts per request */
#define EMBED_MAX_DIM 16384

typedef struct embed_batch {
  mn_run *run;
  int ollama;
  size_t count;         /* texts in this batch */
  float *vecs;          /* count * dim unit vectors, once answered */
  size_t dim;
  char *error;
} embed_batch;

static void embed_done(void *ud, const mn_http_result *res)
{
  embed_batch *e = ud;
  if(res->code != MN_OK) {
    e->error = mn_xasprintf("embedding request failed: %s",
                            res->error ? res->error : mn_strerror(res->code));
    return;
  }
  json_t *root = mn_json_loadb(res->body, res->body_len, NULL);
  const json_t *list = root ? json_object_get(root, e->ollama ? "embeddings" : "data") : NULL;
  if(!json_is_array(list) || json_array_size(list) != e->count) {
    e->error = mn_xstrdup("the embedding reply has no vector list of the expected length");
    json_decref(root);
    return;
  }
  for(size_t i = 0; i < e->count && !e->error; i++) {
    const json_t *item = json_array_get(list, i);
    size_t at = i;
    if(!e->ollama) {
      const json_t *idx = json_object_get(item, "index");
      if(json_is_integer(idx) && json_integer_value(idx) >= 0 &&
         (size_t)json_integer_value(idx) < e->count)
        at = (size_t)json_integer_value(idx);
      item = json_object_get(item, "embedding");
    }
    size_t dim = json_array_size(item);
    if(!json_is_array(item) || dim == 0 || dim > EMBED_MAX_DIM || (e->dim && dim != e->dim)) {
      e->error = mn_xstrdup("the embedding reply has vectors of a wrong or varying size");
      break;
    }
    if(!e->vecs) {
      e->dim = dim;
      e->vecs = mn_xcalloc(e->count * dim, sizeof *e->vecs);
    }
    float *dst = e->vecs + at * dim;
    double norm = 0;
    for(size_t k = 0; k < dim; k++) {
      double v = json_number_value(json_array_get(item, k));
      dst[k] = (float)v;
      norm += v * v;
    }
    if(norm > 0) {
      float inv = (float)(1.0 / sqrt(norm));
      for(size_t k = 0; k < dim; k++)
        dst[k] *= inv;
    }
  }
  mn_usage u = { .calls = 1 };
  u.prompt_tokens = e->ollama ? mn_json_path_u64(root, "prompt_eval_count")
                              : mn_json_path_u64(root, "usage.prompt_tokens");
  mn_proto_add_usage(e->run, MN_SIDE_LOCAL, &u);
  json_decref(root);
}

/* The embeddings endpoint URL for the run's embedding spec, and the
 * provider's key; returns 0 or an error (run message set). */
static int embed_endpoint(mn_run *run, char **url, char **auth, char **model, int *ollama)
{
  const mn_run_opts *o = &run->opts;
  const char *spec = o->embed_spec;
  const char *colon = spec ? strchr(spec, ':') : NULL;
  if(!colon || colon == spec || !colon[1])
    return mn_proto_fail(run, MN_EINVAL, "retrieval 'embedding' needs --embed-model PROVIDER:MODEL "
                       "(ollama or openai-compatible)");
  char *prov = mn_xstrndup(spec, (size_t)(colon - spec));
  const mn_provider *p = mn_provider_find(prov);
  if(!p || (p->wire != MN_WIRE_OLLAMA && p->wire != MN_WIRE_OPENAI)) {
    int rc = mn_proto_fail(run, MN_EUNSUPPORTED, "embedding provider '%s' is not supported "
                         "(use ollama or an OpenAI-compatible one)", prov);
    free(prov);
    return rc;
  }
  free(prov);
  *ollama = p->wire == MN_WIRE_OLLAMA;
  const char *env = p->url_env ? getenv(p->url_env) : NULL;
  const char *base = o->embed_url ? o->embed_url
                   : o->n_local_urls ? o->local_urls[0]
                   : env && *env ? env : p->default_url;
  size_t bl = strlen(base);
  while(bl && base[bl - 1] == '/')
    bl--;
  if(strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
    *url = NULL;
  else if(*ollama)
    *url = mn_xasprintf("%.*s/api/embed", (int)bl, base);
  else if(bl >= 3 && !strncmp(base + bl - 3, "/v1", 3))
    *url = mn_xasprintf("%.*s/embeddings", (int)bl, base);
  else
    *url = mn_xasprintf("%.*s/v1/embeddings", (int)bl, base);
  if(!*url)
    return mn_proto_fail(run, MN_EINVAL, "embedding URL must start with http:// or https://");
  const char *key = p->key_env ? getenv(p->key_env) : NULL;
  *auth = key && *key ? mn_xasprintf("Authorization: Bearer %s", key) : NULL;
  *model = mn_xstrdup(colon + 1);
  return MN_OK;
}

/* Unit vectors of texts[0..n): n * *dim floats (caller frees). */
static int embed_texts(mn_run *run, const char *const *texts, size_t n, float **out, size_t *dim)
{
  char *url = NULL, *auth = NULL, *model = NULL;
  int ollama = 0;
  int rc = embed_endpoint(run, &url, &auth, &model, &ollama);
  if(rc)
    return rc;
  const char *headers[] = { "Content-Type: application/json", auth, NULL };
  mn_http_endpoint *ep = mn_http_endpoint_new(run->http, url, run->opts.local_parallel);
  size_t nb = (n + EMBED_BATCH - 1) / EMBED_BATCH;
  embed_batch *b = mn_xcalloc(nb ? nb : 1, sizeof *b);
  for(size_t i = 0; i < nb; i++) {
    size_t first = i * EMBED_BATCH;
    b[i] = (embed_batch){ .run = run, .ollama = ollama,
                          .count = n - first < EMBED_BATCH ? n - first : EMBED_BATCH };
    json_t *input = json_array();
    for(size_t k = 0; k < b[i].count; k++)
      json_array_append_new(input, json_string(texts[first + k]));
    json_t *body = json_pack("{s:s, s:o}", "model", model, "input", input);
    char *text = mn_json_dump(body);
    json_decref(body);
    mn_http_req hr = { .endpoint = ep, .method = "POST", .url = url, .headers = headers,
                       .body = text, .body_len = strlen(text), .on_done = embed_done,
                       .userdata = &b[i] };
    rc = mn_http_submit(run->http, &hr);
    free(text);
    if(rc)
      break;
  }
  double t0 = mn_now();
  int hrc = mn_http_run(run->http);
  run->call_time[MN_SIDE_LOCAL] += mn_now() - t0;
  *dim = nb ? b[0].dim : 0;
  float *all = NULL;
  if(rc == MN_OK && (hrc == MN_ECANCELLED || run->cancelled))
    rc = mn_proto_fail(run, MN_ECANCELLED, "cancelled");
  for(size_t i = 0; rc == MN_OK && i < nb; i++)
    if(b[i].error || !b[i].vecs || b[i].dim != *dim)
      rc = mn_proto_fail(run, MN_EPARSE, "%s (%s)", b[i].error ? b[i].error
                       : "embedding vectors of varying sizes", run->opts.embed_spec);
  if(rc == MN_OK) {
    all = mn_xmalloc((n ? n : 1) * *dim * sizeof *all);
    for(size_t i = 0; i < nb; i++)
      memcpy(all + i * EMBED_BATCH * *dim, b[i].vecs, b[i].count * *dim * sizeof *all);
  }
  for(size_t i = 0; i < nb; i++) {
    free(b[i].vecs);
    free(b[i].error);
  }
  free(b);
  free(url);
  free(auth);
  free(model);
  *out = all;
  return rc;
}

typedef struct scored {
  size_t job;
  float score;
} scored;

static int by_score_desc(const void *a, const void *b)
{
  const scored *x = a, *y = b;
  if(x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return x->job < y->job ? -1 : x->job > y->job;
}

static int by_job(const void *a, const void *b)
{
  const scored *x = a, *y = b;
  return x->job < y->job ? -1 : x->job > y->job;
}

int mn_proto_embed_filter(mn_run *run, mn_job_list *jobs)
{
  mn_jobs_number(jobs);   /* ids say which texts are distinct */
  int ntasks = 0, nchunks = 0;
  for(size_t i = 0; i < jobs->n; i++) {
    if(jobs->v[i].task_id >= ntasks)
      ntasks = jobs->v[i].task_id + 1;
    if(jobs->v[i].chunk_id >= nchunks)
      nchunks = jobs->v[i].chunk_id + 1;
  }
  /* one text per distinct task, then per distinct chunk */
  const char **texts = mn_xcalloc((size_t)(ntasks + nchunks) + 1, sizeof *texts);
  for(size_t i = 0; i < jobs->n; i++) {
    texts[jobs->v[i].task_id] = jobs->v[i].task;
    texts[ntasks + jobs->v[i].chunk_id] = jobs->v[i].chunk;
  }
  float *vec = NULL;
  size_t dim = 0;
  int rc = embed_texts(run, texts, (size_t)(ntasks + nchunks), &vec, &dim);
  free(texts);
  if(rc)
    return rc;

  scored *s = mn_xcalloc(jobs->n + 1, sizeof *s);
  char *keep = mn_xcalloc(jobs->n + 1, 1);
  for(int t = 0; t < ntasks; t++) {
    size_t m = 0;
    for(size_t i = 0; i < jobs->n; i++) {
      if(jobs->v[i].task_id != t)
        continue;
      const float *a = vec + (size_t)t * dim;
      const float *c = vec + (size_t)(ntasks + jobs->v[i].chunk_id) * dim;
      float dot = 0;
      for(size_t k = 0; k < dim; k++)
        dot += a[k] * c[k];
      s[m++] = (scored){ i, dot };
    }
    qsort(s, m, sizeof *s, by_score_desc);
    size_t k = (size_t)run->opts.retrieval_k < m ? (size_t)run->opts.retrieval_k : m;
    qsort(s, k, sizeof *s, by_job);  /* document order among the kept */
    for(size_t i = 0; i < k; i++)
      keep[s[i].job] = 1;
  }
  size_t w = 0;
  for(size_t i = 0; i < jobs->n; i++) {
    if(keep[i]) {
      jobs->v[w++] = jobs->v[i];
    } else {  /* not run yet: only its texts to free */
      free(jobs->v[i].task);
      free(jobs->v[i].advice);
      free(jobs->v[i].chunk);
    }
  }
  jobs->n = w;
  free(keep);
  free(s);
  free(vec);
  return MN_OK;
}
