#!/usr/bin/env bash
# The library as a user gets it: install to a prefix, build a program with
# pkg-config (shared and static), run it.
source "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$MN_BIN")
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
check "install puts the library, header, pkg-config file, CLI and prices in place" \
  bash -c "cd '$T/prefix' && ls lib*/libminions.so lib*/libminions.a include/minions.h lib*/pkgconfig/minions.pc \
    bin/minions share/minions/prices.json"

cat >"$T/use.c" <<'C'
#include <minions.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
  if(mn_global_init() != MN_OK)
    return 1;
  mn_usage u = { .prompt_tokens = 103040, .completion_tokens = 320 };
  printf("version %s\n", mn_version());
  printf("cost %.3f\n", mn_cost_usd(&u, 2.50, 1.25, 10.00));
  mn_docs *docs = NULL;
  const char text[] = "First page.\fSecond page.";
  if(mn_docs_new(&docs) || mn_docs_add_text(docs, "note", text, strlen(text)))
    return 1;
  mn_chunking how = MN_CHUNKING_INIT;
  how.method = "page";
  how.max_chars = 0;
  mn_chunk_info *c = NULL;
  size_t n = 0;
  if(mn_docs_chunk(docs, &how, &c, &n))
    return 1;
  for(size_t i = 0; i < n; i++)
    printf("page %d: %.*s\n", c[i].page_start, (int)c[i].length,
           mn_docs_text(docs, c[i].doc, NULL) + c[i].offset);
  free(c);
  mn_run_opts o = MN_RUN_OPTS_INIT;
  o.protocol = "no-such-protocol";
  o.task = "x";
  mn_run *run = NULL;
  int bad = mn_run_new(&run, &o) == MN_EUNSUPPORTED;
  printf("bad protocol: %d %s\n", bad, mn_run_errmsg(run));
  mn_run_free(run);
  mn_docs_free(docs);
  mn_global_cleanup();
  return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$(ls "$T"/prefix/lib*/pkgconfig/minions.pc)")
cc -Wall -Werror -o "$T/use_shared" "$T/use.c" $(pkg-config --cflags --libs minions) 2>"$T/cc1.err"
check "a program builds against the shared library with pkg-config" test -x "$T/use_shared"
LD_LIBRARY_PATH=$(dirname "$(ls "$T"/prefix/lib*/libminions.so)") "$T/use_shared" >"$T/shared.out"
check "and runs: version, the paper's cost figure, chunks, errors" \
  bash -c "grep -qE '^version [0-9]+\.[0-9]+\.[0-9]+$' '$T/shared.out' && grep -qx 'cost 0.261' '$T/shared.out' &&
    grep -qx 'page 0: First page.' '$T/shared.out' && grep -qx 'page 1: Second page.' '$T/shared.out' &&
    grep -q '^bad protocol: 1 unknown protocol' '$T/shared.out'"
# the static library with the system's shared dependencies, as a user would
cc -Wall -Werror -o "$T/use_static" "$T/use.c" $(pkg-config --cflags minions) \
  "$(ls "$T"/prefix/lib*/libminions.a)" $(pkg-config --libs libcurl jansson lua5.4 sqlite3 libutf8proc) \
  -lpthread -lm 2>"$T/cc2.err"
check "and links statically" bash -c "'$T/use_static' | diff - '$T/shared.out'"

finish
