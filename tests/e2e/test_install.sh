#!/usr/bin/env bash
# The library as a user gets it: install to a prefix, build a program with
# pkg-config (shared and static), run it.
source "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$MN_BIN")
cmake --install "$BUILD" --prefix "$T/prefix" >/dev/null
check "install puts the library, header, pkg-config file, CLI, sandbox helper and prices in place" \
  bash -c "cd '$T/prefix' && ls lib*/libminions.so lib*/libminions.a include/minions.h lib*/pkgconfig/minions.pc \
    bin/minions libexec/minions/minions-sandbox share/minions/prices.json"

# the installed CLI finds the installed helper (nothing points it there; the
# build tree's helper is not looked for) and runs remote-written code in it
cat >"$T/prog.lua" <<'LUA'
function prepare_jobs(context, prev_jobs)
  return { { task = "What is the code?", chunk = context[1] } }
end
LUA
jq -n --rawfile prog "$T/prog.lua" '{extract: "ZEBRA-[0-9]+", rules: [
  {when: {last_contains: "write short advice"}, reply: "Look for the code."},
  {when: {last_contains: "Write a Lua 5.4 program"}, reply: ("```lua\n" + $prog + "```")},
  {when: {last_contains: "Think step by step: which findings"}, reply: "The job quoted it."},
  {when: {last_contains: "Now decide"}, reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"x\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"x\"}"},
  {when: {last_contains: "This was the last round"}, reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"x\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"x\"}"}]}' >"$T/remote.json"
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json"
echo "The vault code is ZEBRA-4417." >"$T/doc.txt"
(cd "$T" && env -u MINIONS_SANDBOX_HELPER "$T/prefix/bin/minions" run --protocol minions \
  --context "$T/doc.txt" --task "What is the code?" --remote openai-compatible:fake \
  --remote-url "$REMOTE_URL" --local openai-compatible:fake --local-url "$LOCAL_URL" \
  --log-dir "$T/logs" >"$T/code.out" 2>"$T/code.err")
check "the installed CLI runs a MinionS program in the installed sandbox helper" \
  grep -q 'ZEBRA-4417' "$T/code.out"

pydir=$(ls -d "$T"/prefix/lib/python3*/*-packages 2>/dev/null | head -1)
check "install puts the Python package in the prefix's site folder, and it finds the library there" \
  bash -c "[ -n '$pydir' ] && env -u MINIONS_LIB PYTHONPATH='$pydir' /usr/bin/python3 -c \
    'import minions_c, sys; sys.exit(not minions_c.__file__.startswith(\"$T/prefix\"))'"

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
  how.method = MN_CHUNK_PAGE;
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
  o.protocol = (mn_protocol)42;
  o.task = "x";
  mn_run *run = NULL;
  int bad = mn_run_new(&run, &o) == MN_EUNSUPPORTED;
  printf("bad protocol: %d %s\n", bad, mn_run_errmsg(run));
  mn_run_free(run);
  /* a struct from a newer header is refused, not misread */
  mn_run_opts newer = MN_RUN_OPTS_INIT;
  newer.version = MN_RUN_OPTS_VERSION + 1;
  newer.task = "x";
  bad = mn_run_new(&run, &newer) == MN_EINVAL;
  printf("newer opts: %d %s\n", bad, mn_run_errmsg(run));
  mn_run_free(run);
  printf("names: %s %s %d %d %d\n", mn_protocol_name(mn_protocol_parse("remote-only")),
         mn_chunk_method_name(MN_CHUNK_CODE), mn_retrieval_parse("bm25"),
         mn_decompose_parse("plan"), mn_protocol_parse("no-such"));
  /* a chat keeps copies of the option strings: the caller's buffer is
   * reused before the question is asked */
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:9");
  mn_run_opts co = MN_RUN_OPTS_INIT;
  co.protocol = MN_PROTOCOL_REMOTE_ONLY;
  co.remote_spec = "openai-compatible:m";
  co.remote_url = url;
  co.max_retries = 0;
  co.log_dir = getenv("LOGDIR");
  mn_chat *chat = NULL;
  if(mn_chat_new(&chat, &co, docs) != MN_OK)
    return 1;
  memset(url, 'x', sizeof url - 1);
  url[sizeof url - 1] = '\0';
  const char *answer = NULL;
  int rc = mn_chat_ask(chat, "What is on page 2?", &answer);
  printf("chat: %d %s\n", rc == MN_ENET, mn_chat_errmsg(chat));
  mn_chat_free(chat);
  mn_docs_free(docs);
  mn_global_cleanup();
  return 0;
}
C
export PKG_CONFIG_PATH=$(dirname "$(ls "$T"/prefix/lib*/pkgconfig/minions.pc)")
cc -Wall -Werror -o "$T/use_shared" "$T/use.c" $(pkg-config --cflags --libs minions) 2>"$T/cc1.err"
check "a program builds against the shared library with pkg-config" test -x "$T/use_shared"
LOGDIR="$T/logs" LD_LIBRARY_PATH=$(dirname "$(ls "$T"/prefix/lib*/libminions.so)") "$T/use_shared" >"$T/shared.out"
check "and runs: version, the paper's cost figure, chunks, errors" \
  bash -c "grep -qE '^version [0-9]+\.[0-9]+\.[0-9]+$' '$T/shared.out' && grep -qx 'cost 0.261' '$T/shared.out' &&
    grep -qx 'page 0: First page.' '$T/shared.out' && grep -qx 'page 1: Second page.' '$T/shared.out' &&
    grep -q '^bad protocol: 1 unknown protocol 42' '$T/shared.out'"
check "an options struct from a newer header is refused with a clear message" \
  grep -q '^newer opts: 1 mn_run_opts version 4 is not one this library' "$T/shared.out"
check "closed sets are enums with names and parsers" grep -qx 'names: remote-only code 1 1 -1' "$T/shared.out"
check "a chat session copies the option strings it is given" \
  bash -c "grep -q '^chat: 1 .*127.0.0.1:9' '$T/shared.out' && ! grep -q xxxx '$T/shared.out'"
# the symbols the shared library exports are exactly the functions of minions.h
nm -D --defined-only "$(ls "$T"/prefix/lib*/libminions.so)" | awk '$2 ~ /^[TDBRV]$/ {print $3}' |
  grep -v '^_' | sort >"$T/exported"
grep -oE '\bmn_[a-z0-9_]+\(' "$T/prefix/include/minions.h" | tr -d '(' | sort -u >"$T/declared"
check "libminions.so exports the public API and nothing else" diff "$T/exported" "$T/declared"
check "the header builds as strict C11 and C99 without extensions" \
  bash -c "cc -std=c11 -pedantic -Werror -Wall -Wextra -fsyntax-only -x c '$T/use.c' \$(pkg-config --cflags minions) &&
           echo '#include <minions.h>' | cc -std=c99 -pedantic -Werror -fsyntax-only -x c - \$(pkg-config --cflags minions)"
# the static library with the system's shared dependencies, as a user would
cc -Wall -Werror -o "$T/use_static" "$T/use.c" $(pkg-config --cflags minions) \
  "$(ls "$T"/prefix/lib*/libminions.a)" $(pkg-config --libs libcurl jansson lua5.4 sqlite3 libutf8proc libpcre2-8) \
  -lpthread -lm 2>"$T/cc2.err"
check "and links statically" bash -c "LOGDIR='$T/logs' '$T/use_static' | diff - '$T/shared.out'"

finish
