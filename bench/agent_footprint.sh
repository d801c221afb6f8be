#!/usr/bin/env bash
# P2: vigil-agent's footprint with the default checks at their default intervals (60 s for the
# resource checks), measured on a real agent enrolled with a real vigild on loopback.
#
#   bench/agent_footprint.sh [SECONDS]     # default 600: the figure for bench/README.md
#   bench/agent_footprint.sh --smoke       # 20 s, for CI: proves the measurement still works
#   VIGIL_BUILD_DIR=build/h1 bench/agent_footprint.sh   # another build (default build/release)
#
# Reports the agent's peak and final resident set (VmHWM, VmRSS), its own CPU time (user+sys)
# as a percentage of one core over the run, and separately the CPU of the tools it ran
# (apt-get, nft, smartctl... : reaped children). Targets (DESIGN.md P2): RSS <= 6 MB, CPU <= 0.1 %.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600
[[ "${1:-}" == "--smoke" ]] && seconds=20
[[ "${1:-}" =~ ^[0-9]+$ ]] && seconds=$1
bin=${VIGIL_BUILD_DIR:-build/release}/src
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
cleanup() {
  [[ -n "${agent:-}" ]] && kill "$agent" 2>/dev/null || true
  [[ -n "${vigild:-}" ]] && kill "$vigild" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

VIGIL_OWNER_PASSWORD=bench-password-123456 "$bin/server/vigild" --listen "127.0.0.1:$port" \
  --data "$work/vigild" --local-agent-token "$work/token" --insecure-fast-password-hashing \
  >"$work/vigild.log" 2>&1 &
vigild=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
"$bin/agent/vigil-agent" enroll --server "http://127.0.0.1:$port" --token "$(cat "$work/token")" \
  --state "$work/agent" >/dev/null 2>&1
"$bin/agent/vigil-agent" run --state "$work/agent" >"$work/agent.log" 2>&1 &
agent=$!
ticks=$(getconf CLK_TCK)
start=$(date +%s.%N)
sleep "$seconds"
end=$(date +%s.%N)
read -r -a stat <"/proc/$agent/stat"
# Fields after the command name: utime=14 stime=15 cutime=16 cstime=17 (1-based).
self=$((stat[13] + stat[14]))
children=$((stat[15] + stat[16]))
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
anon=$(awk '/RssAnon/ {print $2}' "/proc/$agent/status")
pss=$(awk '/^Pss:/ {print $2}' "/proc/$agent/smaps_rollup")
awk -v s="$self" -v c="$children" -v t="$ticks" -v a="$start" -v b="$end" -v hwm="$hwm" \
  -v rss="$rss" -v anon="$anon" -v pss="$pss" 'BEGIN {
    wall = b - a
    printf "agent_footprint: %.0f s, peak RSS %.1f MB, RSS %.1f MB (anonymous %.1f MB, PSS %.1f MB), agent CPU %.3f %% of a core, tools CPU %.3f %%\n",
      wall, hwm / 1024, rss / 1024, anon / 1024, pss / 1024, 100 * s / t / wall, 100 * c / t / wall
  }'
grep -q "agent running" "$work/agent.log" || { echo "agent_footprint: the agent did not start" >&2; exit 1; }
