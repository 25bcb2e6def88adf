/* Batches of chats on one client: a window of them made and outstanding at
 * a time, each slot refilled from its endpoint's queue as replies come.
 * With groups (mn_llm_batch.group), the order is decided as replies come:
 * a group's next chat is made the moment its previous one is answered. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "llm/client_internal.h"
#include "util/mem.h"

typedef struct batch_run batch_run;

typedef struct batch_call {
  batch_run *br;
  size_t i;
  int attempt;
  size_t group;               /* index into groups, with groups */
} batch_call;

typedef struct group {
  size_t *chats;              /* chat indices, in order */
  size_t n, next;             /* next: first not made yet */
  int in_flight;
  int ready;                  /* in the ready stack */
} group;

struct batch_run {
  mn_client *c;
  const mn_llm_batch *b;
  batch_call *calls;
  size_t next;                /* first chat not made yet (no groups) */
  size_t made;
  size_t outstanding;
  int refused;                /* a request the client would not take */
  group *groups;              /* in order of first appearance */
  size_t n_groups, next_group;
  size_t *ready;              /* groups whose last chat was just answered */
  size_t n_ready;
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

/* With groups: the group whose chat goes next, or n_groups when none is
 * left. A group just answered first (its prompt prefix is warm on the slot
 * it freed), then a group not started yet, then, to keep slots busy at the
 * tail, the started group with the most chats left. */
static size_t pick_group(batch_run *br)
{
  while(br->n_ready) {
    size_t g = br->ready[--br->n_ready];
    br->groups[g].ready = 0;
    if(br->groups[g].next < br->groups[g].n)
      return g;
  }
  while(br->next_group < br->n_groups) {
    size_t g = br->next_group++;
    if(br->groups[g].next < br->groups[g].n)
      return g;
  }
  size_t best = br->n_groups, left = 0;
  for(size_t g = 0; g < br->n_groups; g++) {
    size_t l = br->groups[g].n - br->groups[g].next;
    if(l > left) {
      best = g;
      left = l;
    }
  }
  return best;
}

/* Make chats until the window is full or none is left. */
static void fill(batch_run *br, size_t window)
{
  while(!br->refused && br->made < br->b->n && br->outstanding < window) {
    batch_call *bc = &br->calls[br->made];
    size_t i, g = 0;
    if(br->groups) {
      g = pick_group(br);
      if(g == br->n_groups)
        break;
      i = br->groups[g].chats[br->groups[g].next++];
      br->groups[g].in_flight++;
    } else {
      i = br->next++;
    }
    *bc = (batch_call){ br, i, 0, g };
    br->made++;
    if(send_call(bc) == MN_OK)
      br->outstanding++;
  }
}

static size_t window_of(const batch_run *br)
{
  if(br->groups)
    return mn_client_capacity(br->c);
  if(br->b->window)
    return br->b->window;
  return 2 * mn_client_capacity(br->c);
}

static void call_done(void *ud, mn_llm_result *res)
{
  batch_call *bc = ud;
  batch_run *br = bc->br;
  if(br->b->done(br->b->userdata, bc->i, bc->attempt, res) && send_call(bc) == MN_OK)
    return;   /* asked again: still outstanding */
  br->outstanding--;
  if(br->groups) {
    group *g = &br->groups[bc->group];
    g->in_flight--;
    if(g->next < g->n && !g->ready) {
      g->ready = 1;
      br->ready[br->n_ready++] = bc->group;   /* next out: this slot is warm for it */
    }
  }
  fill(br, window_of(br));
}

/* Groups in order of first appearance, each with its chats in order. */
static void make_groups(batch_run *br)
{
  const mn_llm_batch *b = br->b;
  json_t *seen = json_object();   /* group id -> index into groups */
  br->groups = mn_xcalloc(b->n + 1, sizeof *br->groups);
  size_t *at = mn_xcalloc(b->n + 1, sizeof *at);
  for(size_t i = 0; i < b->n; i++) {
    char key[24];
    int len = snprintf(key, sizeof key, "%d", b->group[i]);
    json_t *v = json_object_getn(seen, key, (size_t)len);
    size_t g;
    if(v) {
      g = (size_t)json_integer_value(v);
    } else {
      g = br->n_groups++;
      json_object_setn_new_nocheck(seen, key, (size_t)len, json_integer((json_int_t)g));
    }
    at[i] = g;
    br->groups[g].n++;
  }
  json_decref(seen);
  for(size_t g = 0; g < br->n_groups; g++)
    br->groups[g].chats = mn_xcalloc(br->groups[g].n, sizeof(size_t));
  for(size_t i = 0; i < b->n; i++) {
    group *gr = &br->groups[at[i]];
    gr->chats[gr->next++] = i;
  }
  for(size_t g = 0; g < br->n_groups; g++)
    br->groups[g].next = 0;
  br->ready = mn_xcalloc(br->n_groups + 1, sizeof *br->ready);
  free(at);
}

int mn_client_batch(mn_client *c, const mn_llm_batch *b)
{
  if(!b || !b->build || !b->done) {
    mn_client_set_errmsg(c, mn_xstrdup("a batch needs build and done callbacks"));
    return MN_EINVAL;
  }
  batch_run br = { .c = c, .b = b };
  br.calls = mn_xcalloc(b->n ? b->n : 1, sizeof *br.calls);
  if(b->group && b->n)
    make_groups(&br);
  fill(&br, window_of(&br));
  int rc = mn_llm_run(c->llm);   /* replies from the cache come in as they are found */
  free(br.calls);
  for(size_t g = 0; g < br.n_groups; g++)
    free(br.groups[g].chats);
  free(br.groups);
  free(br.ready);
  if(rc == MN_ECANCELLED || mn_http_cancelled(c->llm->http))
    return MN_ECANCELLED;
  return br.refused;
}
