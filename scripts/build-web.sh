#!/usr/bin/env bash
# Builds the web console (web/ → web/dist, which vigild serves with --web): installs the exact
# packages of web/package-lock.json when they changed, type-checks, bundles with Vite, writes the
# .gz files and checks the bundle budget (250 KB gzipped for the first load).
set -euo pipefail
cd "$(dirname "$0")/../web"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "build-web: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
