/* string.find, string.match, string.gmatch and string.gsub for the sandbox.
 *
 * Lua's own matcher backtracks and can run for hours inside one C call
 * (string.find(("a"):rep(40), ("a?"):rep(40) .. ("a"):rep(40)) is 2^40
 * steps; find(s, ".-x") is quadratic in #s), and no hook fires while it
 * runs. These functions implement the same pattern language (Lua 5.4
 * manual, section 6.4.1) with a step counter: every 4096 steps are charged
 * to the instruction budget and the wall clock is checked, so such a
 * pattern ends with the sandbox's budget error. Matching allocates nothing
 * (captures live in a fixed array on the C stack), so raising a Lua error
 * from the middle of it is safe.
 */
#include <ctype.h>
#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <string.h>

#include "sandbox/sandbox_internal.h"
#include "util/str.h"

#define PM_MAX_CAPTURES 32
#define PM_MAX_DEPTH 200        /* nested items (same as Lua's C-call limit) */
#define PM_TICK_BATCH 4096
#define PM_CAP_OPEN (-1)        /* '(' seen, ')' not yet */
#define PM_CAP_POSITION (-2)    /* '()' */
#define PM_SPECIALS "^$*+?.([%-"

typedef struct pm_state {
  lua_State *L;
  const char *src, *src_end;
  const char *pat_end;
  int depth_left;
  unsigned ticks;
  int level;                    /* captures opened so far */
  struct {
    const char *init;
    ptrdiff_t len;              /* length, or PM_CAP_OPEN / PM_CAP_POSITION */
  } cap[PM_MAX_CAPTURES];
} pm_state;

static void pm_init(pm_state *ms, lua_State *L, const char *s, size_t ls,
                    const char *p, size_t lp)
{
  ms->L = L;
  ms->src = s;
  ms->src_end = s + ls;
  ms->pat_end = p + lp;
  ms->ticks = 0;
  ms->level = 0;
  ms->depth_left = PM_MAX_DEPTH;
}

/* Before each new attempt at a position. */
static void pm_reset(pm_state *ms)
{
  ms->level = 0;
  ms->depth_left = PM_MAX_DEPTH;
}

static void pm_tick(pm_state *ms)
{
  if(++ms->ticks >= PM_TICK_BATCH) {
    ms->ticks = 0;
    mn_sb_charge(ms->L, PM_TICK_BATCH);
  }
}

static int pm_uc(const char *p)
{
  return (unsigned char)*p;
}

/* The end of the single-character class starting at p. */
static const char *pm_class_end(pm_state *ms, const char *p)
{
  char c = *p++;
  if(c == '%') {
    if(p >= ms->pat_end)
      luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if(c != '[')
    return p;
  if(p < ms->pat_end && *p == '^')
    p++;
  /* the first character of a set is literal, even ']' */
  for(int first = 1;; first = 0) {
    if(p >= ms->pat_end)
      luaL_error(ms->L, "malformed pattern (missing ']')");
    if(*p == ']' && !first)
      return p + 1;
    if(*p == '%') {
      p++;
      if(p >= ms->pat_end)
        luaL_error(ms->L, "malformed pattern (missing ']')");
    }
    p++;
  }
}

/* Does c belong to the class %cl? */
static int pm_class_has(int c, int cl)
{
  int r;
  switch(tolower(cl)) {
  case 'a': r = isalpha(c); break;
  case 'c': r = iscntrl(c); break;
  case 'd': r = isdigit(c); break;
  case 'g': r = isgraph(c); break;
  case 'l': r = islower(c); break;
  case 'p': r = ispunct(c); break;
  case 's': r = isspace(c); break;
  case 'u': r = isupper(c); break;
  case 'w': r = isalnum(c); break;
  case 'x': r = isxdigit(c); break;
  case 'z': r = c == 0; break;  /* deprecated in the manual, still in 5.4's lstrlib */
  default: return cl == c;    /* %. %% %] ...: the character itself */
  }
  r = r != 0;
  return isupper(cl) ? !r : r;
}

/* Does c belong to the set [ ... ] from p (at '[') to close (at ']')? */
static int pm_set_has(int c, const char *p, const char *close)
{
  int yes = 1;
  p++;
  if(*p == '^') {
    yes = 0;
    p++;
  }
  while(p < close) {
    if(*p == '%' && p + 1 < close) {
      if(pm_class_has(c, pm_uc(p + 1)))
        return yes;
      p += 2;
    } else if(p + 2 < close && p[1] == '-') {
      if(pm_uc(p) <= c && c <= pm_uc(p + 2))
        return yes;
      p += 3;
    } else {
      if(pm_uc(p) == c)
        return yes;
      p++;
    }
  }
  return !yes;
}

/* Does the subject character at s match the class p..ep? */
static int pm_single(pm_state *ms, const char *s, const char *p, const char *ep)
{
  if(s >= ms->src_end)
    return 0;
  int c = pm_uc(s);
  switch(*p) {
  case '.': return 1;
  case '%': return pm_class_has(c, pm_uc(p + 1));
  case '[': return pm_set_has(c, p, ep - 1);
  default: return pm_uc(p) == c;
  }
}

static const char *pm_match(pm_state *ms, const char *s, const char *p);

/* Longest run first ('*', '+'), then give back one at a time. */
static const char *pm_greedy(pm_state *ms, const char *s, const char *p, const char *ep)
{
  size_t n = 0;
  while(pm_single(ms, s + n, p, ep)) {
    n++;
    pm_tick(ms);
  }
  for(;;) {
    const char *r = pm_match(ms, s + n, ep + 1);
    if(r)
      return r;
    if(n == 0)
      return NULL;
    n--;
  }
}

/* Shortest run first ('-'). */
static const char *pm_lazy(pm_state *ms, const char *s, const char *p, const char *ep)
{
  for(;;) {
    const char *r = pm_match(ms, s, ep + 1);
    if(r)
      return r;
    if(!pm_single(ms, s, p, ep))
      return NULL;
    s++;
  }
}

static const char *pm_open_capture(pm_state *ms, const char *s, const char *p, ptrdiff_t what)
{
  if(ms->level >= PM_MAX_CAPTURES)
    luaL_error(ms->L, "too many captures");
  ms->cap[ms->level].init = s;
  ms->cap[ms->level].len = what;
  ms->level++;
  const char *r = pm_match(ms, s, p);
  if(!r)
    ms->level--;
  return r;
}

static const char *pm_close_capture(pm_state *ms, const char *s, const char *p)
{
  int l = ms->level - 1;
  while(l >= 0 && ms->cap[l].len != PM_CAP_OPEN)
    l--;
  if(l < 0)
    luaL_error(ms->L, "invalid pattern capture");
  ms->cap[l].len = s - ms->cap[l].init;
  const char *r = pm_match(ms, s, p);
  if(!r)
    ms->cap[l].len = PM_CAP_OPEN;
  return r;
}

/* %bxy at s; p points at x. */
static const char *pm_balanced(pm_state *ms, const char *s, const char *p)
{
  if(p + 1 >= ms->pat_end)
    luaL_error(ms->L, "malformed pattern (missing arguments to '%%b')");
  if(s >= ms->src_end || *s != p[0])
    return NULL;
  int open = p[0], close = p[1];
  size_t depth = 1;
  for(const char *q = s + 1; q < ms->src_end; q++) {
    pm_tick(ms);
    if(*q == close) {
      if(--depth == 0)
        return q + 1;
    } else if(*q == open) {
      depth++;
    }
  }
  return NULL;
}

/* %1..%9: the text of an earlier capture again. */
static const char *pm_backref(pm_state *ms, const char *s, int digit)
{
  int l = digit - '1';
  if(l < 0 || l >= ms->level || ms->cap[l].len == PM_CAP_OPEN)
    luaL_error(ms->L, "invalid capture index %%%d", l + 1);
  if(ms->cap[l].len == PM_CAP_POSITION)
    return NULL;
  size_t len = (size_t)ms->cap[l].len;
  mn_sb_charge(ms->L, len / 16 + 1);
  if((size_t)(ms->src_end - s) >= len && memcmp(ms->cap[l].init, s, len) == 0)
    return s + len;
  return NULL;
}

/* Match pattern p (to pat_end) at subject position s: the end of the match
 * or NULL. Plain items advance in the loop; items that backtrack recurse. */
static const char *pm_match(pm_state *ms, const char *s, const char *p)
{
  if(ms->depth_left-- <= 0)
    luaL_error(ms->L, "pattern too complex");
  while(s && p < ms->pat_end) {
    pm_tick(ms);
    switch(*p) {
    case '(':
      if(p + 1 < ms->pat_end && p[1] == ')')
        s = pm_open_capture(ms, s, p + 2, PM_CAP_POSITION);
      else
        s = pm_open_capture(ms, s, p + 1, PM_CAP_OPEN);
      goto done;
    case ')':
      s = pm_close_capture(ms, s, p + 1);
      goto done;
    case '$':
      if(p + 1 == ms->pat_end) {
        if(s != ms->src_end)
          s = NULL;
        goto done;
      }
      break;
    case '%':
      if(p + 1 < ms->pat_end && p[1] == 'b') {
        s = pm_balanced(ms, s, p + 2);
        p += 4;
        continue;
      }
      if(p + 1 < ms->pat_end && p[1] == 'f') {
        p += 2;
        if(p >= ms->pat_end || *p != '[')
          luaL_error(ms->L, "missing '[' after '%%f' in pattern");
        const char *ep = pm_class_end(ms, p);
        int prev = s == ms->src ? 0 : pm_uc(s - 1);
        int cur = s < ms->src_end ? pm_uc(s) : 0;
        if(pm_set_has(prev, p, ep - 1) || !pm_set_has(cur, p, ep - 1))
          s = NULL;
        p = ep;
        continue;
      }
      if(p + 1 < ms->pat_end && isdigit(pm_uc(p + 1))) {
        s = pm_backref(ms, s, p[1]);
        p += 2;
        continue;
      }
      break;
    default:
      break;
    }
    /* a single-character class, maybe followed by a quantifier */
    const char *ep = pm_class_end(ms, p);
    int hit = pm_single(ms, s, p, ep);
    char q = ep < ms->pat_end ? *ep : '\0';
    if(q == '?') {
      if(hit) {
        const char *r = pm_match(ms, s + 1, ep + 1);
        if(r) {
          s = r;
          goto done;
        }
      }
      p = ep + 1;
    } else if(q == '+') {
      s = hit ? pm_greedy(ms, s + 1, p, ep) : NULL;
      goto done;
    } else if(q == '*') {
      s = pm_greedy(ms, s, p, ep);
      goto done;
    } else if(q == '-') {
      s = pm_lazy(ms, s, p, ep);
      goto done;
    } else if(hit) {
      s++;
      p = ep;
    } else {
      s = NULL;
    }
  }
done:
  ms->depth_left++;
  return s;
}

/* Push capture i of a match s..e (the whole match when there are none). */
static void pm_push_capture(pm_state *ms, int i, const char *s, const char *e)
{
  if(i >= ms->level) {
    if(i != 0)
      luaL_error(ms->L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(ms->L, s, (size_t)(e - s));
    return;
  }
  ptrdiff_t len = ms->cap[i].len;
  if(len == PM_CAP_OPEN)
    luaL_error(ms->L, "unfinished capture");
  if(len == PM_CAP_POSITION)
    lua_pushinteger(ms->L, (lua_Integer)(ms->cap[i].init - ms->src) + 1);
  else
    lua_pushlstring(ms->L, ms->cap[i].init, (size_t)len);
}

/* Push all captures; with none, the whole match unless s is NULL. */
static int pm_push_captures(pm_state *ms, const char *s, const char *e)
{
  int n = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, n, "too many captures");
  for(int i = 0; i < n; i++)
    pm_push_capture(ms, i, s, e);
  return n;
}

/* Lua 5.4's rule for a start position: negative counts from the end,
 * 0 and values before the start mean 1. */
static size_t pm_start_pos(lua_Integer pos, size_t len)
{
  if(pos > 0)
    return (size_t)pos;
  if(pos == 0 || pos < -(lua_Integer)len)
    return 1;
  return len + (size_t)pos + 1;
}

static int pm_has_specials(const char *p, size_t lp)
{
  for(size_t i = 0; i < lp; i++)
    if(p[i] && strchr(PM_SPECIALS, p[i]))
      return 1;
  return 0;
}

static int pm_find_or_match(lua_State *L, int find)
{
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = pm_start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
  if(init > ls) {
    luaL_pushfail(L);
    return 1;
  }
  if(find && (lua_toboolean(L, 4) || !pm_has_specials(p, lp))) {
    mn_sb_charge(L, (ls - init) / 16 + lp / 16 + 1);
    const char *r = lp == 0 ? s + init : mn_memmem(s + init, ls - init, p, lp);
    if(r) {
      lua_pushinteger(L, (lua_Integer)(r - s) + 1);
      lua_pushinteger(L, (lua_Integer)(r - s + lp));
      return 2;
    }
    luaL_pushfail(L);
    return 1;
  }
  pm_state ms;
  int anchored = lp > 0 && *p == '^';
  if(anchored) {
    p++;
    lp--;
  }
  pm_init(&ms, L, s, ls, p, lp);
  const char *at = s + init;
  for(;;) {
    pm_reset(&ms);
    const char *e = pm_match(&ms, at, p);
    if(e) {
      if(find) {
        lua_pushinteger(L, (lua_Integer)(at - s) + 1);
        lua_pushinteger(L, (lua_Integer)(e - s));
        return pm_push_captures(&ms, NULL, NULL) + 2;
      }
      return pm_push_captures(&ms, at, e);
    }
    if(anchored || at >= ms.src_end)
      break;
    at++;
  }
  luaL_pushfail(L);
  return 1;
}

static int pm_find(lua_State *L)
{
  return pm_find_or_match(L, 1);
}

static int pm_match_fn(lua_State *L)
{
  return pm_find_or_match(L, 0);
}

/* The gmatch iterator. Upvalues: subject, pattern, next position (0-based
 * offset), end of the last match (-1: none), which stops an empty match
 * right where the previous match ended. */
static int pm_gmatch_next(lua_State *L)
{
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(3));
  lua_Integer last = lua_tointeger(L, lua_upvalueindex(4));
  pm_state ms;
  pm_init(&ms, L, s, ls, p, lp);
  for(const char *at = s + pos; at <= ms.src_end; at++) {
    pm_reset(&ms);
    const char *e = pm_match(&ms, at, p);
    if(e && (last < 0 || e != s + last)) {
      lua_pushinteger(L, (lua_Integer)(e - s));
      lua_copy(L, -1, lua_upvalueindex(3));
      lua_replace(L, lua_upvalueindex(4));
      return pm_push_captures(&ms, at, e);
    }
  }
  lua_pushinteger(L, (lua_Integer)ls + 1);
  lua_replace(L, lua_upvalueindex(3));
  return 0;
}

static int pm_gmatch(lua_State *L)
{
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = pm_start_pos(luaL_optinteger(L, 3, 1), ls) - 1;
  if(init > ls)
    init = ls + 1;
  lua_settop(L, 2);
  lua_pushinteger(L, (lua_Integer)init);
  lua_pushinteger(L, -1);
  lua_pushcclosure(L, pm_gmatch_next, 4);
  return 1;
}

/* Append the replacement for the match s..e to b; 0 when the match was
 * kept as it was (the function or table gave nil or false). */
static int pm_add_replacement(pm_state *ms, luaL_Buffer *b, const char *s, const char *e,
                               int repl_type)
{
  lua_State *L = ms->L;
  if(repl_type == LUA_TSTRING || repl_type == LUA_TNUMBER) {
    size_t l;
    const char *r = lua_tolstring(L, 3, &l);
    const char *end = r + l;
    while(r < end) {
      const char *pct = memchr(r, '%', (size_t)(end - r));
      if(!pct) {
        luaL_addlstring(b, r, (size_t)(end - r));
        break;
      }
      luaL_addlstring(b, r, (size_t)(pct - r));
      pct++;
      if(pct < end && *pct == '%') {
        luaL_addchar(b, '%');
      } else if(pct < end && *pct == '0') {
        luaL_addlstring(b, s, (size_t)(e - s));
      } else if(pct < end && isdigit(pm_uc(pct))) {
        pm_push_capture(ms, *pct - '1', s, e);
        luaL_tolstring(L, -1, NULL);   /* a position capture is a number */
        lua_remove(L, -2);
        luaL_addvalue(b);
      } else {
        luaL_error(L, "invalid use of '%%' in replacement string");
      }
      r = pct + 1;
    }
    return 1;
  }
  if(repl_type == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = pm_push_captures(ms, s, e);
    lua_call(L, n, 1);
  } else {
    pm_push_capture(ms, 0, s, e);
    lua_gettable(L, 3);
  }
  if(!lua_toboolean(L, -1)) {          /* nil or false: keep the match */
    lua_pop(L, 1);
    luaL_addlstring(b, s, (size_t)(e - s));
    return 0;
  }
  if(!lua_isstring(L, -1))
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
  return 1;
}

static int pm_gsub(lua_State *L)
{
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int tr = lua_type(L, 3);
  lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION ||
                   tr == LUA_TTABLE, 3, "string/function/table");
  int anchored = lp > 0 && *p == '^';
  if(anchored) {
    p++;
    lp--;
  }
  const char *at = s, *last = NULL;
  lua_Integer n = 0;
  int changed = 0;
  pm_state ms;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  pm_init(&ms, L, s, ls, p, lp);
  while(n < max_n) {
    pm_reset(&ms);
    const char *e = pm_match(&ms, at, p);
    if(e && e != last) {
      n++;
      changed |= pm_add_replacement(&ms, &b, at, e, tr);
      at = last = e;
    } else if(at < ms.src_end) {
      luaL_addchar(&b, *at++);
    } else {
      break;
    }
    if(anchored)
      break;
  }
  if(changed) {
    luaL_addlstring(&b, at, (size_t)(ms.src_end - at));
    luaL_pushresult(&b);
  } else {
    /* the subject itself: no copy, which also lets a document longer than
     * the string cap pass through gsub unchanged */
    lua_pushvalue(L, 1);
  }
  lua_pushinteger(L, n);
  return 2;
}

void mn_sb_open_patterns(lua_State *L, int strlib)
{
  static const luaL_Reg fns[] = {
    { "find", pm_find },
    { "match", pm_match_fn },
    { "gmatch", pm_gmatch },
    { "gsub", pm_gsub },
    { NULL, NULL },
  };
  strlib = lua_absindex(L, strlib);
  for(const luaL_Reg *r = fns; r->name; r++) {
    lua_pushcfunction(L, r->func);
    lua_setfield(L, strlib, r->name);
  }
}
