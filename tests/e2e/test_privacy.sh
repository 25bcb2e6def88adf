#!/usr/bin/env bash
# --privacy end to end: the Minion protocol over a synthetic medical record.
# No personal value of the record may reach the remote's requests, while the
# answer the user reads names the right patient (placeholders restored).
source "$(dirname "$0")/lib.sh"

DOC=$MN_SOURCE_DIR/tests/data/medical_record.txt
TASK="Give the contact details of Eleanor Vance-Whitaker (date of birth 07/23/1961), her emergency contact and her physician."

# Every personal value in the record (and parts of them a leak would show).
PII=(
  "Eleanor" "Vance-Whitaker" "Whitaker" "07/23/1961" "1961"
  "539-48-2176" "00482913" "4417 Juniper Hollow" "Juniper" "Millbrook" "97031"
  "(541) 555-0187" "555-0187" "eleanor.vancewhitaker@example.org" "vancewhitaker"
  "CMH-88213-07" "4929 6371 0458 2217" "Thomas" "555-0123"
  "Rajesh" "Iyer" "10.42.17.203" "2001:db8:4a2f::17"
)

# The supervisor: asks for the identity block, then for the contact, card and
# physician, then answers using the placeholders it was shown.
cat >"$T/remote.json" <<'JSON'
{"extract": "\\[PERSON_[0-9]+\\]",
 "rules": [
  {"when": {"last_contains": "Write your first message to the worker"},
   "reply": "{\"reasoning\": \"I need the identity block.\", \"message\": \"Quote the identification block of {{match}}: name, date of birth, SSN, MRN, address, phone and e-mail.\"}"},
  {"when": {"last_contains": "Think step by step about this reply"}, "times": 1,
   "reply": "I have the identity block of {{match}}; I still need the emergency contact, the insurance card and the physician."},
  {"when": {"last_contains": "Now decide"}, "times": 1,
   "reply": "{\"decision\": \"request_additional_info\", \"answer\": null, \"message\": \"Who is the emergency contact of {{match}}, what is the insurance card number, and who is the attending physician?\"}"},
  {"when": {"last_contains": "Think step by step about this reply"},
   "reply": "Now I know enough to answer."},
  {"when": {"last_contains": "Now decide"},
   "reply": "{\"decision\": \"provide_final_answer\", \"answer\": \"The patient is {{match}}, born [DOB_1], phone [PHONE_1], e-mail [EMAIL_1]; emergency contact [PERSON_2]; physician Dr. [PERSON_3].\", \"message\": null}"},
  {"when": {"last_contains": "This was the last exchange"},
   "reply": "{\"decision\": \"provide_final_answer\", \"answer\": \"The patient is {{match}}, phone [PHONE_1].\", \"message\": null}"}
 ]}
JSON

# The worker: names the people it sees when asked, answers the second
# question by quoting the record, and anything else extractively (the
# paragraph around the SSN: the identity block).
cat >"$T/local.json" <<'JSON'
{"extract": "SSN: [0-9]",
 "rules": [
  {"when": {"contains": "List the name of every person", "json": true},
   "reply": "{\"names\": [\"Eleanor Vance-Whitaker\", \"Thomas Whitaker\", \"Rajesh Iyer\"]}"},
  {"when": {"last_contains": "emergency contact"},
   "reply": "Emergency contact: Thomas Whitaker (husband), phone +1 541-555-0123. Insurance card number: 4929 6371 0458 2217 (member ID CMH-88213-07). Attending physician: Dr. Rajesh Iyer, MD; clinic workstation 10.42.17.203 (VPN gateway 2001:db8:4a2f::17)."}
 ]}
JSON
start_fake REMOTE --script "$T/remote.json"
start_fake LOCAL --script "$T/local.json"

minion() { # name args...
  local name=$1; shift
  timeout 120 "$MN_BIN" run --protocol minion --json --log "$T/$name.log.json" --context "$DOC" \
    --task "$TASK" --local openai-compatible:fake --remote openai-compatible:fake \
    --remote-url "$REMOTE_URL" --local-url "$LOCAL_URL" "$@" \
    >"$T/$name.out" 2>"$T/$name.err"
  echo $? >"$T/$name.rc"
}
mark_records() { R0=$(wc -l <"$REMOTE_REC"); L0=$(wc -l <"$LOCAL_REC"); }
# every string in the requests recorded since mark_records, JSON-decoded
new_texts() { # REC START OUT
  tail -n +$(($2 + 1)) "$1" | jq -r '.body | .. | strings' >"$3"
}
settle() { sleep 0.3; }   # the fakes write a record just after replying
jqt() { jq -e "$@" >/dev/null; }

# --- with --privacy --------------------------------------------------------------
mark_records
minion priv --privacy
settle
new_texts "$REMOTE_REC" "$R0" "$T/priv.remote.txt"
new_texts "$LOCAL_REC" "$L0" "$T/priv.local.txt"

check "--privacy run succeeds" bash -c "[ \"\$(cat '$T/priv.rc')\" = 0 ]"
check "the answer names the right patient (restored)" \
  jqt '.answer | contains("The patient is Eleanor Vance-Whitaker")' "$T/priv.out"
check "the answer's other placeholders are restored too" \
  jqt '.answer | contains("(541) 555-0187") and contains("07/23/1961") and contains("Thomas Whitaker")
    and contains("Dr. Rajesh Iyer") and (test("\\[[A-Z]+_[0-9]+\\]") | not)' "$T/priv.out"
check "the remote was asked at least 4 times (two rounds)" jqt '.usage.remote.calls >= 4' "$T/priv.out"
leaks=()
for v in "${PII[@]}"; do
  grep -qF -- "$v" "$T/priv.remote.txt" && leaks+=("$v")
done
check "no personal value reaches the remote (${#PII[@]} checked; leaked: ${leaks[*]:-none})" \
  test "${#leaks[@]}" -eq 0
check "the remote saw placeholders for each kind instead" bash -c "for p in '[PERSON_1]' '[DOB_1]' '[SSN_1]' \
  '[ID_1]' '[ADDRESS_1]' '[PHONE_1]' '[EMAIL_1]' '[CARD_1]' '[PERSON_2]' '[PERSON_3]' '[IP_1]' '[IP_2]'; do
  grep -qF -- \"\$p\" '$T/priv.remote.txt' || { echo \"missing \$p\"; exit 1; }; done"
check "the remote's task mentions the patient as [PERSON_1]" \
  grep -qF "Give the contact details of [PERSON_1] (date of birth [DOB_1])" "$T/priv.remote.txt"
check "the worker got the supervisor's questions with the real name" \
  grep -qF "Quote the identification block of Eleanor Vance-Whitaker" "$T/priv.local.txt"
check "the worker never saw a placeholder" bash -c "! grep -q '\[PERSON_[0-9]*\]' <(tail -n +$((L0 + 1)) '$LOCAL_REC' \
  | jq -r 'select(.body.response_format == null) | .body.messages[-1].content')"
check "the local model was asked for names (task and both answers)" \
  test "$(grep -c 'List the name of every person' "$T/priv.local.txt")" -ge 3
check "the run log counts what was replaced, without values" \
  jqt '.privacy.values.person == 3 and .privacy.values.ssn == 1 and .privacy.values.card == 1
    and .privacy.values.ip == 2 and .privacy.replacements.person >= 4
    and (.privacy | tostring | test("Eleanor|539-48|Whitaker") | not)' "$T/priv.log.json"
check "the run log's remote prompts are the redacted ones" \
  bash -c "! jq -r '.conversation[] | select(.user == \"remote\") | .prompt' '$T/priv.log.json' | grep -qF 539-48-2176"
check "the answer in the run log is restored" \
  jqt '.generated_final_answer | contains("Eleanor Vance-Whitaker")' "$T/priv.log.json"

# --- control: without --privacy the same run leaks (the check above can fail) ------
curl -s -X POST "$REMOTE_URL/_fake/reset" >/dev/null   # rewind the "times" rules
mark_records
minion plain
settle
new_texts "$REMOTE_REC" "$R0" "$T/plain.remote.txt"
check "control: without --privacy the run succeeds" bash -c "[ \"\$(cat '$T/plain.rc')\" = 0 ]"
check "control: without --privacy the SSN, name and card do reach the remote" \
  bash -c "grep -qF 539-48-2176 '$T/plain.remote.txt' && grep -qF Vance-Whitaker '$T/plain.remote.txt' \
    && grep -qF '4929 6371 0458 2217' '$T/plain.remote.txt'"

# --- a local model that cannot name names stops the run: nothing is sent ------------
curl -s -X POST "$LOCAL_URL/_fake/rules" -d '[{"when": {"contains": "List the name of every person"},
  "reply": "Sorry, I cannot help with that."}]' >/dev/null
mark_records
minion broken --privacy
settle
check "no usable names from the local model: the run fails with a one-line error" \
  bash -c "[ \"\$(cat '$T/broken.rc')\" = 1 ] && [ \$(wc -l <'$T/broken.err') -eq 1 ] && grep -q 'local model' '$T/broken.err'"
check "... and the remote got no request at all" test "$(wc -l <"$REMOTE_REC")" -eq "$R0"

# --- usage -------------------------------------------------------------------------
timeout 10 "$MN_BIN" run --protocol remote-only --remote openai-compatible:fake --remote-url "$REMOTE_URL" \
  --context "$DOC" --task "$TASK" --privacy >"$T/ro.out" 2>"$T/ro.err"; rc=$?
check "--privacy with a protocol that cannot honour it is refused (exit 2, one line)" \
  bash -c "[ $rc = 2 ] && [ \$(wc -l <'$T/ro.err') -eq 1 ] && grep -q privacy '$T/ro.err'"
"$MN_BIN" run --help >"$T/help.out"
check "run --help documents --privacy" grep -q -- "--privacy" "$T/help.out"

finish
