#!/usr/bin/env bash
# The fuzz targets, then the suite again built with AddressSanitizer and
# UndefinedBehaviorSanitizer (./build-asan): a memory error or undefined
# behaviour fails the test that hit it. The install and Python tests are
# left to the plain build: they load the library into programs not built
# with the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# tests/fuzz: each target for MN_FUZZ_SECONDS from its seed corpus, in a
# clang build of their own (./build-fuzz) where only they are built.
command -v clang >/dev/null || { echo "test-sanitizers: clang is missing (scripts/setup.sh installs it)" >&2; exit 1; }
CC=clang cmake -S . -B build-fuzz -DMN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build build-fuzz -j"$(nproc)" --target fuzzers >build-fuzz/build.log 2>&1; then
  tail -40 build-fuzz/build.log >&2
  echo "test-sanitizers: the fuzz build failed" >&2
  exit 1
fi
if ! fuzz_log=$(cd build-fuzz && ctest --output-on-failure -j2 -L fuzz 2>&1); then
  echo "$fuzz_log"
  echo "test-sanitizers: a fuzz target failed (inputs in build-fuzz/tests/fuzz/artifacts)" >&2
  exit 1
fi
echo "fuzz targets: $(grep -E 'tests passed' <<<"$fuzz_log")"

cmake -S . -B build-asan -DMN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build build-asan -j"$(nproc)" >build-asan/build.log 2>&1; then
  tail -40 build-asan/build.log >&2
  echo "test-sanitizers: the sanitizer build failed" >&2
  exit 1
fi
cd build-asan
ctest --output-on-failure -j2 -E 'e2e_test_install|python_reference_api'
