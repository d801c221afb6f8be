#!/usr/bin/env bash
# clang-tidy over Vigil's own C++ files with the checked-in .clang-tidy.
# Needs a clang build's compile_commands.json: run `cmake --preset asan` (or clang) first.
# Usage: scripts/tidy.sh [--fix] [FILE...]   Exits 1 when clang-tidy reports anything.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/asan
[[ -f $build/compile_commands.json ]] || build=build/clang
jobs=2
fix=()
if [[ "${1:-}" == "--fix" ]]; then
  fix=(--fix-errors)
  jobs=1  # fixes to a shared header must not race
  shift
fi
files=("$@")
if ((${#files[@]} == 0)); then
  mapfile -t files < <(git ls-files 'src/*.cc' 'tests/*.cc' 'fuzz/*.cc' 'bench/*.cc')
fi
report=$(printf '%s\n' "${files[@]}" |
  xargs -P "$jobs" -n 4 clang-tidy -p "$build" --quiet "${fix[@]}" 2>&1 |
  grep -E ':[0-9]+:[0-9]+: (warning|error):' | sort -u || true)
if [[ -n "$report" ]]; then
  echo "$report"
  exit 1
fi
