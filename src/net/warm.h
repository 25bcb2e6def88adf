/* Connections opened ahead of the requests that will use them.
 *
 * A MinionS round starts by sending one request per slot of the local
 * server at once; connecting them one after another (some 35 us each here)
 * makes the slot whose request leaves last idle for all of them. The
 * transport opens those TCP connections earlier, while the remote model is
 * still writing the round's code, and takes them when a request needs a
 * new connection to the same address: the direct path directly, curl
 * through CURLOPT_OPENSOCKETFUNCTION. Nothing is sent on them before;
 * one the server has closed meanwhile is dropped and a new one opened.
 */
#ifndef MN_NET_WARM_H
#define MN_NET_WARM_H

#include <stddef.h>
#include <sys/socket.h>

typedef struct mn_warm_sock mn_warm_sock;

typedef struct mn_warm_pool {
  mn_warm_sock *v;
  size_t n, cap;
} mn_warm_pool;

#define MN_WARM_POOL_INIT { NULL, 0, 0 }

/* Most sockets a pool holds. */
#define MN_WARM_MAX 1024

/* Start up to n non-blocking connects to url's host and port. Only hosts
 * that need no name lookup (an IP address, or "localhost", taken as
 * 127.0.0.1) are warmed: a DNS query could block the caller. Returns how
 * many were started. */
size_t mn_warm_open(mn_warm_pool *p, const char *url, size_t n);

/* A connected, still open socket to exactly this address, taken out of the
 * pool (the caller owns it); -1 if none. Sockets found closed or failed on
 * the way are closed and dropped. */
int mn_warm_take(mn_warm_pool *p, const struct sockaddr *addr, socklen_t len);

/* Close every socket still in the pool. */
void mn_warm_free(mn_warm_pool *p);

#endif
