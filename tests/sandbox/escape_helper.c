/* A sandbox helper for tests only (never installed): minions-sandbox plus
 * a Lua function escape(what) that does in C what a program that broke
 * out of the Lua layer could do, and says what came of it. The library
 * runs it exactly as the real helper (same confinement, same socket), so
 * tests/unit/test_sandbox_escape.c can show that such a program still
 * reads no file, no key and starts nothing.
 *
 *   escape("open PATH")   "ok" or the errno text of open(PATH, O_RDONLY)
 *   escape("getenv NAME") the variable's value or "unset"
 *   escape("environ")     how many variables the process has
 *   escape("socket")      "ok" or the errno text of socket(AF_INET, ...)
 *   escape("fork")        "ok" or the errno text of fork()
 *   escape("exec")        the errno text of execl("/bin/sh", ...)
 *   escape("kill-parent") "ok" or the errno text of kill(getppid(), 0)
 */
#include <errno.h>
#include <fcntl.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <unistd.h>

#include "sandbox/helper/helper.h"
#include "sandbox/sandbox_internal.h"

extern char **environ;

static int result(lua_State *L, int ok)
{
  lua_pushstring(L, ok ? "ok" : strerror(errno));
  return 1;
}

static int escape(lua_State *L)
{
  const char *what = lua_tostring(L, 1);
  if(!what)
    return 0;
  if(strncmp(what, "open ", 5) == 0) {
    int fd = open(what + 5, O_RDONLY);
    if(fd >= 0)
      close(fd);
    return result(L, fd >= 0);
  }
  if(strncmp(what, "getenv ", 7) == 0) {
    const char *v = getenv(what + 7);
    lua_pushstring(L, v ? v : "unset");
    return 1;
  }
  if(strcmp(what, "environ") == 0) {
    size_t n = 0;
    for(char **e = environ; e && *e; e++)
      n++;
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
  }
  if(strcmp(what, "socket") == 0) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if(s >= 0)
      close(s);
    return result(L, s >= 0);
  }
  if(strcmp(what, "fork") == 0) {
    pid_t p = fork();
    if(p == 0)
      _exit(0);
    return result(L, p > 0);
  }
  if(strcmp(what, "exec") == 0) {
    execl("/bin/sh", "sh", "-c", "true", (char *)NULL);
    return result(L, 0);
  }
  if(strcmp(what, "kill-parent") == 0)
    return result(L, kill(getppid(), 0) == 0);
  return 0;
}

static void add_escape(lua_State *L, int env)
{
  lua_pushcfunction(L, escape);
  lua_setfield(L, env, "escape");
}

int main(void)
{
  mn_sb_test_env_hook = add_escape;
  return mn_sbh_serve();
}
