#!/usr/bin/env bash
# The README's first command: installs what is missing, builds Vigil in release mode and the web
# console (web/dist), starts vigild on SQLite in ./.vigil, listening on 127.0.0.1:8080
# (VIGIL_LISTEN to change it) and serving the console there, and a local vigil-agent enrolled
# with it that watches this machine (client "Internal IT").
# On first start vigild creates the owner account and prints its password once (or takes it
# from VIGIL_OWNER_PASSWORD). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target vigild vigil vigil-agent
scripts/build-web.sh

data="${VIGIL_DATA:-$PWD/.vigil}"
listen="${VIGIL_LISTEN:-127.0.0.1:8080}"
agent_state="$data/agent"
token_file="$data/local-agent.token"
mkdir -p "$data"

extra=()
if [[ ! -f "$agent_state/agent.json" ]]; then
  extra=(--local-agent-token "$token_file")
fi
echo "start: vigild on http://$listen (the console: open it in a browser), data in $data (Ctrl-C stops it)" >&2
build/release/src/server/vigild --listen "$listen" --data "$data" --web web/dist "${extra[@]}" "$@" &
vigild_pid=$!
agent_pid=""
stop() {
  [[ -n "$agent_pid" ]] && kill "$agent_pid" 2>/dev/null || true
  kill "$vigild_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for _ in $(seq 1 100); do
  curl -fsS "http://$listen/healthz" >/dev/null 2>&1 && break
  kill -0 "$vigild_pid" 2>/dev/null || exit 1
  sleep 0.1
done

if [[ ! -f "$agent_state/agent.json" ]]; then
  build/release/src/agent/vigil-agent enroll --server "http://$listen" \
    --token "$(cat "$token_file")" --state "$agent_state"
fi
rm -f "$token_file"
echo "start: vigil-agent watches this machine (state in $agent_state)" >&2
build/release/src/agent/vigil-agent run --state "$agent_state" &
agent_pid=$!
wait "$vigild_pid"
