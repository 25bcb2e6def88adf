/* The helper's one request: read it (field order as isolate.c writes it),
 * confine, run the program with the in-process sandbox, write the reply.
 * The request comes from the library, which is trusted; the program is
 * not, and runs only after mn_sbh_confine. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minions.h"
#include "sandbox/helper/helper.h"
#include "sandbox/sandbox.h"
#include "sandbox/sandbox_internal.h"
#include "sandbox/wire.h"
#include "util/mem.h"

typedef struct request {
  uint64_t kind;
  mn_sandbox_limits lim;
  char *code;
  size_t code_len;
  char **texts;
  size_t *lens;
  size_t n_docs;
  int has_prev;
  mn_sandbox_done_job *prev;
  size_t n_prev;
  uint64_t body_len;
} request;

static int get_size(mn_sbr *r, size_t *out)
{
  uint64_t v;
  if(mn_sbr_u64(r, &v))
    return -1;
  if(v > SIZE_MAX / 2)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int get_opt(mn_sbr *r, const char **out)
{
  char *s;
  if(mn_sbr_str(r, SIZE_MAX / 2, &s, NULL))
    return -1;
  *out = s;
  return 0;
}

static int read_request(mn_sbr *r, request *q)
{
  char magic[4];
  uint64_t version, v, instructions;
  int64_t wall, id[3];
  if(mn_sbr_raw(r, magic, 4) || memcmp(magic, MN_SBW_MAGIC, 4) != 0 ||
     mn_sbr_u64(r, &version) || version != MN_SBW_VERSION || mn_sbr_u64(r, &q->body_len) ||
     mn_sbr_u64(r, &q->kind) || (q->kind != MN_SBW_PREPARE && q->kind != MN_SBW_TRANSFORM))
    return -1;
  mn_sandbox_limits *l = &q->lim;
  if(get_size(r, &l->memory_bytes) || mn_sbr_u64(r, &instructions) || mn_sbr_i64(r, &wall) ||
     get_size(r, &l->max_jobs) || get_size(r, &l->max_string_bytes) ||
     get_size(r, &l->max_total_bytes) ||
     mn_sbr_str(r, SIZE_MAX / 2, &q->code, &q->code_len) || !q->code ||
     get_size(r, &q->n_docs) || q->n_docs > q->body_len)
    return -1;
  l->wall_ms = (long)wall;
  l->instructions = instructions;
  q->texts = mn_xcalloc(q->n_docs + 1, sizeof *q->texts);
  q->lens = mn_xcalloc(q->n_docs + 1, sizeof *q->lens);
  for(size_t i = 0; i < q->n_docs; i++)
    if(mn_sbr_str(r, SIZE_MAX / 2, &q->texts[i], &q->lens[i]) || !q->texts[i])
      return -1;
  if(mn_sbr_u64(r, &v) || v > 1 || get_size(r, &q->n_prev) || q->n_prev > q->body_len)
    return -1;
  q->has_prev = (int)v;
  q->prev = mn_xcalloc(q->n_prev + 1, sizeof *q->prev);
  for(size_t i = 0; i < q->n_prev; i++) {
    mn_sandbox_done_job *j = &q->prev[i];
    char *chunk;
    if(get_opt(r, &j->task) || get_opt(r, &j->advice) ||
       mn_sbr_str(r, SIZE_MAX / 2, &chunk, &j->chunk_len) || get_opt(r, &j->answer) ||
       get_opt(r, &j->explanation) || get_opt(r, &j->citation) || mn_sbr_i64(r, &id[0]) ||
       mn_sbr_i64(r, &id[1]) || mn_sbr_i64(r, &id[2]))
      return -1;
    j->chunk = chunk;
    j->job_id = (int)id[0];
    j->task_id = (int)id[1];
    j->chunk_id = (int)id[2];
  }
  return 0;
}

static void send_reply(int rc, const char *errmsg, const mn_sandbox_job *jobs, size_t n_jobs,
                       int has_transform, const char *out, uint64_t kind)
{
  mn_sbw w;
  mn_sbw_init(&w);
  mn_sbw_raw(&w, MN_SBW_MAGIC, 4);
  mn_sbw_u64(&w, MN_SBW_VERSION);
  mn_sbw_i64(&w, rc);
  if(rc != MN_OK) {
    const char *m = errmsg ? errmsg : "the program failed";
    mn_sbw_str(&w, m, strlen(m));
  } else if(kind == MN_SBW_TRANSFORM) {
    mn_sbw_str(&w, out, strlen(out));
  } else {
    mn_sbw_u64(&w, (uint64_t)has_transform);
    mn_sbw_u64(&w, n_jobs);
    for(size_t i = 0; i < n_jobs; i++) {
      mn_sbw_str(&w, jobs[i].task, strlen(jobs[i].task));
      mn_sbw_str(&w, jobs[i].advice, jobs[i].advice ? strlen(jobs[i].advice) : 0);
      mn_sbw_str(&w, jobs[i].chunk, jobs[i].chunk_len);
    }
  }
  mn_sbw_send(&w, 1, 0);
  mn_sbw_free(&w);
}

/* The request's documents and previous jobs, once Lua holds its own
 * copies (mn_sb_inputs_pushed_hook): a later round's prev_jobs would
 * otherwise be held twice for the whole run. */
static request *pushed;

static void free_inputs(void)
{
  request *q = pushed;
  for(size_t i = 0; i < q->n_docs; i++) {
    free(q->texts[i]);
    q->texts[i] = NULL;
  }
  for(size_t i = 0; i < q->n_prev; i++) {
    mn_sandbox_done_job *j = &q->prev[i];
    free((char *)j->task);
    free((char *)j->advice);
    free((char *)j->chunk);
    free((char *)j->answer);
    free((char *)j->explanation);
    free((char *)j->citation);
    memset(j, 0, sizeof *j);
  }
}

int mn_sbh_serve(void)
{
  mn_sbh_close_extra_fds();
  request q;
  memset(&q, 0, sizeof q);
  mn_sbr *r = mn_xmalloc(sizeof *r);
  mn_sbr_init(r, 0, 0);
  int bad = read_request(r, &q);
  free(r);
  if(bad)
    return MN_SBH_EXIT_REQUEST;
  if(mn_sbh_confine(q.lim.memory_bytes, q.lim.wall_ms, (size_t)q.body_len) != 0)
    return MN_SBH_EXIT_CONFINE;

  pushed = &q;
  mn_sb_inputs_pushed_hook = free_inputs;
  mn_sandbox_docs docs = { (const char *const *)q.texts, q.lens, q.n_docs };
  char *errmsg = NULL, *out = NULL;
  mn_sandbox_job *jobs = NULL;
  size_t n_jobs = 0;
  int has_transform = 0, rc;
  if(q.kind == MN_SBW_TRANSFORM)
    rc = mn_sb_transform_outputs_here(q.code, q.code_len, &docs, q.prev, q.n_prev, &q.lim, &out,
                                      &errmsg);
  else
    rc = mn_sb_prepare_jobs_here(q.code, q.code_len, &docs, q.has_prev ? q.prev : NULL,
                                 q.n_prev, &q.lim, &jobs, &n_jobs, &has_transform, &errmsg);
  send_reply(rc, errmsg, jobs, n_jobs, has_transform, out, q.kind);
  /* the process ends here: its memory goes with it */
  return 0;
}
