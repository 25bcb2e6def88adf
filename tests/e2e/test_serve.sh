#!/usr/bin/env bash
# minions serve, the OpenAI-compatible API, driven with curl against the
# fake servers: models, a whole and a streamed answer in OpenAI's shapes,
# 20 clients at once, the caps (body, concurrent runs), the token, the
# Origin check, errors in OpenAI's shape, and no key ever in a reply.
source "$(dirname "$0")/lib.sh"

export OPENAI_COMPATIBLE_API_KEY=sk-serve-secret-123
cat >"$T/remote.json" <<'JSON'
{"rules": [{"when": {"last_contains": "vault code"}, "reply": "The code is ZEBRA-4417."}]}
JSON
start_fake REMOTE --script "$T/remote.json" --require-key sk-serve-secret-123
start_fake SLOWR --script "$T/remote.json" --service-ms 1500

serve() { # name extra-args...: start minions serve, sets ${name}_URL
  local name=$1; shift
  "$MN_BIN" serve --port 0 --remote openai-compatible:fake --log-dir "$T/logs" "$@" \
    >"$T/$name.out" 2>"$T/$name.err" &
  FAKE_PIDS+=("$!")
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$name.out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "serve $name did not start: $(cat "$T/$name.err")"; exit 1; }
  printf -v "${name}_URL" 'http://127.0.0.1:%s' "$port"
}
ask() { # url body [curl args...]: POST a chat completion, status on the last line
  local url=$1 body=$2; shift 2
  curl -s -w '\n%{http_code}' -X POST "$url/v1/chat/completions" -H 'Content-Type: application/json' \
    -d "$body" "$@"
}
BODY='{"model": "remote-only", "messages": [{"role": "user", "content": "Memo: the vault code is ZEBRA-4417."}, {"role": "user", "content": "What is the vault code?"}]}'

serve S --remote-url "$REMOTE_URL/v1" --max-runs 20
check "GET /v1/models lists the four protocols" \
  bash -c "curl -s '$S_URL/v1/models' | jq -e '.object == \"list\" and ([.data[].id] | sort == [\"local-only\", \"minion\", \"minions\", \"remote-only\"])'"
ask "$S_URL" "$BODY" >"$T/plain"
check "a whole answer: chat.completion with the answer, usage and cost per side" \
  bash -c "tail -1 '$T/plain' | grep -qx 200 && head -1 '$T/plain' | jq -e '.object == \"chat.completion\" and
    .choices[0].message.content == \"The code is ZEBRA-4417.\" and .choices[0].finish_reason == \"stop\" and
    .usage.total_tokens > 0 and .minions.remote.prompt_tokens > 0'"
check "the documents were the earlier messages and the task the last one" \
  bash -c "tail -1 '$REMOTE_REC' | jq -e '.body.messages | map(.content) | join(\" \") | (contains(\"ZEBRA-4417\") and contains(\"What is the vault code?\"))'"
curl -sN -X POST "$S_URL/v1/chat/completions" -d "${BODY%\}}, \"stream\": true, \"stream_options\": {\"include_usage\": true}}" >"$T/stream"
check "streamed: chunk events, role first, progress as reasoning_content, the answer, stop, usage, [DONE]" \
  bash -c "grep '^data: {' '$T/stream' | sed 's/^data: //' | jq -se '
      (.[0].choices[0].delta.role == \"assistant\") and
      (map(.choices[0].delta.reasoning_content // empty) | length >= 1) and
      (map(.choices[0].delta.content // empty) | join(\"\") == \"The code is ZEBRA-4417.\") and
      (map(.choices[0].finish_reason // empty) == [\"stop\"]) and
      (.[-1].choices == [] and .[-1].usage.total_tokens > 0) and
      all(.object == \"chat.completion.chunk\")' && tail -2 '$T/stream' | grep -qx 'data: \[DONE\]'"

# 20 clients at once, all answered
pids=()
for i in $(seq 1 20); do ask "$S_URL" "$BODY" >"$T/c$i" & pids+=("$!"); done
wait "${pids[@]}"
ok20=0
for i in $(seq 1 20); do tail -1 "$T/c$i" | grep -qx 200 && grep -q ZEBRA-4417 "$T/c$i" && ok20=$((ok20 + 1)); done
check "20 concurrent clients all answered ($ok20)" test "$ok20" -eq 20

# bad input: 4xx in OpenAI's error shape
err_is() { # file status code
  tail -1 "$1" | grep -qx "$2" && head -1 "$1" | jq -e --arg c "$3" '.error.code == $c and (.error.message | length > 0) and .error.type != null' >/dev/null
}
ask "$S_URL" '{bad' >"$T/e1";                            check "not JSON: 400 invalid_json" err_is "$T/e1" 400 invalid_json
ask "$S_URL" '{"model": "gpt-4", "messages": []}' >"$T/e2"; check "unknown model: 404 model_not_found" err_is "$T/e2" 404 model_not_found
ask "$S_URL" '{"model": "remote-only", "messages": [{"role": "user", "content": "only a question"}]}' >"$T/e3"
check "no documents: 400 no_documents" err_is "$T/e3" 400 no_documents
ask "$S_URL" '{"model": "remote-only"}' >"$T/e4";        check "no messages: 400" err_is "$T/e4" 400 invalid_messages
curl -s -w '\n%{http_code}' "$S_URL/nowhere" >"$T/e5";   check "unknown URL: 404" err_is "$T/e5" 404 unknown_url
curl -s -w '\n%{http_code}' "$S_URL/v1/chat/completions" >"$T/e6"; check "GET on the POST route: 405" err_is "$T/e6" 405 method_not_allowed
ask "$S_URL" "$BODY" -H 'Origin: http://evil.example' >"$T/e7"; check "another Origin: 403" err_is "$T/e7" 403 origin_not_allowed
head -c 2000000 /dev/zero | tr '\0' 'x' >"$T/big"
serve B --remote-url "$REMOTE_URL/v1" --max-body-mb 1
curl -s -w '\n%{http_code}' -X POST "$B_URL/v1/chat/completions" --data-binary "@$T/big" >"$T/e9"
check "a body over --max-body-mb: 413" err_is "$T/e9" 413 request_too_large
ask "$S_URL" "$BODY" >"$T/after"
check "the server survived all that" bash -c "tail -1 '$T/after' | grep -qx 200"
check "no reply ever held the provider key" bash -c "! cat '$T'/plain '$T'/stream '$T'/c* '$T'/e* | grep -q sk-serve-secret"

# the concurrent-run cap: one run at a time, a second gets 429
serve ONE --remote-url "$SLOWR_URL/v1" --max-runs 1
ask "$ONE_URL" "$BODY" >"$T/slow1" &
first=$!
sleep 0.5
ask "$ONE_URL" "$BODY" >"$T/slow2"
wait "$first"
check "beyond --max-runs: 429 rate_limit_exceeded, the first still answered" \
  bash -c "err_is() { tail -1 \"\$1\" | grep -qx \"\$2\" && head -1 \"\$1\" | jq -e --arg c \"\$3\" '.error.code == \$c' >/dev/null; }; err_is '$T/slow2' 429 rate_limit_exceeded && tail -1 '$T/slow1' | grep -qx 200"

# the token
serve TOK --remote-url "$REMOTE_URL/v1" --token s3cret
ask "$TOK_URL" "$BODY" >"$T/t1"
check "with --token, no token: 401 invalid_api_key" err_is "$T/t1" 401 invalid_api_key
ask "$TOK_URL" "$BODY" -H 'Authorization: Bearer wrong' >"$T/t2"
check "a wrong token: 401" err_is "$T/t2" 401 invalid_api_key
ask "$TOK_URL" "$BODY" -H 'Authorization: Bearer s3cret' >"$T/t3"
check "the right token: answered" bash -c "tail -1 '$T/t3' | grep -qx 200"
"$MN_BIN" serve --host 0.0.0.0 --port 0 --remote openai-compatible:fake >/dev/null 2>"$T/open.err"; rc=$?
check "another address than loopback without --token: exit 2, one line" \
  bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$T/open.err') -eq 1 ] && grep -q -- '--token' '$T/open.err'"

finish
