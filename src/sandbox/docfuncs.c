/* The document functions a sandboxed program may call: chunk_by_section,
 * chunk_by_page, chunk_by_paragraph, chunk_by_code (src/doc/chunk.h) and
 * bm25_top_k (src/doc/bm25.h).
 *
 * Every argument is checked with a message the remote model can act on.
 * C memory that a Lua error could leak (chunk lists, BM25 hits) is hung on
 * a userdata whose __gc frees it; the happy path frees it at once.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doc/bm25.h"
#include "doc/chunk.h"
#include "minions.h"
#include "sandbox/sandbox_internal.h"
#include "util/mem.h"

#define HOLD_MT "mn.sandbox.hold"
/* chunk lists live in C memory, outside the Lua heap cap: bound them */
#define MAX_CHUNKS_PER_CALL 1000000
#define BM25_MIN_INDEX_BYTES (64u << 20)

typedef struct hold {
  mn_chunk_list chunks;
  const char **texts;
  size_t *lens;
  mn_bm25_term *terms;
  mn_bm25_hit *hits;
} hold;

static void hold_release(hold *h)
{
  mn_chunk_list_free(&h->chunks);
  free(h->texts);
  free(h->lens);
  free(h->terms);
  free(h->hits);
  memset(h, 0, sizeof *h);
}

static int hold_gc(lua_State *L)
{
  hold *h = luaL_testudata(L, 1, HOLD_MT);
  if(h)
    hold_release(h);
  return 0;
}

static hold *hold_new(lua_State *L)
{
  hold *h = lua_newuserdatauv(L, sizeof *h, 0);
  memset(h, 0, sizeof *h);
  luaL_setmetatable(L, HOLD_MT);
  return h;
}

/* An optional whole-number argument at least `min`; nil gives `def`. */
static size_t opt_count(lua_State *L, int arg, const char *fn, const char *name, size_t def,
                        size_t min)
{
  if(lua_isnoneornil(L, arg))
    return def;
  char d[64];
  int ok = 0;
  lua_Integer v = 0;
  if(lua_type(L, arg) == LUA_TNUMBER) {
    v = lua_tointegerx(L, arg, &ok);
    ok = ok && v >= (lua_Integer)min;
  }
  if(!ok)
    luaL_error(L, "%s: %s must be %s integer, got %s", fn, name,
               min ? "a positive" : "a non-negative", mn_sb_describe(L, arg, d, sizeof d));
  return (size_t)v;
}

static void check_doc(lua_State *L, const char *fn)
{
  char d[64];
  if(lua_type(L, 1) != LUA_TSTRING)
    luaL_error(L, "%s: doc must be a string (e.g. context[1]), got %s", fn,
               mn_sb_describe(L, 1, d, sizeof d));
}

/* Cut the doc and return its chunks as an array of strings. */
static int chunk_common(lua_State *L, const char *fn, mn_chunk_method method, size_t max_chars,
                        size_t overlap)
{
  mn_sb *sb = mn_sb_get(L);
  size_t len;
  const char *text = lua_tolstring(L, 1, &len);
  mn_sb_charge(L, len / 16 + 1);
  hold *h = hold_new(L);
  mn_chunk_opts o = MN_CHUNK_OPTS_INIT;
  o.method = method;
  o.max_chars = max_chars;
  o.overlap = overlap;
  size_t by_memory = sb->lim.memory_bytes / 64;
  o.max_chunks = by_memory < MAX_CHUNKS_PER_CALL ? by_memory + 1 : MAX_CHUNKS_PER_CALL;
  int rc = mn_chunk_text(text, len, 0, &o, &h->chunks);
  if(rc == MN_ELIMIT)
    return luaL_error(L, "%s: more than %I chunks from one document; use a larger max_chars",
                      fn, (lua_Integer)o.max_chunks);
  if(rc)
    return luaL_error(L, "%s: the chunker refused these arguments", fn);
  size_t n = h->chunks.n;
  mn_sb_charge(L, n + 1);
  /* the list is freed before this returns, but it is held while the Lua
   * strings are made: it must fit beside them */
  size_t list_bytes = n * sizeof *h->chunks.items;
  if(mn_sb_hold(sb, list_bytes))
    return luaL_error(L, "not enough memory");
  mn_sb_unhold(sb, list_bytes);
  for(size_t i = 0; i < n; i++) {
    if(h->chunks.items[i].len > sb->lim.max_string_bytes) {
      char lim[32];
      mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_string_bytes);
      return luaL_error(L, "%s: a chunk of %I bytes is over the limit of %s per string; "
                        "pass a smaller max_chars", fn, (lua_Integer)h->chunks.items[i].len, lim);
    }
  }
  lua_createtable(L, (int)n, 0);
  for(size_t i = 0; i < n; i++) {
    const mn_chunk *c = &h->chunks.items[i];
    lua_pushlstring(L, text + c->off, c->len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  hold_release(h);
  return 1;
}

static int chunk_by_section(lua_State *L)
{
  static const char fn[] = "chunk_by_section";
  check_doc(L, fn);
  size_t max_chars = opt_count(L, 2, fn, "max_chars", 3000, 1);
  size_t overlap = opt_count(L, 3, fn, "overlap", 0, 0);
  /* at most half: each chunk then moves on by max_chars/2 or more, which
   * keeps the chunker's work linear in the document (an overlap of
   * max_chars - 1 would rescan every window for every character) */
  if(overlap > max_chars / 2)
    return luaL_error(L, "%s: overlap must be at most half of max_chars (%I), got %I", fn,
                      (lua_Integer)(max_chars / 2), (lua_Integer)overlap);
  return chunk_common(L, fn, MN_CHUNK_SECTION, max_chars, overlap);
}

static int chunk_by_paragraph(lua_State *L)
{
  static const char fn[] = "chunk_by_paragraph";
  check_doc(L, fn);
  size_t max_chars = opt_count(L, 2, fn, "max_chars", 3000, 1);
  return chunk_common(L, fn, MN_CHUNK_PARAGRAPH, max_chars, 0);
}

/* Pages and code pieces are whole by default (max_chars 0: no limit). */
static int chunk_by_page(lua_State *L)
{
  static const char fn[] = "chunk_by_page";
  check_doc(L, fn);
  size_t max_chars = opt_count(L, 2, fn, "max_chars", 0, 1);
  return chunk_common(L, fn, MN_CHUNK_PAGE, max_chars, 0);
}

static int chunk_by_code(lua_State *L)
{
  static const char fn[] = "chunk_by_code";
  check_doc(L, fn);
  size_t max_chars = opt_count(L, 2, fn, "max_chars", 0, 1);
  return chunk_common(L, fn, MN_CHUNK_CODE, max_chars, 0);
}

/* ---- bm25_top_k ------------------------------------------------------------ */

static int cmp_hit_index(const void *a, const void *b)
{
  size_t x = ((const mn_bm25_hit *)a)->index, y = ((const mn_bm25_hit *)b)->index;
  return x < y ? -1 : x > y;
}

/* Check the query (arg 1); a table becomes weighted terms in h->terms. */
static size_t check_query(lua_State *L, hold *h)
{
  static const char fn[] = "bm25_top_k";
  char d[64];
  int t = lua_type(L, 1);
  if(t == LUA_TSTRING)
    return 0;
  if(t != LUA_TTABLE)
    luaL_error(L, "%s: query must be a string, an array of keywords or an array of "
               "{keyword, weight} pairs, got %s", fn, mn_sb_describe(L, 1, d, sizeof d));
  size_t n = lua_rawlen(L, 1);
  if(n == 0)
    luaL_error(L, "%s: query is an empty array; give at least one keyword", fn);
  if(n > MN_BM25_MAX_PHRASES)
    luaL_error(L, "%s: query has %I keywords, more than the limit of %d", fn, (lua_Integer)n,
               MN_BM25_MAX_PHRASES);
  h->terms = mn_xcalloc(n, sizeof *h->terms);
  for(size_t i = 0; i < n; i++) {
    lua_Integer k = (lua_Integer)i + 1;
    int it = lua_rawgeti(L, 1, k);
    if(it == LUA_TSTRING) {
      h->terms[i].text = lua_tostring(L, -1);  /* kept alive by the query table */
      h->terms[i].weight = 1.0;
    } else if(it == LUA_TTABLE) {
      if(lua_rawgeti(L, -1, 1) != LUA_TSTRING)
        luaL_error(L, "%s: query[%I][1] (the keyword) must be a string, got %s", fn, k,
                   mn_sb_describe(L, -1, d, sizeof d));
      h->terms[i].text = lua_tostring(L, -1);
      int wt = lua_rawgeti(L, -2, 2);
      double w = wt == LUA_TNIL ? 1.0 : wt == LUA_TNUMBER ? (double)lua_tonumber(L, -1) : -1.0;
      if(!(w > 0) || !isfinite(w))
        luaL_error(L, "%s: query[%I][2] (the weight) must be a positive number, got %s", fn,
                   k, mn_sb_describe(L, -1, d, sizeof d));
      h->terms[i].weight = w;
      lua_pop(L, 2);
    } else {
      luaL_error(L, "%s: query[%I] must be a keyword string or a {keyword, weight} pair, "
                 "got %s", fn, k, mn_sb_describe(L, -1, d, sizeof d));
    }
    lua_pop(L, 1);
  }
  return n;
}

/* Make sure sb->bm_ix indexes exactly the strings of the chunks table. */
static void ensure_index(lua_State *L, mn_sb *sb, hold *h, size_t n, size_t total)
{
  int same = sb->bm_ix && sb->bm_n == n;
  for(size_t i = 0; same && i < n; i++)
    same = sb->bm_ptrs[i] == (const void *)h->texts[i];
  if(same)
    return;
  /* Chunks of the documents add up to about the documents' size (twice
   * with heavy overlap); more means the same text passed many times. */
  size_t cap = BM25_MIN_INDEX_BYTES;
  if(sb->mem_allow < SIZE_MAX / 2 && 2 * sb->mem_allow > cap)
    cap = 2 * sb->mem_allow;
  if(total > cap) {
    char lim[32];
    mn_sb_fmt_bytes(lim, sizeof lim, cap);
    luaL_error(L, "bm25_top_k: the chunks add up to %I bytes, over the limit of %s for one "
               "index; pass the chunks of the documents once, not copies", (lua_Integer)total,
               lim);
  }
  mn_sb_charge(L, total / 8 + n);
  /* invalidate first: errors below must not leave a stale cache */
  sb->bm_n = 0;
  mn_bm25 *ix = NULL;
  char *err = NULL;
  int rc = mn_bm25_build(&ix, h->texts, h->lens, n, &err);
  if(rc) {
    char msg[200];
    snprintf(msg, sizeof msg, "%s", err ? err : "unknown error");
    free(err);
    luaL_error(L, "bm25_top_k: could not index the chunks: %s", msg);
  }
  /* the index stays for later queries: count it, at about the size of the
   * text it indexes */
  mn_bm25_free(sb->bm_ix);
  mn_sb_unhold(sb, sb->bm_held);
  sb->bm_held = 0;
  if(mn_sb_hold(sb, total)) {
    mn_bm25_free(ix);
    sb->bm_ix = NULL;
    luaL_error(L, "not enough memory");
  }
  sb->bm_held = total;
  sb->bm_ix = ix;
  /* keep the strings alive so that equal pointers mean equal strings */
  lua_createtable(L, (int)n, 0);
  for(size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  if(sb->bm_ref == LUA_NOREF) {
    sb->bm_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  } else {
    lua_rawseti(L, LUA_REGISTRYINDEX, sb->bm_ref);
  }
  free(sb->bm_ptrs);
  sb->bm_ptrs = (const void **)h->texts;
  h->texts = NULL;
  sb->bm_n = n;
}

static int bm25_top_k(lua_State *L)
{
  static const char fn[] = "bm25_top_k";
  mn_sb *sb = mn_sb_get(L);
  char d[64];
  lua_settop(L, 3);
  hold *h = hold_new(L);
  size_t n_terms = check_query(L, h);
  if(lua_type(L, 2) != LUA_TTABLE)
    return luaL_error(L, "%s: chunks must be an array of strings (e.g. from chunk_by_section), "
                      "got %s", fn, mn_sb_describe(L, 2, d, sizeof d));
  size_t k = opt_count(L, 3, fn, "k", 0, 1);
  if(k == 0)
    return luaL_error(L, "%s: k must be a positive integer, got nil", fn);
  size_t n = lua_rawlen(L, 2);
  mn_sb_charge(L, n + 1);
  if(n == 0) {
    lua_newtable(L);
    return 1;
  }
  h->texts = mn_xmalloc(n * sizeof *h->texts);
  h->lens = mn_xmalloc(n * sizeof *h->lens);
  size_t total = 0;
  for(size_t i = 0; i < n; i++) {
    if(lua_rawgeti(L, 2, (lua_Integer)i + 1) != LUA_TSTRING)
      return luaL_error(L, "%s: chunks[%I] must be a string, got %s", fn, (lua_Integer)i + 1,
                        mn_sb_describe(L, -1, d, sizeof d));
    h->texts[i] = lua_tolstring(L, -1, &h->lens[i]);  /* kept alive by the chunks table */
    total += h->lens[i];
    lua_pop(L, 1);
  }
  ensure_index(L, sb, h, n, total);

  size_t n_hits = 0;
  int rc;
  if(n_terms)
    rc = mn_bm25_query_terms(sb->bm_ix, h->terms, n_terms, k, &h->hits, &n_hits);
  else
    rc = mn_bm25_query(sb->bm_ix, lua_tostring(L, 1), k, &h->hits, &n_hits);
  if(rc)
    return luaL_error(L, "%s: the query failed: %s", fn, mn_bm25_errmsg(sb->bm_ix));
  if(n_hits)   /* qsort(NULL, 0) is undefined */
    qsort(h->hits, n_hits, sizeof *h->hits, cmp_hit_index);
  lua_createtable(L, (int)n_hits, 0);
  for(size_t i = 0; i < n_hits; i++) {
    lua_rawgeti(L, 2, (lua_Integer)h->hits[i].index + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  hold_release(h);
  return 1;
}

void mn_sb_open_docfuncs(lua_State *L, int env)
{
  static const luaL_Reg fns[] = {
    { "chunk_by_section", chunk_by_section },
    { "chunk_by_page", chunk_by_page },
    { "chunk_by_paragraph", chunk_by_paragraph },
    { "chunk_by_code", chunk_by_code },
    { "bm25_top_k", bm25_top_k },
    { NULL, NULL },
  };
  env = lua_absindex(L, env);
  if(luaL_newmetatable(L, HOLD_MT)) {
    lua_pushcfunction(L, hold_gc);
    lua_setfield(L, -2, "__gc");
  }
  lua_pop(L, 1);
  for(const luaL_Reg *r = fns; r->name; r++) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, env, r->name);
  }
}

void mn_sb_docfuncs_cleanup(mn_sb *sb)
{
  mn_sb_unhold(sb, sb->bm_held);
  sb->bm_held = 0;
  mn_bm25_free(sb->bm_ix);
  sb->bm_ix = NULL;
  free(sb->bm_ptrs);
  sb->bm_ptrs = NULL;
  sb->bm_n = 0;
}
