#!/usr/bin/env bash
# make bench entry point (see scripts/bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time missing (apt-get install time)"; exit 1; }
exec python3 scripts/bench.py "$@"
