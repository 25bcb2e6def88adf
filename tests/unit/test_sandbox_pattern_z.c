/* %z (the NUL byte) in the sandbox's patterns, alone and inside sets,
 * as stock Lua 5.4 reads it (found by tests/fuzz/fuzz_pattern: the
 * sandbox matched a literal 'z'). The manual calls %z deprecated, but
 * 5.4's lstrlib still has it, and programs written for stock Lua use it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "minions.h"
#include "sandbox/sandbox.h"

static const char program[] =
  "function transform_outputs()\n"
  "  local s, t = 'a\\0b\\0\\0c z', {}\n"
  "  local function add(...)\n"
  "    for i = 1, select('#', ...) do t[#t + 1] = tostring((select(i, ...))) end\n"
  "    t[#t + 1] = ';'\n"
  "  end\n"
  "  add(string.find(s, '%z'))\n"
  "  add(string.find(s, '[%z]+', 3))\n"
  "  add(string.find(s, '[%Z]+', 2))\n"
  "  add(string.find(s, '%Z+', 2))\n"
  "  add(string.match(s, '([^%z]+)%z(%Z)'))\n"
  "  for w in string.gmatch(s, '[^%z]+') do add(w) end\n"
  "  add(string.gsub(s, '[%z%s]', '_'))\n"
  "  add(string.find('xyz', '[%z]'))\n"
  "  add(string.find('xyz', '%z'))\n"
  "  add(string.find('a\\0', '%f[%z]'))\n"
  "  return table.concat(t, ' ')\n"
  "end\n";

static void percent_z_as_stock_lua(void **state)
{
  (void)state;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  assert_int_equal(luaL_dostring(L, program), LUA_OK);
  lua_getglobal(L, "transform_outputs");
  lua_call(L, 0, 1);
  const char *want = lua_tostring(L, -1);
  assert_non_null(want);
  /* what stock Lua says, spelled out for the reader */
  assert_string_equal(want, "2 2 ; 4 5 ; 3 3 ; 3 3 ; a b ; a ; b ; c z ; a_b__c_z 4 ; nil ; "
                            "nil ; 2 1 ;");

  mn_sandbox_limits lim = MN_SANDBOX_LIMITS_INIT;
  char *out = NULL, *err = NULL;
  int rc = mn_sandbox_transform_outputs(program, sizeof program - 1, NULL, NULL, 0, &lim,
                                        &out, &err);
  if(rc)
    fail_msg("sandbox: %s", err);
  assert_string_equal(out, want);
  free(out);
  lua_close(L);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(percent_z_as_stock_lua),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
