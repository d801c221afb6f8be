#!/usr/bin/env bash
# The README's first command: installs what is missing, builds Vigil in release mode and starts
# vigild on SQLite in ./.vigil, listening on 127.0.0.1:8080 (VIGIL_LISTEN to change it).
# On first start it creates the owner account and prints its password once
# (or takes it from VIGIL_OWNER_PASSWORD). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j2 --target vigild vigil vigil-agent

data="${VIGIL_DATA:-$PWD/.vigil}"
listen="${VIGIL_LISTEN:-127.0.0.1:8080}"
echo "start: vigild on http://$listen, data in $data (Ctrl-C stops it)" >&2
exec build/release/src/server/vigild --listen "$listen" --data "$data" "$@"
