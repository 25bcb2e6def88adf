# Shared by the end-to-end tests: start fake servers, run the CLI, assert.
# Env (set by ctest): MN_BIN, MN_FAKELLM, MN_SOURCE_DIR, MN_SHARED_DIR.
set -uo pipefail

: "${MN_BIN:?MN_BIN is not set}"
: "${MN_FAKELLM:?MN_FAKELLM is not set}"
MN_SHARED_DIR=${MN_SHARED_DIR:-$MN_SOURCE_DIR/../shared}

T=$(mktemp -d /tmp/mn-e2e-XXXXXX)
export MINIONS_LOG_DIR=$T/logs
PASS=0
FAIL=0
FAKE_PIDS=()

cleanup() {
  for p in "${FAKE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

ok()   { PASS=$((PASS + 1)); echo "ok   $*"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL $*"; }
check() { # check "description" command...
  local what=$1; shift
  if "$@" >/dev/null; then ok "$what"; else bad "$what"; fi
}
finish() {
  echo "$PASS passed, $FAIL failed"
  [ "$FAIL" -eq 0 ]
}

# start_fake NAME [fakellm args...]: sets ${NAME}_URL, ${NAME}_PORT,
# ${NAME}_REC (record file)
start_fake() {
  local name=$1; shift
  local rec=$T/$name.requests.jsonl
  local out=$T/$name.out
  "$MN_FAKELLM" --port 0 --record "$rec" "$@" >"$out" 2>"$T/$name.err" &
  local pid=$!
  FAKE_PIDS+=("$pid")
  local port=""
  for _ in $(seq 1 100); do
    port=$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$out" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "fakellm $name did not start: $(cat "$T/$name.err")"; exit 1; }
  printf -v "${name}_URL" 'http://127.0.0.1:%s' "$port"
  printf -v "${name}_PORT" '%s' "$port"
  printf -v "${name}_REC" '%s' "$rec"
}

# A port nothing listens on.
closed_port() {
  local p
  for p in $(seq 39000 39100); do
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}

# make_doc FILE FACT: ~300 KB of a real filing's text with FACT planted in the middle
make_doc() {
  local file=$1 fact=$2
  local src=$MN_SHARED_DIR/data/financebench/pdfs/3M_2018_10K.pdf
  local txt=$T/filing.txt
  [ -f "$txt" ] || pdftotext -enc UTF-8 "$src" "$txt"
  head -c 150000 "$txt" | sed '$d' >"$file"
  printf '\n%s\n' "$fact" >>"$file"
  tail -c +150001 "$txt" | head -c 150000 | sed '1d;$d' >>"$file"
}

# count lines of a file containing a string
contains() { grep -qF -- "$2" "$1"; }
not_contains() { ! grep -qF -- "$2" "$1"; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ] && [ -s "$1" ]; }
