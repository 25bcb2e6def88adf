#!/usr/bin/env bash
# MinionS beyond one round: feedback and scratchpad reach the next decompose
# prompt, prev_jobs carries answers, samples repeat jobs, several local
# servers share the jobs, embedding retrieval keeps the closest chunks.
source "$(dirname "$0")/lib.sh"

FACT="The vault access code for the Cordova facility is ZEBRA-4417."
TASK="What is the vault access code for the Cordova facility?"
DOC=$T/doc.txt
make_doc "$DOC" "$FACT"

# Round 1 reads every chunk; round 2 re-reads only the chunks that answered.
cat >"$T/prog.lua" <<'LUA'
function prepare_jobs(context, prev_jobs)
  local jobs = {}
  if prev_jobs then
    for _, j in ipairs(prev_jobs) do
      if j.answer ~= nil then
        jobs[#jobs + 1] = { chunk = j.chunk, task = "Confirm the code: " .. j.answer }
      end
    end
    return jobs
  end
  for _, doc in ipairs(context) do
    for _, chunk in ipairs(chunk_by_section(doc, 6000, 0)) do
      jobs[#jobs + 1] = { chunk = chunk, task = "What is the vault access code for the Cordova facility?" }
    end
  end
  return jobs
end
LUA
jq -n --rawfile prog "$T/prog.lua" '{
  extract: "ZEBRA-[0-9]+",
  rules: [
    {when: {last_contains: "write short advice"}, reply: "Look for the code."},
    {when: {contains: "prepare_jobs"}, reply: ("```lua\n" + $prog + "```")},
    {when: {last_contains: "Think step by step: which findings"}, reply: "Found it, but confirm."},
    {when: {last_contains: "Now decide"}, times: 1,
     reply: "{\"decision\": \"request_additional_info\", \"explanation\": \"check\", \"answer\": null, \"feedback\": \"FEEDBACK-MARK-71 re-read the chunk that answered\", \"scratchpad\": \"SCRATCH-MARK-93 candidate {{match}}\"}"},
    {when: {last_contains: "Now decide"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"confirmed\", \"answer\": \"{{match}}\", \"feedback\": null, \"scratchpad\": \"done\"}"},
    {when: {last_contains: "This was the last round"},
     reply: "{\"decision\": \"provide_final_answer\", \"explanation\": \"last\", \"answer\": \"{{match}}\", \"feedback\": null, \"scratchpad\": \"done\"}"}
  ]}' >"$T/remote.json"
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json" --slots 8
start_fake LOCAL2 --script "$T/local.json" --slots 8

run_minions() { # name args...
  local name=$1; shift
  timeout 120 "$MN_BIN" run --protocol minions --json --log "$T/$name.log.json" --context "$DOC" \
    --task "$TASK" --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
    --local openai-compatible:fake "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
answered() { [ "$(cat "$T/$1.rc")" = 0 ] && jq -e '.answer | contains("ZEBRA-4417")' "$T/$1.out"; }
code_prompts() { jq -r '.conversation[] | select(.prompt // "" | contains("Write a Lua 5.4 program")) | .prompt' "$1"; }

run_minions two --local-url "$LOCAL_URL" --local-url "$LOCAL2_URL"
check "two rounds end with the answer" answered two
check "two rounds were run" jq -e '.rounds == 2' "$T/two.log.json"
check "round 2's decompose prompt carries the feedback and the scratchpad" \
  bash -c "code_prompts() { jq -r '.conversation[] | select(.prompt // \"\" | contains(\"Write a Lua 5.4 program\")) | .prompt' \"\$1\"; }
           [ \$(code_prompts '$T/two.log.json' | grep -c 'FEEDBACK-MARK-71') = 1 ] &&
           [ \$(code_prompts '$T/two.log.json' | grep -c 'SCRATCH-MARK-93 candidate ZEBRA-4417') = 1 ]"
check "prev_jobs carried round 1's answers: round 2 has one job per answered chunk" \
  jq -e '[.conversation[] | select(.job_outputs)] as $r |
    ($r[0].job_outputs | map(select(.status == "answered")) | length) as $a |
    $a >= 1 and ($r[1].job_manifests | length) == $a and ($r[1].job_manifests[0].task | startswith("Confirm the code: "))' "$T/two.log.json"
n1=$(wc -l <"$LOCAL_REC"); n2=$(wc -l <"$LOCAL2_REC")
check "two local servers shared the jobs ($n1 and $n2 requests)" test "$n1" -gt 5 -a "$n2" -gt 5

run_minions samples --samples 3 --local-temperature 0.7 --local-url "$LOCAL_URL" --max-rounds 1
check "--samples 3 runs every job three times" \
  jq -e '.conversation[] | select(.job_manifests) | .job_manifests as $m |
    ($m | length) == 3 * ($m | map(.chunk_id) | unique | length) and ($m | map(.sample) | unique) == [0,1,2]' "$T/samples.log.json"
check "--samples sends the worker temperature" \
  jq -se 'map(select(.body.temperature == 0.7)) | length >= 3' "$LOCAL_REC"

# A short note about the facility: under any sensible embedding it is the
# chunk closest to the task (fakellm embeds bags of words).
printf 'Cordova facility vault: the vault access code for the Cordova facility is ZEBRA-4417.\n' >"$T/note.txt"
L0=$(wc -l <"$LOCAL_REC")
run_minions embed --context "$T/note.txt" --retrieval embedding --embed-model openai-compatible:fake --retrieval-k 2 \
  --local-url "$LOCAL_URL" --max-rounds 1
check "embedding retrieval answers" answered embed
check "embedding retrieval keeps 2 chunks for the task" \
  jq -e '[.conversation[] | select(.job_manifests) | .job_manifests | length] == [2]' "$T/embed.log.json"
check "embedding requests went to /v1/embeddings" \
  bash -c "tail -n +$((L0 + 1)) '$LOCAL_REC' | jq -se 'map(select(.path == \"/v1/embeddings\")) | length >= 1'"

# Ollama's embeddings on the same spec and URL code as its chat: OLLAMA_HOST
# given as HOST:PORT (no scheme), no --local-url
L0=$(wc -l <"$LOCAL_REC")
OLLAMA_HOST=${LOCAL_URL#http://} run_minions embed_ollama --context "$T/note.txt" --local ollama:fake \
  --retrieval embedding --embed-model ollama:fake --retrieval-k 2 --max-rounds 1
check "OLLAMA_HOST=HOST:PORT serves embedding retrieval as it serves chat" answered embed_ollama
check "the embeddings went to OLLAMA_HOST's /api/embed, the jobs to its /api/chat" \
  bash -c "tail -n +$((L0 + 1)) '$LOCAL_REC' | jq -se '(map(select(.path == \"/api/embed\")) | length >= 1) and
                                                   (map(select(.path == \"/api/chat\")) | length >= 1)'"

timeout 20 "$MN_BIN" run --protocol minions --retrieval embedding --context "$DOC" --task x \
  --remote openai-compatible:fake --local openai-compatible:fake >/dev/null 2>"$T/noembed.err"; rc=$?
check "--retrieval embedding without --embed-model: exit 2, one line" \
  bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/noembed.err') = 1 ]"

finish
