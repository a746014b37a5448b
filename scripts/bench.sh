#!/usr/bin/env bash
# make bench entry point (see scripts/bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "bench: /usr/bin/time missing (apt-get install time)"; exit 1; }
# nfpcapd (nfdump) is the C flow meter beside which ingest is measured.
command -v nfpcapd >/dev/null || { ${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo)} env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 nfdump >/dev/null || echo "bench: nfdump not installable; nfpcapd row skipped"; }
exec python3 scripts/bench.py "$@"
