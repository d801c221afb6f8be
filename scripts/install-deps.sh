#!/usr/bin/env bash
# Installs what Vigil needs from Debian 12's packages, and nothing that is already there.
# Usage: scripts/install-deps.sh [--test]   (--test adds what the test suite needs)
# Idempotent: a second run installs nothing and does not touch the network.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config git
  libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libsqlite3-dev libpq-dev libsodium-dev liboath-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  sqlite3 openssl curl ca-certificates tzdata
  smartmontools                                      # the agent's disk-health check
)
# The web console is built with Node.js and npm (web/). Debian's packages when the machine has no
# Node.js of its own (a newer one, e.g. from NodeSource, is used as it is).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
if [[ "${1:-}" == "--test" ]]; then
  packages+=(
    clang libclang-rt-14-dev clang-format clang-tidy   # asan/fuzz preset, format check
    postgresql-15 postgresql-client-15                 # the PostgreSQL half of the store suite
    restic borgbackup                                  # real backup repositories for the agent
    monitoring-plugins-basic monitoring-plugins-standard iputils-ping  # real plugin checks
    nftables                                           # the firewall check's real tool
    chromium fonts-dejavu-core                         # the console's browser tests (playwright-core)
  )
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Don't let the postgresql package start a cluster of its own: tests start their own.
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
