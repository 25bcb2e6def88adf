#!/usr/bin/env bash
# The two baselines end to end: build/minions against fake servers that speak
# each provider's wire format, over a 300 KB document with one planted fact.
source "$(dirname "$0")/lib.sh"

KEY=sk-e2e-SECRET-7f3a9c
FACT="The vault access code for the Cordova facility is ZEBRA-4417."
TASK="What is the vault access code for the Cordova facility?"
DOC=$T/document.txt
make_doc "$DOC" "$FACT"
DOC_BYTES=$(wc -c <"$DOC")

echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/script.json"
start_fake REMOTE --script "$T/script.json" --require-key "$KEY"
start_fake LOCAL --script "$T/script.json"

export OPENAI_COMPATIBLE_API_KEY=$KEY ANTHROPIC_API_KEY=$KEY GEMINI_API_KEY=$KEY

# run_case NAME ARGS...: runs the CLI with --json, keeps stdout/stderr/log
run_case() {
  local name=$1; shift
  timeout 60 "$MN_BIN" run --json --log "$T/$name.log.json" --context "$DOC" \
    --task "$TASK" "$@" >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}

answered() { # the run succeeded and the answer names the fact
  local name=$1
  [ "$(cat "$T/$name.rc")" = 0 ] &&
  jq -e '.answer | contains("ZEBRA-4417")' "$T/$name.out" >/dev/null &&
  jq -e '.answer | contains("ZEBRA-4417")' <(jq '{answer: .generated_final_answer}' "$T/$name.log.json") >/dev/null
}
no_key() { # the API key appears nowhere we write
  local name=$1
  ! grep -qF "$KEY" "$T/$name.out" "$T/$name.err" "$T/$name.log.json"
}
last_request() { tail -n 1 "$1"; }

# --- remote-only over openai-compatible, streamed ----------------------------------
run_case oa --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL" --stream
check "remote-only openai-compatible answers" answered oa
check "remote-only openai-compatible: key not in output or log" no_key oa
last_request "$REMOTE_REC" >"$T/oa.req"
# fakellm checks the key itself (--require-key) and records it redacted
check "openai: POST /v1/chat/completions with a Bearer key" \
  jq -e '.path == "/v1/chat/completions" and .method == "POST" and (.headers.authorization | startswith("Bearer "))' "$T/oa.req"
check "openai: model, stream with usage, whole document in messages" \
  jq -e --argjson n "$DOC_BYTES" '.body.model == "fake" and .body.stream == true and .body.stream_options.include_usage == true
    and ([.body.messages[].content] | add | utf8bytelength) > $n' "$T/oa.req"
check "openai: usage counted from the reply" \
  jq -e --argjson n "$DOC_BYTES" '.usage.remote.prompt_tokens >= ($n / 4 | floor) and .usage.remote.completion_tokens > 0
    and .usage.remote.calls == 1 and .usage.local.prompt_tokens == 0' "$T/oa.out"
check "json output has the contract fields" \
  jq -e '(.protocol == "remote-only") and has("cost_usd") and (.timing | has("local_call_time") and has("remote_call_time")
    and has("total_time") and has("overhead_time")) and (.log_file | type == "string")' "$T/oa.out"
check "run log has the reference fields" \
  jq -e '.task != null and (.conversation | length) == 1 and .conversation[0].user == "remote"
    and (.conversation[0].prompt | contains("ZEBRA-4417")) and (.usage.remote.prompt_tokens > 0)
    and (.timing | has("overhead_time")) and .protocol == "remote-only" and .models.remote == "openai-compatible:fake"' "$T/oa.log.json"

# --- a server that ignores "stream": true and sends one JSON body --------------------
for wire in openai-compatible ollama anthropic; do
  curl -s -X POST "$REMOTE_URL/_fake/rules" -H "Authorization: Bearer $KEY" -d '[{"when": {"stream": true}, "times": 1,
    "ignore_stream": true, "reply": "Whole body: the code is ZEBRA-4417."}]' >/dev/null
  run_case "ign_$wire" --protocol remote-only --remote "$wire:fake" --remote-url "$REMOTE_URL" --stream
  check "$wire --stream against a server answering with one JSON body still answers" answered "ign_$wire"
done

# --- cost from a price table given with --prices ---------------------------------
cat >"$T/prices.json" <<'JSON'
{"as_of": "2025-01-01", "models": {"openai-compatible:fake": {"input": 2.5, "cached_input": 1.25, "output": 10.0}}}
JSON
run_case priced --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL" --prices "$T/prices.json"
check "--prices: cost_usd = prompt x \$2.50/M + completion x \$10/M" \
  jq -e '.usage.remote as $u | ((($u.prompt_tokens - $u.cached_prompt_tokens) * 2.5 + $u.cached_prompt_tokens * 1.25
    + $u.completion_tokens * 10) / 1e6) as $want | ((.cost_usd - $want) | fabs) < 1e-9 and .cost_usd > 0' "$T/priced.out"
check "--prices: the run log has the same cost" \
  bash -c "[ \"\$(jq .cost_usd '$T/priced.out')\" = \"\$(jq .cost_usd '$T/priced.log.json')\" ]"
echo '{"models": {"x:y": {"input": -1, "output": 1}}}' >"$T/badprices.json"
timeout 20 "$MN_BIN" run --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
  --prices "$T/badprices.json" --context "$DOC" --task x >/dev/null 2>"$T/badprices.err"; rc=$?
check "a bad price table: one-line error naming the file" \
  bash -c "[ $rc != 0 ] && [ \$(wc -l <'$T/badprices.err') = 1 ] && grep -q badprices.json '$T/badprices.err'"

# --- same, whole replies (the default) ----------------------------------------------------------
run_case oa_plain --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL"
check "remote-only openai-compatible (whole replies) answers" answered oa_plain
check "openai whole replies: stream false or absent" \
  jq -e '(.body.stream // false) == false' <(last_request "$REMOTE_REC")

# --- remote-only over anthropic ----------------------------------------------------
run_case an --protocol remote-only --remote anthropic:fake --remote-url "$REMOTE_URL"
check "remote-only anthropic answers" answered an
check "remote-only anthropic: key not in output or log" no_key an
last_request "$REMOTE_REC" >"$T/an.req"
check "anthropic: /v1/messages, x-api-key, anthropic-version, top-level system, max_tokens" \
  jq -e '.path == "/v1/messages" and (.headers["x-api-key"] | length > 0) and (.headers["anthropic-version"] | length > 0)
    and (.body.system | type == "string" and length > 0) and (.body.max_tokens > 0)
    and ([.body.messages[].role] | index("system") == null)' "$T/an.req"

run_case an_s --protocol remote-only --remote anthropic:fake --remote-url "$REMOTE_URL" --stream
check "remote-only anthropic --stream answers" answered an_s
check "anthropic --stream asks for SSE" jq -e '.body.stream == true' <(last_request "$REMOTE_REC")

# --- remote-only over gemini ---------------------------------------------------------
run_case ge --protocol remote-only --remote gemini:fake --remote-url "$REMOTE_URL"
check "remote-only gemini answers" answered ge
check "remote-only gemini: key not in output or log" no_key ge
last_request "$REMOTE_REC" >"$T/ge.req"
check "gemini: generateContent path, key in x-goog-api-key, not in the URL" \
  jq -e '.path == "/v1beta/models/fake:generateContent" and (.headers["x-goog-api-key"] | length > 0)
    and ((.query // "") | test("key=") | not) and (.body.contents | length) >= 1' "$T/ge.req"

run_case ge_s --protocol remote-only --remote gemini:fake --remote-url "$REMOTE_URL" --stream
check "remote-only gemini --stream answers" answered ge_s
check "gemini --stream uses streamGenerateContent?alt=sse" \
  jq -e '.path == "/v1beta/models/fake:streamGenerateContent" and .query == "alt=sse"' <(last_request "$REMOTE_REC")

# --- local-only over ollama ------------------------------------------------------------
run_case ol --protocol local-only --local ollama:fake --local-url "$LOCAL_URL"
check "local-only ollama answers" answered ol
last_request "$LOCAL_REC" >"$T/ol.req"
check "ollama: /api/chat with num_ctx sized to the document" \
  jq -e --argjson n "$DOC_BYTES" '.path == "/api/chat" and .body.model == "fake" and (.body.options.num_ctx >= ($n / 4))' "$T/ol.req"
check "the key really was required: a wrong one is refused with one line" \
  bash -c "OPENAI_COMPATIBLE_API_KEY=wrong-key timeout 60 '$MN_BIN' run --protocol remote-only --remote openai-compatible:fake \
    --remote-url '$REMOTE_URL' --context '$DOC' --task x >/dev/null 2>'$T/wrongkey.err'; [ \$? = 1 ] && [ \$(wc -l <'$T/wrongkey.err') = 1 ]"
check "ollama whole replies: stream false sent explicitly" jq -e '.body.stream == false' "$T/ol.req"
run_case ol_s --protocol local-only --local ollama:fake --local-url "$LOCAL_URL" --stream
check "local-only ollama --stream (NDJSON) answers" answered ol_s
check "local-only: usage on the local side only" \
  jq -e '.usage.local.prompt_tokens > 0 and .usage.remote.prompt_tokens == 0 and .cost_usd == 0' "$T/ol.out"

# --- local-only over openai-compatible ------------------------------------------------------
unset OPENAI_COMPATIBLE_API_KEY
run_case lo --protocol local-only --local openai-compatible:fake --local-url "$LOCAL_URL"
check "local-only openai-compatible answers (no key needed)" answered lo
check "openai-compatible without a key sends no Authorization" \
  jq -e '.headers.authorization == null' <(last_request "$LOCAL_REC")
export OPENAI_COMPATIBLE_API_KEY=$KEY

# --- failures: one line on stderr, exit 1 or 2, quickly ----------------------------------------
fails_cleanly() { # name expected-codes
  local name=$1 codes=$2 rc
  rc=$(cat "$T/$name.rc")
  [[ " $codes " == *" $rc "* ]] && one_line "$T/$name.err" && no_key "$name"
}
timeout 60 "$MN_BIN" run --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
  --context "$T/no-such-file.txt" --task "$TASK" >"$T/missing.out" 2>"$T/missing.err"; echo $? >"$T/missing.rc"
check "missing file: one-line error, exit 1 or 2" fails_cleanly missing "1 2"
check "missing file: the error names the file" contains "$T/missing.err" "no-such-file.txt"

timeout 60 "$MN_BIN" run --protocol remote-only --remote nosuchprovider:fake \
  --context "$DOC" --task "$TASK" >"$T/prov.out" 2>"$T/prov.err"; echo $? >"$T/prov.rc"
check "unknown provider: one-line error, exit 1 or 2" fails_cleanly prov "1 2"
check "unknown provider: the error names it" contains "$T/prov.err" "nosuchprovider"

start=$(date +%s)
timeout 60 "$MN_BIN" run --protocol remote-only --remote openai-compatible:fake \
  --remote-url "http://127.0.0.1:$(closed_port)" --context "$DOC" --task "$TASK" \
  >"$T/closed.out" 2>"$T/closed.err"; echo $? >"$T/closed.rc"
elapsed=$(( $(date +%s) - start ))
check "closed port: one-line error, exit 1, within a minute ($elapsed s)" \
  bash -c "[ $(cat "$T/closed.rc") = 1 ] && [ $elapsed -lt 60 ] && [ \$(wc -l <'$T/closed.err') -eq 1 ]"

unset ANTHROPIC_API_KEY
timeout 60 "$MN_BIN" run --protocol remote-only --remote anthropic:claude-sonnet-4-5 \
  --context "$DOC" --task "$TASK" >"$T/nokey.out" 2>"$T/nokey.err"; echo $? >"$T/nokey.rc"
check "missing key: one-line error naming the variable" \
  bash -c "[ $(cat "$T/nokey.rc") != 0 ] && grep -q ANTHROPIC_API_KEY '$T/nokey.err' && [ \$(wc -l <'$T/nokey.err') -eq 1 ]"

timeout 10 "$MN_BIN" run --protocol remote-only --bogus-flag >"$T/usage.out" 2>"$T/usage.err"; rc=$?
check "unknown flag: exit 2 with a one-line error" bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/usage.err') -eq 1 ]"

"$MN_BIN" --version >"$T/version.out"; rc=$?
check "--version" bash -c "[ $rc = 0 ] && grep -qE '^minions [0-9]+\.[0-9]+\.[0-9]+$' '$T/version.out'"
"$MN_BIN" run --help >"$T/help.out"; rc=$?
check "run --help documents the contract flags" bash -c "[ $rc = 0 ] && for f in --protocol --local --remote --local-url \
  --remote-url --context --task --doc-metadata --json --log --prices; do grep -qe \"\$f\" '$T/help.out' || exit 1; done"

finish
