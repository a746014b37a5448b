#!/usr/bin/env bash
# A/B of ingest speed: builds run alternately, round after round, on the same file (these machines
# vary by ±10 % from run to run; only interleaved rounds compare builds fairly). Prints each run and
# the median wall and CPU time (user + system, all threads) per build.
#   scripts/ab-ingest.sh [-r ROUNDS] FILE NAME=BINARY[:ARGS] NAME=BINARY[:ARGS] ...
#   scripts/ab-ingest.sh build REV DIR   release build of revision REV in a worktree at DIR (outside this
#                                        checkout); the binary is DIR/.build/release/aether. Another REV
#                                        in the same DIR rebuilds only what changed.
# Example: scripts/ab-ingest.sh build f27f71d /work/ab && \
#   scripts/ab-ingest.sh -r 5 reports/bench/gencap-2000000.pcap old=/work/ab/.build/release/aether new=.build/release/aether
set -euo pipefail
if [ "${1:-}" = build ]; then
  rev=$2 dir=$3
  [ -d "$dir" ] || git worktree add -f "$dir" "$rev" >/dev/null
  git -C "$dir" checkout -q --detach "$rev"
  (cd "$dir" && swift build -c release 2>&1 | tail -1)
  exit 0
fi
rounds=3
if [ "${1:-}" = -r ]; then rounds=$2; shift 2; fi
file=$1; shift
cat "$file" >/dev/null
work=$(mktemp -d /tmp/aether-ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  for spec in "$@"; do
    name=${spec%%=*} rest=${spec#*=}
    bin=${rest%%:*} args=""
    [ "$rest" != "$bin" ] && args=${rest#*:}
    rm -f "$work"/s.sqlite*
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %U %S %M" -o "$work/t" "$bin" ingest "$file" --db "$work/s.sqlite" $args >/dev/null 2>"$work/err" ||
      { cat "$work/err"; exit 1; }
    read -r wall user sys rss <"$work/t"
    echo "$name $wall $(echo "$user + $sys" | bc) $rss" | tee -a "$work/all" | awk -v r="$r" '{printf "round %s  %-12s %6.2f s wall %6.2f s CPU %5d MB\n", r, $1, $2, $3, $4 / 1024}'
  done
done
echo "median over $rounds rounds:"
python3 - "$work/all" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, wall, cpu, rss = line.split()
    runs.setdefault(name, []).append((float(wall), float(cpu)))
for name, r in runs.items():
    print(f"  {name:12s} {statistics.median(w for w, _ in r):6.2f} s wall {statistics.median(c for _, c in r):6.2f} s CPU")
PY
