/* The Lua sandbox: state set-up, budgets, running the program, checking
 * and copying out what it returns. See sandbox.h for what the program sees.
 *
 * Run control follows the pattern of Redis' scripting engine: allow-listed
 * globals in a fresh environment, a count hook that re-arms itself with a
 * count of 1 once a budget is spent (so every further instruction raises and
 * pcall cannot swallow the stop), and the C side deciding the reported cause
 * from its own flags rather than from whatever error object arrives.
 *
 * Two Lua behaviours shape the details:
 *  - hooks are disabled while __gc metamethods run and while a message
 *    handler runs for an error raised by a hook; so setmetatable refuses
 *    metatables with __gc, and xpcall's handler is not called at all once a
 *    budget is spent;
 *  - one C call can run long without any hook (string.rep, table.sort on a
 *    big table, pattern matching); so the allocator reads the clock every
 *    MiB it hands out, C functions that can take long check the clock on
 *    entry (mn_sb_charge), and pattern matching is our own (pattern.c).
 */
#include "sandbox/sandbox.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"
#include "minions.h"
#include "sandbox/sandbox_internal.h"
#include "util/buf.h"
#include "util/mem.h"
#include "util/time.h"

#define HOOK_EVERY 1000            /* VM instructions between hook calls */
#define CLOCK_EVERY_BYTES (1u << 20) /* allocation between clock reads */
#define TRIPPED_ALLOC_MAX 256      /* once stopped, only small allocations
                                      (error messages) are granted */
#define LOG_MAX 4096               /* print output kept for error messages */
#define CAUSE_MAX 1024             /* Lua error text kept in a message */
#define MAX_FRAMES 6               /* stack frames named in a message */
#define MAX_LEVELS 64              /* stack levels looked at for them */
#define CHEAP_UNITS 1024           /* charges below this read the clock only
                                      every CLOCK_EVERY_CALLS calls */
#define CLOCK_EVERY_CALLS 64
#define MAX_ELEMS_PER_CALL (1 << 24) /* more than a capped heap can hold */
#define CHUNKNAME "=program"

static const char MEMERR[] = "not enough memory";  /* Lua's own text */

/* ---- helpers for messages ---------------------------------------------- */

void mn_sb_fmt_bytes(char *out, size_t size, size_t bytes)
{
  if(bytes >= (1u << 20) && bytes % (1u << 20) == 0)
    snprintf(out, size, "%zu MiB", bytes >> 20);
  else if(bytes >= 1024 && bytes % 1024 == 0)
    snprintf(out, size, "%zu KiB", bytes >> 10);
  else
    snprintf(out, size, "%zu bytes", bytes);
}

const char *mn_sb_describe(lua_State *L, int idx, char *buf, size_t size)
{
  switch(lua_type(L, idx)) {
  case LUA_TNONE:
  case LUA_TNIL:
    return "nil";
  case LUA_TBOOLEAN:
    return lua_toboolean(L, idx) ? "true" : "false";
  case LUA_TNUMBER:
    if(lua_isinteger(L, idx))
      snprintf(buf, size, "%lld", (long long)lua_tointeger(L, idx));
    else
      snprintf(buf, size, "%.14g", (double)lua_tonumber(L, idx));
    return buf;
  case LUA_TSTRING:
    return lua_rawlen(L, idx) ? "a string" : "an empty string";
  default:
    snprintf(buf, size, "a %s", luaL_typename(L, idx));
    return buf;
  }
}

void mn_sb_fmt_wall(char *out, size_t size, long ms)
{
  if(ms % 1000 == 0)
    snprintf(out, size, "%ld s", ms / 1000);
  else
    snprintf(out, size, "%ld ms", ms);
}

/* Copy s[0..len) as valid UTF-8: each byte that starts no valid sequence
 * becomes U+FFFD. When `controls` is set, control characters other than
 * newline and tab become '?' (for text shown in messages). */
static char *clean_utf8(const char *s, size_t len, int controls, size_t *out_len)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  if(!controls) {
    mn_utf8_stats st;
    mn_utf8_scan(s, len, &st);
    if(st.invalid == 0)
      i = len;
  }
  /* find the first byte that needs care */
  while(i < len) {
    if(u[i] < 0x80) {
      if(controls && u[i] < 0x20 && u[i] != '\n' && u[i] != '\t')
        break;
      i++;
      continue;
    }
    size_t k = mn_utf8_seq_len(u + i, len - i);
    if(!k)
      break;
    i += k;
  }
  if(i == len) {
    char *r = mn_xmalloc(len + 1);
    memcpy(r, s, len);
    r[len] = '\0';
    if(out_len)
      *out_len = len;
    return r;
  }
  mn_buf b = MN_BUF_INIT(0);
  mn_buf_append(&b, s, i);
  while(i < len) {
    if(u[i] < 0x80) {
      char c = (char)u[i];
      if(controls && u[i] < 0x20 && c != '\n' && c != '\t')
        c = '?';
      mn_buf_putc(&b, c);
      i++;
      continue;
    }
    size_t k = mn_utf8_seq_len(u + i, len - i);
    if(k) {
      mn_buf_append(&b, s + i, k);
      i += k;
    } else {
      mn_buf_append(&b, "\xEF\xBF\xBD", 3);
      i++;
    }
  }
  return mn_buf_steal(&b, out_len);
}

/* ---- run state, budgets -------------------------------------------------- */

mn_sb *mn_sb_get(lua_State *L)
{
  void *ud;
  lua_getallocf(L, &ud);
  return ud;
}

/* Has a budget run out? Sets tripped (sticky) when it has. */
static int over_budget(mn_sb *sb, int read_clock)
{
  if(sb->tripped)
    return 1;
  if(sb->instr > sb->lim.instructions)
    sb->tripped = MN_SB_TRIP_INSTR;
  else if(read_clock && mn_now() > sb->deadline)
    sb->tripped = MN_SB_TRIP_TIME;
  return sb->tripped != MN_SB_TRIP_NONE;
}

static void budget_message(const mn_sb *sb, char *out, size_t size)
{
  if(sb->tripped == MN_SB_TRIP_INSTR) {
    snprintf(out, size, "instruction budget of %llu exceeded", sb->lim.instructions);
  } else {
    char w[32];
    mn_sb_fmt_wall(w, sizeof w, sb->lim.wall_ms);
    snprintf(out, size, "time limit of %s exceeded", w);
  }
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* Raise the budget error, re-arming the hook to fire on every instruction
 * so that code catching the error is stopped at once. `level` is where the
 * position prefix comes from (0 from the hook: the running function). */
static void raise_budget(lua_State *L, mn_sb *sb, int level)
{
  char msg[128];
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  budget_message(sb, msg, sizeof msg);
  luaL_where(L, level);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  lua_error(L);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
  (void)ar;
  mn_sb *sb = mn_sb_get(L);
  if(!sb->tripped)
    sb->instr += HOOK_EVERY;
  if(over_budget(sb, 1))
    raise_budget(L, sb, 0);
}

void mn_sb_charge(lua_State *L, unsigned long long units)
{
  mn_sb *sb = mn_sb_get(L);
  sb->instr = units > ~0ULL - sb->instr ? ~0ULL : sb->instr + units;
  /* small charges are frequent (string.sub in a loop): read the clock on
   * every big one and on every CLOCK_EVERY_CALLS-th small one */
  int read_clock = units >= CHEAP_UNITS || ++sb->charge_calls % CLOCK_EVERY_CALLS == 0;
  if(over_budget(sb, read_clock))
    raise_budget(L, sb, 1);
}

/* The Lua heap. Refuses (returns NULL, which Lua turns into a memory error)
 * when the cap would be passed, when a string longer than max_string_bytes
 * is being created, and when a budget has run out; documents pushed by C
 * are exempt. Shrinking never fails, as Lua requires. */
static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  mn_sb *sb = ud;
  size_t old = ptr ? osize : 0;  /* with ptr NULL, osize is a type tag */
  if(nsize == 0) {
    free(ptr);
    sb->mem_used -= old;
    return NULL;
  }
  if(nsize > old) {
    size_t grow = nsize - old;
    if(sb->inputs) {
      sb->mem_allow += grow;
    } else {
      if(!ptr && osize == LUA_TSTRING) {
        if(sb->calibrating)
          sb->str_overhead = nsize > 64 ? nsize - 64 : 0;
        else if(sb->str_overhead && nsize - sb->str_overhead > sb->lim.max_string_bytes) {
          sb->refused = MN_SB_REFUSED_STRING;
          sb->refused_size = nsize - sb->str_overhead;
          return NULL;
        }
      }
      if(sb->tripped && nsize > TRIPPED_ALLOC_MAX)
        return NULL;
      size_t limit = sb->lim.memory_bytes + sb->mem_allow;
      size_t used = sb->mem_used + sb->c_held;
      if(used > limit || grow > limit - used) {
        sb->refused = MN_SB_REFUSED_HEAP;
        return NULL;
      }
      sb->alloc_since_clock += grow;
      if(sb->alloc_since_clock >= CLOCK_EVERY_BYTES) {
        sb->alloc_since_clock = 0;
        if(over_budget(sb, 1) && nsize > TRIPPED_ALLOC_MAX)
          return NULL;
      }
    }
  }
  void *p = realloc(ptr, nsize);
  if(!p) {
    if(nsize <= old)
      return ptr;  /* a failed shrink keeps the bigger block */
    sb->refused = MN_SB_REFUSED_HEAP;
    return NULL;
  }
  sb->mem_used = sb->mem_used - old + nsize;
  return p;
}

int mn_sb_hold(mn_sb *sb, size_t n)
{
  size_t limit = sb->lim.memory_bytes + sb->mem_allow;
  size_t used = sb->mem_used + sb->c_held;
  if(used > limit || n > limit - used) {
    sb->refused = MN_SB_REFUSED_HEAP;
    return -1;
  }
  sb->c_held += n;
  return 0;
}

void mn_sb_unhold(mn_sb *sb, size_t n)
{
  sb->c_held -= n < sb->c_held ? n : sb->c_held;
}

void (*mn_sb_test_env_hook)(lua_State *L, int env);
void (*mn_sb_inputs_pushed_hook)(void);

/* ---- functions given to the program --------------------------------------- */

/* Length of the table at idx as the table library sees it (through
 * __len, which may lie), refused when one call would loop over more
 * elements than any table under the memory cap can hold: the library's
 * loops (insert, remove, move) run no hook, so a __len of 1e12 would
 * otherwise hang there. */
static unsigned long long table_work(lua_State *L, int idx)
{
  lua_Integer n;
  if(luaL_getmetafield(L, idx, "__len") != LUA_TNIL) {
    lua_pop(L, 1);
    n = luaL_len(L, idx);
  } else {
    n = (lua_Integer)lua_rawlen(L, idx);
  }
  if(n > MAX_ELEMS_PER_CALL)
    luaL_error(L, "a table length of %I is over the limit of %d elements for one call", n,
               MAX_ELEMS_PER_CALL);
  return n > 0 ? (unsigned long long)n : 0;
}

/* Cost of a call in instruction units, from its arguments: string bytes/16
 * and table lengths (times log2 for sort). */
static unsigned long long call_cost(lua_State *L, int nargs, int sort)
{
  unsigned long long cost = 1;
  for(int i = 1; i <= nargs; i++) {
    int t = lua_type(L, i);
    if(t == LUA_TSTRING) {
      cost += lua_rawlen(L, i) / 16;
    } else if(t == LUA_TTABLE) {
      unsigned long long n = table_work(L, i);
      if(sort) {
        unsigned long long lg = 1;
        while((1ULL << lg) < n)
          lg++;
        n *= lg;
      }
      cost += n;
    }
  }
  return cost;
}

/* Call upvalue 1 (the library's own function) with this call's arguments.
 * Through pcall, so that its errors can be given the program's line number,
 * which they would otherwise lose (their caller is this C function). */
static int call_original(lua_State *L)
{
  int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  int st = lua_pcall(L, n, LUA_MULTRET, 0);
  if(st != LUA_OK) {
    size_t pl = sizeof CHUNKNAME - 2;
    if(st != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING &&
       strncmp(lua_tostring(L, -1), &CHUNKNAME[1], pl) != 0) {
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  return lua_gettop(L);
}

/* A library function that may work long in one call: charge, then call. */
static int charged(lua_State *L)
{
  mn_sb_charge(L, call_cost(L, lua_gettop(L), (int)lua_tointeger(L, lua_upvalueindex(2))));
  return call_original(L);
}

/* string.rep: refuse results over the string cap before building them. */
static int sb_rep(lua_State *L)
{
  mn_sb *sb = mn_sb_get(L);
  size_t ls, lsep = 0;
  luaL_checklstring(L, 1, &ls);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_optlstring(L, 3, "", &lsep);
  size_t total = 0;
  if(n > 0) {
    unsigned long long un = (unsigned long long)n;
    long double t = (long double)ls * un + (long double)lsep * (un - 1);
    if(t > (long double)sb->lim.max_string_bytes) {
      char lim[32], msg[160];
      mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_string_bytes);
      snprintf(msg, sizeof msg, "string.rep: the result would be %.0Lf bytes, over the limit "
               "of %s per string", t, lim);
      return luaL_error(L, "%s", msg);
    }
    total = (size_t)t;
  }
  if(total == 0) {
    /* the library would still loop n times copying nothing */
    lua_pushliteral(L, "");
    return 1;
  }
  mn_sb_charge(L, total / 16 + 1);
  return call_original(L);
}

/* table.move: its loop copies even nils, so the range itself is the work. */
static int sb_move(lua_State *L)
{
  lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
  unsigned long long count = e >= f ? (unsigned long long)e - (unsigned long long)f + 1 : 0;
  if(count > MAX_ELEMS_PER_CALL)
    return luaL_error(L, "table.move: %I elements is over the limit of %d for one call",
                      (lua_Integer)(count > LUA_MAXINTEGER ? LUA_MAXINTEGER : count),
                      MAX_ELEMS_PER_CALL);
  mn_sb_charge(L, count + 1);
  return call_original(L);
}

/* setmetatable without __gc: finalizers run with hooks off, out of reach
 * of every budget. */
static int sb_setmetatable(lua_State *L)
{
  if(lua_type(L, 2) == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if(lua_rawget(L, 2) != LUA_TNIL)
      return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
    lua_pop(L, 1);
  }
  return call_original(L);
}

/* xpcall's message handler goes through this guard: when the error comes
 * from a spent budget (raised by the hook, so hooks are off while the
 * handler runs) the program's handler is not called at all. */
static int xpcall_guard(lua_State *L)
{
  if(mn_sb_get(L)->tripped)
    return 1;
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, 1);
  return 1;
}

static int sb_xpcall(lua_State *L)
{
  int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcall_guard, 1);
  lua_replace(L, 2);          /* f, guard, args... */
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_replace(L, 1);
  lua_replace(L, 2);          /* guard, f, args... */
  int st = lua_pcall(L, n - 2, LUA_MULTRET, 1);
  lua_pushboolean(L, st == LUA_OK);
  lua_replace(L, 1);
  return lua_gettop(L);
}

/* print: into a capped log that error messages quote. */
static int sb_print(lua_State *L)
{
  mn_sb *sb = mn_sb_get(L);
  int n = lua_gettop(L);
  mn_sb_charge(L, (unsigned long long)n + 1);
  if(sb->log_truncated)
    return 0;
  for(int i = 1; i <= n; i++) {
    size_t l;
    const char *s = luaL_tolstring(L, i, &l);
    if(i > 1 && mn_buf_putc(&sb->log, '\t'))
      goto full;
    if(mn_buf_append(&sb->log, s, l)) {
      mn_buf_append(&sb->log, s, LOG_MAX - sb->log.len);
      goto full;
    }
    lua_pop(L, 1);
  }
  if(mn_buf_putc(&sb->log, '\n'))
    goto full;
  return 0;
full:
  sb->log_truncated = 1;
  return 0;
}

/* ---- building the environment ------------------------------------------- */

static void wrap_charged(lua_State *L, int lib, const char *name, int sort)
{
  lua_getfield(L, lib, name);
  lua_pushinteger(L, sort);
  lua_pushcclosure(L, charged, 2);
  lua_setfield(L, lib, name);
}

static void wrap_with(lua_State *L, int lib, const char *name, lua_CFunction f)
{
  lua_getfield(L, lib, name);
  lua_pushcclosure(L, f, 1);
  lua_setfield(L, lib, name);
}

/* A fresh table with the entries of the table at src, except `skip`. */
static int copy_lib(lua_State *L, int src, const char *const *skip)
{
  src = lua_absindex(L, src);
  lua_newtable(L);
  int dst = lua_gettop(L);
  lua_pushnil(L);
  while(lua_next(L, src)) {
    int keep = 1;
    if(lua_type(L, -2) == LUA_TSTRING)
      for(const char *const *s = skip; s && *s; s++)
        if(strcmp(lua_tostring(L, -2), *s) == 0)
          keep = 0;
    if(keep) {
      lua_pushvalue(L, -2);
      lua_insert(L, -2);
      lua_rawset(L, dst);
    } else {
      lua_pop(L, 1);
    }
  }
  return dst;
}

/* Open the allowed libraries and build the program's environment; leaves
 * it on the stack and makes it the global table for code loaded after. */
static int build_env(lua_State *L, mn_sb *sb)
{
  static const char *const base_names[] = {
    "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tostring", "type",
    "rawequal", "rawlen", "rawget", "rawset", "getmetatable", "_VERSION", NULL
  };
  static const char *const string_skip[] = { "dump", "pack", "unpack", "packsize", NULL };

  luaL_requiref(L, LUA_GNAME, luaopen_base, 0);
  int base = lua_gettop(L);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 0);
  int str = lua_gettop(L);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0);
  int tab = lua_gettop(L);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0);
  int math = lua_gettop(L);
  luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0);
  int utf8 = lua_gettop(L);

  /* the same pseudo-random sequence on every run */
  lua_getfield(L, math, "randomseed");
  lua_pushinteger(L, 0);
  lua_call(L, 1, 0);

  lua_newtable(L);
  int env = lua_gettop(L);
  for(const char *const *n = base_names; *n; n++) {
    lua_getfield(L, base, *n);
    lua_setfield(L, env, *n);
  }
  lua_pushvalue(L, env);
  lua_setfield(L, env, LUA_GNAME);
  lua_getfield(L, base, "tonumber");
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, charged, 2);
  lua_setfield(L, env, "tonumber");
  lua_getfield(L, base, "setmetatable");
  lua_pushcclosure(L, sb_setmetatable, 1);
  lua_setfield(L, env, "setmetatable");
  lua_pushcfunction(L, sb_xpcall);
  lua_setfield(L, env, "xpcall");
  lua_pushcfunction(L, sb_print);
  lua_setfield(L, env, "print");

  int s2 = copy_lib(L, str, string_skip);
  static const char *const str_charged[] = {
    "byte", "char", "format", "lower", "upper", "reverse", "sub", NULL
  };
  for(const char *const *n = str_charged; *n; n++)
    wrap_charged(L, s2, *n, 0);
  wrap_with(L, s2, "rep", sb_rep);
  mn_sb_open_patterns(L, s2);
  lua_pushvalue(L, s2);
  lua_setfield(L, env, LUA_STRLIBNAME);

  int t2 = copy_lib(L, tab, NULL);
  static const char *const tab_charged[] = { "concat", "insert", "remove", "unpack", NULL };
  for(const char *const *n = tab_charged; *n; n++)
    wrap_charged(L, t2, *n, 0);
  wrap_charged(L, t2, "sort", 1);
  wrap_with(L, t2, "move", sb_move);
  lua_getfield(L, t2, "unpack");
  lua_setfield(L, env, "unpack");
  lua_pushvalue(L, t2);
  lua_setfield(L, env, LUA_TABLIBNAME);

  copy_lib(L, math, NULL);
  lua_setfield(L, env, LUA_MATHLIBNAME);

  int u2 = copy_lib(L, utf8, NULL);
  static const char *const utf8_charged[] = { "char", "codepoint", "len", "offset", NULL };
  for(const char *const *n = utf8_charged; *n; n++)
    wrap_charged(L, u2, *n, 0);
  lua_setfield(L, env, LUA_UTF8LIBNAME);

  mn_sb_open_docfuncs(L, env);
  if(mn_sb_test_env_hook)
    mn_sb_test_env_hook(L, env);

  /* The original tables stay reachable only from the registry, which no
   * function given to the program exposes; strip them anyway. */
  static const char *const strip_base[] = {
    "load", "loadfile", "dofile", "collectgarbage", "require", NULL
  };
  for(const char *const *n = strip_base; *n; n++) {
    lua_pushnil(L);
    lua_setfield(L, base, *n);
  }
  for(const char *const *n = string_skip; *n; n++) {
    lua_pushnil(L);
    lua_setfield(L, str, *n);
  }

  /* Methods on strings ("x"):rep() go through the string metatable: point
   * it at the sandbox's table and hide it from getmetatable. */
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushvalue(L, s2);
  lua_setfield(L, -2, "__index");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);

  lua_pushvalue(L, env);
  lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);

  /* learn the allocator's per-string overhead, for the string cap */
  char probe[64];
  memset(probe, 'x', sizeof probe);
  sb->calibrating = 1;
  lua_pushlstring(L, probe, sizeof probe);
  sb->calibrating = 0;
  if(!sb->str_overhead)
    sb->str_overhead = 25;  /* never 0, which would disable the cap */

  lua_pop(L, 1);

  lua_pushvalue(L, env);
  lua_replace(L, base);
  lua_settop(L, base);
  return base;
}

/* ---- one run ------------------------------------------------------------- */

typedef struct sb_run {
  mn_sb *sb;
  const char *code;
  size_t code_len;
  const mn_sandbox_docs *docs;
  const mn_sandbox_done_job *prev;
  size_t n_prev;
  int transform;              /* 0: prepare_jobs, 1: transform_outputs */
  int rc;                     /* error code for errors raised by us */
  /* results */
  mn_sandbox_job *jobs;
  size_t n_jobs;
  int has_transform;
  char *out;
} sb_run;

/* Raise an error of ours (no position prefix) with code rc. */
static void fail(lua_State *L, sb_run *r, int rc, const char *fmt, ...)
  __attribute__((format(printf, 4, 5), noreturn));
static void fail(lua_State *L, sb_run *r, int rc, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->rc = rc;
  lua_pushstring(L, msg);
  lua_error(L);
  abort();  /* not reached: lua_error does not return */
}

static void push_context(lua_State *L, const mn_sandbox_docs *docs)
{
  size_t n = docs ? docs->n : 0;
  lua_createtable(L, (int)(n < 1000000 ? n : 1000000), 0);
  for(size_t i = 0; i < n; i++) {
    const char *t = docs->texts[i] ? docs->texts[i] : "";
    lua_pushlstring(L, t, docs->lens && docs->texts[i] ? docs->lens[i] : strlen(t));
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

static void set_str(lua_State *L, const char *k, const char *v, size_t len)
{
  if(v) {
    lua_pushlstring(L, v, len);
    lua_setfield(L, -2, k);
  }
}

static void push_done_jobs(lua_State *L, const mn_sandbox_done_job *j, size_t n)
{
  lua_createtable(L, (int)(n < 1000000 ? n : 1000000), 0);
  for(size_t i = 0; i < n; i++) {
    lua_createtable(L, 0, 9);
    set_str(L, "task", j[i].task, j[i].task ? strlen(j[i].task) : 0);
    set_str(L, "advice", j[i].advice, j[i].advice ? strlen(j[i].advice) : 0);
    set_str(L, "chunk", j[i].chunk, j[i].chunk_len);
    set_str(L, "answer", j[i].answer, j[i].answer ? strlen(j[i].answer) : 0);
    set_str(L, "explanation", j[i].explanation, j[i].explanation ? strlen(j[i].explanation) : 0);
    set_str(L, "citation", j[i].citation, j[i].citation ? strlen(j[i].citation) : 0);
    lua_pushinteger(L, j[i].job_id);
    lua_setfield(L, -2, "job_id");
    lua_pushinteger(L, j[i].task_id);
    lua_setfield(L, -2, "task_id");
    lua_pushinteger(L, j[i].chunk_id);
    lua_setfield(L, -2, "chunk_id");
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
}

/* Check a string field of job i (the table at idx). Returns the string
 * (kept alive by the job table) or NULL when it is nil and optional; adds
 * its size to *total. */
static const char *check_field(lua_State *L, sb_run *r, int idx, size_t i, const char *key,
                               int required, int nonempty, size_t *total, size_t *len_out)
{
  mn_sb *sb = r->sb;
  char d[64], lim[32];
  lua_pushstring(L, key);
  int t = lua_rawget(L, idx);
  size_t len = 0;
  const char *s = t == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
  lua_pop(L, 1);
  if(t == LUA_TNIL && !required)
    return NULL;
  if(!s || (nonempty && len == 0)) {
    const char *what = nonempty ? "a non-empty string" : required ? "a string" : "a string or nil";
    lua_pushstring(L, key);
    lua_rawget(L, idx);
    fail(L, r, MN_ESANDBOX, "job %zu: field '%s' must be %s, got %s", i, key, what,
         mn_sb_describe(L, -1, d, sizeof d));
  }
  if(len > sb->lim.max_string_bytes) {
    mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_string_bytes);
    fail(L, r, MN_ELIMIT, "job %zu: field '%s' is %zu bytes, over the limit of %s per string",
         i, key, len, lim);
  }
  if(memchr(s, '\0', len))
    fail(L, r, MN_ESANDBOX, "job %zu: field '%s' contains a NUL byte", i, key);
  *total += len;
  if(*total > sb->lim.max_total_bytes) {
    mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_total_bytes);
    fail(L, r, MN_ELIMIT, "the jobs' task, advice and chunk strings add up to more than %s "
         "(at job %zu); use fewer or smaller chunks", lim, i);
  }
  *len_out = len;
  return s;
}

/* Check what prepare_jobs returned (at idx), then copy the jobs out. Fields
 * are read raw: metamethods on the returned tables are never run. */
static void collect_jobs(lua_State *L, sb_run *r, int idx)
{
  mn_sb *sb = r->sb;
  char d[64];
  if(!lua_istable(L, idx))
    fail(L, r, MN_ESANDBOX, "prepare_jobs must return an array of jobs (tables with fields "
         "task, chunk and optional advice), got %s", mn_sb_describe(L, idx, d, sizeof d));
  size_t n = lua_rawlen(L, idx);
  if(n == 0) {
    lua_pushliteral(L, "task");
    if(lua_rawget(L, idx) != LUA_TNIL)
      fail(L, r, MN_ESANDBOX, "prepare_jobs returned a single job; return an array of jobs: "
           "return { job }");
    lua_pop(L, 1);
    lua_pushnil(L);
    if(lua_next(L, idx))
      fail(L, r, MN_ESANDBOX, "prepare_jobs must return an array of jobs, but the table it "
           "returned has nothing at index 1");
    fail(L, r, MN_ESANDBOX, "prepare_jobs returned no jobs (an empty table)");
  }
  if(n > sb->lim.max_jobs)
    fail(L, r, MN_ELIMIT, "prepare_jobs returned %zu jobs, more than the limit of %zu; "
         "use fewer tasks or larger chunks", n, sb->lim.max_jobs);
  /* two passes, so that nothing is copied when a later job is refused */
  size_t total = 0, len;
  for(int pass = 0; pass < 2; pass++) {
    if(pass == 1)
      r->jobs = mn_xcalloc(n, sizeof *r->jobs);
    for(size_t i = 1; i <= n; i++) {
      if(lua_rawgeti(L, idx, (lua_Integer)i) != LUA_TTABLE)
        fail(L, r, MN_ESANDBOX, "job %zu: expected a table with fields task, chunk and "
             "optional advice, got %s", i, mn_sb_describe(L, -1, d, sizeof d));
      int j = lua_gettop(L);
      const char *task = check_field(L, r, j, i, "task", 1, 1, &total, &len);
      if(pass == 1) {
        mn_sandbox_job *job = &r->jobs[i - 1];
        r->n_jobs = i;
        job->task = clean_utf8(task, len, 0, NULL);
        const char *chunk = check_field(L, r, j, i, "chunk", 1, 0, &total, &len);
        job->chunk = clean_utf8(chunk, len, 0, &job->chunk_len);
        const char *advice = check_field(L, r, j, i, "advice", 0, 0, &total, &len);
        job->advice = advice ? clean_utf8(advice, len, 0, NULL) : NULL;
      } else {
        check_field(L, r, j, i, "chunk", 1, 0, &total, &len);
        check_field(L, r, j, i, "advice", 0, 0, &total, &len);
      }
      lua_pop(L, 1);
    }
    /* the copies will live in C memory beside the Lua strings they copy */
    if(pass == 0 && mn_sb_hold(sb, total + n * sizeof *r->jobs)) {
      char lim[32];
      mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.memory_bytes);
      fail(L, r, MN_ELIMIT, "memory limit of %s exceeded: the program's heap and a copy of the "
           "%zu bytes of jobs it returned do not fit in it together", lim, total);
    }
    total = 0;
  }
}

static void collect_output(lua_State *L, sb_run *r, int idx)
{
  mn_sb *sb = r->sb;
  char d[64], lim[32];
  if(lua_type(L, idx) != LUA_TSTRING)
    fail(L, r, MN_ESANDBOX, "transform_outputs must return a string, got %s",
         mn_sb_describe(L, idx, d, sizeof d));
  size_t len;
  const char *s = lua_tolstring(L, idx, &len);
  mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_string_bytes);
  if(len > sb->lim.max_string_bytes)
    fail(L, r, MN_ELIMIT, "transform_outputs returned %zu bytes, over the limit of %s per string",
         len, lim);
  if(memchr(s, '\0', len))
    fail(L, r, MN_ESANDBOX, "transform_outputs returned a string containing a NUL byte");
  r->out = clean_utf8(s, len, 0, NULL);
}

/* The whole run, in protected mode: environment, inputs, the program's
 * top level, then prepare_jobs or transform_outputs, then its result. */
static int run_protected(lua_State *L)
{
  sb_run *r = lua_touserdata(L, 1);
  mn_sb *sb = r->sb;
  int env = build_env(L, sb);

  sb->inputs = 1;
  push_context(L, r->docs);
  int context = lua_gettop(L);
  if(r->prev || r->transform)
    push_done_jobs(L, r->prev, r->n_prev);
  else
    lua_pushnil(L);
  int prev = lua_gettop(L);
  sb->inputs = 0;
  if(mn_sb_inputs_pushed_hook)
    mn_sb_inputs_pushed_hook();

  if(r->code_len > 0 && r->code[0] == LUA_SIGNATURE[0])
    fail(L, r, MN_ESANDBOX, "the program is a precompiled (binary) Lua chunk; only Lua source "
         "text is accepted");
  if(luaL_loadbufferx(L, r->code, r->code_len, CHUNKNAME, "t") != LUA_OK)
    return lua_error(L);
  lua_call(L, 0, 0);

  const char *fname = r->transform ? "transform_outputs" : "prepare_jobs";
  lua_pushstring(L, fname);
  if(lua_rawget(L, env) != LUA_TFUNCTION) {
    if(r->transform)
      fail(L, r, MN_ESANDBOX, "the program does not define a global function "
           "transform_outputs(jobs)");
    fail(L, r, MN_ESANDBOX, "the program does not define a global function "
         "prepare_jobs(context, prev_jobs) (it must not be local)");
  }
  if(r->transform) {
    lua_pushvalue(L, prev);
    lua_pushvalue(L, context);
  } else {
    lua_pushvalue(L, context);
    lua_pushvalue(L, prev);
  }
  lua_call(L, 2, 1);
  int res = lua_gettop(L);
  if(r->transform) {
    collect_output(L, r, res);
  } else {
    collect_jobs(L, r, res);
    lua_pushliteral(L, "transform_outputs");
    r->has_transform = lua_rawget(L, env) == LUA_TFUNCTION;
  }
  return 0;
}

/* The name of the function on top of the stack (popped) if it is one of
 * the entry points, which Lua cannot name since C calls them. */
static const char *entry_name(lua_State *L)
{
  static const char *const names[] = { "prepare_jobs", "transform_outputs" };
  const char *found = NULL;
  if(lua_checkstack(L, 3)) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    for(size_t i = 0; i < 2 && !found && lua_type(L, -1) == LUA_TTABLE; i++) {
      lua_pushstring(L, names[i]);
      lua_rawget(L, -2);
      if(lua_rawequal(L, -1, -3))
        found = names[i];
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return found;
}

/* Message handler of the top-level call: notes where the error was raised
 * (into sb->where, without allocating) and makes the error object a string
 * without running metamethods. */
static int top_handler(lua_State *L)
{
  mn_sb *sb = mn_sb_get(L);
  lua_Debug ar;
  size_t used = 0;
  int frames = 0, repeated = 0;
  const char *name;
  char last[128] = "";
  sb->where[0] = '\0';
  sb->where_lua_frames = 0;
  for(int level = 1; frames < MAX_FRAMES && level <= MAX_LEVELS && lua_getstack(L, level, &ar);
      level++) {
    if(!lua_getinfo(L, "Sln", &ar))
      break;
    char one[128];
    if(ar.currentline > 0 && strcmp(ar.source, CHUNKNAME) == 0) {
      if(strcmp(ar.what, "main") == 0)
        snprintf(one, sizeof one, "program:%d in the main chunk", ar.currentline);
      else if(ar.name)
        snprintf(one, sizeof one, "program:%d in function '%s'", ar.currentline, ar.name);
      else if(lua_getinfo(L, "f", &ar) && (name = entry_name(L)) != NULL)
        snprintf(one, sizeof one, "program:%d in function '%s'", ar.currentline, name);
      else
        snprintf(one, sizeof one, "program:%d in a function", ar.currentline);
      sb->where_lua_frames++;
    } else if(strcmp(ar.what, "C") == 0 && ar.name && !(frames == 0 &&
              (strcmp(ar.name, "error") == 0 || strcmp(ar.name, "assert") == 0))) {
      snprintf(one, sizeof one, "C function '%s'", ar.name);
    } else {
      continue;
    }
    /* deep recursion: name a repeated frame once */
    if(frames && strcmp(one, last) == 0) {
      if(!repeated) {
        int k = snprintf(sb->where + used, sizeof sb->where - used, " (repeated)");
        if(k > 0 && (size_t)k < sizeof sb->where - used)
          used += (size_t)k;
        repeated = 1;
      }
      continue;
    }
    repeated = 0;
    memcpy(last, one, sizeof last);
    int k = snprintf(sb->where + used, sizeof sb->where - used, "%s%s", frames ? " <- " : "", one);
    if(k < 0 || (size_t)k >= sizeof sb->where - used) {
      sb->where[used] = '\0';
      break;
    }
    used += (size_t)k;
    frames++;
  }
  int t = lua_type(L, 1);
  if(t == LUA_TNUMBER)
    lua_pushstring(L, lua_tostring(L, 1));
  else if(t != LUA_TSTRING)
    lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  else
    lua_pushvalue(L, 1);
  return 1;
}

/* The message for a failed run, and its code. */
static char *compose_error(mn_sb *sb, sb_run *r, int status, int *rc)
{
  lua_State *L = sb->L;
  mn_buf m = MN_BUF_INIT(0);
  char tmp[160], lim[32];
  size_t ml = 0;
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &ml) : NULL;
  /* a memory error keeps Lua's text, perhaps with a position prefix (the
   * program may have caught it and raised it again) */
  int memerr = status == LUA_ERRMEM ||
               (msg && sb->refused && ml >= sizeof MEMERR - 1 &&
                strcmp(msg + ml - (sizeof MEMERR - 1), MEMERR) == 0);
  int show_where = 0;
  *rc = MN_ESANDBOX;
  if(sb->tripped) {
    budget_message(sb, tmp, sizeof tmp);
    mn_buf_puts(&m, tmp);
    *rc = MN_ELIMIT;
    show_where = 1;
  } else if(memerr && sb->refused == MN_SB_REFUSED_STRING) {
    mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.max_string_bytes);
    mn_buf_printf(&m, "a string of %zu bytes was refused: over the limit of %s per string",
                  sb->refused_size, lim);
    *rc = MN_ELIMIT;
    show_where = 1;
  } else if(memerr) {
    mn_sb_fmt_bytes(lim, sizeof lim, sb->lim.memory_bytes);
    mn_buf_printf(&m, "memory limit of %s exceeded", lim);
    *rc = MN_ELIMIT;
    show_where = 1;
  } else if(msg) {
    char *p = mn_utf8_printable(msg, ml, CAUSE_MAX);
    mn_buf_puts(&m, p);
    free(p);
    if(r->rc)
      *rc = r->rc;
  } else if(status == LUA_ERRERR) {
    mn_buf_puts(&m, "error in the error handler");
  } else {
    mn_buf_puts(&m, "the program failed");
  }
  /* a stack is worth showing when it says more than the message's own
   * "program:LINE:" */
  if(sb->where[0] && (show_where || sb->where_lua_frames > 1)) {
    /* function names come from the program: keep them printable */
    char *w = mn_utf8_printable(sb->where, strlen(sb->where), sizeof sb->where);
    mn_buf_printf(&m, "\nstack: %s", w);
    free(w);
  }
  if(sb->log.len) {
    char *log = clean_utf8(sb->log.data, sb->log.len, 1, NULL);
    mn_buf_printf(&m, "\nprint output:\n%s", log);
    free(log);
    if(sb->log_truncated)
      mn_buf_printf(&m, "%s(print output truncated at %d bytes)",
                    sb->log.data[sb->log.len - 1] == '\n' ? "" : "\n", LOG_MAX);
  }
  return mn_buf_steal(&m, NULL);
}

int mn_sb_limits_ok(const mn_sandbox_limits *l)
{
  return l->memory_bytes > 0 && l->instructions > 0 && l->wall_ms > 0 && l->max_jobs > 0 &&
         l->max_string_bytes > 0 && l->max_total_bytes > 0;
}

/* Everything both entry points share: state, run, result or message. */
static int run(sb_run *r, const mn_sandbox_limits *limits, char **errmsg)
{
  mn_sandbox_limits defaults = MN_SANDBOX_LIMITS_INIT;
  if(!limits)
    limits = &defaults;
  if(!r->code || !errmsg || !mn_sb_limits_ok(limits)) {
    if(errmsg)
      *errmsg = mn_xstrdup(r->code ? "invalid sandbox limits" : "no program");
    return MN_EINVAL;
  }
  if(r->code_len > limits->max_string_bytes) {
    char lim[32];
    mn_sb_fmt_bytes(lim, sizeof lim, limits->max_string_bytes);
    *errmsg = mn_xasprintf("the program is %zu bytes, over the limit of %s", r->code_len, lim);
    return MN_ELIMIT;
  }

  mn_sb sb;
  memset(&sb, 0, sizeof sb);
  sb.lim = *limits;
  sb.bm_ref = LUA_NOREF;
  mn_buf_init(&sb.log, LOG_MAX);
  sb.deadline = mn_now() + (double)limits->wall_ms / 1000.0;
  r->sb = &sb;
  lua_State *L = lua_newstate(sb_alloc, &sb);
  if(!L) {
    char lim[32];
    mn_sb_fmt_bytes(lim, sizeof lim, limits->memory_bytes);
    *errmsg = mn_xasprintf("memory limit of %s is too small to start Lua", lim);
    mn_buf_free(&sb.log);
    return MN_ELIMIT;
  }
  sb.L = L;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);

  /* none of these allocate, so they cannot fail outside protected mode */
  lua_pushcfunction(L, top_handler);
  lua_pushcfunction(L, run_protected);
  lua_pushlightuserdata(L, r);
  int status = lua_pcall(L, 1, 0, 1);
  int rc = MN_OK;
  if(status != LUA_OK)
    *errmsg = compose_error(&sb, r, status, &rc);
  lua_close(L);
  mn_sb_docfuncs_cleanup(&sb);
  mn_buf_free(&sb.log);
  return rc;
}

int mn_sb_prepare_jobs_here(const char *code, size_t code_len,
                            const mn_sandbox_docs *docs,
                            const mn_sandbox_done_job *prev, size_t n_prev,
                            const mn_sandbox_limits *limits,
                            mn_sandbox_job **jobs, size_t *n_jobs,
                            int *has_transform, char **errmsg)
{
  if(errmsg)
    *errmsg = NULL;
  if(has_transform)
    *has_transform = 0;
  if(!jobs || !n_jobs) {
    if(errmsg)
      *errmsg = mn_xstrdup("no place for the jobs");
    return MN_EINVAL;
  }
  *jobs = NULL;
  *n_jobs = 0;
  sb_run r = { .code = code, .code_len = code_len, .docs = docs, .prev = prev,
               .n_prev = prev ? n_prev : 0 };
  int rc = run(&r, limits, errmsg);
  if(rc != MN_OK) {
    mn_sandbox_jobs_free(r.jobs, r.n_jobs);
    return rc;
  }
  *jobs = r.jobs;
  *n_jobs = r.n_jobs;
  if(has_transform)
    *has_transform = r.has_transform;
  return MN_OK;
}

int mn_sb_transform_outputs_here(const char *code, size_t code_len,
                                 const mn_sandbox_docs *docs,
                                 const mn_sandbox_done_job *jobs, size_t n_jobs,
                                 const mn_sandbox_limits *limits,
                                 char **out, char **errmsg)
{
  if(errmsg)
    *errmsg = NULL;
  if(!out) {
    if(errmsg)
      *errmsg = mn_xstrdup("no place for the output");
    return MN_EINVAL;
  }
  *out = NULL;
  sb_run r = { .code = code, .code_len = code_len, .docs = docs, .prev = jobs,
               .n_prev = jobs ? n_jobs : 0, .transform = 1 };
  int rc = run(&r, limits, errmsg);
  if(rc != MN_OK) {
    free(r.out);
    return rc;
  }
  *out = r.out;
  return MN_OK;
}

void mn_sandbox_jobs_free(mn_sandbox_job *jobs, size_t n)
{
  if(!jobs)
    return;
  for(size_t i = 0; i < n; i++) {
    free(jobs[i].task);
    free(jobs[i].advice);
    free(jobs[i].chunk);
  }
  free(jobs);
}
