/* Connections opened ahead of the requests that will use them (warm.h). */
#define _GNU_SOURCE   /* POLLRDHUP */
#include "net/warm.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/h1.h"
#include "util/mem.h"

struct mn_warm_sock {
  int fd;
  socklen_t len;
  struct sockaddr_storage addr;
};

static int same_address(const struct sockaddr_storage *a, socklen_t alen,
                        const struct sockaddr *b, socklen_t blen)
{
  if(a->ss_family != b->sa_family || alen > blen)
    return 0;
  if(a->ss_family == AF_INET) {
    const struct sockaddr_in *x = (const struct sockaddr_in *)a;
    const struct sockaddr_in *y = (const struct sockaddr_in *)b;
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
  const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
  return x->sin6_port == y->sin6_port &&
         memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
}

size_t mn_warm_open(mn_warm_pool *p, const char *url, size_t n)
{
  struct sockaddr_storage ss;
  socklen_t len;
  size_t started = 0;
  if(!p || !url || !n || !mn_h1_address(url, &ss, &len))
    return 0;
  while(started < n && p->n < MN_WARM_MAX) {
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
    if(fd < 0)
      break;
    if(connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
      close(fd);   /* refused at once: nobody listens, curl will say so */
      break;
    }
    MN_GROW(p->v, p->cap, p->n + 1);
    p->v[p->n].fd = fd;
    p->v[p->n].len = len;
    p->v[p->n].addr = ss;
    p->n++;
    started++;
  }
  return started;
}

/* 1: connected and quiet; 0: still connecting; -1: failed, closed by the
 * server, or the server sent something unasked. */
static int sock_state(int fd)
{
  struct pollfd pf = { fd, POLLIN | POLLOUT | POLLRDHUP, 0 };
  if(poll(&pf, 1, 0) < 0 || (pf.revents & (POLLIN | POLLRDHUP | POLLERR | POLLHUP | POLLNVAL)))
    return -1;
  if(!(pf.revents & POLLOUT))
    return 0;
  int err = 0;
  socklen_t l = sizeof err;
  if(getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err)
    return -1;
  return 1;
}

int mn_warm_take(mn_warm_pool *p, const struct sockaddr *addr, socklen_t len)
{
  for(size_t i = 0; p && i < p->n;) {
    mn_warm_sock *s = &p->v[i];
    if(!same_address(&s->addr, s->len, addr, len)) {
      i++;
      continue;
    }
    int state = sock_state(s->fd);
    if(state == 0) {
      i++;
      continue;
    }
    int fd = s->fd;
    p->v[i] = p->v[--p->n];
    if(state > 0)
      return fd;
    close(fd);
  }
  return -1;
}

void mn_warm_free(mn_warm_pool *p)
{
  if(!p)
    return;
  for(size_t i = 0; i < p->n; i++)
    close(p->v[i].fd);
  free(p->v);
  p->v = NULL;
  p->n = p->cap = 0;
}
