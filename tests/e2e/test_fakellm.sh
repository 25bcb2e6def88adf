#!/usr/bin/env bash
# fakellm through the curl command line: every route plain and streamed,
# rules and templates, the extractive brain, each fault, slots, the record
# file, --require-key, HTTP edge cases. Env: MN_FAKELLM (set by ctest).
set -euo pipefail

: "${MN_FAKELLM:?MN_FAKELLM is not set}"
T=$(mktemp -d /tmp/mn-fakellm-XXXXXX)
PIDS=()
PASS=0
FAIL=0
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

check() { # check "what" command...: the command's status decides
  local what=$1; shift
  if "$@"; then PASS=$((PASS + 1)); else FAIL=$((FAIL + 1)); echo "FAIL: $what"; fi
}
eq() { [ "$1" == "$2" ] || { echo "  got: $1" >&2; echo "  want: $2" >&2; return 1; }; }
has() { grep -qF -- "$2" <<<"$1" || { echo "  no \"$2\" in: ${1:0:400}" >&2; return 1; }; }

# start NAME args...: sets ${NAME}_URL and ${NAME}_PID
start() {
  local name=$1; shift
  : >"$T/$name.out"
  "$MN_FAKELLM" --port 0 "$@" >>"$T/$name.out" 2>"$T/$name.err" &
  local pid=$! port=""
  PIDS+=("$pid")
  for _ in $(seq 1 200); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$T/$name.out")
    [ -n "$port" ] && break
    sleep 0.02
  done
  [ -n "$port" ] || { echo "fakellm did not start: $(cat "$T/$name.err")"; exit 1; }
  printf -v "${name}_URL" 'http://127.0.0.1:%s' "$port"
  printf -v "${name}_PID" '%s' "$pid"
}

cat >"$T/script.json" <<'EOF'
{"extract": "ZEBRA-[0-9]+",
 "rules": [
  {"when": {"contains": "case-429"}, "times": 1, "fault": "429", "retry_after": 3},
  {"when": {"contains": "case-500", "route": "anthropic"}, "fault": "500"},
  {"when": {"contains": "case-503", "route": "gemini"}, "fault": "503"},
  {"when": {"contains": "case-reset"}, "fault": "reset"},
  {"when": {"contains": "case-trunc"}, "fault": "truncate"},
  {"when": {"contains": "case-stall"}, "fault": "stall"},
  {"when": {"contains": "case-mid"}, "fault": "stall_mid"},
  {"when": {"contains": "case-inv"}, "fault": "invalid_json"},
  {"when": {"contains": "case-huge"}, "fault": "huge"},
  {"when": {"contains": "case-embed", "route": "embed"}, "fault": "500"},
  {"when": {"last_contains": "case-tpl", "json": false},
   "replies": ["first {{match}}", "then {{sentence_json}} / {{last}}"]},
  {"when": {"contains": "case-usage"}, "reply": "abc", "finish_reason": "length",
   "usage": {"prompt": 100, "completion": 7, "cached": 40}}
 ]}
EOF
start A --script "$T/script.json" --record "$T/a.jsonl"
A=$A_URL

MSG='"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello there. The code is ZEBRA-42 today. Bye."}]'
post() { curl -sS "$@"; }

# ---- OpenAI ---------------------------------------------------------------
R=$(post -D "$T/h" "$A/v1/chat/completions" -d "{\"model\":\"m1\",$MSG}")
check "openai plain: text is the extracted sentence" eq "$(jq -r '.choices[0].message.content' <<<"$R")" "The code is ZEBRA-42 today."
check "openai plain: object, role, finish" eq "$(jq -r '[.object,.model,.choices[0].message.role,.choices[0].finish_reason]|join(" ")' <<<"$R")" "chat.completion m1 assistant stop"
# prompt: "Be brief." (9) + 45 bytes = 54 -> ceil(54/4) = 14; reply 26 bytes -> 7
check "openai plain: usage" eq "$(jq -c '[.usage.prompt_tokens,.usage.completion_tokens,.usage.total_tokens,.usage.prompt_tokens_details.cached_tokens]' <<<"$R")" "[14,7,21,0]"
check "openai plain: content-type" has "$(cat "$T/h")" "content-type: application/json"

R=$(post -N -D "$T/h" "$A/v1/chat/completions" -d "{\"model\":\"m1\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSG}")
check "openai sse: content-type" has "$(cat "$T/h")" "content-type: text/event-stream"
check "openai sse: ends with [DONE]" eq "$(tail -n 1 <<<"$R")" "data: [DONE]"
DATA=$(sed -n 's/^data: //p' <<<"$R" | grep -v '^\[DONE\]$')
check "openai sse: first chunk has the role" eq "$(head -n1 <<<"$DATA" | jq -r '.choices[0].delta.role')" "assistant"
check "openai sse: deltas join to the text" eq "$(jq -j '.choices[0].delta.content // empty' <<<"$DATA")" "The code is ZEBRA-42 today."
check "openai sse: usage chunk with empty choices" eq "$(tail -n1 <<<"$DATA" | jq -c '[.choices,.usage.prompt_tokens,.usage.completion_tokens]')" "[[],14,7]"
check "openai sse: other chunks carry usage null" eq "$(head -n1 <<<"$DATA" | jq -c '.usage')" "null"
check "openai sse: stop chunk" eq "$(jq -r '.choices[0].finish_reason // empty' <<<"$DATA")" "stop"
check "openai sse: chunk framing" has "$R" 'data: {"id":"chatcmpl-'
R=$(post -N "$A/v1/chat/completions" -d "{\"model\":\"m1\",\"stream\":true,$MSG}")
check "openai sse: no usage without include_usage" eq "$(sed -n 's/^data: //p' <<<"$R" | grep -c usage || true)" "0"

# ---- Ollama ---------------------------------------------------------------
R=$(post -D "$T/h" "$A/api/chat" -d "{\"model\":\"llama\",$MSG}")
check "ollama: streams NDJSON by default" has "$(cat "$T/h")" "content-type: application/x-ndjson"
check "ollama ndjson: pieces join to the text" eq "$(jq -j '.message.content' <<<"$R")" "The code is ZEBRA-42 today."
check "ollama ndjson: final line" eq "$(tail -n1 <<<"$R" | jq -c '[.done,.done_reason,.prompt_eval_count,.eval_count,(.total_duration>0)]')" '[true,"stop",14,7,true]'
check "ollama ndjson: earlier lines not done" eq "$(head -n1 <<<"$R" | jq -c '.done')" "false"
R=$(post -D "$T/h" "$A/api/chat" -d "{\"model\":\"llama\",\"stream\":false,\"format\":\"json\",\"options\":{\"num_ctx\":8192},$MSG}")
check "ollama plain: one JSON object" eq "$(jq -c '[.model,.done,.done_reason,.message.role]' <<<"$R")" '["llama",true,"stop","assistant"]'
check "ollama plain: format json gives the brain's JSON" eq "$(jq -r '.message.content' <<<"$R" | jq -c '[.citation,.answer]')" '["The code is ZEBRA-42 today.","The code is ZEBRA-42 today."]'
check "ollama plain: content-type" has "$(cat "$T/h")" "content-type: application/json"

# ---- Anthropic ------------------------------------------------------------
AMSG='"system":"Be brief.","messages":[{"role":"user","content":[{"type":"text","text":"Hello there. The code is ZEBRA-42 today. Bye."}]}]'
R=$(post "$A/v1/messages" -d "{\"model\":\"claude\",\"max_tokens\":100,$AMSG}")
check "anthropic plain" eq "$(jq -c '[.type,.role,.content[0].type,.content[0].text,.stop_reason,.usage.input_tokens,.usage.output_tokens,.usage.cache_read_input_tokens]' <<<"$R")" '["message","assistant","text","The code is ZEBRA-42 today.","end_turn",14,7,0]'
R=$(post -N -D "$T/h" "$A/v1/messages" -d "{\"model\":\"claude\",\"max_tokens\":100,\"stream\":true,$AMSG}")
check "anthropic sse: content-type" has "$(cat "$T/h")" "content-type: text/event-stream"
EVENTS=$(sed -n 's/^event: //p' <<<"$R" | uniq | tr '\n' ' ')
check "anthropic sse: event sequence" eq "$EVENTS" "message_start content_block_start ping content_block_delta content_block_stop message_delta message_stop "
DATA=$(sed -n 's/^data: //p' <<<"$R")
check "anthropic sse: deltas join" eq "$(jq -j 'select(.type=="content_block_delta")|.delta.text' <<<"$DATA")" "The code is ZEBRA-42 today."
check "anthropic sse: message_delta" eq "$(jq -c 'select(.type=="message_delta")|[.delta.stop_reason,.usage.output_tokens]' <<<"$DATA")" '["end_turn",7]'
check "anthropic sse: message_start usage" eq "$(jq -c 'select(.type=="message_start")|.message.usage.input_tokens' <<<"$DATA")" "14"
CODE=$(post -o "$T/b" -w '%{http_code}' "$A/v1/messages" -d "{\"model\":\"claude\",$AMSG}")
check "anthropic: max_tokens required (400)" eq "$CODE $(jq -c '[.type,.error.type]' "$T/b")" '400 ["error","invalid_request_error"]'

# ---- Gemini ---------------------------------------------------------------
GMSG='"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hello there. The code is ZEBRA-42 today. Bye."}]}]'
R=$(post "$A/v1beta/models/gemini-x:generateContent" -d "{$GMSG}")
check "gemini plain" eq "$(jq -c '[.candidates[0].content.role,.candidates[0].content.parts[0].text,.candidates[0].finishReason,.usageMetadata.promptTokenCount,.usageMetadata.candidatesTokenCount,.usageMetadata.totalTokenCount,.modelVersion]' <<<"$R")" '["model","The code is ZEBRA-42 today.","STOP",14,7,21,"gemini-x"]'
R=$(post -N -D "$T/h" "$A/v1beta/models/gemini-x:streamGenerateContent?alt=sse" -d "{$GMSG,\"generationConfig\":{\"responseMimeType\":\"application/json\"}}")
check "gemini sse: content-type" has "$(cat "$T/h")" "content-type: text/event-stream"
check "gemini sse: CRLF event framing" eq "$(head -c 6 <<<"$R")$(grep -c $'\r$' <<<"$R" | awk '{print ($1>0)}')" "data: 1"
DATA=$(sed -n 's/^data: //p' <<<"$R" | tr -d '\r')
check "gemini sse: JSON reply (responseMimeType)" eq "$(jq -j '.candidates[0].content.parts[0].text' <<<"$DATA" | jq -r .answer)" "The code is ZEBRA-42 today."
check "gemini sse: last chunk finishes with usage" eq "$(tail -n1 <<<"$DATA" | jq -c '[.candidates[0].finishReason,.usageMetadata.promptTokenCount]')" '["STOP",14]'

# ---- embeddings and model lists -------------------------------------------
E=$(post "$A/v1/embeddings" -d '{"model":"e","input":["Revenue grew in 2023","revenue GREW strongly","cats sleep"]}')
check "openai embeddings: 3 vectors of 64" eq "$(jq -c '[.object,(.data|length),(.data[0].embedding|length),.data[2].index]' <<<"$E")" '["list",3,64,2]'
check "openai embeddings: unit length" eq "$(jq '[.data[0].embedding[]|.*.]|add|.*1000|round' <<<"$E")" "1000"
check "openai embeddings: word overlap scores higher" eq "$(jq '([.data[0].embedding,.data[1].embedding]|transpose|map(.[0]*.[1])|add) > ([.data[0].embedding,.data[2].embedding]|transpose|map(.[0]*.[1])|add)' <<<"$E")" "true"
O=$(post "$A/api/embed" -d '{"model":"e","input":"Revenue grew in 2023"}')
check "ollama embed = openai embeddings" eq "$(jq -c '.embeddings[0]|map(.*1e6|round)' <<<"$O")" "$(jq -c '.data[0].embedding|map(.*1e6|round)' <<<"$E")"
check "models" eq "$(post "$A/v1/models" | jq -r '.data[0].id')$(post "$A/api/tags" | jq -r '.models[0].name')" "fakefake"

# ---- rules, templates, brain ----------------------------------------------
tpl() { post "$A/v1/chat/completions" -d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"case-tpl: see ZEBRA-9 now. More\"}]}" | jq -r '.choices[0].message.content'; }
check "template: first reply" eq "$(tpl)" "first ZEBRA-9"
check "template: second reply, repeated" eq "$(tpl)$(tpl)" "then case-tpl: see ZEBRA-9 now. / case-tpl: see ZEBRA-9 now. Morethen case-tpl: see ZEBRA-9 now. / case-tpl: see ZEBRA-9 now. More"
R=$(post "$A/v1/chat/completions" -d '{"model":"m","response_format":{"type":"json_object"},"messages":[{"role":"user","content":"nothing here"}]}')
check "brain: JSON abstains" eq "$(jq -r '.choices[0].message.content' <<<"$R")" '{"explanation":"not in this excerpt","citation":null,"answer":null}'
R=$(post "$A/api/chat" -d '{"model":"m","stream":false,"messages":[{"role":"user","content":"nothing here"}]}')
check "brain: text abstains" eq "$(jq -r '.message.content' <<<"$R")" "I could not find that."
R=$(post "$A/v1/messages" -d '{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"case-usage"}]}')
check "rule usage and finish_reason" eq "$(jq -c '[.content[0].text,.stop_reason,.usage.input_tokens,.usage.cache_read_input_tokens,.usage.output_tokens]' <<<"$R")" '["abc","max_tokens",60,40,7]'
check "runtime rules accepted" eq "$(post "$A/_fake/rules" -d '[{"when":{"route":"ollama","model":"rt"},"reply":"runtime says {{last_json}}"}]' | jq -c .)" '{"ok":true}'
R=$(post "$A/api/chat" -d '{"model":"rt","stream":false,"messages":[{"role":"user","content":"q \"x\""}]}')
check "runtime rule first" eq "$(jq -r '.message.content' <<<"$R")" 'runtime says q \"x\"'
CODE=$(post -o "$T/b" -w '%{http_code}' "$A/_fake/rules" -d '[{"fault":"teapot"}]')
check "bad runtime rule refused (400)" eq "$CODE $(jq -r .error "$T/b")" '400 rule 0: bad value for "fault"'

# ---- faults ---------------------------------------------------------------
chat() { # chat WORD [curl args...]
  local w=$1; shift
  curl -sS "$@" "$A/v1/chat/completions" -d "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"$w\"}]}"
}
CODE=$(chat case-429 -D "$T/h" -o "$T/b" -w '%{http_code}')
check "429 with Retry-After and OpenAI error" eq "$CODE $(grep -i '^retry-after:' "$T/h" | tr -d '\r') $(jq -r .error.code "$T/b")" "429 retry-after: 3 rate_limit_exceeded"
check "429 only once (times: 1)" eq "$(chat case-429 | jq -r '.choices[0].message.content')" "I could not find that."
CODE=$(post -o "$T/b" -w '%{http_code}' "$A/v1/messages" -d '{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"case-500"}]}')
check "500 in Anthropic's error shape" eq "$CODE $(jq -c '[.type,.error.type]' "$T/b")" '500 ["error","api_error"]'
CODE=$(post -D "$T/h" -o "$T/b" -w '%{http_code}' "$A/v1beta/models/g:generateContent" -d '{"contents":[{"parts":[{"text":"case-503"}]}]}')
check "503 in Gemini's error shape with Retry-After" eq "$CODE $(jq -c '[.error.code,.error.status]' "$T/b") $(grep -ci '^retry-after: 1' "$T/h")" '503 [503,"UNAVAILABLE"] 1'
CODE=$(post -o "$T/b" -w '%{http_code}' "$A/api/embed" -d '{"model":"e","input":"case-embed"}')
check "fault on the embed route, Ollama error shape" eq "$CODE $(jq -r 'has("error")' "$T/b")" "500 true"
rc=0; chat case-reset -o /dev/null 2>/dev/null || rc=$?
check "reset: curl error 56 or 52 (got $rc)" [ "$rc" -eq 56 -o "$rc" -eq 52 ]
rc=0; chat case-trunc -o /dev/null 2>/dev/null || rc=$?
check "truncate: curl error 18 (got $rc)" eq "$rc" 18
rc=0; curl -sS "$A/api/chat" -d '{"model":"m","messages":[{"role":"user","content":"case-trunc"}]}' -o /dev/null 2>/dev/null || rc=$?
check "truncate, streamed: curl error 18 (got $rc)" eq "$rc" 18
S=$(date +%s%N); rc=0; chat case-stall --max-time 0.4 -o /dev/null 2>/dev/null || rc=$?
check "stall: curl --max-time hits (28, got $rc)" eq "$rc" 28
check "stall: after ~0.4 s" [ $(( ($(date +%s%N) - S) / 1000000 )) -lt 2000 ]
rc=0; chat case-mid --max-time 0.4 -o "$T/b" 2>/dev/null || rc=$?
check "stall_mid: timeout after part of the body (28, got $rc)" [ "$rc" -eq 28 -a -s "$T/b" ]
rc=0; R=$(chat case-inv) || rc=$?
check "invalid_json: 200 but not JSON" [ "$rc" -eq 0 -a -n "$R" ] 
check "invalid_json: jq refuses it" eval '! jq . <<<"$R" >/dev/null 2>&1'
R=$(curl -sS -N "$A/v1/chat/completions" -d '{"model":"m","stream":true,"messages":[{"role":"user","content":"case-inv"}]}')
BAD=$(sed -n 's/^data: //p' <<<"$R" | grep -v '^\[DONE\]$' | while read -r l; do jq . <<<"$l" >/dev/null 2>&1 || echo bad; done | wc -l)
check "invalid_json, streamed: one bad event, stream completes" eq "$BAD $(tail -n1 <<<"$R")" "1 data: [DONE]"
R=$(chat case-huge -o /dev/null -w '%{size_download} %{http_code}')
check "huge: 100 MiB body" eq "$R" "104857600 200"
rc=0; chat case-huge --max-filesize 1000000 -o /dev/null 2>/dev/null || rc=$?
check "huge: Content-Length says 100 MiB (curl 63, got $rc)" eq "$rc" 63
check "server alive after faults" eq "$(post "$A/v1/models" | jq -r '.data[0].id')" "fake"

# ---- HTTP edge cases ------------------------------------------------------
raw() { # raw PORT-URL REQUEST: send bytes, print the reply
  local hp=${1#http://}
  timeout 5 bash -c 'exec 3<>/dev/tcp/${0%:*}/${0#*:}; printf "%s" "$1" >&3; cat <&3' "$hp" "$2" || true
}
check "garbage request: 400" has "$(raw "$A" $'BLAH\r\n\r\n')" "HTTP/1.1 400 "
check "body over 64 MiB: 413" has "$(raw "$A" $'POST /v1/chat/completions HTTP/1.1\r\nContent-Length: 70000000\r\n\r\n')" "HTTP/1.1 413 "
check "chunked request body" eq "$(curl -sS -H 'Transfer-Encoding: chunked' "$A/v1/chat/completions" -d "{\"model\":\"m\",$MSG}" | jq -r '.choices[0].message.content')" "The code is ZEBRA-42 today."
head -c 2000000 /dev/zero | tr '\0' 'a' >"$T/big.txt"
jq -Rs '{model:"m",messages:[{role:"user",content:.}]}' "$T/big.txt" >"$T/big.json"
S=$(date +%s%N)
R=$(curl -sS -H 'Expect: 100-continue' "$A/v1/chat/completions" --data-binary @"$T/big.json" | jq -r '.usage.prompt_tokens')
check "Expect: 100-continue, 2 MB body, no 1 s wait" [ "$R" = "500000" -a $(( ($(date +%s%N) - S) / 1000000 )) -lt 900 ]
R=$(raw "$A" $'POST /api/chat HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /api/tags HTTP/1.1\r\nConnection: close\r\n\r\n')
check "pipelined keep-alive requests answered in order" eq "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$R" | tr '\n' ' ')" "HTTP/1.1 400 HTTP/1.1 200 "
check "unknown route: 404" eq "$(curl -s -o /dev/null -w '%{http_code}' "$A/v2/nothing")" "404"
rc=0; "$MN_FAKELLM" --host 0.0.0.0 >/dev/null 2>&1 || rc=$?
check "--host refuses a non-loopback address" eq "$rc" 2

# ---- the record file ------------------------------------------------------
STATS=$(curl -sS "$A/_fake/stats")
R=$(curl -sS "$A/_fake/requests?last=2")
check "in-memory records (control plane not recorded)" eq "$(jq -c 'map([.method,.path,.route,.status])' <<<"$R")" '[["GET","/api/tags","models",200],["GET","/v2/nothing","unknown",404]]'
kill -TERM "$A_PID"; rc=0; wait "$A_PID" || rc=$?
check "SIGTERM: exit 0" eq "$rc" 0
check "stats: requests = model requests in the record file" eq "$(jq .requests <<<"$STATS")" "$(jq -r .route "$T/a.jsonl" | grep -cE '^(openai|ollama|anthropic|gemini|embed)$')"
L=$(grep '"path":"/api/chat"' "$T/a.jsonl" | grep -F '"num_ctx":8192' | head -n1)
check "record: one line per request, fields" eq "$(jq -c '[.method,.route,.body.options.num_ctx,.headers["content-type"],(.t_reply>=.t_recv),(.seq>0),.status]' <<<"$L")" '["POST","ollama",8192,"application/x-www-form-urlencoded",true,true,200]'
check "record: reset request has no status" eq "$(grep -F 'case-reset' "$T/a.jsonl" | jq -c '[.status,.route,.t_reply>.t_recv]')" '[null,"openai",true]'
check "record: gemini query kept" has "$(grep -F 'streamGenerateContent' "$T/a.jsonl" | jq -r .query)" "alt=sse"

# ---- slots ----------------------------------------------------------------
start B --slots 2 --service-ms 200
S=$(date +%s%N)
CURLS=()
for i in $(seq 1 8); do
  curl -sS -o "$T/slot$i" "$B_URL/v1/chat/completions" -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' &
  CURLS+=("$!")
done
for p in "${CURLS[@]}"; do wait "$p"; done
MS=$(( ($(date +%s%N) - S) / 1000000 ))
check "slots: 8 requests, 2 slots, 200 ms take ~800 ms (took $MS)" [ "$MS" -ge 790 -a "$MS" -lt 2500 ]
STATS=$(curl -sS "$B_URL/_fake/stats")
check "slots: max_serving 2, requests 8" eq "$(jq -c '[.max_serving,.requests]' <<<"$STATS")" "[2,8]"
check "slots: requests queued (max_concurrent > 2)" [ "$(jq .max_concurrent <<<"$STATS")" -gt 2 ]
check "reset clears stats and records" eq "$(curl -sS -X POST "$B_URL/_fake/reset" >/dev/null; curl -sS "$B_URL/_fake/stats" | jq -c '[.requests,.max_serving]')$(curl -sS "$B_URL/_fake/requests" | jq length)" "[0,0]0"

# ---- --require-key --------------------------------------------------------
start K --require-key sk-test-123 --record "$T/k.jsonl"
K=$K_URL
OA='{"model":"m","messages":[{"role":"user","content":"hi"}]}'
CODE=$(curl -sS -o "$T/b" -w '%{http_code}' "$K/v1/chat/completions" -d "$OA")
check "key: OpenAI without key 401" eq "$CODE $(jq -r .error.code "$T/b")" "401 invalid_api_key"
check "key: OpenAI with Bearer" eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer sk-test-123' "$K/v1/chat/completions" -d "$OA")" "200"
check "key: OpenAI wrong key 401, key not echoed" eq "$(curl -s -H 'Authorization: Bearer sk-wrong-999' "$K/v1/chat/completions" -d "$OA" | grep -c 'sk-wrong' || true)" "0"
AN='{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
CODE=$(curl -sS -o "$T/b" -w '%{http_code}' -H 'x-api-key: sk-test-123' "$K/v1/messages" -d "$AN")
check "key: Anthropic without anthropic-version 401" eq "$CODE $(jq -r .error.type "$T/b")" "401 authentication_error"
check "key: Anthropic with x-api-key and version" eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: sk-test-123' -H 'anthropic-version: 2023-06-01' "$K/v1/messages" -d "$AN")" "200"
GE='{"contents":[{"parts":[{"text":"hi"}]}]}'
check "key: Gemini ?key= and x-goog-api-key" eq "$(curl -s -o /dev/null -w '%{http_code}' "$K/v1beta/models/g:generateContent?key=sk-test-123" -d "$GE") $(curl -s -o /dev/null -w '%{http_code}' -H 'x-goog-api-key: sk-test-123' "$K/v1beta/models/g:generateContent" -d "$GE")" "200 200"
CODE=$(curl -sS -o "$T/b" -w '%{http_code}' "$K/v1beta/models/g:generateContent?key=nope" -d "$GE")
check "key: Gemini wrong key 401" eq "$CODE $(jq -r .error.status "$T/b")" "401 UNAUTHENTICATED"
check "key: Ollama needs none" eq "$(curl -s -o /dev/null -w '%{http_code}' "$K/api/chat" -d '{"model":"m","stream":false}')" "200"
kill -TERM "$K_PID"; wait "$K_PID" || true
check "key: never written to the record" eq "$(grep -c 'sk-test-123' "$T/k.jsonl" || true) $(grep -c 'Bearer \[redacted\]' "$T/k.jsonl")" "0 2"

# ---- --fault-rate: random faults, fixed by the seed ------------------------
# 300 requests at 10%: about 30 faults (3 standard deviations: 15..45),
# every kind asked for among them, and the same seed faults the same
# requests the same way.
fault_run() { # NAME SEED: 300 requests; codes in $T/NAME.codes
  start "$1" --fault-rate 0.1 --seed "$2" --faults 429,500,reset,stall,truncate --fault-stall-ms 20
  local url=${1}_URL
  for _ in $(seq 1 300); do
    curl -s -m 5 -o /dev/null -w '%{http_code}\n' "${!url}/v1/chat/completions" -d "$OA" || true
  done >"$T/$1.codes"
  curl -sS "${!url}/_fake/requests" | jq -c '[.[] | .fault // "-"]' >"$T/$1.faults"
  curl -sS "${!url}/_fake/stats" | jq .faults_injected >"$T/$1.n"
}
fault_run F1 7
fault_run F2 7
fault_run F3 8
N=$(cat "$T/F1.n")
check "faults: about 10% of 300 requests faulted ($N)" [ "$N" -ge 15 -a "$N" -le 45 ]
check "faults: the records name $N faults" eq "$(jq '[.[] | select(. != "-")] | length' "$T/F1.faults")" "$N"
check "faults: every kind asked for occurred" eq "$(jq -c '[.[] | select(. != "-")] | unique' "$T/F1.faults")" '["429","500","reset","stall","truncate"]'
check "faults: the client saw each 429 and 500" eq "$(grep -c '^429$' "$T/F1.codes") $(grep -c '^500$' "$T/F1.codes")" \
  "$(jq '[.[] | select(. == "429")] | length' "$T/F1.faults") $(jq '[.[] | select(. == "500")] | length' "$T/F1.faults")"
check "faults: a reset is a failed transfer (code 000)" [ "$(grep -c '^000$' "$T/F1.codes")" -ge "$(jq '[.[] | select(. == "reset")] | length' "$T/F1.faults")" ]
check "faults: the same seed faults the same requests the same way" cmp -s "$T/F1.faults" "$T/F2.faults"
check "faults: another seed, other requests" bash -c "! cmp -s '$T/F1.faults' '$T/F3.faults'"
RC=0; "$MN_FAKELLM" --fault-rate 1.5 >/dev/null 2>"$T/fr.err" || RC=$?
check "faults: --fault-rate over 1 is refused (exit 2, one line)" eq "$RC $(wc -l <"$T/fr.err")" "2 1"
RC=0; "$MN_FAKELLM" --fault-rate 0.1 --faults 429,bogus >/dev/null 2>"$T/fr.err" || RC=$?
check "faults: an unknown fault name is refused (exit 2)" eq "$RC" "2"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
