#!/usr/bin/env bash
# The command line as a user meets it: defaults, short options, standard
# input, documents checked before any paid call, folders of small notes,
# the job cap by its option name, keys, logs in the XDG state folder, and
# (through tmux, a real terminal) the live progress line, Ctrl-C and chat.
source "$(dirname "$0")/lib.sh"
unset MINIONS_LOG_DIR   # the default log folder is under test here

FACT="The vault access code for the Cordova facility is ZEBRA-4417."
TASK="What is the vault access code for the Cordova facility?"
DOC=$T/doc.txt
make_doc "$DOC" "$FACT"
export XDG_STATE_HOME=$T/state

cat >"$T/jobs.lua" <<'LUA'
function prepare_jobs(context, prev_jobs)
  local jobs = {}
  for _, doc in ipairs(context) do
    for _, chunk in ipairs(chunk_by_section(doc, 3000, 0)) do
      jobs[#jobs + 1] = { chunk = chunk, task = "Quote the vault access code, if any.", advice = "" }
    end
  end
  return jobs
end
LUA
FINAL='{"decision": "provide_final_answer", "explanation": "quoted", "answer": "The code is {{match}}.", "feedback": null, "scratchpad": "found"}'
jq -n --rawfile code "$T/jobs.lua" --arg final "$FINAL" '{
  extract: "ZEBRA-[0-9]+",
  rules: [
    {when: {last_contains: "write short advice"}, reply: "Look for the code."},
    {when: {contains: "prepare_jobs"}, reply: ("```lua\n" + $code + "```")},
    {when: {last_contains: "Think step by step: which findings"}, reply: "One job quotes the code."},
    {when: {last_contains: "Now decide"}, reply: $final},
    {when: {last_contains: "This was the last round"}, reply: $final},
    {reply: "Answer: The code is {{match}}."}
  ]}' >"$T/remote.json"
echo '{"extract": "ZEBRA-[0-9]+"}' >"$T/local.json"
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json" --slots 8
MODELS=(--remote openai-compatible:fake --remote-url "$REMOTE_URL"
        --local openai-compatible:fake --local-url "$LOCAL_URL")
requests() { curl -s "$1/_fake/stats" | jq .requests; }
reset_fakes() { curl -s -X POST "$REMOTE_URL/_fake/reset" >/dev/null; curl -s -X POST "$LOCAL_URL/_fake/reset" >/dev/null; }
one_line() { [ "$(wc -l <"$1")" = 1 ]; }

# --- defaults, help, short options -----------------------------------------------------
reset_fakes
timeout 120 "$MN_BIN" run --task "$TASK" --context "$DOC" "${MODELS[@]}" --max-rounds 1 \
  >"$T/default.out" 2>"$T/default.err"; rc=$?
log=$(sed -n 's/.*| log \(.*\)$/\1/p' "$T/default.err")
check "run without --protocol runs MinionS and answers (exit 0)" \
  bash -c "[ $rc = 0 ] && grep -q ZEBRA-4417 '$T/default.out' && jq -e '.protocol == \"minions\"' '$log'"
check "the answer alone on stdout; the summary on stderr names the log" \
  bash -c "[ \$(wc -l <'$T/default.out') = 1 ] && grep -q '^\[minions\] remote .* | log /' '$T/default.err'"
check "run logs go to \$XDG_STATE_HOME/minions/logs by default" \
  bash -c "case '$log' in '$XDG_STATE_HOME'/minions/logs/*.json) test -f '$log';; *) false;; esac"

"$MN_BIN" run --help >"$T/help.txt"
"$MN_BIN" run -h >"$T/h.txt"
check "-h is --help" cmp -s "$T/help.txt" "$T/h.txt"
check "run --help shows the default of every tuning option" bash -c '
  for f in --protocol --local-url --remote-url --num-ctx --doc-metadata --output --json --log --log-dir \
           --max-rounds --local-temperature --remote-temperature --local-max-tokens --remote-max-tokens \
           --idle-timeout --timeout --connect-timeout --retries --decompose --tasks-per-round --samples \
           --max-jobs --local-parallel --chunk --chunk-chars --retrieval --retrieval-k --embed-url; do
    awk -v f="$f" "\$0 ~ (\"^  (-[a-zA-Z], )?\" f \"( |\$)\") { p = 1 }
                   p && /default|required|no default/ { ok = 1 } p && /^  -/ && index(\$0, f) == 0 { p = 0 }
                   END { exit !ok }" "$1" || { echo "no default for $f"; exit 1; }
  done' _ "$T/help.txt"
check "the exit table has 130 for Ctrl-C" grep -q '130 interrupted' "$T/help.txt"
for cmd in "-V" "--version" "run -V" "chat --version"; do
  out=$("$MN_BIN" $cmd 2>&1); rc=$?
  check "minions $cmd prints the version" bash -c "[ $rc = 0 ] && [[ '$out' =~ ^minions\ [0-9]+\.[0-9]+\.[0-9]+$ ]]"
done

reset_fakes
timeout 60 "$MN_BIN" run -q -o "$T/answer.txt" --protocol remote-only --task "$TASK" --context "$DOC" \
  "${MODELS[@]}" >"$T/q.out" 2>"$T/q.err"; rc=$?
check "-o FILE writes the answer there; -q prints nothing" \
  bash -c "[ $rc = 0 ] && grep -q ZEBRA-4417 '$T/answer.txt' && [ ! -s '$T/q.out' ] && [ ! -s '$T/q.err' ]"
timeout 60 "$MN_BIN" run -v --protocol remote-only --task "$TASK" --context "$DOC" "${MODELS[@]}" \
  >/dev/null 2>"$T/v.err"
check "-v traces the messages to and from the models" \
  bash -c "grep -q '^-> remote answer: ' '$T/v.err' && grep -q '^<- remote answer: ' '$T/v.err'"
timeout 10 "$MN_BIN" run -x >/dev/null 2>"$T/x.err"; rc=$?
check "an unknown short option: exit 2, one line naming it" \
  bash -c "[ $rc = 2 ] && grep -q \"unknown option '-x'\" '$T/x.err'" && one_line "$T/x.err"

# --- documents: standard input, inline text, nothing to read --------------------------------
reset_fakes
printf 'Memo. The vault access code for the Cordova facility is ZEBRA-9911.\n' |
  timeout 60 "$MN_BIN" run --protocol remote-only --task "$TASK" --context - "${MODELS[@]}" \
  >"$T/stdin.out" 2>/dev/null
check "--context - reads the document from standard input" grep -q ZEBRA-9911 "$T/stdin.out"
timeout 60 "$MN_BIN" run --protocol remote-only --task "$TASK" "${MODELS[@]}" \
  --context-text "Note: the vault access code for the Cordova facility is ZEBRA-5150." >"$T/text.out" 2>/dev/null
check "--context-text TEXT is a document" grep -q ZEBRA-5150 "$T/text.out"

reset_fakes
: >"$T/empty.txt"
printf ' \n\n\t\n' >"$T/blank.md"
timeout 60 "$MN_BIN" run --task "$TASK" --context "$T/empty.txt" "$T/blank.md" "${MODELS[@]}" \
  >/dev/null 2>"$T/empty.err"; rc=$?
check "documents with no text fail at once: exit 1, one line, no request sent" \
  bash -c "[ $rc = 1 ] && grep -q 'hold no text' '$T/empty.err' && [ \$(curl -s '$REMOTE_URL/_fake/stats' | jq .requests) = 0 ] &&
           [ \$(curl -s '$LOCAL_URL/_fake/stats' | jq .requests) = 0 ]" && one_line "$T/empty.err"

# --- a folder of 3,000 small notes ----------------------------------------------------------------
mkdir -p "$T/notes"
for i in $(seq 1 3000); do
  printf 'Note %d. Remember to water the plants on the balcony and to call the office.\n' "$i" >"$T/notes/n$i.txt"
done
printf 'Note 1234b. %s\n' "$FACT" >"$T/notes/n1234b.txt"
reset_fakes
timeout 300 "$MN_BIN" run --task "$TASK" --context "$T/notes" "${MODELS[@]}" --max-rounds 1 \
  --log "$T/notes.log.json" >"$T/notes.out" 2>"$T/notes.err"; rc=$?
check "a folder of 3,001 small notes just works (packed: fewer jobs than files)" \
  bash -c "[ $rc = 0 ] && grep -q ZEBRA-4417 '$T/notes.out' && jq -e '.packed_documents.files == 3001 and
    ([.conversation[] | select(.job_manifests) | .job_manifests | length] | add) < 200' '$T/notes.log.json'"
check "each packed note is marked with its path" \
  jq -e '[.conversation[] | select(.job_manifests) | .job_manifests[].chunk | select(contains("### FILE: "))] | length > 0' "$T/notes.log.json"
timeout 300 "$MN_BIN" run --task "$TASK" --context "$T/notes" "${MODELS[@]}" --max-rounds 1 --max-jobs 5 \
  >/dev/null 2>"$T/cap.err"; rc=$?
check "a job cap that is hit names --max-jobs (exit 1, one line)" \
  bash -c "[ $rc = 1 ] && grep -q 'more jobs than --max-jobs allows (5)' '$T/cap.err'" && one_line "$T/cap.err"

# --- keys and Ollama's context window -------------------------------------------------------------
env -u ANTHROPIC_API_KEY timeout 20 "$MN_BIN" run --protocol remote-only --remote anthropic:claude-sonnet-4-5 \
  --task "$TASK" --context "$DOC" >/dev/null 2>"$T/nokey.err"; rc=$?
check "a missing key says what to export (exit 2: nothing sent)" \
  bash -c "[ $rc = 2 ] && grep -q 'export ANTHROPIC_API_KEY=' '$T/nokey.err'" && one_line "$T/nokey.err"
reset_fakes
timeout 60 "$MN_BIN" run --protocol local-only --local ollama:fake --local-url "$LOCAL_URL" --num-ctx 16384 \
  --task "$TASK" --context "$DOC" >/dev/null 2>&1
check "--num-ctx reaches Ollama's options.num_ctx" \
  bash -c "curl -s '$LOCAL_URL/_fake/requests?last=1' | jq -e '.[0].body.options.num_ctx == 16384'"

# --- in a terminal (tmux): the progress line, Ctrl-C, chat ------------------------------------------
if command -v tmux >/dev/null; then
  SOCK=$T/tmux.sock
  tm() { tmux -S "$SOCK" "$@"; }
  screen() { tm capture-pane -p -t mn; }
  wait_screen() { # pattern seconds
    for _ in $(seq 1 $(( $2 * 10 ))); do screen | grep -q -- "$1" && return 0; sleep 0.1; done
    screen >"$T/screen.last"; return 1
  }
  start_fake SLOW --script "$T/local.json" --slots 2 --service-ms 400
  tm new-session -d -s mn -x 160 -y 40 "env PS1='$ ' bash --norc --noprofile"
  tm send-keys -t mn "cd '$T' && '$MN_BIN' run --task '$TASK' --context '$DOC' --remote openai-compatible:fake \
--remote-url '$REMOTE_URL' --local openai-compatible:fake --local-url '$SLOW_URL' --max-rounds 1; echo RC=\$?" Enter
  check "the live progress line shows elapsed time, jobs with a bar, tokens per side and the time left" \
    wait_screen 'jobs [0-9]*/[0-9]* \[#*-*\] [0-9]*% ETA [0-9]*:[0-9][0-9] | remote [0-9.k]* in [0-9.k]* out' 60
  check "the run ends with the answer and the summary, the progress line gone" \
    bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen 'RC=0' 120 &&
             screen | grep -q 'The code is ZEBRA-4417' && ! screen | grep -q 'ETA'"
  tm send-keys -t mn "clear" Enter
  sleep 0.3
  tm send-keys -t mn "'$MN_BIN' run --task '$TASK' --context '$DOC' --remote openai-compatible:fake \
--remote-url '$REMOTE_URL' --local openai-compatible:fake --local-url '$SLOW_URL' --max-rounds 1; echo RC=\$?" Enter
  wait_screen 'jobs [0-9]*/' 60
  tm send-keys -t mn C-c
  check "Ctrl-C: a fresh line saying where the partial run log is, exit 130" \
    bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen 'RC=130' 30 &&
             screen | grep -q '^minions: interrupted; the partial run log is in /.*\.json$'"
  plog=$(screen | sed -n 's/^minions: interrupted; the partial run log is in \(.*\)$/\1/p')
  check "the partial run log is there and says it was cancelled" jq -e '.error | test("cancel")' "$plog"

  tm send-keys -t mn "clear" Enter
  sleep 0.3
  tm send-keys -t mn "'$MN_BIN' chat --protocol remote-only --context '$DOC' --remote openai-compatible:fake --remote-url '$REMOTE_URL' \
--local openai-compatible:fake --local-url '$LOCAL_URL'; echo RC=\$?" Enter
  wait_screen '^> $' 20
  tm send-keys -t mn "$TASK" Enter
  check "chat: the answer set apart by blank lines, no protocol trace" \
    bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen '^\[chat\]' 60 &&
             screen | grep -B2 -A1 'ZEBRA-4417' | grep -q '^$' && ! screen | grep -q -- '^-> '"
  tm send-keys -t mn C-d
  check "chat: end of input after the prompt leaves a fresh line (exit 0)" \
    bash -c "$(declare -f tm screen wait_screen); SOCK='$SOCK'; T='$T'; wait_screen '^RC=0' 20 && ! screen | grep -q '> RC='"
  screen >"$T/chat.screen"
  tm kill-server 2>/dev/null
else
  bad "tmux is not installed (scripts/setup.sh installs it)"
fi

finish
