#!/usr/bin/env bash
# Run the benchmarks and print one combined table. Builds nothing: `make
# bench` builds the targets first (cmake --build build --target bench).
#
#   bench/run.sh [--build DIR] [--data DIR] [--quick] [BENCH...]
#
# BENCH: fanout, orchestration, rounds, chunk, retrieval, prefix, soak
# (default: all, in that order). --quick: one run each, smaller fan-out
# settings and a shorter soak. The build folder defaults to $MN_BUILD_DIR,
# else ./build of the source tree; the data to
# $MN_SHARED_DIR/data/financebench, else ../shared/data/financebench next
# to the source tree. Each benchmark's own output is shown as it runs
# (and kept in $MN_BENCH_OUT when set); the table at the end collects its
# "summary:" lines. Exits 0 when every benchmark ran (a missed target is
# reported, not an error), 1 when one could not run.
set -u

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${MN_BUILD_DIR:-$root/build}
data=""
[ -n "${MN_SHARED_DIR:-}" ] && data=$MN_SHARED_DIR/data/financebench
[ -z "$data" ] && data=$root/../shared/data/financebench
quick=0
benches=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    fanout|orchestration|rounds|chunk|retrieval|prefix|soak) benches+=("$1"); shift ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#benches[@]} -eq 0 ] && benches=(fanout orchestration rounds chunk retrieval prefix soak)
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run.sh: no build folder (make bench, or --build DIR)" >&2; exit 1; }
# benchmark programs live in build/bench: point them at the sandbox helper
export MINIONS_SANDBOX_HELPER=${MINIONS_SANDBOX_HELPER:-$build/minions-sandbox}
[ -d "$data/pdfs" ] || { echo "run.sh: no FinanceBench data in $data (--data DIR)" >&2; exit 1; }

out=${MN_BENCH_OUT:-$(mktemp -d /tmp/mn-bench-run-XXXXXX)}
mkdir -p "$out"
failed=0

run() { # name command...: show the output, keep it
  local name=$1; shift
  echo "==== $name: $*"
  if [ ! -x "$1" ]; then
    echo "run.sh: $1 is missing (make bench)" | tee "$out/$name.txt"
    failed=1
    return
  fi
  local t0=$SECONDS
  "$@" 2>&1 | tee "$out/$name.txt"
  local rc=${PIPESTATUS[0]}
  echo "---- $name: exit $rc, $((SECONDS - t0)) s"
  echo
  [ "$rc" -eq 0 ] || failed=1
}

q=()
[ $quick -eq 1 ] && q=(--quick)
for b in "${benches[@]}"; do
  case $b in
    fanout)
      run fanout "$build/bench/bench_fanout" --build "$build" "${q[@]}" ;;
    orchestration)
      runs=3; [ $quick -eq 1 ] && runs=1
      run orchestration "$build/bench/bench_orchestration" --build "$build" --data "$data" --runs $runs
      # the same run's floor in Python (the reference cannot be installed here)
      ours=$(sed -n 's/^summary: orchestration CPU per job[^\t]*\t\([0-9.]*\) us.*/\1/p' "$out/orchestration.txt")
      run python_floor /usr/bin/python3 "$here/python_floor.py" --fakellm "$build/fakellm" \
        --texts "${TMPDIR:-/tmp}"/mn-bench-retrieval/*.txt --runs $runs ${ours:+--ours "$ours"} ;;
    rounds)
      runs=3; [ $quick -eq 1 ] && runs=1
      run rounds "$build/bench/bench_rounds" --build "$build" --data "$data" --runs $runs ;;
    soak)
      run soak "$build/bench/bench_soak" --build "$build" --data "$data" "${q[@]}" ;;
    chunk)
      run chunk "$build/bench/bench_chunk" "$data/pdfs" ;;
    retrieval)
      run retrieval "$build/bench/bench_retrieval" --data "$data" ;;
    prefix)
      run prefix "$build/bench/bench_prefix" --build "$build" --data "$data" ;;
  esac
done

# One table: "what<TAB>measured<TAB>target<TAB>met/MISSED/-" rows.
{
  for b in "${benches[@]}"; do
    f=$out/$b.txt
    [ -f "$f" ] || continue
    case $b in
      fanout|prefix|rounds|soak)
        sed -n 's/^summary: //p' "$f" ;;
      orchestration)
        sed -n 's/^summary: //p' "$f" "$out/python_floor.txt" 2>/dev/null ;;
      chunk)
        awk '/^ingest:/ { printf "ingestion: %s PDFs through pdftotext (%s MB of text)\t%s s\treported\t-\n", $2, $4, $(NF-1) }
             /MB\/s/ { t = ($1 == "code") ? "reported" : ">= 300 MB/s";
                       ok = ($1 == "code") ? "-" : ($2 >= 300 ? "met" : "MISSED");
                       printf "chunking throughput, %s\t%s MB/s\t%s\t%s\n", $1, $2, t, ok }' "$f" ;;
      retrieval)
        awk '/^1000-char chunks/ { c = "1000-char chunks" } /^page chunks/ { c = "page chunks" }
             /^ +plain BM25 \(reference\)/ { plain[c] = $(NF-3) }
             /^ +\+adjacent pairs = DEFAULT/ { printf "retrieval R@10, %s (plain BM25: %s)\t%s\treported\t-\n", c, plain[c], $(NF-3) }
             /^latency/ { q = $0; sub(/.*query median /, "", q); sub(/,.*/, "", q);
                          b = $0; sub(/.*index build median /, "", b); sub(/,.*/, "", b);
                          printf "retrieval latency, 1000-char chunks: query (index build)\t%s (%s)\treported\t-\n", q, b }' "$f" ;;
    esac
  done
} >"$out/summary.tsv"

echo "==== Summary ($(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"
awk -F'\t' 'BEGIN { printf "%-68s %-22s %-14s %s\n", "benchmark", "measured", "target", "" }
            { printf "%-68s %-22s %-14s %s\n", $1, $2, $3, $4 }' "$out/summary.tsv"
echo "(outputs in $out)"
exit $failed
