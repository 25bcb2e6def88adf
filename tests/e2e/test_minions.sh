#!/usr/bin/env bash
# MinionS end to end: a remote that writes Lua against the documented job API
# (its first program tries the file system and a shell and must be refused),
# an extractive local model with parallel slots, a 300 KB document.
source "$(dirname "$0")/lib.sh"

FACT="The vault access code for the Cordova facility is ZEBRA-4417."
TASK="What is the vault access code for the Cordova facility?"
DOC=$T/doc.txt
make_doc "$DOC" "$FACT"
DOC_BYTES=$(wc -c <"$DOC")
CANARY=/tmp/mn-e2e-pwned-$$

cat >"$T/hostile.lua" <<LUA
function prepare_jobs(context, prev_jobs)
  os.execute("touch $CANARY")
  local f = io.open("$CANARY", "w")
  f:write("pwned")
  return {}
end
LUA
cat >"$T/good.lua" <<'LUA'
function prepare_jobs(context, prev_jobs)
  local jobs = {}
  for _, doc in ipairs(context) do
    for _, chunk in ipairs(chunk_by_section(doc, 5000, 0)) do
      jobs[#jobs + 1] = {
        chunk = chunk,
        task = "What is the vault access code for the Cordova facility? Quote the sentence.",
        advice = "Only a sentence naming the code counts." }
    end
  end
  return jobs
end
LUA
jq -n --rawfile hostile "$T/hostile.lua" --rawfile good "$T/good.lua" '{
  extract: "ZEBRA-[0-9]+",
  rules: [
    {when: {last_contains: "write short advice"}, reply: "Look for a sentence that names the vault access code."},
    {when: {last_contains: "Write a Lua 5.4 program"}, times: 2,
     reply: ("Here is the program:\n```lua\n" + $hostile + "```")},
    {when: {contains: "prepare_jobs"}, reply: ("```lua\n" + $good + "```")},
    {when: {last_contains: "Think step by step: which findings"},
     reply: "One chunk quotes the code; the rest abstained. That answers the task."},
    {when: {last_contains: "Now decide"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"code found\"}"},
    {when: {last_contains: "This was the last round"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"quoted\", \"answer\": \"The code is {{match}}.\", \"feedback\": null, \"scratchpad\": \"code found\"}"},
    {when: {last_contains: "Plan its jobs"},
     reply: "{\"tasks\": [{\"task\": \"What is the vault access code for the Cordova facility?\", \"advice\": \"Quote it.\"}], \"chunking\": {\"method\": \"paragraph\", \"max_chars\": 4000}, \"retrieval\": null}"}
  ]}' >"$T/remote.json"
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json" --slots 16 --service-ms 40

mark_records() { R0=$(wc -l <"$REMOTE_REC"); L0=$(wc -l <"$LOCAL_REC"); }
new_remote() { tail -n +$((R0 + 1)) "$REMOTE_REC"; }
new_local() { tail -n +$((L0 + 1)) "$LOCAL_REC"; }

minions() { # name args...: run from an empty folder, log inside it
  local name=$1; shift
  mkdir -p "$T/cwd_$name"
  (cd "$T/cwd_$name" && timeout 120 "$MN_BIN" run --protocol minions --json --log run.json \
    --context "$DOC" --task "$TASK" --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
    "$@" >"$T/$name.out" 2>"$T/$name.err")
  echo $? >"$T/$name.rc"
}
answered() {
  [ "$(cat "$T/$1.rc")" = 0 ] && jq -e '.answer | contains("ZEBRA-4417")' "$T/$1.out" >/dev/null
}

for local in openai-compatible ollama; do
  mark_records
  curl -s -X POST "$LOCAL_URL/_fake/reset" >/dev/null
  minions "c_$local" --local "$local:fake" --local-url "$LOCAL_URL"
  LOG=$T/cwd_c_$local/run.json
  check "minions (code) over $local answers" answered "c_$local"
  new_remote >"$T/r.jsonl"; new_local >"$T/l.jsonl"
  rb=$(jq -s '[.[] | .body | tostring | length] | add' "$T/r.jsonl")
  check "minions over $local: remote requests $rb bytes < 25% of the document ($DOC_BYTES)" \
    test "$rb" -lt $((DOC_BYTES / 4))
  jobs=$(jq '[.conversation[] | select(.job_manifests) | .job_manifests | length] | add' "$LOG")
  nlocal=$(wc -l <"$T/l.jsonl")
  check "minions over $local: one local request per job ($jobs jobs, $nlocal requests)" \
    test "$jobs" -gt 10 -a "$jobs" = "$nlocal"
  if [ "$local" = ollama ]; then
    check "minions over ollama: one num_ctx for every job of the round (no model reloads)" \
      jq -se '[.[].body.options.num_ctx] | (unique | length) == 1 and .[0] >= 4096' "$T/l.jsonl"
  fi
  inflight=$(curl -s "$LOCAL_URL/_fake/stats" | jq .max_concurrent)
  check "minions over $local: at least 4 local requests in flight at once ($inflight)" test "$inflight" -ge 4
  check "minions over $local: the hostile first program was refused and reported back" \
    jq -e '[.conversation[] | select(.sandbox_error) | .sandbox_error] | length == 1' "$LOG"
  check "minions over $local: the error went back to the remote" \
    bash -c "jq -r '.body.messages[-1].content' '$T/r.jsonl' | grep -q 'Your program could not be used'"
  check "minions over $local: nothing written but the run log" \
    bash -c "[ ! -e '$CANARY' ] && [ \"\$(ls -A '$T/cwd_c_$local')\" = run.json ]"
  check "minions over $local: run log has manifests, outputs, usage and timing" \
    jq -e '([.conversation[] | select(.job_outputs) | .job_outputs[] | select(.status == "answered")] | length) >= 1
      and .usage.local.calls > 10 and .usage.remote.calls >= 4 and (.timing.local_call_time > 0)' "$LOG"
done

minions plan --decompose plan --local openai-compatible:fake --local-url "$LOCAL_URL"
check "minions --decompose plan answers" answered plan
check "plan mode ran no code (no code request)" \
  bash -c "! grep -q 'Write a Lua 5.4 program' <(jq -r '.conversation[].prompt // empty' '$T/cwd_plan/run.json')"

minions plan_bm25 --decompose plan --retrieval bm25 --retrieval-k 3 --local openai-compatible:fake \
  --local-url "$LOCAL_URL"
check "plan mode with --retrieval bm25 answers" answered plan_bm25
check "plan mode with --retrieval bm25 reads only the k best chunks" \
  jq -e '[.conversation[] | select(.job_manifests) | .job_manifests | length] == [3]' "$T/cwd_plan_bm25/run.json"

# A program that spins until its budget ends: tried once more, told which
# budget, then the run stops (not five full-length tries)
curl -s -X POST "$REMOTE_URL/_fake/reset" >/dev/null
jq -n '[{"when": {"contains": "prepare_jobs"},
         "reply": "```lua\nfunction prepare_jobs(context, prev_jobs)\n  while true do end\nend\n```"}]' |
  curl -s -X POST --data-binary @- "$REMOTE_URL/_fake/rules" >/dev/null
start=$(date +%s)
minions spin --local openai-compatible:fake --local-url "$LOCAL_URL" --max-rounds 1
took=$(( $(date +%s) - start ))
check "a program out of its budget is retried once, then the run fails naming the budget ($took s)" \
  bash -c "[ \$(cat '$T/spin.rc') = 1 ] && grep -q 'ran out of its budget twice; last: .*\(budget\|time limit\)' '$T/spin.err' &&
           jq -e '[.conversation[] | select(.sandbox_error)] | length == 2' '$T/cwd_spin/run.json'"
curl -s -X POST "$REMOTE_URL/_fake/reset" >/dev/null

# A local model that refuses every job (OpenAI's refusal shape): the jobs
# count as failed, not as abstentions, and the run says why
curl -s -X POST "$LOCAL_URL/_fake/reset" >/dev/null
jq -n '[{"raw": {"body": ({"id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "fake",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
  "refusal": "I cannot help with that."}, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 50, "completion_tokens": 6, "total_tokens": 56}} | tojson)}}]' |
  curl -s -X POST --data-binary @- "$LOCAL_URL/_fake/rules" >/dev/null
minions refused --local openai-compatible:fake --local-url "$LOCAL_URL" --max-rounds 1
check "a refused local job counts as failed, not abstained (exit 1, one line naming the refusal)" \
  bash -c "[ \$(cat '$T/refused.rc') = 1 ] && [ \$(wc -l <'$T/refused.err') = 1 ] &&
           grep -q 'every one of the .* local jobs failed; first error: openai-compatible: the model refused: I cannot help with that.' '$T/refused.err' &&
           jq -e '[.conversation[] | select(.job_outputs) | .job_outputs[].status] | unique == [\"failed\"]' '$T/cwd_refused/run.json'"
curl -s -X POST "$LOCAL_URL/_fake/reset" >/dev/null

finish
