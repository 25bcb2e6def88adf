#!/usr/bin/env bash
# The response cache and the spend cap, end to end: a MinionS run, then the
# same run again with the same --cache sends no request to either fake and
# gives the same answer, usage and cost (whole replies and streams, SSE and
# NDJSON); --max-cost stops a run before the call that could pass it, lets
# a generous cap and a cached rerun through, and needs the remote's price.
source "$(dirname "$0")/lib.sh"

TASK="What is the vault access code for the Cordova facility?"
DOC=$T/doc.txt
for i in $(seq 1 120); do
  echo "Section $i. The facility reported steady operations in quarter $i, with revenue of $((i * 7)) million dollars and no incidents."
  [ "$i" = 77 ] && echo "The vault access code for the Cordova facility is ZEBRA-4417."
done >"$DOC"

cat >"$T/good.lua" <<'LUA'
function prepare_jobs(context, prev_jobs)
  local jobs = {}
  for _, doc in ipairs(context) do
    for _, chunk in ipairs(chunk_by_section(doc, 2000, 0)) do
      jobs[#jobs + 1] = { chunk = chunk,
        task = "What is the vault access code for the Cordova facility? Quote the sentence.",
        advice = "Only a sentence naming the code counts." }
    end
  end
  return jobs
end
LUA
jq -n --rawfile good "$T/good.lua" '{
  extract: "ZEBRA-[0-9]+",
  rules: [
    {when: {last_contains: "write short advice"}, reply: "Look for a sentence that names the vault access code."},
    {when: {contains: "prepare_jobs"}, reply: ("```lua\n" + $good + "```")},
    {when: {last_contains: "Think step by step: which findings"},
     reply: "One chunk quotes the code; the rest abstained. That answers the task."},
    {when: {last_contains: "Now decide"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"found\"}"},
    {when: {last_contains: "This was the last round"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"found\"}"}
  ]}' >"$T/remote.json"
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json" --slots 8
cat >"$T/prices.json" <<'JSON'
{"models": {"openai-compatible:fake": {"input": 2.5, "cached_input": 1.25, "output": 0.01}}}
JSON

lines() { wc -l <"$1"; }
mark() { R0=$(lines "$REMOTE_REC"); L0=$(lines "$LOCAL_REC"); }
sent_remote() { echo $(( $(lines "$REMOTE_REC") - R0 )); }
sent_local() { echo $(( $(lines "$LOCAL_REC") - L0 )); }

minions() { # name local-provider args...
  local name=$1 lp=$2; shift 2
  timeout 120 "$MN_BIN" run --protocol minions --json --log "$T/$name.log.json" \
    --context "$DOC" --task "$TASK" --local "$lp:fake" --local-url "$LOCAL_URL" \
    --remote openai-compatible:fake --remote-url "$REMOTE_URL" --prices "$T/prices.json" \
    "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
answered() { [ "$(cat "$T/$1.rc")" = 0 ] && jq -e '.answer | contains("ZEBRA-4417")' "$T/$1.out" >/dev/null; }
same_figures() { # the answer, usage and cost of two runs
  [ "$(jq -c '[.answer, .usage, .cost_usd, .rounds]' "$T/$1.out")" = \
    "$(jq -c '[.answer, .usage, .cost_usd, .rounds]' "$T/$2.out")" ]
}

# --- whole replies, streams (SSE remote + NDJSON or SSE local) -----------------------
for mode in plain:openai-compatible stream:ollama stream:openai-compatible; do
  kind=${mode%%:*} lp=${mode#*:}
  tag="$kind-$lp"
  flags=(--cache "$T/cache-$tag.db")
  [ "$kind" = stream ] && flags+=(--stream)
  mark
  minions "first-$tag" "$lp" "${flags[@]}"
  r1=$(sent_remote) l1=$(sent_local)
  check "$tag: the first run answers, sending to both servers ($r1 remote, $l1 local)" \
    bash -c "$(declare -f answered); T='$T'; answered 'first-$tag' && [ $r1 -ge 4 ] && [ $l1 -ge 5 ]"
  check "$tag: the first run counts every request it sent as a miss, and no hit" \
    jq -e --argjson n $((r1 + l1)) '.cache.misses == $n and .cache.hits == 0' "$T/first-$tag.out"
  mark
  minions "again-$tag" "$lp" "${flags[@]}"
  check "$tag: the same run again with the same --cache answers" answered "again-$tag"
  check "$tag: ... and sends no request to either server ($(sent_remote) remote, $(sent_local) local)" \
    test "$(sent_remote)" = 0 -a "$(sent_local)" = 0
  check "$tag: ... with the same answer, usage, cost and rounds" same_figures "first-$tag" "again-$tag"
  check "$tag: ... every call a hit, as many as the first run sent" \
    jq -e --argjson n $((r1 + l1)) '.cache.hits == $n and .cache.misses == 0 and .cache.file != null' "$T/again-$tag.out"
  check "$tag: the run logs record each call, cached or not, and the totals" \
    bash -c "jq -e '.cache.misses == (.cache.calls | length) and ([.cache.calls[].cached] | unique) == [false]' '$T/first-$tag.log.json' >/dev/null &&
             jq -e '.cache.hits == (.cache.calls | length) and ([.cache.calls[].cached] | unique) == [true]
                    and ([.cache.calls[] | select(.label == \"job\")] | length) > 0' '$T/again-$tag.log.json' >/dev/null"
done
mark
minions apart openai-compatible --cache "$T/cache-plain-openai-compatible.db" --stream
check "streamed and whole replies are cached apart: a streamed run on the plain run's cache sends" \
  bash -c "$(declare -f answered); T='$T'; answered apart && [ $(sent_remote) -ge 4 ]"
check "the cache file is private (0600)" test "$(stat -c %a "$T/cache-plain-openai-compatible.db")" = 600

# The summary line on stderr counts the hits
mark
timeout 120 "$MN_BIN" run --protocol minions --context "$DOC" --task "$TASK" \
  --local openai-compatible:fake --local-url "$LOCAL_URL" --remote openai-compatible:fake \
  --remote-url "$REMOTE_URL" --prices "$T/prices.json" --cache "$T/cache-plain-openai-compatible.db" \
  >"$T/summary.out" 2>"$T/summary.err"
check "without --json: the answer, and the summary line shows the cache hits" \
  bash -c "grep -q ZEBRA-4417 '$T/summary.out' && grep -q '| cache [1-9][0-9]* hits, 0 misses |' '$T/summary.err' &&
           [ $(sent_remote) = 0 ]"

# --- the spend cap ----------------------------------------------------------------
need=$(jq .cost_usd "$T/first-plain-openai-compatible.out")
mark
minions generous openai-compatible --max-cost 100
check "a generous --max-cost runs normally (exit 0, same answer and cost)" \
  bash -c "$(declare -f answered same_figures); T='$T'; answered generous && same_figures generous first-plain-openai-compatible"
# Each call is estimated from its prompt (bytes / 4, more than the fake
# counts) and its reply cap at the output price (kept low here: the fake's
# replies are far shorter than 4096 tokens), so the estimate is an upper
# bound; 60% of what the whole run spends lets the first calls through
half=$(jq -n --argjson n "$need" '$n * 0.6')
mark
minions capped openai-compatible --max-cost "$half"
r=$(sent_remote)
check "--max-cost below the run's need ($half of $need USD): exit 1, one line naming the cap, spend and estimate" \
  bash -c "[ \$(cat '$T/capped.rc') = 1 ] && [ \$(wc -l <'$T/capped.err') = 1 ] &&
           grep -Eq 'spend cap of \\\$[0-9.e-]+ \(max_cost_usd\) could be passed: \\\$[0-9.e-]+ spent so far .* could cost up to \\\$[0-9.e-]+' '$T/capped.err'"
check "... after some remote calls ($r), and the spend stays within the cap" \
  bash -c "[ $r -ge 1 ] && jq -e --argjson cap $half '.cost_usd <= \$cap and .cost_usd > 0' '$T/capped.out' >/dev/null"
mark
minions tiny openai-compatible --max-cost 0.000001
check "a cap below the first call's estimate sends nothing" \
  bash -c "[ \$(cat '$T/tiny.rc') = 1 ] && [ $(sent_remote) = 0 ] && [ $(sent_local) = 0 ]"
mark
minions cached_cap openai-compatible --max-cost 0.000001 --cache "$T/cache-plain-openai-compatible.db"
check "a cached rerun costs nothing new: it passes the same tiny cap, sending nothing" \
  bash -c "$(declare -f answered); T='$T'; answered cached_cap && [ $(sent_remote) = 0 ] && [ $(sent_local) = 0 ]"

timeout 20 "$MN_BIN" run --protocol minions --context "$DOC" --task "$TASK" --local openai-compatible:fake \
  --local-url "$LOCAL_URL" --remote openai-compatible:fake --remote-url "$REMOTE_URL" --max-cost 1 \
  >/dev/null 2>"$T/noprice.err"; rc=$?
check "--max-cost with a remote of unknown price is refused (exit 2, one line saying the price is needed)" \
  bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/noprice.err') = 1 ] && grep -q 'needs the price of the remote model openai-compatible:fake' '$T/noprice.err'"
timeout 20 "$MN_BIN" run --protocol minions --context "$DOC" --task "$TASK" --local openai-compatible:fake \
  --remote openai-compatible:fake --max-cost -1 >/dev/null 2>"$T/negative.err"; rc=$?
check "a negative --max-cost is a usage error (exit 2)" test "$rc" = 2

# --- a cache file that is not one ------------------------------------------------------
head -c 4096 /dev/urandom >"$T/broken.db"
mark
timeout 20 "$MN_BIN" run --protocol minions --context "$DOC" --task "$TASK" --local openai-compatible:fake \
  --local-url "$LOCAL_URL" --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
  --cache "$T/broken.db" >/dev/null 2>"$T/broken.err"; rc=$?
check "a broken cache file: exit 2, one line naming the file, nothing sent" \
  bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/broken.err') = 1 ] && grep -q 'response cache $T/broken.db: file is not a database' '$T/broken.err' &&
           [ $(sent_remote) = 0 ]"
mkdir "$T/adir"
timeout 20 "$MN_BIN" run --protocol minions --context "$DOC" --task "$TASK" --local openai-compatible:fake \
  --remote openai-compatible:fake --cache "$T/adir" >/dev/null 2>"$T/dir.err"; rc=$?
check "a folder as cache file: exit 2, one line" \
  bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/dir.err') = 1 ] && grep -q 'response cache $T/adir' '$T/dir.err'"

finish
