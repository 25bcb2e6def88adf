#!/usr/bin/env bash
# Install what the build needs (Debian 12 packages) when missing, then
# configure and build into ./build. Safe to run again: it only does what is
# not done yet. scripts/setup.sh [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."

# clang and libclang-rt-dev (libFuzzer and the sanitizer runtimes, which
# clang only recommends): the fuzz targets that make test runs
packages=(build-essential cmake pkg-config libcurl4-openssl-dev libjansson-dev
          liblua5.4-dev libsqlite3-dev libutf8proc-dev libpcre2-dev
          libcmocka-dev libmicrohttpd-dev libseccomp-dev poppler-utils jq curl tmux python3 python3-venv
          clang libclang-rt-dev)
# --bench: also what bench/python_floor.py uses (the HTTP and model-checking
# libraries of Python LLM clients)
[ "${1:-}" = "--bench" ] && packages+=(python3 python3-httpx python3-pydantic)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The official openai npm package, pinned by tests/npm/package-lock.json, for
# the API client test; Debian's Node.js when the machine has none.
if ! command -v npm >/dev/null; then
  echo "setup: installing nodejs npm" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if [ ! -f tests/npm/node_modules/.package-lock.json ] ||
   ! cmp -s tests/npm/package-lock.json tests/npm/node_modules/.lock-installed; then
  (cd tests/npm && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null &&
   cp package-lock.json node_modules/.lock-installed)
fi

build_type=${MN_BUILD_TYPE:-RelWithDebInfo}
cmake -S . -B build -DCMAKE_BUILD_TYPE="$build_type" >/dev/null
cmake --build build -j"$(nproc)" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -x build/minions || { echo "setup: build failed" >&2; exit 1; }
