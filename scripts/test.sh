#!/usr/bin/env bash
# The README's second command: installs what is missing, builds and runs every test.
#  1. release build (g++): unit + integration tests, the store suites on SQLite and on a
#     throw-away PostgreSQL 15 cluster started here on a free loopback port; the web console
#     (web/) built and tested end to end in Debian's Chromium against a real vigild and agent;
#     each benchmark briefly;
#  2. asan build (clang, ASan + UBSan): the same tests again, then each libFuzzer harness for a
#     bounded time (VIGIL_FUZZ_SECONDS, default 30);
#  3. clang-format check of every C++ file.
# Set VIGIL_TEST_QUICK=1 to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh --test

pgdir=$(mktemp -d /tmp/vigil-pg.XXXXXX)
cleanup() { scripts/pg-test-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true; }
trap cleanup EXIT
export VIGIL_TEST_PG_URL
VIGIL_TEST_PG_URL=$(scripts/pg-test-cluster.sh start "$pgdir" | tail -n 1)
echo "test: PostgreSQL at $VIGIL_TEST_PG_URL" >&2

failed=0
# Each step says how much disk is left: a full disk is the usual cause of a build that stops
# in the linker with nothing else wrong (debug info is kept small for that: CMakePresets.json).
step() { echo; echo "=== $* (disk free: $(df -h --output=avail . | tail -n 1 | tr -d ' '))" >&2; }

step "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j2
step "release tests"
ctest --preset release -j2 --timeout 300 || failed=1

step "web console (build, type check, bundle budget; browser tests in Debian's Chromium)"
if scripts/build-web.sh; then
  (cd web && VIGIL_BIN_DIR="$root/build/release/src" npm run --silent test:e2e) || failed=1
  echo "test: screenshots of the console in web/test-results/" >&2
else
  failed=1
fi

step "benchmarks (smoke: each runs briefly to prove it still works; figures in bench/README.md)"
for bench in build/release/bench/*_bench; do
  [[ -x "$bench" ]] || continue
  "$bench" --benchmark_min_time=0.01 >/dev/null || { echo "test: $bench failed" >&2; failed=1; }
done
for bench in bench/*.sh; do
  "$bench" --smoke || { echo "test: $bench failed" >&2; failed=1; }
done

if [[ "${VIGIL_TEST_QUICK:-0}" != "1" ]]; then
  step "asan build (clang, ASan + UBSan, fuzzers)"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j2
  step "asan tests"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --preset asan -j2 --timeout 600 || failed=1
  step "fuzzing (bounded)"
  for fuzzer in build/asan/fuzz/fuzz_*; do
    [[ -x "$fuzzer" ]] || continue
    name=$(basename "$fuzzer")
    corpus="$root/fuzz/corpus/${name#fuzz_}"
    work=$(mktemp -d)
    cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${VIGIL_FUZZ_SECONDS:-30} s" >&2
    if ! "$fuzzer" -max_total_time="${VIGIL_FUZZ_SECONDS:-30}" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 "$work" >"$work.log" 2>&1; then
      tail -n 40 "$work.log"; failed=1
    else
      grep -E "stat::number_of_executed_units|Done" "$work.log" | tail -n 2 || true
    fi
    rm -rf "$work" "$work.log"
  done
fi

step "clang-format"
if ! git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror; then
  echo "test: files above are not clang-formatted (run clang-format -i)" >&2
  failed=1
fi

if ((failed)); then
  echo "test: FAILED" >&2
  exit 1
fi
echo "test: all passed" >&2
