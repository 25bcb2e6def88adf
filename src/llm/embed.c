/* Embeddings: Ollama's POST {base}/api/embed ({"model","input":[...]} ->
 * {"embeddings":[[...]],"prompt_eval_count"}) and the OpenAI-compatible
 * POST {base}/embeddings ({"model","input":[...]} ->
 * {"data":[{"index","embedding":[...]}],"usage":{"prompt_tokens"}}),
 * EMBED_BATCH texts a request, the requests spread over the client's
 * endpoints. Vectors come back scaled to unit length. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "llm/client_internal.h"
#include "util/json.h"
#include "util/mem.h"

#define EMBED_BATCH 64          /* texts per request */
#define EMBED_MAX_DIM 16384

typedef struct embed_part {
  int ollama;
  size_t count;         /* texts in this request */
  float *vecs;          /* count * dim unit vectors, once answered */
  size_t dim;
  mn_usage usage;
  char *error;
  mn_cache *cache;      /* where a live reply is stored, with key */
  mn_cache_key key;
  int cached;           /* answered from the cache */
} embed_part;

/* The vectors of one reply into e->vecs; NULL or the reason it is unusable. */
static const char *read_vectors(embed_part *e, const json_t *root)
{
  const json_t *list = json_object_get(root, e->ollama ? "embeddings" : "data");
  if(!json_is_array(list) || json_array_size(list) != e->count)
    return "the embedding reply has no vector list of the expected length";
  for(size_t i = 0; i < e->count; i++) {
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
    if(!json_is_array(item) || dim == 0 || dim > EMBED_MAX_DIM || (e->dim && dim != e->dim))
      return "the embedding reply has vectors of a wrong or varying size";
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
    if(norm > 0 && isfinite(norm)) {
      float inv = (float)(1.0 / sqrt(norm));
      for(size_t k = 0; k < dim; k++)
        dst[k] *= inv;
    }
  }
  return NULL;
}

static void part_done(void *ud, const mn_http_result *res)
{
  embed_part *e = ud;
  if(res->code != MN_OK) {
    e->error = mn_xasprintf("embedding request failed: %s",
                            res->error ? res->error : mn_strerror(res->code));
    return;
  }
  json_t *root = mn_json_loadb(res->body, res->body_len, NULL);
  const char *why = root ? read_vectors(e, root) : "the embedding reply is not JSON";
  if(why)
    e->error = mn_xstrdup(why);
  e->usage.calls = 1;
  e->usage.prompt_tokens = e->ollama ? mn_json_path_u64(root, "prompt_eval_count")
                                     : mn_json_path_u64(root, "usage.prompt_tokens");
  json_decref(root);
}

static char *part_url(const mn_client *c, const embed_part *e, size_t epi)
{
  return mn_xasprintf("%s%s", c->eps[epi].base, e->ollama ? "/api/embed" : "/embeddings");
}

/* A live reply that was usable goes into the cache. */
static void part_done_live(void *ud, const mn_http_result *res)
{
  embed_part *e = ud;
  part_done(ud, res);
  if(!e->error && e->cache)
    mn_cache_put(e->cache, &e->key, "application/json", res->body, res->body_len);
}

/* 1 when a reply stored for one of the client's endpoints answers e; it
 * is read as a live reply is. */
static int part_from_cache(mn_client *c, embed_part *e, const char *canon, size_t canon_len)
{
  for(size_t i = 0; i < c->n_eps; i++) {
    char *url = part_url(c, e, i);
    mn_cache_key key;
    mn_cache_entry ent;
    mn_cache_key_make(&key, "POST", url, c->model, 0, canon, canon_len);
    free(url);
    int found = mn_cache_get(c->llm->cache, &key, &ent);
    mn_cache_key_free(&key);
    if(!found)
      continue;
    mn_http_result res = { .code = MN_OK, .status = 200, .body = ent.body,
                           .body_len = ent.body_len };
    part_done(e, &res);
    mn_cache_entry_free(&ent);
    if(!e->error)
      return 1;
    free(e->error);   /* unusable now: asked again */
    free(e->vecs);
    *e = (embed_part){ .ollama = e->ollama, .count = e->count };
  }
  return 0;
}

static int submit_part(mn_client *c, embed_part *e, const char *const *texts,
                       const char *const *headers, size_t epi)
{
  json_t *input = json_array();
  for(size_t k = 0; k < e->count; k++)
    json_array_append_new(input, json_string(texts[k]));
  json_t *body = json_pack("{s:s, s:o}", "model", c->model, "input", input);
  char *text = mn_json_dump(body);
  json_decref(body);
  char *url = part_url(c, e, epi);
  mn_cache *cache = c->llm->cache;
  if(cache) {
    size_t canon_len = 0;
    char *canon = mn_cache_canonical_body(text, strlen(text), &canon_len);
    if(canon && part_from_cache(c, e, canon, canon_len)) {
      e->cached = 1;
      mn_cache_count(cache, 1);
      free(canon);
      free(url);
      free(text);
      return MN_OK;
    }
    if(canon) {
      e->cache = cache;
      mn_cache_key_make(&e->key, "POST", url, c->model, 0, canon, canon_len);
    }
    free(canon);
  }
  mn_http_req hr = { .endpoint = c->eps[epi].h, .method = "POST", .url = url,
                     .headers = headers, .body = text, .body_len = strlen(text),
                     .on_done = part_done_live, .userdata = e };
  int rc = mn_http_submit(c->llm->http, &hr);
  if(rc == MN_OK && cache)
    mn_cache_count(cache, 0);
  free(url);
  free(text);
  return rc;
}

int mn_client_embed(mn_client *c, const char *const *texts, size_t n, float **out,
                    size_t *dim, mn_usage *usage, size_t *cached, char **errmsg)
{
  *out = NULL;
  *dim = 0;
  *errmsg = NULL;
  if(cached)
    *cached = 0;
  int ollama = c->prov->wire == MN_WIRE_OLLAMA;
  if(!ollama && c->prov->wire != MN_WIRE_OPENAI) {
    *errmsg = mn_xasprintf("%s has no embeddings endpoint we speak (use ollama or an "
                           "OpenAI-compatible provider)", c->prov->name);
    return MN_EUNSUPPORTED;
  }
  char *auth = c->key ? mn_xasprintf("Authorization: Bearer %s", c->key) : NULL;
  const char *headers[] = { "Content-Type: application/json", auth, NULL };
  size_t np = (n + EMBED_BATCH - 1) / EMBED_BATCH;
  embed_part *parts = mn_xcalloc(np ? np : 1, sizeof *parts);
  int rc = MN_OK;
  for(size_t i = 0; i < np && rc == MN_OK; i++) {
    size_t first = i * EMBED_BATCH;
    parts[i] = (embed_part){ .ollama = ollama,
                             .count = n - first < EMBED_BATCH ? n - first : EMBED_BATCH };
    rc = submit_part(c, &parts[i], texts + first, headers, i % c->n_eps);
  }
  int hrc = mn_http_run(c->llm->http);
  if(auth) {
    memset(auth, 0, strlen(auth));
    free(auth);
  }
  if(rc)
    *errmsg = mn_xasprintf("%s: the transport refused an embedding request (%s)",
                           c->prov->name, mn_strerror(rc));
  else if(hrc == MN_ECANCELLED)
    rc = MN_ECANCELLED;
  for(size_t i = 0; i < np; i++) {
    usage->calls += parts[i].usage.calls;
    usage->prompt_tokens += parts[i].usage.prompt_tokens;
    if(cached)
      *cached += (size_t)parts[i].cached;
  }
  for(size_t i = 0; rc == MN_OK && i < np; i++) {
    if(parts[i].error || !parts[i].vecs || parts[i].dim != parts[0].dim) {
      char *why = parts[i].error ? parts[i].error : "embedding vectors of varying sizes";
      *errmsg = mn_xasprintf("%s: %s", c->prov->name, why);
      mn_scrub_secret(*errmsg, c->key);
      rc = MN_EPARSE;
    }
  }
  if(rc == MN_OK && np) {
    *dim = parts[0].dim;
    float *all = mn_xmalloc(n * *dim * sizeof *all);
    for(size_t i = 0; i < np; i++)
      memcpy(all + i * EMBED_BATCH * *dim, parts[i].vecs, parts[i].count * *dim * sizeof *all);
    *out = all;
  }
  for(size_t i = 0; i < np; i++) {
    free(parts[i].vecs);
    free(parts[i].error);
    mn_cache_key_free(&parts[i].key);
  }
  free(parts);
  return rc;
}
