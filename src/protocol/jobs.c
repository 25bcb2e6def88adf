#include "protocol/jobs.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

/* Characters of a chunk shown in the run log's manifests: enough to know
 * which text it was, without copying every document into the log once per
 * task. */
#define MANIFEST_CHUNK_PREVIEW 500

void mn_jobs_add(mn_job_list *l, char *task, char *advice, char *chunk, size_t chunk_len)
{
  MN_GROW(l->v, l->cap, l->n + 1);
  mn_job *j = &l->v[l->n++];
  memset(j, 0, sizeof *j);
  j->task = task;
  j->advice = advice;
  j->chunk = j->chunk_own = chunk;
  j->chunk_len = chunk_len;
}

/* Give equal texts equal ids, in first-seen order (a jansson object maps
 * each text to its id). */
static void assign_ids(mn_job_list *l, int use_chunk)
{
  json_t *seen = json_object();
  int next = 0;
  for(size_t i = 0; i < l->n; i++) {
    mn_job *j = &l->v[i];
    const char *t = use_chunk ? j->chunk : j->task;
    size_t len = use_chunk ? j->chunk_len : strlen(j->task);
    json_t *id = json_object_getn(seen, t, len);
    int v = id ? (int)json_integer_value(id) : next++;
    if(!id)
      json_object_setn_new_nocheck(seen, t, len, json_integer(v));
    if(use_chunk)
      j->chunk_id = v;
    else
      j->task_id = v;
  }
  json_decref(seen);
}

void mn_jobs_number(mn_job_list *l)
{
  for(size_t i = 0; i < l->n; i++)
    l->v[i].job_id = (int)i;
  assign_ids(l, 0);
  assign_ids(l, 1);
}

static char *dup_or_null(const char *s)
{
  return s ? mn_xstrdup(s) : NULL;
}

void mn_jobs_expand_samples(mn_job_list *l, int samples)
{
  if(samples <= 1)
    return;
  mn_job_list out = { 0 };
  for(size_t i = 0; i < l->n; i++) {
    mn_job *j = &l->v[i];
    for(int s = 0; s < samples; s++) {
      char *chunk = NULL;
      if(j->chunk_own) {
        chunk = mn_xmalloc(j->chunk_len + 1);
        memcpy(chunk, j->chunk, j->chunk_len + 1);
      }
      mn_jobs_add(&out, mn_xstrdup(j->task), dup_or_null(j->advice), chunk, j->chunk_len);
      mn_job *n = &out.v[out.n - 1];
      if(!chunk)
        n->chunk = j->chunk;   /* a piece of a document: shared by the samples too */
      n->task_id = j->task_id;
      n->chunk_id = j->chunk_id;
      n->sample = s;
      n->job_id = (int)(out.n - 1);
    }
  }
  mn_jobs_free(l);
  *l = out;
}

/* First place of needle (nlen >= 1 bytes) in hay, or NULL, with every
 * byte looked at (skipped or compared) charged to *budget; the search
 * gives up when it is spent, so repetitive text cannot make it slow. */
static const char *search(const char *hay, size_t hlen, const char *needle, size_t nlen,
                          size_t *budget)
{
  const char *h = hay, *lim = hay + hlen - nlen;   /* hlen >= nlen */
  size_t head = nlen < 64 ? nlen : 64;
  while(h <= lim && *budget > 0) {
    size_t span = (size_t)(lim - h) + 1;
    if(span > *budget)
      span = *budget;
    const char *p = memchr(h, needle[0], span);
    *budget -= p ? (size_t)(p - h) + 1 : span;
    if(!p)
      return NULL;
    size_t cost = memcmp(p, needle, head) ? head : nlen;
    *budget -= cost < *budget ? cost : *budget;
    if(cost == nlen && memcmp(p, needle, nlen) == 0)
      return p;
    h = p + 1;
  }
  return NULL;
}

/* Where chunk (len bytes) starts in docs, or NULL. Tries the places a
 * chunker's next piece starts first (where the last one ended, after
 * white space; the same place again for the next task on the same chunk),
 * then searches forward from the last find, wrapping once, while *budget
 * (bytes) lasts. *d and *at (document, offset of the last find) move to
 * the find. */
static const char *find_piece(const mn_docs *docs, const char *chunk, size_t len, size_t *d,
                              size_t *at, size_t *end, size_t *budget)
{
  size_t nd = mn_docs_count(docs), dlen;
  const char *t = mn_docs_text(docs, *d, &dlen);
  size_t cand[3] = { *at, *end, *end };
  while(cand[2] < dlen && strchr(" \t\r\n\f\v", t[cand[2]]))
    cand[2]++;
  for(int k = 0; k < 3; k++)
    if(cand[k] <= dlen && dlen - cand[k] >= len && !memcmp(t + cand[k], chunk, len)) {
      *at = cand[k];
      *end = cand[k] + len;
      return t + cand[k];
    }
  /* forward from the last find to the end of the documents, then from
   * the first document back to where the search began */
  for(size_t step = 0; step <= nd && *budget > 0; step++) {
    size_t di = (*d + step) % nd;
    t = mn_docs_text(docs, di, &dlen);
    size_t from = step == 0 ? *at : 0;
    size_t to = step == nd ? (*at + len < dlen ? *at + len : dlen) : dlen;
    if(to <= from || to - from < len)
      continue;
    const char *p = search(t + from, to - from, chunk, len, budget);
    if(p) {
      *d = di;
      *at = (size_t)(p - t);
      *end = *at + len;
      return p;
    }
  }
  return NULL;
}

size_t mn_jobs_share_chunks(mn_job_list *l, const mn_docs *docs)
{
  size_t nd = mn_docs_count(docs), shared = 0;
  if(nd == 0)
    return 0;
  /* a few passes over the text: programs that go task by task over every
   * chunk make one pass per task, each find a short step */
  size_t budget = 8 * mn_docs_total_bytes(docs) + (1u << 20);
  size_t d = 0, at = 0, end = 0;
  for(size_t i = 0; i < l->n; i++) {
    mn_job *j = &l->v[i];
    if(!j->chunk_own || j->chunk_len == 0)
      continue;
    const char *p = find_piece(docs, j->chunk, j->chunk_len, &d, &at, &end, &budget);
    if(!p)
      continue;
    free(j->chunk_own);
    j->chunk_own = NULL;
    j->chunk = p;
    shared++;
  }
  return shared;
}

void mn_job_free(mn_job *j)
{
  free(j->task);
  free(j->advice);
  free(j->chunk_own);
  free(j->answer);
  free(j->explanation);
  free(j->citation);
  free(j->error);
  memset(j, 0, sizeof *j);
}

void mn_jobs_free(mn_job_list *l)
{
  for(size_t i = 0; i < l->n; i++)
    mn_job_free(&l->v[i]);
  free(l->v);
  l->v = NULL;
  l->n = l->cap = 0;
}

mn_sandbox_done_job *mn_jobs_for_sandbox(const mn_job_list *l)
{
  mn_sandbox_done_job *d = mn_xcalloc(l->n ? l->n : 1, sizeof *d);
  for(size_t i = 0; i < l->n; i++) {
    const mn_job *j = &l->v[i];
    d[i] = (mn_sandbox_done_job){
      .task = j->task, .advice = j->advice, .chunk = j->chunk, .chunk_len = j->chunk_len,
      .job_id = j->job_id, .task_id = j->task_id, .chunk_id = j->chunk_id,
      .answer = j->status == MN_JOB_ANSWERED ? j->answer : NULL,
      .explanation = j->explanation, .citation = j->citation };
  }
  return d;
}

/* A member as text: strings as they are, other values as JSON, null/absent
 * as NULL. */
static char *member_text(const json_t *o, const char *key)
{
  const json_t *v = json_object_get(o, key);
  if(!v || json_is_null(v))
    return NULL;
  if(json_is_string(v))
    return mn_xstrdup(json_string_value(v));
  return mn_json_dump(v);
}

static int is_abstention(const char *a)
{
  if(!a)
    return 1;
  while(isspace((unsigned char)*a))
    a++;
  size_t n = strlen(a);
  while(n && (isspace((unsigned char)a[n - 1]) || a[n - 1] == '.'))
    n--;
  if(n == 0)
    return 1;
  static const char *const words[] = { "none", "null", "n/a", "nil" };
  for(size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if(n == strlen(words[i]) && strncasecmp(a, words[i], n) == 0)
      return 1;
  return 0;
}

void mn_job_set_output(mn_job *j, const json_t *out)
{
  free(j->answer);
  free(j->explanation);
  free(j->citation);
  j->answer = member_text(out, "answer");
  j->explanation = member_text(out, "explanation");
  j->citation = member_text(out, "citation");
  j->status = is_abstention(j->answer) ? MN_JOB_ABSTAINED : MN_JOB_ANSWERED;
}

static int by_task_chunk(const void *a, const void *b)
{
  const mn_job *x = *(const mn_job *const *)a, *y = *(const mn_job *const *)b;
  if(x->task_id != y->task_id)
    return x->task_id < y->task_id ? -1 : 1;
  if(x->chunk_id != y->chunk_id)
    return x->chunk_id < y->chunk_id ? -1 : 1;
  return x->job_id < y->job_id ? -1 : x->job_id > y->job_id;
}

char *mn_jobs_format_outputs(const mn_job_list *l)
{
  const mn_job **order = mn_xcalloc(l->n ? l->n : 1, sizeof *order);
  for(size_t i = 0; i < l->n; i++)
    order[i] = &l->v[i];
  qsort(order, l->n, sizeof *order, by_task_chunk);
  mn_buf b = MN_BUF_INIT(0);
  for(size_t i = 0; i < l->n;) {
    int task = order[i]->task_id;
    size_t read = 0, answered = 0, failed = 0;
    size_t end = i;
    while(end < l->n && order[end]->task_id == task) {
      read++;
      answered += order[end]->status == MN_JOB_ANSWERED;
      failed += order[end]->status == MN_JOB_FAILED;
      end++;
    }
    mn_buf_printf(&b, "## Instruction %d: %s\n", task + 1, order[i]->task);
    mn_buf_printf(&b, "(%zu job%s run, %zu with an answer, %zu failed)\n", read,
                  read == 1 ? "" : "s", answered, failed);
    for(; i < end; i++) {
      const mn_job *j = order[i];
      if(j->status != MN_JOB_ANSWERED)
        continue;
      mn_buf_printf(&b, "- chunk %d, job %d%s:\n  answer: %s\n", j->chunk_id, j->job_id,
                    j->sample ? " (another sample)" : "", j->answer);
      if(j->citation)
        mn_buf_printf(&b, "  citation: %s\n", j->citation);
      if(j->explanation)
        mn_buf_printf(&b, "  explanation: %s\n", j->explanation);
    }
    mn_buf_putc(&b, '\n');
  }
  free(order);
  return mn_buf_steal(&b, NULL);
}

json_t *mn_jobs_manifests_json(const mn_job_list *l)
{
  json_t *a = json_array();
  for(size_t i = 0; i < l->n; i++) {
    const mn_job *j = &l->v[i];
    size_t show = j->chunk_len;
    if(show > MANIFEST_CHUNK_PREVIEW) {
      show = MANIFEST_CHUNK_PREVIEW;
      while(show > 0 && ((unsigned char)j->chunk[show] & 0xC0) == 0x80)
        show--;  /* not inside a UTF-8 sequence */
    }
    json_array_append_new(a, json_pack("{s:i, s:i, s:i, s:i, s:s, s:o, s:s%, s:I}",
      "job_id", j->job_id, "task_id", j->task_id, "chunk_id", j->chunk_id,
      "sample", j->sample, "task", j->task,
      "advice", j->advice ? json_string(j->advice) : json_null(),
      "chunk", j->chunk, show, "chunk_bytes", (json_int_t)j->chunk_len));
  }
  return a;
}

json_t *mn_jobs_outputs_json(const mn_job_list *l)
{
  static const char *const status[] = { "pending", "answered", "abstained", "failed" };
  json_t *a = json_array();
  for(size_t i = 0; i < l->n; i++) {
    const mn_job *j = &l->v[i];
    json_t *o = json_pack("{s:i, s:s}", "job_id", j->job_id, "status", status[j->status]);
    json_object_set_new(o, "answer", j->answer ? json_string(j->answer) : json_null());
    json_object_set_new(o, "explanation", j->explanation ? json_string(j->explanation) : json_null());
    json_object_set_new(o, "citation", j->citation ? json_string(j->citation) : json_null());
    if(j->error)
      json_object_set_new(o, "error", json_string(j->error));
    json_array_append_new(a, o);
  }
  return a;
}
