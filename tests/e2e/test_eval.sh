#!/usr/bin/env bash
# minions eval on the shared FinanceBench sample against scripted fakes:
# the table with the scores the script implies, the judge, resume after
# kill -9, the response cache turning a rerun into zero requests, the spend
# cap, and the local server's limit shared by parallel questions.
source "$(dirname "$0")/lib.sh"

DS=$MN_SHARED_DIR/data/financebench/questions.jsonl
[ -f "$DS" ] || { echo "no FinanceBench sample at $DS"; exit 1; }
export OPENAI_API_KEY=sk-test-eval

# The remote answers the first four questions: right, wrong, wrong, right
# (golds $1577.00, $8.70, 24.26, 1.9%); a grading request gets the judge's
# verdict. The local model knows nothing.
cat >"$T/remote.json" <<'JSON'
{"rules": [
  {"when": {"last_contains": "You are grading"}, "times": 1000,
   "reply": "{\"correct\": true, \"reason\": \"it names customer deposits\"}"},
  {"when": {"last_contains": "capital expenditure amount (in USD millions) for 3M"},
   "reply": "3M's FY2018 capital expenditure was $1,577 million."},
  {"when": {"last_contains": "net PPNE for 3M"}, "reply": "Net PP&E was $9.10 billion."},
  {"when": {"last_contains": "fixed asset turnover ratio"}, "reply": "The ratio was 12.5."},
  {"when": {"last_contains": "capex as a % of revenue"}, "reply": "About 1.9% of revenue."},
  {"when": {"last_contains": "largest liability"}, "reply": "Customer deposits were the largest."}
]}
JSON
echo '{"rules": [{"reply": "I could not find that."}]}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json" --slots 64

evaluate() { # out-dir extra-args...: run minions eval, keep rc/stdout/stderr
  local out=$1; shift
  "$MN_BIN" eval --dataset "$DS" --out "$T/$out" --remote openai:gpt-4o --remote-url "$REMOTE_URL/v1" \
    --local openai-compatible:fake --local-url "$LOCAL_URL/v1" "$@" >"$T/$out.stdout" 2>"$T/$out.stderr"
  echo $? >"$T/$out.rc"
}
requests() { cat "$REMOTE_REC" "$LOCAL_REC" 2>/dev/null | wc -l; }
row() { # out protocol: the summary.csv row of a protocol
  awk -F, -v p="$2" '$1 == p' "$T/$1/summary.csv"
}

evaluate a --limit 4 --protocols remote-only,local-only
check "eval exits 0" grep -qx 0 "$T/a.rc"
check "one result per question and protocol" \
  bash -c "[ \$(wc -l <'$T/a/results.jsonl') -eq 8 ] && jq -se 'map(.id + .protocol) | unique | length == 8' '$T/a/results.jsonl'"
check "scores follow the script: remote-only 2 of 4 by figure, local-only none" \
  jq -se '[.[] | select(.protocol == "remote-only")] | (map(.score) | add == 2) and all(.method == "numeric")
    and (map(select(.score == 1) | .id) | sort == ["financebench_id_03029", "financebench_id_07966"])' "$T/a/results.jsonl"
check "a score keeps its reason" \
  jq -se 'map(select(.id == "financebench_id_03029" and .protocol == "remote-only"))[0].reason | test("1,577 million")' \
  "$T/a/results.jsonl"
check "summary.csv: remote-only 50% accuracy, local-only 0%" \
  test "$(row a remote-only | cut -d, -f5) $(row a local-only | cut -d, -f5)" = "50.00 0.00"
check "summary.md is printed, with the remote \$ per question" \
  bash -c "grep -q '| remote-only | openai-compatible:fake | openai:gpt-4o | 4 | 50.0% |' '$T/a.stdout'"
check "summary.json: cost relative to remote-only is 1 for remote-only" \
  jq -e '.groups[] | select(.protocol == "remote-only") | .cost_vs_remote_only == 1' "$T/a/summary.json"
check "per-question rows carry tokens, cost, time and the run log" \
  jq -se 'all(.usage.remote.calls >= 0 and (.time_s > 0) and (.log_file | type == "string"))
    and ([.[] | select(.protocol == "remote-only") | .cost_usd > 0] | all)' "$T/a/results.jsonl"
check "the chart is an SVG with a point per group" \
  /usr/bin/python3 -c "import sys, xml.etree.ElementTree as E; r = E.parse('$T/a/accuracy_cost.svg').getroot(); sys.exit(not (r.tag.endswith('svg') and len(r.findall('{http://www.w3.org/2000/svg}circle')) == 4))"

R0=$(requests)
evaluate a --limit 4 --protocols remote-only,local-only
check "a rerun of a finished eval makes no request and says it resumed" \
  bash -c "[ \$(cat '$T/a.rc') = 0 ] && [ $(requests) -eq $R0 ] && grep -q 'resuming: 8 of 8' '$T/a.stderr'"
check "and writes the same table" test "$(row a remote-only | cut -d, -f5)" = 50.00

# the cache: results thrown away, the same runs answered without requests
rm "$T/a/results.jsonl"
R0=$(requests)
evaluate a --limit 4 --protocols remote-only,local-only
check "with results gone, the response cache answers every request (no request made)" \
  bash -c "[ \$(cat '$T/a.rc') = 0 ] && [ \$(wc -l <'$T/a/results.jsonl') -eq 8 ] && [ \$(( \$(cat '$REMOTE_REC' '$LOCAL_REC' | wc -l) )) -eq $R0 ]"
check "cache hits are in the summary" \
  bash -c "[ \$(jq '[.groups[].cache_hits] | add' '$T/a/summary.json') -ge 8 ]"

# the judge grades an answer that is not a figure (question 15: "Customer deposits")
printf '%s\n' "$(sed -n 15p "$DS")" >"$T/judge.jsonl"
"$MN_BIN" eval --dataset "$T/judge.jsonl" --docs "$MN_SHARED_DIR/data/financebench/pdfs" --out "$T/j" \
  --protocols remote-only --remote openai:gpt-4o --remote-url "$REMOTE_URL/v1" --no-cache >"$T/j.stdout" 2>&1
check "a text gold is graded by the judge (the remote model), its reason kept" \
  jq -se '.[0].method == "judge" and .[0].score == 1 and (.[0].reason | test("customer deposits")) and .[0].judge_cost_usd > 0' \
  "$T/j/results.jsonl"
check "the judge saw the question, the gold and the answer" \
  bash -c "jq -r '.body.messages[-1].content' '$REMOTE_REC' | grep -A6 'You are grading' | grep -q 'Customer deposits'"

# resume after kill -9: a slow local server, killed mid-way
start_fake SLOW --script "$T/local.json" --service-ms 400
"$MN_BIN" eval --dataset "$DS" --out "$T/k" --limit 6 --protocols local-only --parallel 1 --no-cache \
  --local openai-compatible:fake --local-url "$SLOW_URL/v1" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [ -f "$T/k/results.jsonl" ] && [ "$(wc -l <"$T/k/results.jsonl")" -ge 2 ] && break
  sleep 0.05
done
kill -9 "$pid"; wait "$pid" 2>/dev/null
before=$(wc -l <"$T/k/results.jsonl")
printf '{"id": "torn' >>"$T/k/results.jsonl"     # as if killed mid-line
"$MN_BIN" eval --dataset "$DS" --out "$T/k" --limit 6 --protocols local-only --parallel 1 --no-cache \
  --local openai-compatible:fake --local-url "$SLOW_URL/v1" >"$T/k.stdout" 2>"$T/k.stderr"
echo $? >"$T/k.rc"
check "killed with kill -9 after $before results, the rerun finishes the rest" \
  bash -c "[ \$(cat '$T/k.rc') = 0 ] && jq -se 'map(.id) | unique | length == 6' '$T/k/results.jsonl'"
check "and never runs a finished question again (6 questions, at most one run repeated)" \
  bash -c "n=\$(wc -l <'$SLOW_REC'); [ \$n -ge 6 ] && [ \$n -le 7 ]"
check "the torn line was cut off" bash -c "! grep -q torn '$T/k/results.jsonl'"

# the spend cap: one remote-only question of the 3M 10-K costs about $0.3 here
evaluate b --limit 4 --protocols remote-only --max-cost 0.5 --no-cache
check "--max-cost stops starting questions, and the summary says so" \
  bash -c "[ \$(cat '$T/b.rc') = 0 ] && [ \$(wc -l <'$T/b/results.jsonl') -lt 4 ] && grep -q 'Stopped by the spend cap of \$0.50' '$T/b/summary.md' && jq -e '.budget_stop' '$T/b/summary.json'"

# parallel questions share the local server's limit (--local-parallel 2)
start_fake NARROW --script "$T/local.json" --service-ms 300
"$MN_BIN" eval --dataset "$DS" --out "$T/p" --limit 8 --protocols local-only --parallel 4 --no-cache \
  --local-parallel 2 --local openai-compatible:fake --local-url "$NARROW_URL/v1" >/dev/null 2>&1
check "4 questions at once with --local-parallel 2: the local server never has more than 2" \
  bash -c "[ \$(wc -l <'$T/p/results.jsonl') -eq 8 ] && [ \$(curl -s '$NARROW_URL/_fake/stats' | jq .max_concurrent) -eq 2 ]"

# on a terminal (tmux): the progress bar, then Ctrl-C and a resume
SOCK=$T/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
screen() { tm capture-pane -p -t ev; }
wait_screen() { # pattern seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do screen | grep -q -- "$1" && return 0; sleep 0.1; done
  screen >"$T/screen.last"; return 1
}
tm new-session -d -s ev -x 160 -y 40 "env PS1='$ ' bash --norc --noprofile"
tm send-keys -t ev "cd '$T' && '$MN_BIN' eval --dataset '$DS' --out '$T/t' --limit 10 --protocols local-only \
--parallel 1 --no-cache --local openai-compatible:fake --local-url '$SLOW_URL/v1'; echo RC=\$?" Enter
check "on a terminal a progress bar shows runs done, accuracy and spend" \
  wait_screen '^\[#*\.*\] [0-9]*/10  accuracy [0-9.]*%  spent \$0.0000' 60
wait_screen '\] [2-9]/10' 60
tm send-keys -t ev C-c
check "Ctrl-C: exit 130, saying the same command continues" \
  bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen 'RC=130' 30 &&
           screen | grep -q 'interrupted; run the same command again to continue'"
tm send-keys -t ev "clear; '$MN_BIN' eval --dataset '$DS' --out '$T/t' --limit 10 --protocols local-only \
--parallel 1 --no-cache --local openai-compatible:fake --local-url '$SLOW_URL/v1'; echo RC=\$?" Enter
check "the rerun resumes and finishes: 10 results, exit 0" \
  bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen 'RC=0' 60 &&
           screen | grep -q 'resuming: [1-9] of 10' && [ \$(jq -s 'map(.id) | unique | length' '$T/t/results.jsonl') -eq 10 ]"
tm kill-server 2>/dev/null

# bad input
"$MN_BIN" eval --dataset /nonexistent.jsonl --remote openai:gpt-4o --remote-url "$REMOTE_URL/v1" \
  --protocols remote-only --out "$T/bad" >/dev/null 2>"$T/bad.err"; rc=$?
check "a missing dataset: exit 2, one line naming it" \
  bash -c "[ $rc -eq 2 ] && [ \$(wc -l <'$T/bad.err') -eq 1 ] && grep -q nonexistent '$T/bad.err'"
"$MN_BIN" eval --dataset "$DS" --protocols minions,bogus >/dev/null 2>"$T/bad2.err"; rc=$?
check "an unknown protocol: exit 2 naming it" bash -c "[ $rc -eq 2 ] && grep -q bogus '$T/bad2.err'"

finish
