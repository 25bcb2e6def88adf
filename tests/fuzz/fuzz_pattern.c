/* The sandbox's pattern functions (src/sandbox/pattern.c) against stock
 * Lua 5.4's (liblua5.4): string.find, match, gmatch and gsub called with
 * the same subject, pattern, start position, replacement and count in both
 * must both raise an error or both return the same values (gmatch: the same
 * sequence of matches).
 *
 * Ours run in a lua_State whose allocator userdata is a minimal mn_sb, as
 * in the sandbox, so their step counting charges an instruction budget; an
 * input that spends it is skipped (stock Lua would take as long, without
 * a limit). Stock runs in a plain state with the standard libraries.
 *
 * Input: op byte (function, plain flag, start choice, replacement kind),
 * count byte, pattern length byte and pattern, replacement length byte and
 * replacement, then the subject.
 */
#include "fuzz.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "minions.h"
#include "sandbox/sandbox_internal.h"
#include "util/buf.h"
#include "util/time.h"

#define PAT_MAX 48
#define SUBJ_MAX 256
#define BUDGET 3000000ULL
#define GMATCH_MAX 64

static mn_sb sb;
static lua_State *ours, *stock;

static void *plain_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
  (void)ud;
  (void)osize;
  if(nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

/* Replacement values for gsub, the same in both states. */
static const char setup[] =
  "repl_table = { a = 'A', b = false, ab = 'X', [''] = 'E', [2] = 'two', ['1'] = 7 }\n"
  "function repl_func(a, b, ...)\n"
  "  if a == 'b' then return false end\n"
  "  if a == 'c' then return nil end\n"
  "  if b ~= nil then return tostring(b) .. '|' .. tostring(a) .. select('#', ...) end\n"
  "  return a\n"
  "end\n";

static lua_State *new_state(int sandboxed)
{
  lua_State *L = sandboxed ? lua_newstate(plain_alloc, &sb) : luaL_newstate();
  if(!L)
    abort();
  luaL_openlibs(L);
  if(sandboxed) {
    lua_getglobal(L, "string");
    mn_sb_open_patterns(L, -1);
    lua_pop(L, 1);
  }
  if(luaL_dostring(L, setup) != LUA_OK)
    abort();
  return L;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  sb.lim = lim;
  sb.lim.instructions = BUDGET;
  ours = new_state(1);
  stock = new_state(0);
  return 0;
}

typedef struct call {
  int op;                   /* 0 find, 1 match, 2 gmatch, 3 gsub */
  const char *s, *p, *r;
  size_t ls, lp, lr;
  int has_init;
  lua_Integer init;
  int plain;                /* find's 4th argument: -1 absent */
  int repl;                 /* gsub: 0 string, 1 table, 2 function, 3 number */
  int has_max;
  lua_Integer max_n;
} call;

/* Values from the top `n` slots, as bytes that compare exactly. */
static void ser(lua_State *L, int first, int n, mn_buf *out)
{
  for(int i = first; i < first + n; i++) {
    switch(lua_type(L, i)) {
    case LUA_TNIL:
      mn_buf_puts(out, "nil;");
      break;
    case LUA_TBOOLEAN:
      mn_buf_puts(out, lua_toboolean(L, i) ? "true;" : "false;");
      break;
    case LUA_TNUMBER:
      if(lua_isinteger(L, i))
        mn_buf_printf(out, "i%lld;", (long long)lua_tointeger(L, i));
      else
        mn_buf_printf(out, "f%.17g;", (double)lua_tonumber(L, i));
      break;
    case LUA_TSTRING: {
      size_t l;
      const char *s = lua_tolstring(L, i, &l);
      mn_buf_printf(out, "s%zu:", l);
      mn_buf_append(out, s, l);
      mn_buf_putc(out, ';');
      break;
    }
    default:
      mn_buf_printf(out, "%s;", luaL_typename(L, i));
      break;
    }
  }
}

static int run_call(lua_State *L, const call *c, mn_buf *out)
{
  static const char *const names[] = { "find", "match", "gmatch", "gsub" };
  lua_settop(L, 0);
  lua_getglobal(L, "string");
  lua_getfield(L, -1, names[c->op]);
  lua_remove(L, 1);
  lua_pushlstring(L, c->s, c->ls);
  lua_pushlstring(L, c->p, c->lp);
  int nargs = 2;
  if(c->op == 3) {
    switch(c->repl) {
    case 0: lua_pushlstring(L, c->r, c->lr); break;
    case 1: lua_getglobal(L, "repl_table"); break;
    case 2: lua_getglobal(L, "repl_func"); break;
    default: lua_pushinteger(L, 42); break;
    }
    nargs++;
    if(c->has_max) {
      lua_pushinteger(L, c->max_n);
      nargs++;
    }
  } else if(c->has_init) {
    lua_pushinteger(L, c->init);
    nargs++;
    if(c->op == 0 && c->plain >= 0) {
      lua_pushboolean(L, c->plain);
      nargs++;
    }
  }
  int st = lua_pcall(L, nargs, LUA_MULTRET, 0);
  if(st == LUA_OK && c->op == 2) {
    /* the iterator, called until it ends */
    int it = lua_gettop(L);
    for(int k = 0; k < GMATCH_MAX && st == LUA_OK; k++) {
      int base = lua_gettop(L);
      lua_pushvalue(L, it);
      st = lua_pcall(L, 0, LUA_MULTRET, 0);
      if(st != LUA_OK)
        break;
      int got = lua_gettop(L) - base;
      ser(L, base + 1, got, out);
      mn_buf_putc(out, '\n');
      int end = got == 0 || lua_isnil(L, base + 1);
      lua_settop(L, base);
      if(end)
        break;
    }
  } else if(st == LUA_OK) {
    ser(L, 1, lua_gettop(L), out);
  }
  if(st != LUA_OK) {
    mn_buf_reset(out);
    mn_buf_printf(out, "error: %s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
  }
  lua_settop(L, 0);
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const lua_Integer inits[] = { 1, 0, -1, -3, 2, 5, 100, LUA_MININTEGER };
  fuzz_in in = { data, size };
  unsigned op = fuzz_byte(&in), cnt = fuzz_byte(&in);
  call c;
  memset(&c, 0, sizeof c);
  c.op = op & 3;
  c.p = fuzz_take(&in, fuzz_byte(&in) % (PAT_MAX + 1), &c.lp);
  c.r = fuzz_take(&in, fuzz_byte(&in) % 16, &c.lr);
  c.s = fuzz_take(&in, SUBJ_MAX, &c.ls);
  c.has_init = (op >> 2 & 7) != 0;
  c.init = inits[op >> 2 & 7];
  if((op >> 2 & 7) == 6)
    c.init = (lua_Integer)c.ls + 1 - (lua_Integer)(cnt & 3);   /* around the end */
  c.plain = (cnt >> 2 & 3) == 3 ? -1 : (cnt >> 2 & 1);
  c.repl = op >> 5 & 3;
  c.has_max = cnt >> 4 & 1;
  c.max_n = (lua_Integer)(cnt >> 5) - 2;

  mn_buf a = MN_BUF_INIT(0), b = MN_BUF_INIT(0);
  sb.instr = 0;
  sb.tripped = MN_SB_TRIP_NONE;
  sb.deadline = mn_now() + 3600;
  int sa = run_call(ours, &c, &a);
  if(sb.tripped) {
    /* spent the budget: stock Lua would backtrack just as long */
    lua_sethook(ours, NULL, 0, 0);
    mn_buf_free(&a);
    return 0;
  }
  int sbs = run_call(stock, &c, &b);
  FUZZ_CHECK((sa == LUA_OK) == (sbs == LUA_OK) &&
             (sa != LUA_OK || (a.len == b.len && !memcmp(mn_buf_str(&a), mn_buf_str(&b), a.len))),
             "string.%s differs from stock Lua 5.4\n  pattern (%zu bytes): %.*s\n  ours:  %s\n  stock: %s",
             (const char *[]){ "find", "match", "gmatch", "gsub" }[c.op], c.lp, (int)c.lp, c.p,
             mn_buf_str(&a), mn_buf_str(&b));
  mn_buf_free(&a);
  mn_buf_free(&b);
  return 0;
}
