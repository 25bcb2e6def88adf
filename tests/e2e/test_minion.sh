#!/usr/bin/env bash
# Minion end to end: a scripted supervisor that never sees the document, and
# an extractive worker that reads it whole.
source "$(dirname "$0")/lib.sh"

FACT="The vault access code for the Cordova facility is ZEBRA-4417."
TASK="What is the vault access code for the Cordova facility?"
DOC=$T/doc.txt
make_doc "$DOC" "$FACT"
DOC_BYTES=$(wc -c <"$DOC")

# The supervisor: asks, reasons, then answers with what the worker said.
cat >"$T/remote.json" <<'JSON'
{"extract": "ZEBRA-[0-9]+",
 "rules": [
  {"when": {"last_contains": "Write your first message to the worker"},
   "reply": "{\"reasoning\": \"I need the code.\", \"message\": \"What is the vault access code for the Cordova facility? Quote the sentence.\"}"},
  {"when": {"last_contains": "Think step by step about this reply"},
   "reply": "The worker quoted a sentence that gives the code, so I can answer."},
  {"when": {"last_contains": "Now decide"},
   "reply": "```json\n{\"decision\": \"provide_final_answer\", \"answer\": \"The code is {{match}}.\", \"message\": null}\n```"},
  {"when": {"last_contains": "Summarise the conversation below"},
   "reply": "The user asked for the Cordova vault access code; it is {{match}}."},
  {"when": {"last_contains": "Your reply could not be used"},
   "reply": "{\"decision\": \"provide_final_answer\", \"answer\": \"The code is {{match}}.\", \"message\": null}"},
  {"when": {"last_contains": "This was the last exchange"},
   "reply": "{\"decision\": \"provide_final_answer\", \"answer\": \"The code is {{match}}.\", \"message\": null}"}
 ]}
JSON
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json"

minion() { # name args...
  local name=$1; shift
  timeout 120 "$MN_BIN" run --protocol minion --json --log "$T/$name.log.json" --context "$DOC" \
    --task "$TASK" --remote-url "$REMOTE_URL" --local-url "$LOCAL_URL" "$@" \
    >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
answered() {
  [ "$(cat "$T/$1.rc")" = 0 ] && jq -e '.answer | contains("ZEBRA-4417")' "$T/$1.out" >/dev/null
}
# requests recorded since mark_records (the record files only grow)
mark_records() { R0=$(wc -l <"$REMOTE_REC"); L0=$(wc -l <"$LOCAL_REC"); }
new_remote() { tail -n +$((R0 + 1)) "$REMOTE_REC" >"$T/remote.new"; echo "$T/remote.new"; }
new_local() { tail -n +$((L0 + 1)) "$LOCAL_REC" >"$T/local.new"; echo "$T/local.new"; }

for local in openai-compatible ollama; do
  mark_records
  minion "m_$local" --local "$local:fake" --remote openai-compatible:fake
  check "minion over $local answers" answered "m_$local"
  rrec=$(new_remote); lrec=$(new_local)
  rb=$(jq -s '[.[] | .body | tostring | length] | add' "$rrec")
  check "minion over $local: remote requests $rb bytes < 10% of the $DOC_BYTES-byte document" \
    test "$rb" -lt $((DOC_BYTES / 10))
  check "minion over $local: remote never saw the document's text" \
    bash -c "! grep -qF \"\$(awk 'length > 60' '$DOC' | sed -n 50p)\" <(jq -r '.body.messages[].content' '$rrec')"
  check "minion over $local: the local model received the whole document" \
    jq -se --argjson n "$DOC_BYTES" '[.[] | .body.messages[]?.content | utf8bytelength] | max >= $n' "$lrec"
  check "minion over $local: run log holds the conversation, usage both sides, timing" \
    jq -e '(.conversation | length) >= 4 and ([.conversation[].user] | index("local") != null)
      and ([.conversation[].user] | index("remote") != null)
      and .usage.remote.prompt_tokens > 0 and .usage.local.prompt_tokens > 0
      and (.timing | has("local_call_time") and has("remote_call_time") and has("total_time") and has("overhead_time"))
      and (.generated_final_answer | contains("ZEBRA-4417"))' "$T/m_$local.log.json"
  [ "$local" = ollama ] && check "ollama worker got num_ctx sized to the document" \
    jq -se --argjson n "$DOC_BYTES" '[.[] | .body.options.num_ctx // 0] | max >= ($n / 4)' "$lrec"
done

minion verbose --verbose --local openai-compatible:fake --remote openai-compatible:fake
check "--verbose shows the messages both ways on stderr" \
  bash -c "grep -q '^-> remote' '$T/verbose.err' && grep -q '^<- local' '$T/verbose.err' && grep -q '^== round 1' '$T/verbose.err'"
minion quiet --quiet --verbose --local openai-compatible:fake --remote openai-compatible:fake
check "--quiet silences the progress" bash -c "[ ! -s '$T/quiet.err' ]"

mark_records
minion one --max-rounds 1 --local openai-compatible:fake --remote openai-compatible:fake
check "--max-rounds 1 still ends with an answer" answered one
check "--max-rounds 1 uses the final-answer prompt" \
  bash -c "jq -r '.body.messages[-1].content' '$(new_remote)' | grep -q 'This was the last exchange'"

# A supervisor whose decision is garbage once: re-asked, tokens of both counted.
curl -s -X POST "$REMOTE_URL/_fake/rules" -d '[{"when": {"last_contains": "Now decide"}, "times": 1,
  "reply": "I think the answer is probably fine but here is no JSON at all"}]' >/dev/null
minion reask --local openai-compatible:fake --remote openai-compatible:fake
check "unparseable decision is re-asked and the run still answers" answered reask
check "the re-ask is counted in remote calls" \
  jq -e '.usage.remote.calls >= 4' "$T/reask.out"

# --- minions chat: piped questions, history carried, then summarised ------------------
mark_records
printf '%s\n\n%s\n%s\n' "$TASK" "And what facility was that code for?" "Repeat the code once more." |
  timeout 120 "$MN_BIN" chat --context "$DOC" --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
    --local openai-compatible:fake --local-url "$LOCAL_URL" --history-limit 150 --log-dir "$T/chatlogs" \
    >"$T/chat.out" 2>"$T/chat.err"
rc=$?
check "chat answers three piped questions in one session (exit 0)" \
  bash -c "[ $rc = 0 ] && [ \$(grep -c 'ZEBRA-4417' '$T/chat.out') -ge 3 ]"
check "chat writes one session log with the three questions" \
  bash -c "[ \$(ls '$T/chatlogs' | wc -l) = 1 ] && jq -e '.protocol == \"chat\" and (.questions | length) == 3 and
    (.questions | map(.generated_final_answer | contains(\"ZEBRA-4417\")) | all) and .usage.remote.calls >= 3' '$T'/chatlogs/*.json"
check "chat is quiet on a pipe: no protocol trace, one summary line per answer" \
  bash -c "! grep -q -- '->' '$T/chat.err' && [ \$(grep -c '^\[chat\]' '$T/chat.err') = 3 ]"
check "run logs are private: folder 0700, files 0600" \
  bash -c "[ \$(stat -c %a '$T/chatlogs') = 700 ] && [ -z \"\$(find '$T/chatlogs' -type f ! -perm 600)\" ]"
cp "$(new_remote)" "$T/chat.remote.jsonl"
check "the second question's task carries the first question and answer" \
  bash -c "jq -r '.body.messages[0].content' '$T/chat.remote.jsonl' | grep -q 'And what facility' &&
           jq -r '.body.messages[0].content' '$T/chat.remote.jsonl' | grep -A3 'Earlier in this conversation' | grep -q 'vault access code'"
check "a long history is summarised by the remote" \
  bash -c "jq -r '.body.messages[-1].content' '$T/chat.remote.jsonl' | grep -q 'Summarise the conversation below' &&
           jq -r '.body.messages[0].content' '$T/chat.remote.jsonl' | grep -q '(summary) The user asked for the Cordova'"

finish
