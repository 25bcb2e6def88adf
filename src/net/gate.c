/* The registry of gates: a list under one mutex. A process talks to a
 * handful of servers and a gate has a member per run's endpoint, so lists
 * are scanned; every operation is O(members) at worst and holds the lock
 * for no system call but the members' wake-ups (a write to a socket pair).
 *
 * Invariant (under the lock): a gate with waiters is full, used >=
 * capacity; every place that frees a slot or raises the capacity calls
 * grant(), which hands free slots to the waiters in FIFO order. */
#include "net/gate.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/mem.h"

struct mn_gate {
  char *key;
  int capacity;               /* largest any member asked for */
  int used;                   /* held by members' requests, or granted */
  mn_gate_member *whead, *wtail;
  size_t nwaiting;
  mn_gate_member *members;
  size_t nmembers;
  mn_gate *next;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static mn_gate *reg;

char *mn_gate_key(const char *url)
{
  if(!url)
    return NULL;
  size_t skip;
  const char *scheme, *defport;
  if(strncasecmp(url, "http://", 7) == 0) {
    skip = 7;
    scheme = "http";
    defport = "80";
  } else if(strncasecmp(url, "https://", 8) == 0) {
    skip = 8;
    scheme = "https";
    defport = "443";
  } else {
    return NULL;
  }
  const char *auth = url + skip;
  const char *aend = auth + strcspn(auth, "/?#");
  const char *host = auth;
  for(const char *p = auth; p < aend; p++)   /* userinfo ends at the last '@' */
    if(*p == '@')
      host = p + 1;
  const char *hend, *port = NULL;
  if(*host == '[') {   /* IPv6 literal: its colons are not the port's */
    const char *rb = memchr(host, ']', (size_t)(aend - host));
    if(!rb)
      return NULL;
    hend = rb + 1;
    if(hend < aend) {
      if(*hend != ':')
        return NULL;
      port = hend + 1;
    }
  } else {
    hend = memchr(host, ':', (size_t)(aend - host));
    if(hend)
      port = hend + 1;
    else
      hend = aend;
  }
  if(hend == host)
    return NULL;
  long portnum = 0;
  if(port && port < aend) {
    for(const char *p = port; p < aend; p++) {
      if(*p < '0' || *p > '9')
        return NULL;
      portnum = portnum * 10 + (*p - '0');
      if(portnum > 65535)
        return NULL;
    }
    if(portnum == 0)
      return NULL;
  }
  const char *path = aend;
  size_t plen = strcspn(path, "?#");
  while(plen && path[plen - 1] == '/')
    plen--;

  mn_buf k = MN_BUF_INIT(0);
  mn_buf_puts(&k, scheme);
  mn_buf_puts(&k, "://");
  size_t h0 = k.len;
  mn_buf_append(&k, host, (size_t)(hend - host));
  for(size_t i = h0; i < k.len; i++)
    if(k.data[i] >= 'A' && k.data[i] <= 'Z')
      k.data[i] = (char)(k.data[i] - 'A' + 'a');
  if(portnum)
    mn_buf_printf(&k, ":%ld", portnum);   /* "0080" and "80" are one port */
  else
    mn_buf_printf(&k, ":%s", defport);
  mn_buf_append(&k, path, plen);
  return mn_buf_steal(&k, NULL);
}

static mn_gate *find(const char *key)
{
  for(mn_gate *g = reg; g; g = g->next)
    if(strcmp(g->key, key) == 0)
      return g;
  return NULL;
}

/* Hand free slots to the waiters, oldest first, one each per turn. */
static void grant(mn_gate *g)
{
  while(g->used < g->capacity && g->whead) {
    mn_gate_member *m = g->whead;
    g->whead = m->wnext;
    if(!g->whead)
      g->wtail = NULL;
    m->wnext = NULL;
    m->waiting = 0;
    g->nwaiting--;
    m->granted++;
    g->used++;
    m->wake(m->ctx);
  }
}

static void unwait(mn_gate *g, mn_gate_member *m)
{
  if(!m->waiting)
    return;
  mn_gate_member **pp = &g->whead, *prev = NULL;
  while(*pp && *pp != m) {
    prev = *pp;
    pp = &(*pp)->wnext;
  }
  if(*pp) {
    *pp = m->wnext;
    if(g->wtail == m)
      g->wtail = prev;
    g->nwaiting--;
  }
  m->wnext = NULL;
  m->waiting = 0;
}

int mn_gate_join(mn_gate_member *m, const char *url, int capacity,
                 mn_gate_wake_fn wake, void *ctx)
{
  if(!m || !wake || m->gate)
    return -1;
  char *key = mn_gate_key(url);
  if(!key)
    return -1;
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = find(key);
  if(g) {
    free(key);
  } else {
    g = mn_xcalloc(1, sizeof *g);
    g->key = key;
    g->next = reg;
    reg = g;
  }
  memset(m, 0, sizeof *m);
  m->gate = g;
  m->wake = wake;
  m->ctx = ctx;
  m->capacity = capacity < 1 ? 1 : capacity;
  m->mnext = g->members;
  g->members = m;
  g->nmembers++;
  if(m->capacity > g->capacity)
    g->capacity = m->capacity;
  grant(g);   /* a larger capacity may let waiters in */
  pthread_mutex_unlock(&reg_lock);
  return 0;
}

int mn_gate_acquire(mn_gate_member *m)
{
  int ok = 0;
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = m->gate;
  if(!g) {
    ok = 1;   /* not a member: no limit but the endpoint's */
  } else if(m->granted) {
    m->granted--;
    m->held++;
    ok = 1;
  } else if(!m->waiting && !g->whead && g->used < g->capacity) {
    g->used++;
    m->held++;
    ok = 1;
  } else if(!m->waiting) {
    m->waiting = 1;
    m->wnext = NULL;
    if(g->wtail)
      g->wtail->wnext = m;
    else
      g->whead = m;
    g->wtail = m;
    g->nwaiting++;
  }
  pthread_mutex_unlock(&reg_lock);
  return ok;
}

void mn_gate_release(mn_gate_member *m)
{
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = m->gate;
  if(g && m->held > 0) {
    m->held--;
    g->used--;
    grant(g);
  }
  pthread_mutex_unlock(&reg_lock);
}

void mn_gate_withdraw(mn_gate_member *m)
{
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = m->gate;
  if(g) {
    unwait(g, m);
    g->used -= m->granted;
    m->granted = 0;
    grant(g);
  }
  pthread_mutex_unlock(&reg_lock);
}

void mn_gate_leave(mn_gate_member *m)
{
  if(!m)
    return;
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = m->gate;
  if(!g) {
    pthread_mutex_unlock(&reg_lock);
    return;
  }
  unwait(g, m);
  g->used -= m->granted + m->held;
  m->granted = m->held = 0;
  for(mn_gate_member **pp = &g->members; *pp; pp = &(*pp)->mnext) {
    if(*pp == m) {
      *pp = m->mnext;
      break;
    }
  }
  m->mnext = NULL;
  m->gate = NULL;
  if(--g->nmembers == 0) {
    for(mn_gate **pp = &reg; *pp; pp = &(*pp)->next) {
      if(*pp == g) {
        *pp = g->next;
        break;
      }
    }
    free(g->key);
    free(g);
  } else {
    /* the capacity follows the members there are: a run that asked for
     * more and left takes its share of the limit with it */
    g->capacity = 1;
    for(mn_gate_member *o = g->members; o; o = o->mnext)
      if(o->capacity > g->capacity)
        g->capacity = o->capacity;
    grant(g);
  }
  pthread_mutex_unlock(&reg_lock);
}

int mn_gate_stats_of(const char *url, mn_gate_stats *out)
{
  char *key = mn_gate_key(url);
  if(!key)
    return 0;
  int found = 0;
  pthread_mutex_lock(&reg_lock);
  mn_gate *g = find(key);
  if(g) {
    found = 1;
    out->capacity = g->capacity;
    out->used = g->used;
    out->waiting = g->nwaiting;
    out->members = g->nmembers;
  }
  pthread_mutex_unlock(&reg_lock);
  free(key);
  return found;
}
