/* The response cache: replies to model requests kept in an SQLite file, so
 * a request identical to one already answered is answered without a call.
 *
 * Identical means the same canonical key: the method, the URL without
 * user:password@ or secret query parameters (key=, api_key=, ...), the
 * model, and the request body as canonical JSON (jansson, keys sorted,
 * compact), and the sample number of a request asked afresh
 * (mn_llm_req.sample). The key is itself canonical JSON,
 *   {"body":BODY,"method":"POST","model":"m","url":"https://..."}
 * with "sample":N after "model" when N > 0.
 * stored whole beside a 64-bit hash of it: the hash finds the rows, the
 * whole key decides, so two requests never share a reply by a collision.
 * No header is part of the key or stored (API keys travel in headers).
 *
 * A reply is stored as its body and the content type that says how to read
 * it again (application/json, text/event-stream, application/x-ndjson), so
 * a cached reply goes through the same parser as a live one.
 *
 * One handle is one SQLite connection, used by one thread at a time; runs
 * on other threads or in other processes open their own handle on the same
 * file (WAL mode, a busy timeout). Reads and writes that fail once the file
 * is open do not fail the call: the request goes to the server, and the
 * first such error is kept for a warning (mn_cache_take_warning).
 */
#ifndef MN_LLM_CACHE_H
#define MN_LLM_CACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mn_cache mn_cache;

/* How long a writer waits for another connection's write to end. */
#define MN_CACHE_BUSY_MS 15000

/* Open (making it, 0600, if missing) the cache file at `path`; replies and
 * keys over max_bytes (the transport's body cap; 0: 64 MiB) are neither
 * stored nor read. MN_EINVAL for an empty path; MN_EIO with *errmsg (one
 * line naming the file; caller frees) when the file cannot be opened or
 * made, is not an SQLite database, or is another program's database. */
int mn_cache_open(mn_cache **out, const char *path, size_t max_bytes, char **errmsg);
void mn_cache_close(mn_cache *c);
const char *mn_cache_path(const mn_cache *c);
size_t mn_cache_max_bytes(const mn_cache *c);

/* ---- Keys ----------------------------------------------------------------- */

/* The canonical body: a request body that is JSON (any value) as compact
 * text with sorted keys. NULL when the body is not JSON (such a request is
 * not cached). Caller frees. */
char *mn_cache_canonical_body(const char *body, size_t len, size_t *len_out);

/* `url` without user:password@, fragment, and query parameters whose name
 * is one of key, api_key, apikey, api-key, access_token, token, auth, sig,
 * signature, password, secret (any case); other parameters are kept in
 * their order. Caller frees. */
char *mn_cache_clean_url(const char *url);

typedef struct mn_cache_key {
  char *text;               /* the canonical key (see above) */
  size_t len;
  uint64_t hash;
  char *endpoint;           /* "POST https://..." (the cleaned URL), and the */
  char *model;              /* model: stored beside the key for people reading */
} mn_cache_key;

/* The key of a request whose body is already canonical (canon, canon_len);
 * sample as mn_llm_req.sample. */
void mn_cache_key_make(mn_cache_key *k, const char *method, const char *url,
                       const char *model, int sample, const char *canon, size_t canon_len);
void mn_cache_key_free(mn_cache_key *k);

/* ---- Replies -------------------------------------------------------------- */

typedef struct mn_cache_entry {
  char *content_type;
  char *body;               /* NUL-terminated (not counted in body_len) */
  size_t body_len;
} mn_cache_entry;

void mn_cache_entry_free(mn_cache_entry *e);

/* 1 and *out filled when the key has a reply, 0 when not (or on a read
 * error, then kept for mn_cache_take_warning()). */
int mn_cache_get(mn_cache *c, const mn_cache_key *k, mn_cache_entry *out);
/* Store (or replace) the reply of key k. 0; MN_ELIMIT when the key or the
 * body is over the cap (nothing stored); MN_EIO on a write error (kept for
 * mn_cache_take_warning()). */
int mn_cache_put(mn_cache *c, const mn_cache_key *k, const char *content_type,
                 const char *body, size_t body_len);

/* ---- Counts and warnings -------------------------------------------------- */

/* The requests its users answered from it (hit) and sent to a server. */
void mn_cache_count(mn_cache *c, int hit);
void mn_cache_stats(const mn_cache *c, uint64_t *hits, uint64_t *misses);
/* The first read or write error since the last call, one line, or NULL;
 * caller frees. */
char *mn_cache_take_warning(mn_cache *c);

#endif
