# Provider conformance: replies in the shapes the providers document (and
# have sent), replayed byte for byte by fakellm ("raw" rules), each through
# the real CLI (`minions run --protocol remote-only`), checked on the exit
# status, the answer, the usage, the one-line message, and the request the
# CLI sent, field by field. One file per provider family in cases/; the
# format is in README.md.
#
#   bash tests/conformance/run.sh [FAMILY...]     (ctest runs all)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"

KEY=sk-conformance-0123456789abcdef   # looks like a key: must never be printed
printf 'The capital of France is Paris.\n' >"$T/doc.txt"
start_fake FAKE

families=("$@")
[ ${#families[@]} -eq 0 ] && families=($(cd "$here/cases" && ls *.json | sed 's/\.json$//'))

# The reply bytes of case $1 (a JSON object): "body" (a string as it is, an
# object in compact JSON), "sse" (each item one event: a string as it is,
# an object in compact JSON, ["name", data] for a named event, or a
# string starting with ":" for a comment line), or "ndjson" (one line per
# item).
reply_bytes() {
  jq -j '
    def text: if type == "string" then . else tojson end;
    if has("body") then .body | text
    elif has("sse") then .sse[] |
      if type == "array" then "event: \(.[0])\ndata: \(.[1] | text)\n\n"
      elif type == "string" and startswith(":") then "\(.)\n\n"   # an SSE comment
      else "data: \(text)\n\n" end
    elif has("ndjson") then .ndjson[] | "\(text)\n"
    else error("case has no body, sse or ndjson") end' <<<"$1"
}

run_case() { # family file, case index
  local file=$1 i=$2
  local c name prov model stream status ctype key_env url_env url_value
  c=$(jq -c ".cases[$i]" "$file")
  eval "$(jq -r --argjson c "$c" '@sh "name=\(.family + "/" + $c.name) prov=\(.provider)
      model=\(.model) key_env=\(.key_env // "") url_env=\(.url_env // "")
      url_value=\(.url_value // "{url}") stream=\($c.stream // false) status=\($c.status // 200)
      ctype=\($c.content_type // (if $c | has("sse") then "text/event-stream; charset=utf-8"
             elif $c | has("ndjson") then "application/x-ndjson" else "application/json" end))"' "$file")"
  local bytes
  bytes=$(reply_bytes "$c"; printf x)   # keep trailing newlines
  bytes=${bytes%x}
  curl -s -X POST "$FAKE_URL/_fake/reset" >/dev/null
  jq -n --arg b "$bytes" --argjson st "$status" --arg ct "$ctype" \
    '[{"when": {"route": "chat"}, "raw": {"body": $b, "status": $st, "content_type": $ct}}]' |
    curl -s -X POST --data-binary @- "$FAKE_URL/_fake/rules" >/dev/null

  # the provider's own variables, pointing at the fake
  local env=() url_args=()
  [ -n "$key_env" ] && env+=("$key_env=$KEY")
  if [ -n "$url_env" ]; then
    url_value=${url_value//\{url\}/$FAKE_URL}
    env+=("$url_env=${url_value//\{hostport\}/${FAKE_URL#http://}}")
  else
    url_args=(--remote-url "$FAKE_URL")
  fi
  local sflag=()
  [ "$stream" = true ] && sflag=(--stream)
  env "${env[@]}" timeout 60 "$MN_BIN" run --protocol remote-only --remote "$prov:$model" \
    "${url_args[@]}" "${sflag[@]}" --retries 0 --context "$T/doc.txt" \
    --task "What is the capital of France?" --json --log "$T/case.log.json" \
    >"$T/case.out" 2>"$T/case.err"
  local rc=$?

  local want_rc fails=()
  want_rc=$(jq -r '.exit // 0' <<<"$c")
  [ "$rc" = "$want_rc" ] || fails+=("exit $rc, want $want_rc")
  if [ "$want_rc" = 0 ]; then
    jq -e --argjson c "$c" '.answer == $c.answer' "$T/case.out" >/dev/null ||
      fails+=("answer $(jq -c .answer "$T/case.out" 2>/dev/null), want $(jq -c .answer <<<"$c")")
    jq -e --argjson c "$c" '.usage.remote as $u | ($c.usage // {}) | to_entries |
        all(.value == $u[.key])' "$T/case.out" >/dev/null ||
      fails+=("usage $(jq -c .usage.remote "$T/case.out" 2>/dev/null), want $(jq -c .usage <<<"$c")")
  else
    local lines
    lines=$(wc -l <"$T/case.err")
    [ "$lines" = 1 ] || fails+=("stderr has $lines lines, want one: $(head -c 300 "$T/case.err")")
  fi
  local msg
  msg=$(jq -r '.stderr // empty' <<<"$c")
  [ -z "$msg" ] || grep -qF -- "$msg" "$T/case.err" ||
    fails+=("stderr lacks '$msg': $(head -c 300 "$T/case.err")")
  ! grep -qF "$KEY" "$T/case.err" "$T/case.out" "$T/case.log.json" 2>/dev/null ||
    fails+=("the API key was printed")

  # the request, field by field: the family's checks for this mode, then the case's own
  local req checks
  req=$(curl -s "$FAKE_URL/_fake/requests?last=1" | jq -c '.[0]')
  checks=$(jq -c --arg s "$stream" '(.request.all // []) +
             (if $s == "true" then .request.stream // [] else .request.plain // [] end)' "$file")
  checks=$(jq -c --argjson a "$checks" '$a + (.request // [])' <<<"$c")
  # one jq program for all checks: the list of those that are not true
  local prog="" k exprs=()
  mapfile -t exprs < <(jq -r '.[]' <<<"$checks")
  for k in "${!exprs[@]}"; do
    prog+="${prog:+, }(if (try (${exprs[$k]}) catch false) == true then empty else $k end)"
  done
  local failed
  failed=$(jq -r "[$prog] | .[]" <<<"$req" 2>/dev/null) || failed=all
  for k in $failed; do
    if [ "$k" = all ]; then fails+=("request checks could not run"); break; fi
    fails+=("request check failed: ${exprs[$k]}")
  done

  if [ ${#fails[@]} -eq 0 ]; then
    ok "$name"
  else
    bad "$name: ${fails[*]}"
  fi
}

for fam in "${families[@]}"; do
  file=$here/cases/$fam.json
  [ -f "$file" ] || { bad "no such family: $fam"; continue; }
  count=$(jq '.cases | length' "$file")
  for ((i = 0; i < count; i++)); do
    run_case "$file" "$i"
  done
done
finish
