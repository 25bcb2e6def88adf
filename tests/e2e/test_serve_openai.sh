#!/usr/bin/env bash
# The official openai npm package (pinned in tests/npm/package-lock.json,
# installed by scripts/setup.sh) as a client of minions serve: models,
# a whole answer, a streamed one with progress and usage, an error.
source "$(dirname "$0")/lib.sh"

NPM_DIR=$MN_SOURCE_DIR/tests/npm
if [ ! -d "$NPM_DIR/node_modules/openai" ] || ! command -v node >/dev/null; then
  bad "the openai package is not installed (scripts/setup.sh runs npm ci in tests/npm)"
  finish; exit
fi
echo '{"rules": [{"when": {"last_contains": "vault code"}, "reply": "The code is ZEBRA-4417."}]}' >"$T/remote.json"
start_fake REMOTE --script "$T/remote.json"
"$MN_BIN" serve --port 0 --remote openai-compatible:fake --remote-url "$REMOTE_URL/v1" \
  --log-dir "$T/logs" >"$T/serve.out" 2>"$T/serve.err" &
FAKE_PIDS+=("$!")
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/serve.out"); [ -n "$port" ] && break; sleep 0.05
done
timeout 60 node "$NPM_DIR/client.mjs" "http://127.0.0.1:$port" >"$T/client.json" 2>"$T/client.err"
check "the client ran" test -s "$T/client.json"
check "models.list: the four protocols" jq -e '.models | sort == ["local-only", "minion", "minions", "remote-only"]' "$T/client.json"
check "a whole completion: the answer, stop, usage" \
  jq -e '.whole == {"content": "The code is ZEBRA-4417.", "finish": "stop", "total_tokens": .whole.total_tokens} and .whole.total_tokens > 0' "$T/client.json"
check "a streamed completion: the answer, progress chunks, stop, usage" \
  jq -e '.stream.content == "The code is ZEBRA-4417." and .stream.reasoning >= 1 and .stream.finish == "stop" and .stream.total_tokens > 0' "$T/client.json"
check "an unknown model: the SDK raises a 404 with OpenAI's code" \
  jq -e '.error == {"status": 404, "code": "model_not_found", "type": "invalid_request_error"}' "$T/client.json"
[ -s "$T/client.err" ] && cat "$T/client.err"
finish
