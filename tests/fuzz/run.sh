#!/usr/bin/env bash
# tests/fuzz/run.sh FUZZER CORPUS SECONDS [ARTIFACTS]
# Run one libFuzzer target for SECONDS from its seed corpus. Inputs it finds
# go to a temporary folder (the corpus in the repository is only read); an
# input that breaks an invariant is saved in ARTIFACTS (default .) and the
# command to replay it is printed.
set -euo pipefail
fuzzer=$1 corpus=$2 secs=$3 art=${4:-.}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$art" "$work/corpus"
[ -d "$corpus" ] || { echo "run.sh: no seed corpus at $corpus" >&2; exit 1; }
if "$fuzzer" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
     -artifact_prefix="$art/" "$work/corpus" "$corpus" >"$work/log" 2>&1; then
  grep -E '^(Done|#[0-9]+ *DONE)' "$work/log" | tail -1 || true
  exit 0
fi
tail -60 "$work/log"
echo "run.sh: $(basename "$fuzzer") failed; replay with: $fuzzer $art/<crash-file>" >&2
exit 1
