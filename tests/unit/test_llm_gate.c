/* Chat clients and the process-wide server gates: clients of local-server
 * providers on parallel transports share their server's limit, cloud
 * providers do not unless asked, and a client listing a server twice keeps
 * the slots it had. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm/client.h"
#include "net/gate.h"
#include "net/http.h"
#include "testutil.h"
#include "util/time.h"

static mn_fake fake;

static void get_done(void *ud, const mn_http_result *res)
{
  json_t **out = ud;
  *out = res->code == MN_OK ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
}

static json_t *control(const char *method, const char *path)
{
  char url[160];
  snprintf(url, sizeof url, "%s%s", fake.url, path);
  mn_http *h = NULL;
  assert_int_equal(mn_http_new(&h, NULL), MN_OK);
  json_t *j = NULL;
  mn_http_req q;
  memset(&q, 0, sizeof q);
  q.endpoint = mn_http_endpoint_new(h, "control", 1);
  q.method = method;
  q.url = url;
  q.body = strcmp(method, "POST") == 0 ? "{}" : NULL;
  q.body_len = q.body ? 2 : 0;
  q.on_done = get_done;
  q.userdata = &j;
  assert_int_equal(mn_http_submit(h, &q), MN_OK);
  assert_int_equal(mn_http_run(h), 0);
  mn_http_free(h);
  assert_non_null(j);
  return j;
}

static long max_concurrent(void)
{
  json_t *j = control("GET", "/_fake/stats");
  long n = (long)json_integer_value(json_object_get(j, "max_concurrent"));
  json_decref(j);
  return n;
}

static void reset_fake(void)
{
  json_decref(control("POST", "/_fake/reset"));
}

static const mn_llm_msg MSGS[] = { { "user", "case-llm-gate" } };

typedef struct worker {
  const char *spec;
  int share_server;
  int twice;                  /* the URL listed twice */
  int max_inflight;
  size_t n;
  mn_llm_req req;
  atomic_int ok;
  int rc;
  int setup_failed;
} worker;

static const mn_llm_req *build(void *ud, size_t i, int attempt)
{
  return &((worker *)ud)->req;
}

static int done(void *ud, size_t i, int attempt, mn_llm_result *res)
{
  worker *w = ud;
  if(res->code == MN_OK)
    atomic_fetch_add(&w->ok, 1);
  return 0;
}

static void *work(void *arg)
{
  worker *w = arg;
  mn_llm *l = NULL;
  if(mn_llm_new(&l, NULL) != MN_OK) {
    w->setup_failed = 1;
    return NULL;
  }
  char base[96];
  snprintf(base, sizeof base, "%s/v1", fake.url);
  const char *urls[2] = { base, base };
  mn_client_opts o = MN_CLIENT_OPTS_INIT;
  o.stream = 0;
  o.max_inflight = w->max_inflight;
  o.share_server = w->share_server;
  mn_client *c = NULL;
  char *err = NULL;
  if(mn_client_new(&c, l, w->spec, urls, w->twice ? 2 : 1, &o, &err) != MN_OK) {
    w->setup_failed = 1;
    free(err);
    mn_llm_free(l);
    return NULL;
  }
  memset(&w->req, 0, sizeof w->req);
  w->req.msgs = MSGS;
  w->req.n_msgs = 1;
  w->req.temperature = -1;
  mn_llm_batch b = { .n = w->n, .build = build, .done = done, .userdata = w };
  w->rc = mn_client_batch(c, &b);
  mn_client_free(c);
  mn_llm_free(l);
  return NULL;
}

/* n workers of `spec` at once, 12 chats each with 4 in flight per client;
 * returns the server's max_concurrent. */
static long together(const char *spec, int share_server, int n, double *took)
{
  reset_fake();
  worker w[2];
  pthread_t th[2];
  double t0 = mn_now();
  for(int i = 0; i < n; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].spec = spec;
    w[i].share_server = share_server;
    w[i].max_inflight = 4;
    w[i].n = 12;
    atomic_init(&w[i].ok, 0);
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for(int i = 0; i < n; i++) {
    pthread_join(th[i], NULL);
    assert_false(w[i].setup_failed);
    assert_int_equal(w[i].rc, MN_OK);
    assert_int_equal(atomic_load(&w[i].ok), 12);
  }
  *took = mn_now() - t0;
  return max_concurrent();
}

static void local_providers_share(void **state)
{
  double t;
  long m = together("openai-compatible:m", -1, 2, &t);
  print_message("2 openai-compatible clients x 12 chats x 40 ms, 4 each: max_concurrent "
                "%ld, %.3f s\n", m, t);
  assert_int_equal(m, 4);
  assert_true(t >= 24 * 0.040 / 4 - 0.01);
  m = together("openai-compatible:m", 0, 2, &t);   /* asked not to */
  assert_int_equal(m, 8);
  /* the registry is left empty once the clients are gone */
  char base[96];
  snprintf(base, sizeof base, "%s/v1", fake.url);
  mn_gate_stats st;
  assert_int_equal(mn_gate_stats_of(base, &st), 0);
}

static void cloud_providers_apart(void **state)
{
  setenv("OPENAI_API_KEY", "sk-test-gate", 1);
  double t;
  long m = together("openai:m", -1, 2, &t);
  print_message("2 openai clients: max_concurrent %ld, %.3f s\n", m, t);
  assert_int_equal(m, 8);
  m = together("openai:m", 1, 2, &t);   /* a self-hosted server can opt in */
  assert_int_equal(m, 4);
}

/* One client listing its server twice asks the gate for both endpoints'
 * slots, which it had before gates: a single run is not held back. */
static void server_listed_twice(void **state)
{
  reset_fake();
  worker w;
  memset(&w, 0, sizeof w);
  w.spec = "openai-compatible:m";
  w.share_server = -1;
  w.twice = 1;
  w.max_inflight = 2;
  w.n = 16;
  atomic_init(&w.ok, 0);
  work(&w);
  assert_false(w.setup_failed);
  assert_int_equal(atomic_load(&w.ok), 16);
  assert_int_equal(max_concurrent(), 4);
}

static int setup(void **state)
{
  const char *args[] = { "--slots", "64", "--service-ms", "40", NULL };
  return mn_fake_start(&fake, args);
}

static int teardown(void **state)
{
  mn_fake_stop(&fake);
  return 0;
}

int main(void)
{
  struct sigaction ign;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &ign, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  unsetenv("OPENAI_BASE_URL");
  unsetenv("OPENAI_COMPATIBLE_BASE_URL");
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(local_providers_share),
    cmocka_unit_test(cloud_providers_apart),
    cmocka_unit_test(server_listed_twice),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
