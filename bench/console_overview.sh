#!/usr/bin/env bash
# Issue 4's render target: the web console's overview with 1,000 devices, first render < 1 s, in
# Debian's Chromium against a real vigild (web/bench/overview.mjs does the work).
#
#   bench/console_overview.sh            # 1,000 devices, 7 loads: the figure for bench/README.md
#   bench/console_overview.sh --smoke    # 100 devices, 2 loads: proves the measurement works
# Needs the release build (vigild) and the built console (web/dist).
set -euo pipefail
cd "$(dirname "$0")/../web"
exec node bench/overview.mjs "$@"
