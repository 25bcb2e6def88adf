/* The response cache on SQLite: one table of replies, found by the hash of
 * their canonical key and matched on the whole key. */
#include "llm/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "minions.h"
#include "util/buf.h"
#include "util/mem.h"

/* PRAGMA application_id "MNC1" marks the file as ours; user_version is the
 * layout of its tables. */
#define APP_ID 0x4d4e4331
#define LAYOUT 1
#define DEFAULT_MAX_BYTES ((size_t)64 << 20)
/* SQLite's own cap on a string or blob (SQLITE_MAX_LENGTH's default) */
#define SQLITE_MAX_BYTES ((size_t)1000000000)

struct mn_cache {
  sqlite3 *db;
  char *path;
  size_t max_bytes;
  sqlite3_stmt *find, *del, *ins;
  uint64_t hits, misses;
  char *warning;              /* the first runtime error, until taken */
  int warned;                 /* one warning per handle: errors tend to repeat */
};

static const char SCHEMA[] =
  "CREATE TABLE responses ("
  "  id INTEGER PRIMARY KEY,"
  "  hash INTEGER NOT NULL,"         /* 63 bits of FNV-1a over key */
  "  key BLOB NOT NULL,"             /* the canonical key, compared whole */
  "  endpoint TEXT NOT NULL,"        /* method and URL, no secrets */
  "  model TEXT NOT NULL,"
  "  content_type TEXT NOT NULL,"    /* how to read body again */
  "  body BLOB NOT NULL,"
  "  created INTEGER NOT NULL);"     /* Unix seconds */
  "CREATE INDEX responses_hash ON responses(hash);";

static void warn(mn_cache *c, const char *what)
{
  if(c->warning || c->warned)
    return;
  c->warning = mn_xasprintf("response cache %s: %s: %s (the request went to the server)",
                            c->path, what, sqlite3_errmsg(c->db));
  for(char *p = c->warning; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
}

/* ---- opening ------------------------------------------------------------ */

static int open_fail(mn_cache *c, char **errmsg, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int open_fail(mn_cache *c, char **errmsg, const char *fmt, ...)
{
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  *errmsg = mn_xasprintf("cannot use the response cache %s: %s", c->path, why);
  for(char *p = *errmsg; *p; p++)
    if(*p == '\n' || *p == '\r')
      *p = ' ';
  return MN_EIO;
}

/* One value of a single-row statement (a PRAGMA). SQLITE_ROW on success. */
static int query_int(sqlite3 *db, const char *sql, long long *out)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
  if(rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if(rc == SQLITE_ROW)
      *out = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return rc;
}

/* The tables, made in a write transaction so that two processes opening a
 * new file at once do not both make them. */
static int setup_schema(mn_cache *c, char **errmsg)
{
  sqlite3 *db = c->db;
  if(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
    return open_fail(c, errmsg, "%s", sqlite3_errmsg(db));
  long long app = 0, layout = 0, tables = 0;
  int rc = MN_OK;
  if(query_int(db, "PRAGMA application_id", &app) != SQLITE_ROW ||
     query_int(db, "PRAGMA user_version", &layout) != SQLITE_ROW ||
     query_int(db, "SELECT count(*) FROM sqlite_master", &tables) != SQLITE_ROW) {
    rc = open_fail(c, errmsg, "%s", sqlite3_errmsg(db));
  } else if(app == 0 && layout == 0 && tables == 0) {
    char sql[sizeof SCHEMA + 96];
    snprintf(sql, sizeof sql, "%sPRAGMA application_id = %d; PRAGMA user_version = %d;",
             SCHEMA, APP_ID, LAYOUT);
    if(sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
      rc = open_fail(c, errmsg, "cannot make its tables: %s", sqlite3_errmsg(db));
  } else if(app != APP_ID) {
    rc = open_fail(c, errmsg, "it is an SQLite database of another program, not a "
                   "response cache (give a new file)");
  } else if(layout != LAYOUT) {
    rc = open_fail(c, errmsg, "its layout %lld is not the one this library reads (%d): "
                   "it was made by another version of minions (give a new file)",
                   layout, LAYOUT);
  }
  if(sqlite3_exec(db, rc == MN_OK ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK &&
     rc == MN_OK)
    rc = open_fail(c, errmsg, "%s", sqlite3_errmsg(db));
  return rc;
}

static int prepare(mn_cache *c, sqlite3_stmt **st, const char *sql, char **errmsg)
{
  if(sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
    return open_fail(c, errmsg, "%s", sqlite3_errmsg(c->db));
  return MN_OK;
}

int mn_cache_open(mn_cache **out, const char *path, size_t max_bytes, char **errmsg)
{
  *out = NULL;
  *errmsg = NULL;
  if(!path || !*path) {
    *errmsg = mn_xstrdup("the response cache needs a file name");
    return MN_EINVAL;
  }
  mn_cache *c = mn_xcalloc(1, sizeof *c);
  c->path = mn_xstrdup(path);
  c->max_bytes = max_bytes ? max_bytes : DEFAULT_MAX_BYTES;
  if(c->max_bytes > SQLITE_MAX_BYTES)
    c->max_bytes = SQLITE_MAX_BYTES;
  /* The file holds prompts (documents) and replies: made 0600 like the run
   * logs; SQLite gives its -wal and -shm files the same mode. */
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if(fd >= 0)
    close(fd);
  else if(errno != EEXIST) {
    int rc = open_fail(c, errmsg, "%s", strerror(errno));
    mn_cache_close(c);
    return rc;
  }
  int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if(rc != SQLITE_OK) {
    rc = open_fail(c, errmsg, "%s", c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    mn_cache_close(c);
    return rc;
  }
  sqlite3_busy_timeout(c->db, MN_CACHE_BUSY_MS);
  /* WAL: readers never wait for a writer, and a commit is one append;
   * NORMAL loses at most the last commits on a power cut, never the file. */
  long long ignored;
  rc = query_int(c->db, "PRAGMA journal_mode = WAL", &ignored);
  if(rc != SQLITE_ROW) {
    rc = open_fail(c, errmsg, "%s%s", sqlite3_errmsg(c->db),
                   rc == SQLITE_NOTADB ? " (not a response cache: give a new file)" : "");
    mn_cache_close(c);
    return rc;
  }
  if(sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
     (rc = setup_schema(c, errmsg)) != MN_OK ||
     /* one statement, so one snapshot: a row replaced meanwhile by another
      * run is read whole or not at all; a body over the cap is not loaded */
     (rc = prepare(c, &c->find, "SELECT content_type, length(body), CASE WHEN length(body) "
                   "<= ?3 THEN body END FROM responses WHERE hash = ?1 AND key = ?2 "
                   "ORDER BY id DESC LIMIT 1", errmsg)) != MN_OK ||
     (rc = prepare(c, &c->del, "DELETE FROM responses WHERE hash = ?1 AND key = ?2",
                   errmsg)) != MN_OK ||
     (rc = prepare(c, &c->ins, "INSERT INTO responses (hash, key, endpoint, model, "
                   "content_type, body, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                   errmsg)) != MN_OK) {
    if(!*errmsg)
      rc = open_fail(c, errmsg, "%s", sqlite3_errmsg(c->db));
    mn_cache_close(c);
    return rc;
  }
  *out = c;
  return MN_OK;
}

void mn_cache_close(mn_cache *c)
{
  if(!c)
    return;
  sqlite3_finalize(c->find);
  sqlite3_finalize(c->del);
  sqlite3_finalize(c->ins);
  sqlite3_close(c->db);
  free(c->path);
  free(c->warning);
  free(c);
}

const char *mn_cache_path(const mn_cache *c)
{
  return c->path;
}

size_t mn_cache_max_bytes(const mn_cache *c)
{
  return c->max_bytes;
}

/* ---- keys ----------------------------------------------------------------- */

char *mn_cache_canonical_body(const char *body, size_t len, size_t *len_out)
{
  json_error_t err;
  json_t *v = json_loadb(body, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
  if(!v)
    return NULL;
  /* default real precision (17 digits): distinct numbers stay distinct */
  char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  json_decref(v);
  if(!s)
    return NULL;
  if(len_out)
    *len_out = strlen(s);
  return s;
}

static int secret_param(const char *name, size_t len)
{
  static const char *const names[] = {
    "key", "api_key", "apikey", "api-key", "access_token", "token", "auth",
    "sig", "signature", "password", "secret", NULL
  };
  for(int i = 0; names[i]; i++)
    if(strlen(names[i]) == len && strncasecmp(names[i], name, len) == 0)
      return 1;
  return 0;
}

char *mn_cache_clean_url(const char *url)
{
  mn_buf b = MN_BUF_INIT(0);
  const char *p = url ? url : "";
  const char *sep = strstr(p, "://");
  if(sep && strcspn(p, "/?#") > (size_t)(sep - p)) {
    size_t auth_start = (size_t)(sep - p) + 3;
    size_t auth_len = strcspn(p + auth_start, "/?#");
    const char *host = p + auth_start;
    for(size_t i = 0; i < auth_len; i++)   /* userinfo ends at the last '@' */
      if(p[auth_start + i] == '@')
        host = p + auth_start + i + 1;
    mn_buf_append(&b, p, auth_start);
    mn_buf_append(&b, host, (size_t)(p + auth_start + auth_len - host));
    p += auth_start + auth_len;
  }
  size_t path_len = strcspn(p, "?#");
  mn_buf_append(&b, p, path_len);
  p += path_len;
  if(*p == '?') {
    p++;
    size_t qlen = strcspn(p, "#");
    int first = 1;
    while(qlen) {
      size_t plen = 0;
      while(plen < qlen && p[plen] != '&')
        plen++;
      size_t nlen = 0;
      while(nlen < plen && p[nlen] != '=')
        nlen++;
      if(plen && !secret_param(p, nlen)) {
        mn_buf_putc(&b, first ? '?' : '&');
        mn_buf_append(&b, p, plen);
        first = 0;
      }
      if(plen < qlen)
        plen++;   /* the '&' */
      p += plen;
      qlen -= plen;
    }
  }
  return mn_buf_steal(&b, NULL);
}

/* s as a JSON string: quote, backslash and control characters escaped,
 * every other byte as it is (injective, so the key stays unambiguous). */
static void put_json_string(mn_buf *b, const char *s)
{
  mn_buf_putc(b, '"');
  for(; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if(ch == '"' || ch == '\\')
      mn_buf_printf(b, "\\%c", ch);
    else if(ch < 0x20)
      mn_buf_printf(b, "\\u%04x", ch);
    else
      mn_buf_putc(b, (char)ch);
  }
  mn_buf_putc(b, '"');
}

static uint64_t fnv1a(const char *p, size_t n)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  for(size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

void mn_cache_key_make(mn_cache_key *k, const char *method, const char *url,
                       const char *model, int sample, const char *canon, size_t canon_len)
{
  char *clean = mn_cache_clean_url(url);
  /* the members in sorted order, as JSON_SORT_KEYS would write them */
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_puts(&b, "{\"body\":");
  mn_buf_append(&b, canon, canon_len);
  mn_buf_puts(&b, ",\"method\":");
  put_json_string(&b, method);
  mn_buf_puts(&b, ",\"model\":");
  put_json_string(&b, model ? model : "");
  if(sample > 0)
    mn_buf_printf(&b, ",\"sample\":%d", sample);
  mn_buf_puts(&b, ",\"url\":");
  put_json_string(&b, clean);
  mn_buf_putc(&b, '}');
  k->text = mn_buf_steal(&b, &k->len);
  k->hash = fnv1a(k->text, k->len);
  k->endpoint = mn_xasprintf("%s %s", method, clean);
  k->model = mn_xstrdup(model ? model : "");
  free(clean);
}

void mn_cache_key_free(mn_cache_key *k)
{
  if(!k)
    return;
  free(k->text);
  free(k->endpoint);
  free(k->model);
  memset(k, 0, sizeof *k);
}

/* ---- replies -------------------------------------------------------------- */

void mn_cache_entry_free(mn_cache_entry *e)
{
  if(!e)
    return;
  free(e->content_type);
  free(e->body);
  memset(e, 0, sizeof *e);
}

static sqlite3_int64 hash_value(const mn_cache_key *k)
{
  return (sqlite3_int64)(k->hash & 0x7fffffffffffffffULL);
}

int mn_cache_get(mn_cache *c, const mn_cache_key *k, mn_cache_entry *out)
{
  memset(out, 0, sizeof *out);
  if(k->len > c->max_bytes)
    return 0;
  sqlite3_stmt *st = c->find;
  sqlite3_bind_int64(st, 1, hash_value(k));
  sqlite3_bind_blob64(st, 2, k->text, k->len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)c->max_bytes);
  int rc = sqlite3_step(st);
  int found = 0;
  /* a reply over the cap is left unread, as the transport would refuse it */
  if(rc == SQLITE_ROW && sqlite3_column_type(st, 2) != SQLITE_NULL) {
    const unsigned char *ct = sqlite3_column_text(st, 0);
    out->content_type = mn_xstrdup(ct ? (const char *)ct : "application/json");
    const void *p = sqlite3_column_blob(st, 2);
    size_t n = (size_t)sqlite3_column_bytes(st, 2);
    out->body = mn_xmalloc(n + 1);
    if(n)
      memcpy(out->body, p, n);
    out->body[n] = '\0';
    out->body_len = n;
    found = 1;
  } else if(rc != SQLITE_ROW && rc != SQLITE_DONE) {
    warn(c, "cannot read");
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return found;
}

int mn_cache_put(mn_cache *c, const mn_cache_key *k, const char *content_type,
                 const char *body, size_t body_len)
{
  if(k->len > c->max_bytes || body_len > c->max_bytes)
    return MN_ELIMIT;
  /* one transaction: another run storing the same key at once leaves one row */
  if(sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
    warn(c, "cannot write");
    return MN_EIO;
  }
  sqlite3_stmt *st = c->del;
  sqlite3_bind_int64(st, 1, hash_value(k));
  sqlite3_bind_blob64(st, 2, k->text, k->len, SQLITE_STATIC);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if(rc == SQLITE_DONE) {
    st = c->ins;
    sqlite3_bind_int64(st, 1, hash_value(k));
    sqlite3_bind_blob64(st, 2, k->text, k->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, k->endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, k->model, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, content_type, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(st, 6, body_len ? body : "", body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)time(NULL));
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
  }
  if(rc != SQLITE_DONE) {
    warn(c, "cannot write");
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return MN_EIO;
  }
  if(sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
    warn(c, "cannot write");
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return MN_EIO;
  }
  return MN_OK;
}

/* ---- counts ----------------------------------------------------------------- */

void mn_cache_count(mn_cache *c, int hit)
{
  if(hit)
    c->hits++;
  else
    c->misses++;
}

void mn_cache_stats(const mn_cache *c, uint64_t *hits, uint64_t *misses)
{
  if(hits)
    *hits = c ? c->hits : 0;
  if(misses)
    *misses = c ? c->misses : 0;
}

char *mn_cache_take_warning(mn_cache *c)
{
  if(!c || !c->warning)
    return NULL;
  char *w = c->warning;
  c->warning = NULL;
  c->warned = 1;
  return w;
}
