/* Retrieval by embeddings: rank each task's chunks by cosine similarity
 * between the task's embedding and the chunks', and keep the best k.
 * Embeddings come from the run's embedding client (llm/embed.c). Exact
 * (brute-force) cosine: with a few thousand chunks it costs less than one
 * model call. */
#include <stdlib.h>
#include <string.h>

#include "llm/client.h"
#include "protocol/jobs.h"
#include "protocol/run_internal.h"
#include "util/mem.h"
#include "util/time.h"

/* Unit vectors of texts[0..n): n * *dim floats (caller frees). */
static int embed_texts(mn_run *run, const char *const *texts, size_t n, float **out, size_t *dim)
{
  mn_usage u = { 0 };
  char *err = NULL;
  size_t cached = 0;
  double t0 = mn_now();
  int rc = mn_client_embed(run->embed, texts, n, out, dim, &u, &cached, &err);
  run->call_time[MN_SIDE_LOCAL] += mn_now() - t0;
  for(uint64_t i = 0; i < u.calls; i++)   /* a batch: which ones were cached does not matter */
    mn_proto_note_call(run, MN_SIDE_LOCAL, "embeddings", -1, i < cached);
  mn_proto_add_usage(run, MN_SIDE_LOCAL, &u);
  if(rc == MN_ECANCELLED || run->cancelled)
    rc = mn_proto_fail(run, MN_ECANCELLED, "cancelled");
  else if(rc)
    rc = mn_proto_fail(run, rc, "%s (%s)", err ? err : mn_strerror(rc), run->opts.embed_spec);
  free(err);
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
    } else {
      mn_job_free(&jobs->v[i]);
    }
  }
  jobs->n = w;
  free(keep);
  free(s);
  free(vec);
  return MN_OK;
}
