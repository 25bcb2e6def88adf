/* Process-wide gates: one limit on the requests in flight to one server,
 * shared by every transport (mn_http) of the process.
 *
 * Each run has its own transport and its own per-endpoint caps; when several
 * runs of one process (an evaluation's questions on their own threads) talk
 * to the same local server, each cap alone would let P runs put P times the
 * server's parallelism on it. A gate is the server's own count: a request of
 * a gated endpoint starts only when its endpoint and its gate both have room.
 *
 * Gates live in one registry keyed by mn_gate_key() (scheme, host, port and
 * base path, normalised), made when the first member joins and freed when
 * the last leaves. A gate's capacity is the largest any of its members
 * asked for: a run is never held below what it was told the server takes,
 * and a run's own endpoint cap still bounds that run.
 *
 * Fairness: a member that finds the gate full joins the gate's FIFO of
 * waiters; a freed slot is handed to the waiter at the head (granted, not
 * left for whoever asks first, or the transport that freed it would take it
 * back at once), which is woken through its wake callback. A member takes
 * one slot per turn and queues again at the tail: round-robin across
 * transports, each endpoint's own queue staying FIFO.
 *
 * Thread-safe: one mutex guards the registry and every gate. A member is
 * used by its owner's thread only; wake() runs on whichever thread freed
 * the slot.
 */
#ifndef MN_NET_GATE_H
#define MN_NET_GATE_H

#include <stddef.h>

typedef struct mn_gate mn_gate;
typedef struct mn_gate_member mn_gate_member;

/* Called with the registry's lock held, on any thread, when a slot was
 * granted to the member: it must only signal its owner (set a flag, wake a
 * poll), never block or call the gate. */
typedef void (*mn_gate_wake_fn)(void *ctx);

/* Embedded in its owner (an endpoint); every field is the gate's, read and
 * written under the registry's lock. Zeroed before mn_gate_join(). */
struct mn_gate_member {
  mn_gate *gate;
  mn_gate_wake_fn wake;
  void *ctx;
  int capacity;               /* what this member asked for */
  int held;                   /* slots its requests hold now */
  int granted;                /* slots handed over while waiting, not taken yet */
  int waiting;                /* in the gate's FIFO */
  mn_gate_member *wnext;      /* FIFO of waiters */
  mn_gate_member *mnext;      /* members of the gate */
};

/* The registry key of the server `url` is on: "scheme://host:port/path"
 * with scheme and host in lower case, user:password@, query and fragment
 * dropped, the port made explicit (80, 443) and trailing slashes cut. No
 * name is resolved: "localhost" and "127.0.0.1" are two servers. NULL for
 * anything but an http:// or https:// URL with a host. Caller frees. */
char *mn_gate_key(const char *url);

/* Make m a member of the gate for `url`'s server (made if there is none),
 * asking for `capacity` slots (values < 1 count as 1). 0, or -1 for a URL
 * mn_gate_key() refuses or a member already joined. */
int mn_gate_join(mn_gate_member *m, const char *url, int capacity,
                 mn_gate_wake_fn wake, void *ctx);
/* Take a slot: 1 if taken (a granted one first); 0 if the gate is full or
 * others wait, and then m waits (once, however often it asks) and wake()
 * is called when a slot is granted to it. */
int mn_gate_acquire(mn_gate_member *m);
/* Give back one slot held. */
void mn_gate_release(mn_gate_member *m);
/* Stop waiting and give back the slots granted but not taken (a cancelled
 * or finished run); slots held stay held. */
void mn_gate_withdraw(mn_gate_member *m);
/* Leave the gate: withdraw, give back every slot held, and free the gate
 * with its last member. A member not joined is left as it is. */
void mn_gate_leave(mn_gate_member *m);

/* A gate's state, for tests and diagnostics. */
typedef struct mn_gate_stats {
  int capacity;
  int used;                   /* slots held or granted */
  size_t waiting;             /* members in the FIFO */
  size_t members;
} mn_gate_stats;

/* 1 and *out filled if `url`'s server has a gate now, else 0. */
int mn_gate_stats_of(const char *url, mn_gate_stats *out);

#endif
