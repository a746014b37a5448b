#!/usr/bin/env bash
# The output of a parallel ingest is the one of a single thread: every capture of
# Fixtures, Fixtures/spec, Fixtures/attacks and SHARED/captures analyzed with --threads 1, 2 and 4
# (one pass). Stats, alerts, flows (Zeek and JSON), the report and every row of the store must be
# the same. Prints "threads: N passed, N failed" (one check per capture).
# Usage: check_threads.sh AETHER [SHARED]
set -uo pipefail
cd "$(dirname "$0")/.."
aether=$1 shared=${2:-../shared}
caps=(Fixtures/*.pcap* Fixtures/spec/*.pcap* Fixtures/attacks/*.pcap*)
[ -d "$shared/captures" ] && caps+=("$shared"/captures/*.pcap*)
out=$(JOBS=2 OLD_ARGS="--threads 1" NEW_ARGS="--threads 2" MORE_ARGS="--threads 4" bash scripts/compare-outputs.sh "$aether" "$aether" "${caps[@]}" 2>&1)
echo "$out" | grep '^DIFF' | head -10
counts=$(echo "$out" | sed -n 's/^compare: \([0-9]*\) captures the same, \([0-9]*\) differ$/\1 \2/p')
if [ -z "$counts" ]; then
  echo "$out" | tail -5
  echo "threads: 0 passed, 1 failed"
  exit 1
fi
read -r same differ <<<"$counts"
# A capture list that shrank proves little: at least the repository's own captures must be there.
if [ "$same" -lt 80 ]; then echo "threads: only $same captures compared"; differ=$((differ + 1)); fi
echo "threads: $same passed, $differ failed"
[ "$differ" -eq 0 ]
