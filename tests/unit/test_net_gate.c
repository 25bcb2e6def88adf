/* Process-wide gates: the registry and its FIFO hand-off on their own, then
 * several transports on their own threads against fakellm sharing one
 * server's limit, cancellation and freeing while others wait, two servers'
 * gates side by side, and a single transport as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "minions.h"
#include "net/gate.h"
#include "net/http.h"
#include "testutil.h"
#include "util/mem.h"
#include "util/time.h"

/* ---- helpers ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while(nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

typedef struct reply {
  int code;
  char *body;
} reply;

static void reply_done(void *ud, const mn_http_result *res)
{
  reply *r = ud;
  r->code = res->code;
  r->body = strndup(res->body, res->body_len);
}

/* One control request to a fake, on a transport of its own (not gated). */
static void control(const mn_fake *f, const char *method, const char *path,
                    const char *body, reply *out)
{
  char url[160];
  snprintf(url, sizeof url, "%s%s", f->url, path);
  mn_http *h = NULL;
  assert_int_equal(mn_http_new(&h, NULL), MN_OK);
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = mn_http_endpoint_new(h, "control", 1);
  q.method = method;
  q.url = url;
  q.body = body;
  q.body_len = body ? strlen(body) : 0;
  q.on_done = reply_done;
  q.userdata = out;
  assert_int_equal(mn_http_submit(h, &q), MN_OK);
  assert_int_equal(mn_http_run(h), 0);
  mn_http_free(h);
}

static void add_rules(const mn_fake *f, const char *rules)
{
  reply r = { 0 };
  control(f, "POST", "/_fake/rules", rules, &r);
  if(r.code != MN_OK)
    fail_msg("rules refused: %s", r.body ? r.body : "");
  free(r.body);
}

static long fake_stat(const mn_fake *f, const char *key)
{
  reply r = { 0 };
  control(f, "GET", "/_fake/stats", NULL, &r);
  assert_int_equal(r.code, MN_OK);
  json_t *j = json_loads(r.body, 0, NULL);
  assert_non_null(j);
  json_t *v = json_object_get(j, key);
  assert_true(json_is_integer(v));
  long n = (long)json_integer_value(v);
  json_decref(j);
  free(r.body);
  return n;
}

/* Fakes of the running test, stopped by the teardown if an assertion left
 * them running. */
static mn_fake fakes[2];

static void start_fake(int i, const char *service_ms)
{
  const char *args[] = { "--slots", "64", "--service-ms", service_ms, NULL };
  assert_int_equal(mn_fake_start(&fakes[i], args), 0);
}

static int teardown_fakes(void **state)
{
  for(int i = 0; i < 2; i++)
    mn_fake_stop(&fakes[i]);
  return 0;
}

static mn_gate_stats gate_now(const char *url)
{
  mn_gate_stats st;
  memset(&st, 0, sizeof st);
  if(!mn_gate_stats_of(url, &st))
    st.capacity = -1;   /* no gate */
  return st;
}

/* Wait (up to 5 s) until the gate of `url` has `used` slots taken and
 * `waiting` members in its FIFO. */
static void wait_gate(const char *url, int used, size_t waiting)
{
  for(int i = 0; i < 500; i++) {
    mn_gate_stats st = gate_now(url);
    if(st.used == used && st.waiting == waiting)
      return;
    sleep_ms(10);
  }
  mn_gate_stats st = gate_now(url);
  fail_msg("gate of %s: used %d waiting %zu, wanted %d and %zu", url, st.used,
           st.waiting, used, waiting);
}

/* ---- one transport per thread ------------------------------------------- */

/* Threads wait here until all are ready (no pthread_barrier on macOS). */
typedef struct start_line {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int waiting, total;
} start_line;

static void start_line_wait(start_line *s)
{
  pthread_mutex_lock(&s->mu);
  if(++s->waiting == s->total)
    pthread_cond_broadcast(&s->cv);
  while(s->waiting < s->total)
    pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
}

typedef struct run {
  /* set up by the test */
  const char *server[2];        /* fake base URLs, one endpoint each */
  const char *path;             /* request path on each server */
  int n;                        /* requests per endpoint */
  const char *text;             /* message text (rules key on it) */
  int ep_cap, gate_cap;         /* gate_cap 0: not gated */
  int retries;
  int free_after;               /* the thread frees its transport */
  start_line *go;               /* NULL: start at once */
  /* results */
  mn_http *h;
  int setup_failed;             /* cmocka asserts only on the main thread */
  int rc;
  atomic_int ok, cancelled, other;
  double t_run, t_last_ok;      /* mn_now() at mn_http_run(), at the last MN_OK */
} run;

static void run_done(void *ud, const mn_http_result *res)
{
  run *r = ud;
  if(res->code == MN_OK) {
    atomic_fetch_add(&r->ok, 1);
    r->t_last_ok = mn_now();
  } else if(res->code == MN_ECANCELLED) {
    atomic_fetch_add(&r->cancelled, 1);
  } else {
    atomic_fetch_add(&r->other, 1);
    print_error("request failed: %s\n", res->error ? res->error : "?");
  }
}

static void *run_main(void *arg)
{
  run *r = arg;
  mn_http_opts o = MN_HTTP_OPTS_INIT;
  o.max_retries = r->retries;
  mn_http *h = NULL;
  if(mn_http_new(&h, &o) != MN_OK) {
    r->setup_failed = 1;
    if(r->go)
      start_line_wait(r->go);
    return NULL;
  }
  char *body = mn_xasprintf("{\"model\":\"m\",\"stream\":false,\"messages\":"
                            "[{\"role\":\"user\",\"content\":\"%s\"}]}", r->text);
  for(int s = 0; s < 2 && r->server[s]; s++) {
    mn_http_endpoint *ep = mn_http_endpoint_new(h, r->server[s], r->ep_cap);
    if(r->gate_cap && mn_http_endpoint_gate(ep, r->server[s], r->gate_cap) != MN_OK)
      r->setup_failed = 1;
    char *url = mn_xasprintf("%s%s", r->server[s], r->path);
    for(int i = 0; i < r->n; i++) {
      mn_http_req q;
      memset(&q, 0, sizeof q);
      q.endpoint = ep;
      q.url = url;
      q.body = body;
      q.body_len = strlen(body);
      q.on_done = run_done;
      q.userdata = r;
      if(mn_http_submit(h, &q) != MN_OK)
        r->setup_failed = 1;
    }
    free(url);
  }
  free(body);
  r->h = h;
  if(r->go)
    start_line_wait(r->go);
  r->t_run = mn_now();
  r->rc = mn_http_run(h);
  if(r->free_after) {
    mn_http_free(h);
    r->h = NULL;
  }
  return NULL;
}

static void run_init(run *r, const char *server, const char *text, int n,
                     int ep_cap, int gate_cap)
{
  memset(r, 0, sizeof *r);
  r->server[0] = server;
  r->path = "/v1/chat/completions";
  r->text = text;
  r->n = n;
  r->ep_cap = ep_cap;
  r->gate_cap = gate_cap;
  atomic_init(&r->ok, 0);
  atomic_init(&r->cancelled, 0);
  atomic_init(&r->other, 0);
}

/* Up to 3 runs started together; returns the wall time of them all. While
 * they run, the gate of `gated` (if given) is sampled: never more slots
 * used than its capacity. */
static double run_together(run *rs, int n, const char *gated)
{
  pthread_t th[3];
  start_line go = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, n + 1 };
  for(int i = 0; i < n; i++) {
    rs[i].go = &go;
    assert_int_equal(pthread_create(&th[i], NULL, run_main, &rs[i]), 0);
  }
  start_line_wait(&go);
  double t0 = mn_now();
  int done = 0;
  while(gated && !done) {
    mn_gate_stats st = gate_now(gated);
    if(st.capacity >= 0)
      assert_true(st.used <= st.capacity);
    done = 1;
    for(int i = 0; i < n; i++)
      done &= rs[i].setup_failed ||
              atomic_load(&rs[i].ok) + atomic_load(&rs[i].other) >= rs[i].n * (rs[i].server[1] ? 2 : 1);
    sleep_ms(2);
  }
  for(int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    assert_false(rs[i].setup_failed);
  }
  double t = mn_now() - t0;
  pthread_mutex_destroy(&go.mu);
  pthread_cond_destroy(&go.cv);
  return t;
}

/* ---- the registry alone ------------------------------------------------- */

static void keys(void **state)
{
  static const char *const cases[][2] = {
    { "http://LocalHost:8080/v1/", "http://localhost:8080/v1" },
    { "http://127.0.0.1", "http://127.0.0.1:80" },
    { "HTTPS://user:pw@Example.COM/api?key=secret#frag", "https://example.com:443/api" },
    { "http://[::1]:11434", "http://[::1]:11434" },
    { "http://[::1]", "http://[::1]:80" },
    { "http://h:0080//", "http://h:80" },
    { "http://h:11434/API", "http://h:11434/API" },   /* paths keep their case */
    { "https://h:", "https://h:443" },
  };
  for(size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *k = mn_gate_key(cases[i][0]);
    assert_non_null(k);
    assert_string_equal(k, cases[i][1]);
    free(k);
  }
  static const char *const bad[] = {
    "ftp://h/", "http://", "http:///v1", "http://h:99999", "http://h:0",
    "http://h:8o", "http://[::1", "http://[::1]x", "h:80", "",
  };
  for(size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_null(mn_gate_key(bad[i]));
  assert_null(mn_gate_key(NULL));
}

static int wakes[4];

static void count_wake(void *ctx)
{
  wakes[(int *)ctx - wakes]++;
}

static void fifo_handoff(void **state)
{
  const char *url = "http://gate-fifo.test:1/v1";
  mn_gate_member a, b, c;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&c, 0, sizeof c);
  memset(wakes, 0, sizeof wakes);
  assert_int_equal(gate_now(url).capacity, -1);
  assert_int_equal(mn_gate_join(&a, url, 2, count_wake, &wakes[0]), 0);
  assert_int_equal(mn_gate_join(&a, url, 2, count_wake, &wakes[0]), -1);   /* once */
  assert_int_equal(mn_gate_join(&b, "HTTP://Gate-FIFO.test:1/v1/", 1, count_wake, &wakes[1]), 0);
  assert_int_equal(mn_gate_join(&c, url, 2, count_wake, &wakes[2]), 0);
  mn_gate_stats st = gate_now(url);
  assert_int_equal(st.capacity, 2);
  assert_int_equal(st.members, 3);

  assert_int_equal(mn_gate_acquire(&a), 1);
  assert_int_equal(mn_gate_acquire(&a), 1);
  assert_int_equal(mn_gate_acquire(&b), 0);   /* full: b waits */
  assert_int_equal(mn_gate_acquire(&b), 0);   /* asking again keeps its place */
  assert_int_equal(mn_gate_acquire(&c), 0);
  assert_int_equal(mn_gate_acquire(&a), 0);   /* a queues behind them */
  st = gate_now(url);
  assert_int_equal(st.used, 2);
  assert_int_equal(st.waiting, 3);

  mn_gate_release(&a);                        /* to b, the oldest waiter */
  assert_int_equal(wakes[1], 1);
  assert_int_equal(wakes[0] + wakes[2], 0);
  assert_int_equal(gate_now(url).used, 2);    /* granted counts as used */
  assert_int_equal(mn_gate_acquire(&c), 0);   /* no jumping the queue */
  assert_int_equal(mn_gate_acquire(&b), 1);
  mn_gate_release(&a);                        /* to c */
  assert_int_equal(wakes[2], 1);
  assert_int_equal(mn_gate_acquire(&c), 1);
  mn_gate_release(&b);                        /* to a, last in the FIFO */
  assert_int_equal(wakes[0], 1);
  assert_int_equal(mn_gate_acquire(&a), 1);
  st = gate_now(url);
  assert_int_equal(st.used, 2);
  assert_int_equal(st.waiting, 0);

  /* withdraw passes a granted slot on; leave gives back what is held */
  assert_int_equal(mn_gate_acquire(&b), 0);
  mn_gate_release(&c);                        /* granted to b */
  assert_int_equal(wakes[1], 2);
  assert_int_equal(mn_gate_acquire(&c), 0);   /* c waits behind b's grant */
  mn_gate_withdraw(&b);                       /* b's grant goes on to c */
  assert_int_equal(wakes[2], 2);
  assert_int_equal(mn_gate_acquire(&c), 1);
  mn_gate_leave(&a);                          /* a's one held slot back */
  st = gate_now(url);
  assert_int_equal(st.used, 1);
  assert_int_equal(st.members, 2);
  mn_gate_leave(&c);
  mn_gate_leave(&c);                          /* a second leave is a no-op */
  mn_gate_leave(&b);
  assert_int_equal(gate_now(url).capacity, -1);   /* the last one freed it */
  assert_int_equal(mn_gate_acquire(&b), 1);   /* not a member: no limit */
}

static void capacity_rule(void **state)
{
  const char *url = "http://gate-cap.test:2";
  mn_gate_member small, big, other;
  memset(&small, 0, sizeof small);
  memset(&big, 0, sizeof big);
  memset(&other, 0, sizeof other);
  memset(wakes, 0, sizeof wakes);
  assert_int_equal(mn_gate_join(&small, url, 1, count_wake, &wakes[0]), 0);
  assert_int_equal(mn_gate_acquire(&small), 1);
  assert_int_equal(mn_gate_acquire(&small), 0);
  /* a member asking for more raises the capacity and lets the waiter in */
  assert_int_equal(mn_gate_join(&big, url, 3, count_wake, &wakes[1]), 0);
  assert_int_equal(gate_now(url).capacity, 3);
  assert_int_equal(wakes[0], 1);
  assert_int_equal(mn_gate_acquire(&small), 1);
  assert_int_equal(mn_gate_acquire(&big), 1);
  assert_int_equal(mn_gate_acquire(&big), 0);
  /* the largest while it is there: once big leaves, 1 again; the two held
   * stay held until given back */
  mn_gate_leave(&big);
  mn_gate_stats st = gate_now(url);
  assert_int_equal(st.capacity, 1);
  assert_int_equal(st.used, 2);
  assert_int_equal(st.waiting, 0);
  mn_gate_release(&small);
  assert_int_equal(mn_gate_acquire(&small), 0);
  mn_gate_release(&small);
  assert_int_equal(wakes[0], 2);   /* granted to itself, still in the FIFO */
  assert_int_equal(mn_gate_acquire(&small), 1);
  /* a gate of another server is another count */
  assert_int_equal(mn_gate_join(&other, "http://gate-cap.test:3", 1, count_wake, &wakes[2]), 0);
  assert_int_equal(mn_gate_acquire(&other), 1);
  assert_int_equal(gate_now(url).used, 1);
  mn_gate_leave(&other);
  mn_gate_leave(&small);
  assert_int_equal(gate_now(url).capacity, -1);
}

/* ---- transports on threads ---------------------------------------------- */

/* Three runs, endpoint caps 4, one gate of 4 on a 64-slot server with 50 ms
 * of service: the server sees 4 at once, never 12, every request is
 * answered, the time is that of 4 slots, and no run is starved. */
static void three_runs_share_one_gate(void **state)
{
  start_fake(0, "50");
  run rs[3];
  for(int i = 0; i < 3; i++)
    run_init(&rs[i], fakes[0].url, "case-share", 16, 4, 4);
  double t = run_together(rs, 3, fakes[0].url);
  double t_first_end = 1e9, t_last_end = 0;
  for(int i = 0; i < 3; i++) {
    assert_int_equal(rs[i].rc, 0);
    assert_int_equal(atomic_load(&rs[i].ok), 16);
    assert_int_equal(atomic_load(&rs[i].other), 0);
    double end = rs[i].t_last_ok - rs[i].t_run;
    if(end < t_first_end)
      t_first_end = end;
    if(end > t_last_end)
      t_last_end = end;
  }
  long maxc = fake_stat(&fakes[0], "max_concurrent");
  print_message("3 runs x 16 requests, gate 4: %.3f s, max_concurrent %ld, runs ended "
                "%.3f..%.3f s\n", t, maxc, t_first_end, t_last_end);
  assert_int_equal(maxc, 4);
  assert_int_equal(fake_stat(&fakes[0], "requests"), 48);
  /* 48 x 50 ms over 4 slots = 0.6 s; ungated it would be 0.2 s */
  assert_true(t >= 0.58);
  assert_true(t < 1.5);
  /* round-robin: each run gets a third of the slots and ends near the end
   * (a run served first would end at 0.2 s) */
  assert_true(t_first_end > 0.6 * t_last_end);
  mn_gate_stats st = gate_now(fakes[0].url);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.waiting, 0);
  assert_int_equal(st.members, 3);
  for(int i = 0; i < 3; i++)
    mn_http_free(rs[i].h);
  assert_int_equal(gate_now(fakes[0].url).capacity, -1);
  mn_fake_stop(&fakes[0]);
}

static void start_thread(pthread_t *th, run *r)
{
  assert_int_equal(pthread_create(th, NULL, run_main, r), 0);
}

/* A holds every slot with requests that never end, B and C wait. B is
 * cancelled while waiting: it ends at once and leaves the FIFO. A is
 * cancelled and freed: its slots go to C, which finishes everything. */
static void cancel_waiter_then_holder(void **state)
{
  start_fake(0, "20");
  add_rules(&fakes[0], "[{\"when\":{\"contains\":\"case-hold\"},\"fault\":\"stall\"}]");
  const char *url = fakes[0].url;
  run a, b, c;
  run_init(&a, url, "case-hold", 6, 4, 4);   /* 4 in flight, 2 queued */
  run_init(&b, url, "case-wait-b", 8, 4, 4);
  run_init(&c, url, "case-wait-c", 8, 4, 4);
  a.free_after = 1;
  pthread_t ta, tb, tc;
  start_thread(&ta, &a);
  wait_gate(url, 4, 0);   /* A's four in flight (its own cap is full too) */
  start_thread(&tb, &b);
  wait_gate(url, 4, 1);
  start_thread(&tc, &c);
  wait_gate(url, 4, 2);
  sleep_ms(100);
  assert_int_equal(atomic_load(&b.ok) + atomic_load(&c.ok), 0);

  mn_http_cancel(b.h);
  double t0 = mn_now();
  pthread_join(tb, NULL);
  assert_true(mn_now() - t0 < 0.5);
  assert_int_equal(b.rc, MN_ECANCELLED);
  assert_int_equal(atomic_load(&b.cancelled), 8);
  mn_gate_stats st = gate_now(url);
  assert_int_equal(st.used, 4);
  assert_int_equal(st.waiting, 1);   /* C */
  assert_int_equal(atomic_load(&c.ok), 0);

  mn_http_cancel(a.h);
  t0 = mn_now();
  pthread_join(ta, NULL);            /* A also frees its transport */
  assert_int_equal(a.rc, MN_ECANCELLED);
  assert_int_equal(atomic_load(&a.cancelled), 6);
  pthread_join(tc, NULL);
  double t = mn_now() - t0;
  print_message("after the holder's cancel the waiter finished 8 x 20 ms in %.3f s\n", t);
  assert_int_equal(c.rc, 0);
  assert_int_equal(atomic_load(&c.ok), 8);
  assert_int_equal(atomic_load(&c.other), 0);
  assert_true(t < 1.0);
  st = gate_now(url);
  assert_int_equal(st.used, 0);
  assert_int_equal(st.waiting, 0);
  assert_int_equal(st.members, 2);   /* B and C; A left when freed */
  mn_http_free(b.h);
  mn_http_free(c.h);
  assert_int_equal(gate_now(url).capacity, -1);
  mn_fake_stop(&fakes[0]);
}

/* Attaching is once per endpoint and for http(s) only; queued requests
 * hold no slot, and freeing a transport with requests still queued leaves
 * the registry empty. */
static void free_pending_gives_back(void **state)
{
  start_fake(0, "0");
  const char *url = fakes[0].url;
  mn_http *h = NULL;
  assert_int_equal(mn_http_new(&h, NULL), MN_OK);
  mn_http_endpoint *ep = mn_http_endpoint_new(h, url, 2);
  assert_int_equal(mn_http_endpoint_gate(ep, url, 2), MN_OK);
  assert_int_equal(mn_http_endpoint_gate(ep, url, 2), MN_EINVAL);   /* once */
  mn_http_endpoint *bad = mn_http_endpoint_new(h, "bad", 1);
  assert_int_equal(mn_http_endpoint_gate(bad, "ftp://x/", 1), MN_EINVAL);
  reply r[3];
  memset(r, 0, sizeof r);
  char path[160];
  snprintf(path, sizeof path, "%s/v1/models", url);
  for(int i = 0; i < 3; i++) {
    mn_http_req q;
    memset(&q, 0, sizeof q);
    q.endpoint = ep;
    q.url = path;
    q.on_done = reply_done;
    q.userdata = &r[i];
    assert_int_equal(mn_http_submit(h, &q), MN_OK);
  }
  mn_gate_stats st = gate_now(url);
  assert_int_equal(st.members, 1);
  assert_int_equal(st.used, 0);      /* queued requests hold nothing */
  mn_http_free(h);
  assert_int_equal(gate_now(url).capacity, -1);
  mn_fake_stop(&fakes[0]);
}

/* Two servers, two runs each with an endpoint on both, gates of 2: each
 * server sees 2 at once, and the two gates do not wait on each other. */
static void two_servers_independent(void **state)
{
  start_fake(0, "50");
  start_fake(1, "50");
  run rs[2];
  for(int i = 0; i < 2; i++) {
    run_init(&rs[i], fakes[0].url, "case-two", 8, 4, 2);
    rs[i].server[1] = fakes[1].url;
  }
  double t = run_together(rs, 2, fakes[0].url);
  long max0 = fake_stat(&fakes[0], "max_concurrent");
  long max1 = fake_stat(&fakes[1], "max_concurrent");
  print_message("2 runs x 2 servers x 8 requests, gates of 2: %.3f s, max_concurrent "
                "%ld and %ld\n", t, max0, max1);
  for(int i = 0; i < 2; i++) {
    assert_int_equal(rs[i].rc, 0);
    assert_int_equal(atomic_load(&rs[i].ok), 16);
  }
  assert_int_equal(max0, 2);
  assert_int_equal(max1, 2);
  /* per server 16 x 50 ms over 2 slots = 0.4 s; one shared count: 0.8 s */
  assert_true(t >= 0.38);
  assert_true(t < 0.7);
  assert_int_equal(gate_now(fakes[0].url).members, 2);
  assert_int_equal(gate_now(fakes[1].url).members, 2);
  for(int i = 0; i < 2; i++)
    mn_http_free(rs[i].h);
  mn_fake_stop(&fakes[0]);
  mn_fake_stop(&fakes[1]);
}

/* One run alone: gated with its own cap it is what it was ungated (the
 * gate never makes it wait), retries in backoff hold no slot. */
static void single_run_unchanged(void **state)
{
  start_fake(0, "30");
  double took[2];
  for(int gated = 0; gated < 2; gated++) {
    reply stats = { 0 };
    control(&fakes[0], "POST", "/_fake/reset", "{}", &stats);
    free(stats.body);
    add_rules(&fakes[0], "[{\"when\":{\"contains\":\"case-single-flaky\"},\"times\":5,"
                         "\"fault\":\"503\",\"retry_after\":0}]");
    run r;
    run_init(&r, fakes[0].url, "case-single-flaky", 24, 4, gated ? 4 : 0);
    r.retries = 3;
    pthread_t th;
    start_thread(&th, &r);
    size_t max_waiting = 0;
    while(!r.setup_failed && atomic_load(&r.ok) + atomic_load(&r.other) < 24) {
      mn_gate_stats st = gate_now(fakes[0].url);
      if(gated && st.capacity >= 0 && st.waiting > max_waiting)
        max_waiting = st.waiting;
      sleep_ms(2);
    }
    pthread_join(th, NULL);
    assert_false(r.setup_failed);
    took[gated] = r.t_last_ok - r.t_run;
    assert_int_equal(r.rc, 0);
    assert_int_equal(atomic_load(&r.ok), 24);
    assert_int_equal(max_waiting, 0);
    assert_int_equal(fake_stat(&fakes[0], "max_concurrent"), 4);
    assert_int_equal(fake_stat(&fakes[0], "requests"), 24 + 5);
    mn_http_free(r.h);
  }
  print_message("one run, 24 x 30 ms, cap 4: ungated %.3f s, gated %.3f s\n", took[0], took[1]);
  /* (24 + 5 attempts) x 30 ms / 4 = 0.22 s either way */
  assert_true(took[1] < took[0] * 1.3 + 0.05);
  assert_int_equal(gate_now(fakes[0].url).capacity, -1);
  mn_fake_stop(&fakes[0]);
}

int main(void)
{
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(keys),
    cmocka_unit_test(fifo_handoff),
    cmocka_unit_test(capacity_rule),
    cmocka_unit_test_teardown(three_runs_share_one_gate, teardown_fakes),
    cmocka_unit_test_teardown(cancel_waiter_then_holder, teardown_fakes),
    cmocka_unit_test_teardown(free_pending_gives_back, teardown_fakes),
    cmocka_unit_test_teardown(two_servers_independent, teardown_fakes),
    cmocka_unit_test_teardown(single_run_unchanged, teardown_fakes),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
