/* Where the sandbox helper program (minions-sandbox) is.
 *
 * In order: $MINIONS_SANDBOX_HELPER; beside the file this code was loaded
 * from (libminions.so, or the program it is linked into: the build tree
 * puts the helper beside both); then where `cmake --install` puts it,
 * first relative to that file (a moved prefix still works), then at the
 * configured absolute path. (Test programs, in folders of their own, are
 * given the variable by ctest.)
 *
 * dladdr() is not in POSIX 2008 but is in every C library we target
 * (glibc, musl, macOS, the BSDs); each hides it behind its own feature
 * macro, so this file alone asks for their full interface.
 */
#undef _POSIX_C_SOURCE
#define _GNU_SOURCE 1
#define _DARWIN_C_SOURCE 1

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_sandbox_paths.h"
#include "sandbox/isolate.h"
#include "util/mem.h"

static char *beside(const char *image, const char *rel)
{
  const char *slash = strrchr(image, '/');
  if(!slash)
    return NULL;
  return mn_xasprintf("%.*s/%s%s" MN_SANDBOX_HELPER_NAME, (int)(slash - image), image, rel,
                      *rel ? "/" : "");
}

char *mn_sandbox_helper_path(char **tried)
{
  const char *env = getenv("MINIONS_SANDBOX_HELPER");
  if(env && *env) {
    if(access(env, X_OK) == 0)
      return mn_xstrdup(env);
    if(tried)
      *tried = mn_xasprintf("%s (MINIONS_SANDBOX_HELPER)", env);
    return NULL;
  }
  Dl_info info;
  char *image = NULL;
  if(dladdr((void *)&mn_sandbox_helper_path, &info) && info.dli_fname)
    image = realpath(info.dli_fname, NULL);   /* a program may be named relatively */
#ifdef __linux__
  if(!image) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if(n > 0) {
      exe[n] = '\0';
      image = mn_xstrdup(exe);
    }
  }
#endif
  const char *rels[] = { "", MN_SANDBOX_REL_FROM_LIBDIR, MN_SANDBOX_REL_FROM_BINDIR };
  for(size_t i = 0; image && i < sizeof rels / sizeof rels[0]; i++) {
    char *p = beside(image, rels[i]);
    if(p && access(p, X_OK) == 0) {
      free(image);
      return p;
    }
    free(p);
  }
  if(access(MN_SANDBOX_HELPER_INSTALLED, X_OK) == 0) {
    free(image);
    return mn_xstrdup(MN_SANDBOX_HELPER_INSTALLED);
  }
  if(tried)
    *tried = image ? mn_xasprintf("beside %s, and at %s", image, MN_SANDBOX_HELPER_INSTALLED)
                   : mn_xasprintf("at %s", MN_SANDBOX_HELPER_INSTALLED);
  free(image);
  return NULL;
}
