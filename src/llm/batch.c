/* Batches of chats on one client: a window of them made and outstanding at
 * a time, each slot refilled from its endpoint's queue as replies come. */
#include <stdlib.h>

#include "llm/client_internal.h"
#include "util/mem.h"

typedef struct batch_run batch_run;

typedef struct batch_call {
  batch_run *br;
  size_t i;
  int attempt;
} batch_call;

struct batch_run {
  mn_client *c;
  const mn_llm_batch *b;
  batch_call *calls;
  size_t next;                /* first chat not made yet */
  size_t outstanding;
  int refused;                /* a request the client would not take */
};

static void call_done(void *ud, mn_llm_result *res);

static int send_call(batch_call *bc)
{
  batch_run *br = bc->br;
  bc->attempt++;
  const mn_llm_req *req = br->b->build(br->b->userdata, bc->i, bc->attempt);
  int rc = mn_client_chat_async(br->c, req, call_done, bc);
  if(rc && !br->refused)
    br->refused = rc;
  return rc;
}

/* Make chats until the window is full or none is left. */
static void fill(batch_run *br, size_t window)
{
  while(!br->refused && br->next < br->b->n && br->outstanding < window) {
    batch_call *bc = &br->calls[br->next];
    *bc = (batch_call){ br, br->next, 0 };
    br->next++;
    if(send_call(bc) == MN_OK)
      br->outstanding++;
  }
}

static size_t window_of(const batch_run *br)
{
  if(br->b->window)
    return br->b->window;
  return 2 * (size_t)br->c->opts.max_inflight * br->c->n_eps;
}

static void call_done(void *ud, mn_llm_result *res)
{
  batch_call *bc = ud;
  batch_run *br = bc->br;
  if(br->b->done(br->b->userdata, bc->i, bc->attempt, res) && send_call(bc) == MN_OK)
    return;   /* asked again: still outstanding */
  br->outstanding--;
  fill(br, window_of(br));
}

int mn_client_batch(mn_client *c, const mn_llm_batch *b)
{
  if(!b || !b->build || !b->done) {
    mn_client_set_errmsg(c, mn_xstrdup("a batch needs build and done callbacks"));
    return MN_EINVAL;
  }
  batch_run br = { .c = c, .b = b };
  br.calls = mn_xcalloc(b->n ? b->n : 1, sizeof *br.calls);
  fill(&br, window_of(&br));
  int rc = mn_http_run(c->llm->http);
  free(br.calls);
  if(rc == MN_ECANCELLED || mn_http_cancelled(c->llm->http))
    return MN_ECANCELLED;
  return br.refused;
}
