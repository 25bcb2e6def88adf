/* The response cache (src/llm/cache.c) and the clients on it: canonical
 * keys (key order and white space do not matter; model, endpoint, body,
 * sample do; secrets never in a key), the file (kept across opens, shared
 * by threads, 0600, refused when broken or not ours, caps), and chats
 * against the fake server answered from it without a request, plain and
 * streamed, one by one and in batches, with the spend gate. */
#include <curl/curl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "minions.h"
#include "llm/cache.h"
#include "llm/client_internal.h"
#include "testutil.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

#define KEY "sk-test-0123456789abcdefSECRET"

static char *tmpdir;

static char *tmp_path(const char *name)
{
  return mn_xasprintf("%s/%s", tmpdir, name);
}

/* ---- keys ------------------------------------------------------------------ */

static mn_cache_key key_of(const char *url, const char *model, int sample, const char *body)
{
  size_t n = 0;
  char *canon = mn_cache_canonical_body(body, strlen(body), &n);
  assert_non_null(canon);
  mn_cache_key k;
  mn_cache_key_make(&k, "POST", url, model, sample, canon, n);
  free(canon);
  return k;
}

static int same_key(const mn_cache_key *a, const mn_cache_key *b)
{
  return a->len == b->len && memcmp(a->text, b->text, a->len) == 0 && a->hash == b->hash;
}

static void keys_canonical(void **state)
{
  const char *url = "http://127.0.0.1:8080/v1/chat/completions";
  mn_cache_key a = key_of(url, "m", 0,
    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7}");
  mn_cache_key b = key_of(url, "m", 0,
    "{ \"temperature\" : 0.7,\n\t\"messages\" : [ { \"content\" : \"hi\", \"role\" : \"user\" } ],"
    " \"model\" : \"m\" }");
  assert_true(same_key(&a, &b));
  /* the key is canonical JSON itself, the body inside it sorted */
  json_error_t err;
  json_t *v = json_loadb(a.text, a.len, 0, &err);
  assert_non_null(v);
  assert_string_equal(json_string_value(json_object_get(v, "url")), url);
  assert_string_equal(json_string_value(json_object_get(v, "method")), "POST");
  assert_string_equal(json_string_value(json_object_get(v, "model")), "m");
  assert_null(json_object_get(v, "sample"));
  char *again = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal(again, a.text);
  free(again);
  json_decref(v);
  assert_string_equal(a.endpoint, "POST http://127.0.0.1:8080/v1/chat/completions");

  /* what differs makes another key */
  mn_cache_key other[] = {
    key_of(url, "m2", 0, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7}"),
    key_of("http://127.0.0.1:8081/v1/chat/completions", "m", 0,
           "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7}"),
    key_of(url, "m", 0, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi!\"}],\"temperature\":0.7}"),
    key_of(url, "m", 0, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.70001}"),
    key_of(url, "m", 0, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7,\"stream\":true}"),
    key_of(url, "m", 1, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"temperature\":0.7}"),
  };
  for(size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
    assert_false(same_key(&a, &other[i]));
    for(size_t j = i + 1; j < sizeof other / sizeof other[0]; j++)
      assert_false(same_key(&other[i], &other[j]));
  }
  mn_cache_key get;
  size_t n;
  char *canon = mn_cache_canonical_body("{\"a\":1}", 7, &n);
  mn_cache_key_make(&get, "GET", url, "m", 0, canon, n);
  mn_cache_key post;
  mn_cache_key_make(&post, "POST", url, "m", 0, canon, n);
  assert_false(same_key(&get, &post));
  free(canon);
  mn_cache_key_free(&get);
  mn_cache_key_free(&post);
  for(size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    mn_cache_key_free(&other[i]);

  /* a body that is not JSON is not cached */
  assert_null(mn_cache_canonical_body("{\"a\":", 5, NULL));
  assert_null(mn_cache_canonical_body("plain text", 10, NULL));
  /* numbers keep their value exactly: 0.1 and 0.10000000000000001 are one double */
  char *x = mn_cache_canonical_body("[0.1, 1e2, 100]", 15, NULL);
  char *y = mn_cache_canonical_body("[0.10000000000000001,100.0,100]", 31, NULL);
  assert_string_equal(x, y);
  free(x);
  free(y);
  mn_cache_key_free(&a);
  mn_cache_key_free(&b);
}

static void keys_without_secrets(void **state)
{
  char *u = mn_cache_clean_url("https://generativelanguage.googleapis.com/v1beta/models/"
                               "gemini-2.0-flash:streamGenerateContent?alt=sse&key=AIzaSyTOPSECRET#frag");
  assert_string_equal(u, "https://generativelanguage.googleapis.com/v1beta/models/"
                         "gemini-2.0-flash:streamGenerateContent?alt=sse");
  free(u);
  u = mn_cache_clean_url("https://user:pa55@example.com:8443/v1/x?KEY=s1&api-version=2024-10-21&Api_Key=s2&token=t");
  assert_string_equal(u, "https://example.com:8443/v1/x?api-version=2024-10-21");
  free(u);
  u = mn_cache_clean_url("http://h/p?key=only");
  assert_string_equal(u, "http://h/p");
  free(u);
  u = mn_cache_clean_url("http://h/p?keyword=kept&&monkey=kept");
  assert_string_equal(u, "http://h/p?keyword=kept&monkey=kept");
  free(u);

  /* Gemini with the key in the URL or in a header: one key, no secret in it */
  const char *body = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}]}";
  mn_cache_key a = key_of("https://g.example/v1beta/models/gemini:generateContent?key=AIzaSyAAAA1111",
                          "gemini", 0, body);
  mn_cache_key b = key_of("https://g.example/v1beta/models/gemini:generateContent?key=AIzaSyBBBB2222",
                          "gemini", 0, body);
  mn_cache_key c = key_of("https://g.example/v1beta/models/gemini:generateContent", "gemini", 0, body);
  assert_true(same_key(&a, &b));
  assert_true(same_key(&a, &c));
  assert_null(strstr(a.text, "AIza"));
  assert_null(strstr(a.endpoint, "AIza"));
  mn_cache_key_free(&a);
  mn_cache_key_free(&b);
  mn_cache_key_free(&c);
}

/* ---- the file ------------------------------------------------------------------ */

static mn_cache *open_ok(const char *path, size_t max)
{
  mn_cache *c = NULL;
  char *err = NULL;
  int rc = mn_cache_open(&c, path, max, &err);
  if(rc)
    fail_msg("open %s: %s", path, err);
  return c;
}

static void persists_across_opens(void **state)
{
  char *path = tmp_path("persist.db");
  mn_cache *c = open_ok(path, 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);   /* prompts and replies are private */
  mn_cache_key k = key_of("http://h/v1/chat/completions", "m", 0, "{\"q\":\"first\"}");
  mn_cache_entry e;
  assert_int_equal(mn_cache_get(c, &k, &e), 0);
  assert_int_equal(mn_cache_put(c, &k, "application/json", "{\"a\":1}", 7), MN_OK);
  assert_int_equal(mn_cache_put(c, &k, "text/event-stream", "data: {}\n\n", 10), MN_OK);
  mn_cache_close(c);

  c = open_ok(path, 0);
  assert_int_equal(mn_cache_get(c, &k, &e), 1);
  assert_string_equal(e.content_type, "text/event-stream");   /* the last one stored */
  assert_int_equal(e.body_len, 10);
  assert_memory_equal(e.body, "data: {}\n\n", 10);
  mn_cache_entry_free(&e);
  mn_cache_key other = key_of("http://h/v1/chat/completions", "m", 0, "{\"q\":\"second\"}");
  assert_int_equal(mn_cache_get(c, &other, &e), 0);
  assert_int_equal(mn_cache_put(c, &other, "application/json", "", 0), MN_OK);
  assert_int_equal(mn_cache_get(c, &other, &e), 1);
  assert_int_equal(e.body_len, 0);
  mn_cache_entry_free(&e);
  assert_null(mn_cache_take_warning(c));
  mn_cache_close(c);

  /* one row per key, even stored twice */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM responses", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 2);
  sqlite3_finalize(q);
  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);

  /* caps: nothing over max_bytes is stored, nor read by a handle with a smaller cap */
  c = open_ok(path, 200);   /* the keys here are about 90 bytes */
  char big[300];
  memset(big, 'x', sizeof big);
  assert_int_equal(mn_cache_put(c, &other, "application/json", big, sizeof big), MN_ELIMIT);
  mn_cache_close(c);
  c = open_ok(path, 0);
  assert_int_equal(mn_cache_put(c, &other, "application/json", big, sizeof big), MN_OK);
  mn_cache_close(c);
  c = open_ok(path, 200);
  assert_int_equal(mn_cache_get(c, &other, &e), 0);
  assert_int_equal(mn_cache_get(c, &k, &e), 1);
  mn_cache_entry_free(&e);
  uint64_t hits, misses;
  mn_cache_count(c, 1);
  mn_cache_count(c, 0);
  mn_cache_count(c, 0);
  mn_cache_stats(c, &hits, &misses);
  assert_int_equal(hits, 1);
  assert_int_equal(misses, 2);
  mn_cache_close(c);
  mn_cache_key_free(&k);
  mn_cache_key_free(&other);
  free(path);
}

static void refuses_what_is_not_a_cache(void **state)
{
  mn_cache *c = NULL;
  char *err = NULL;
  /* random bytes */
  char *path = tmp_path("broken.db");
  char junk[4096];
  for(size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 7919 + 13);
  assert_int_equal(mn_test_write_file(path, junk, sizeof junk), 0);
  assert_int_equal(mn_cache_open(&c, path, 0, &err), MN_EIO);
  assert_null(c);
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, "not a database"));
  assert_null(strchr(err, '\n'));
  free(err);
  free(path);

  /* another program's SQLite file is left alone */
  path = tmp_path("theirs.db");
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes(t TEXT)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(mn_cache_open(&c, path, 0, &err), MN_EIO);
  assert_non_null(strstr(err, "another program"));
  free(err);
  free(path);

  /* a folder, a folder that does not exist, an empty name */
  assert_int_equal(mn_cache_open(&c, tmpdir, 0, &err), MN_EIO);
  assert_non_null(strstr(err, tmpdir));
  free(err);
  path = tmp_path("no/such/dir/c.db");
  assert_int_equal(mn_cache_open(&c, path, 0, &err), MN_EIO);
  assert_null(strchr(err, '\n'));
  free(err);
  free(path);
  assert_int_equal(mn_cache_open(&c, "", 0, &err), MN_EINVAL);
  free(err);

  /* an empty file (made by hand, or by a run that died at once) is a new cache */
  path = tmp_path("empty.db");
  assert_int_equal(mn_test_write_file(path, "", 0), 0);
  c = open_ok(path, 0);
  mn_cache_close(c);
  free(path);
}

/* ---- threads ------------------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 150

typedef struct worker {
  const char *path;
  int id;
  int failures;
} worker;

static void *work(void *ud)
{
  worker *w = ud;
  mn_cache *c = NULL;
  char *err = NULL;
  if(mn_cache_open(&c, w->path, 0, &err) != MN_OK) {
    fprintf(stderr, "thread %d: %s\n", w->id, err);
    free(err);
    w->failures++;
    return NULL;
  }
  for(int i = 0; i < PER_THREAD; i++) {
    /* half the keys are every thread's, half its own */
    char body[96], reply[96];
    int shared = i % 2 == 0;
    snprintf(body, sizeof body, "{\"i\":%d,\"who\":%d}", i, shared ? -1 : w->id);
    snprintf(reply, sizeof reply, "{\"reply\":%d}", i);
    mn_cache_key k = key_of("http://h/api/chat", "m", 0, body);
    if(mn_cache_put(c, &k, "application/json", reply, strlen(reply)) != MN_OK)
      w->failures++;
    mn_cache_entry e;
    if(mn_cache_get(c, &k, &e) != 1 || e.body_len != strlen(reply) ||
       memcmp(e.body, reply, e.body_len) != 0)
      w->failures++;
    mn_cache_entry_free(&e);
    mn_cache_key_free(&k);
  }
  char *warn = mn_cache_take_warning(c);
  if(warn) {
    fprintf(stderr, "thread %d: %s\n", w->id, warn);
    free(warn);
    w->failures++;
  }
  mn_cache_close(c);
  return NULL;
}

static void threads_share_a_file(void **state)
{
  char *path = tmp_path("threads.db");
  pthread_t t[THREADS];
  worker w[THREADS];
  for(int i = 0; i < THREADS; i++) {
    w[i] = (worker){ path, i, 0 };
    assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
  }
  for(int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  /* each key once: shared ones stored by every thread are one row */
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT key) FROM responses",
                                      -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  int expect = PER_THREAD / 2 + THREADS * (PER_THREAD / 2);
  assert_int_equal(sqlite3_column_int(q, 0), expect);
  assert_int_equal(sqlite3_column_int(q, 1), expect);
  sqlite3_finalize(q);
  sqlite3_close(db);
  free(path);
}

/* ---- clients on the cache, against the fake ---------------------------------------- */

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
  mn_buf_append(ud, p, sz * n);
  return sz * n;
}

static long fake_requests(const mn_fake *f)
{
  char url[128];
  snprintf(url, sizeof url, "%s/_fake/stats", f->url);
  CURL *e = curl_easy_init();
  mn_buf b = MN_BUF_INIT(0);
  curl_easy_setopt(e, CURLOPT_URL, url);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
  assert_int_equal(curl_easy_perform(e), CURLE_OK);
  curl_easy_cleanup(e);
  json_t *v = mn_json_loadb(b.data, b.len, NULL);
  mn_buf_free(&b);
  assert_non_null(v);
  long n = (long)json_integer_value(json_object_get(v, "requests"));
  json_decref(v);
  return n;
}

static mn_fake fake;
static int fake_up;

static int stop_fake(void **state)
{
  if(fake_up)
    mn_fake_stop(&fake);
  fake_up = 0;
  return 0;
}

static mn_client *client_on(mn_llm *l, const char *spec, int stream)
{
  mn_client_opts o = MN_CLIENT_OPTS_INIT;
  o.stream = stream;
  const char *urls[1] = { fake.url };
  mn_client *c = NULL;
  char *err = NULL;
  if(mn_client_new(&c, l, spec, urls, 1, &o, &err))
    fail_msg("client %s: %s", spec, err);
  return c;
}

static const mn_llm_msg MSGS[] = {
  { "system", "You answer briefly." },
  { "user", "What is the capital of France? It is Paris." },
};

static mn_llm_req req_of(int sample)
{
  mn_llm_req r;
  memset(&r, 0, sizeof r);
  r.msgs = MSGS;
  r.n_msgs = 2;
  r.temperature = 0.0;
  r.max_tokens = 64;
  r.sample = sample;
  return r;
}

/* One chat; checks how many requests reached the fake. */
static void chat_expect(mn_client *c, const mn_llm_req *req, long sent, int cached,
                        mn_llm_result *out)
{
  long before = fake_requests(&fake);
  assert_int_equal(mn_client_chat(c, req, out), MN_OK);
  assert_int_equal(fake_requests(&fake) - before, sent);
  assert_int_equal(out->cached, cached);
}

static void chats_answered_from_the_cache(void **state)
{
  const char *args[] = { "--require-key", KEY, "--script", NULL, NULL };
  char *script = tmp_path("script.json");
  const char *rules = "{\"extract\": \"Paris\", \"rules\": [{\"when\": {\"contains\": \"France\"},"
                      " \"reply\": \"The capital is {{match}}, a city of many words to cut.\","
                      " \"usage\": {\"prompt\": 31, \"completion\": 9, \"cached\": 4}}]}";
  assert_int_equal(mn_test_write_file(script, rules, strlen(rules)), 0);
  args[3] = script;
  assert_int_equal(mn_fake_start(&fake, args), 0);
  fake_up = 1;
  static const char *const vars[] = { "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY",
                                      "OPENAI_COMPATIBLE_API_KEY", NULL };
  for(int i = 0; vars[i]; i++)
    setenv(vars[i], KEY, 1);

  const char *specs[] = { "openai:gpt-4o", "ollama:fake", "anthropic:claude-3-5-haiku",
                          "gemini:gemini-2.0-flash", "openai-compatible:fake" };
  for(size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
    for(int stream = 0; stream <= 1; stream++) {
      char name[32];
      snprintf(name, sizeof name, "chats-%zu-%d.db", s, stream);
      char *path = tmp_path(name);
      mn_llm *l = NULL;
      assert_int_equal(mn_llm_new(&l, NULL), MN_OK);
      mn_cache *cache = open_ok(path, mn_llm_max_body_bytes(l));
      mn_llm_set_cache(l, cache);
      mn_client *c = client_on(l, specs[s], stream);
      mn_llm_req req = req_of(0);
      mn_llm_result live, again;
      chat_expect(c, &req, 1, 0, &live);
      chat_expect(c, &req, 0, 1, &again);
      assert_string_equal(again.text, live.text);
      assert_string_equal(again.finish_reason, live.finish_reason);
      assert_memory_equal(&again.usage, &live.usage, sizeof live.usage);
      assert_int_equal(again.attempts, 0);
      assert_int_equal(again.usage.calls, 1);
      assert_non_null(strstr(again.text, "Paris"));
      mn_llm_result_free(&again);
      /* a fresh sample of the same request is asked of the server */
      mn_llm_req fresh = req_of(1);
      chat_expect(c, &fresh, 1, 0, &again);
      mn_llm_result_free(&again);
      uint64_t hits, misses;
      mn_cache_stats(cache, &hits, &misses);
      assert_int_equal(hits, 1);
      assert_int_equal(misses, 2);
      mn_client_free(c);
      mn_llm_free(l);
      mn_cache_close(cache);

      /* another transport, another cache handle: still there */
      assert_int_equal(mn_llm_new(&l, NULL), MN_OK);
      cache = open_ok(path, 0);
      mn_llm_set_cache(l, cache);
      c = client_on(l, specs[s], stream);
      chat_expect(c, &req, 0, 1, &again);
      assert_string_equal(again.text, live.text);
      mn_llm_result_free(&again);
      /* with the other way of replying (stream or not) it is another request */
      mn_client_free(c);
      c = client_on(l, specs[s], !stream);
      chat_expect(c, &req, 1, 0, &again);
      mn_llm_result_free(&again);
      mn_llm_result_free(&live);
      mn_client_free(c);
      mn_llm_free(l);
      mn_cache_close(cache);

      /* a stream is kept as a stream, and replayed through its parser */
      sqlite3 *db;
      sqlite3_stmt *q;
      assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
      assert_int_equal(sqlite3_prepare_v2(db, "SELECT group_concat(DISTINCT content_type) "
                                          "FROM responses", -1, &q, NULL), SQLITE_OK);
      assert_int_equal(sqlite3_step(q), SQLITE_ROW);
      const char *want = !stream ? "application/json,text/event-stream"
                         : !strcmp(specs[s], "ollama:fake") ? "application/x-ndjson,application/json"
                         : "text/event-stream,application/json";
      if(!strcmp(specs[s], "ollama:fake") && !stream)
        want = "application/json,application/x-ndjson";
      assert_string_equal((const char *)sqlite3_column_text(q, 0), want);
      sqlite3_finalize(q);
      sqlite3_close(db);

      /* no API key, nor any header, went into the file (whole once closed) */
      size_t n = 0;
      char *bytes = mn_test_read_file(path, &n);
      assert_non_null(bytes);
      assert_true(n > 0);
      for(size_t i = 0; i + strlen(KEY) <= n; i++)
        assert_false(memcmp(bytes + i, KEY, strlen(KEY)) == 0);
      for(size_t i = 0; i + 13 <= n; i++)
        assert_false(strncasecmp(bytes + i, "authorization", 13) == 0 ||
                     strncasecmp(bytes + i, "x-api-key", 9) == 0 ||
                     strncasecmp(bytes + i, "x-goog-api-key", 14) == 0);
      free(bytes);
      free(path);
    }
  }
  free(script);
}

/* ---- batches and the gate ------------------------------------------------------------ */

#define JOBS 40

typedef struct batch_ud {
  mn_llm_msg msgs[JOBS][1];
  char text[JOBS][64];
  mn_llm_req req;
  int done[JOBS], cached[JOBS];
  char *reply[JOBS];
} batch_ud;

static const mn_llm_req *build(void *ud, size_t i, int attempt)
{
  batch_ud *b = ud;
  b->msgs[i][0] = (mn_llm_msg){ "user", b->text[i] };
  b->req = (mn_llm_req){ .msgs = b->msgs[i], .n_msgs = 1, .temperature = 0, .max_tokens = 32 };
  return &b->req;
}

static int settle(void *ud, size_t i, int attempt, mn_llm_result *res)
{
  batch_ud *b = ud;
  assert_int_equal(res->code, MN_OK);
  b->done[i]++;
  b->cached[i] = res->cached;
  free(b->reply[i]);
  b->reply[i] = res->text;
  res->text = NULL;
  return 0;
}

static int refuse_long(void *ud, const mn_llm_req *req, size_t body_bytes, char **why)
{
  int *asked = ud;
  (*asked)++;
  if(strlen(req->msgs[0].content) < 40)
    return 0;
  *why = mn_xasprintf("over the cap: %zu bytes", body_bytes);
  return 1;
}

static void batches_and_the_gate(void **state)
{
  const char *args[] = { "--slots", "4", "--service-ms", "5", NULL };
  assert_int_equal(mn_fake_start(&fake, args), 0);
  fake_up = 1;
  char *path = tmp_path("batch.db");
  for(int stream = 0; stream <= 1; stream++) {
    mn_llm *l = NULL;
    assert_int_equal(mn_llm_new(&l, NULL), MN_OK);
    mn_cache *cache = open_ok(path, 0);
    mn_llm_set_cache(l, cache);
    mn_client *c = client_on(l, "ollama:fake", stream);
    batch_ud *b = mn_xcalloc(1, sizeof *b);
    for(int i = 0; i < JOBS; i++)
      snprintf(b->text[i], sizeof b->text[i], "job %d of the %s batch", i % (JOBS / 2),
               stream ? "streamed" : "plain");
    int group[JOBS];
    for(int i = 0; i < JOBS; i++)
      group[i] = i % 5;
    mn_llm_batch bt = { .n = JOBS, .build = build, .done = settle, .userdata = b, .group = group };
    /* the second half repeats the first: once they are stored, hits */
    long before = fake_requests(&fake);
    assert_int_equal(mn_client_batch(c, &bt), MN_OK);
    long sent = fake_requests(&fake) - before;
    uint64_t hits, misses;
    mn_cache_stats(cache, &hits, &misses);
    assert_int_equal((long)misses, sent);
    assert_int_equal(hits + misses, JOBS);
    assert_true(sent >= JOBS / 2);
    for(int i = 0; i < JOBS; i++)
      assert_int_equal(b->done[i], 1);
    /* all again: no request, the same replies */
    char *first[JOBS];
    for(int i = 0; i < JOBS; i++) {
      first[i] = b->reply[i];
      b->reply[i] = NULL;
      b->done[i] = 0;
    }
    before = fake_requests(&fake);
    assert_int_equal(mn_client_batch(c, &bt), MN_OK);
    assert_int_equal(fake_requests(&fake) - before, 0);
    for(int i = 0; i < JOBS; i++) {
      assert_int_equal(b->done[i], 1);
      assert_int_equal(b->cached[i], 1);
      assert_string_equal(b->reply[i], first[i]);
      free(first[i]);
      free(b->reply[i]);
    }
    free(b);

    /* the gate is asked only for what would be sent */
    int asked = 0;
    mn_client_set_send_check(c, refuse_long, &asked);
    mn_llm_msg m[1] = { { "user", "job 3 of the plain batch" } };
    mn_llm_req r = { .msgs = m, .n_msgs = 1, .temperature = 0, .max_tokens = 32 };
    mn_llm_result res;
    if(!stream) {
      assert_int_equal(mn_client_chat(c, &r, &res), MN_OK);   /* cached: not asked */
      assert_int_equal(asked, 0);
      mn_llm_result_free(&res);
    }
    mn_llm_msg m2[1] = { { "user", "a new and rather long question nobody asked before" } };
    r.msgs = m2;
    before = fake_requests(&fake);
    assert_int_equal(mn_client_chat(c, &r, &res), MN_ELIMIT);
    assert_int_equal(asked, 1);
    assert_int_equal(fake_requests(&fake) - before, 0);
    assert_non_null(strstr(res.error, "over the cap"));
    mn_llm_result_free(&res);
    mn_client_free(c);
    mn_llm_free(l);
    mn_cache_close(cache);
  }
  free(path);
}

static int setup(void **state)
{
  tmpdir = mn_test_tmpdir();
  return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
  char *cmd = mn_xasprintf("rm -rf '%s'", tmpdir);
  if(system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", tmpdir);
  free(cmd);
  free(tmpdir);
  return 0;
}

int main(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(keys_canonical),
    cmocka_unit_test(keys_without_secrets),
    cmocka_unit_test(persists_across_opens),
    cmocka_unit_test(refuses_what_is_not_a_cache),
    cmocka_unit_test(threads_share_a_file),
    cmocka_unit_test_teardown(chats_answered_from_the_cache, stop_fake),
    cmocka_unit_test_teardown(batches_and_the_gate, stop_fake),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  curl_global_cleanup();
  return rc;
}
