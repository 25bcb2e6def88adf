#!/usr/bin/env bash
# The suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer
# (./build-asan): a memory error or undefined behaviour fails the test that
# hit it. The install and Python tests are left to the plain build: they load
# the library into programs not built with the sanitizers.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-asan -DMN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build build-asan -j"$(nproc)" >build-asan/build.log 2>&1; then
  tail -40 build-asan/build.log >&2
  echo "test-sanitizers: the sanitizer build failed" >&2
  exit 1
fi
cd build-asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --output-on-failure -j2 -E 'e2e_test_install|python_reference_api'
