#!/usr/bin/env bash
# Same records from two builds, beside compare-outputs.sh: for every capture given, the new build
# analyzes it into one store and shards it once; each build then writes from those the store's
# records (export, JSON Lines and Zeek logs), flows --zeek, and detect's alerts, conn records and
# snapshots. Prints one line per output that differs and a summary; exits 1 on any difference.
# A command that fails on both sides with the same message counts as the same.
# Usage: compare-records.sh OLD_AETHER NEW_AETHER CAPTURE...
set -uo pipefail
old=$1 new=$2; shift 2
w=$(mktemp -d /tmp/aether-records.XXXXXX)
trap 'rm -rf "$w"' EXIT
same=0 differ=0
for cap in "$@"; do
  rm -rf "${w:?}"/*
  "$new" analyze "$cap" --db "$w/s.sqlite" >/dev/null 2>&1
  "$new" shard "$cap" --index 0 --out "$w/sh" >/dev/null 2>&1
  for side in old new; do
    b=$old; [ "$side" = new ] && b=$new
    o="$w/$side"; mkdir -p "$o"
    if [ -f "$w/s.sqlite" ]; then
      "$b" export --db "$w/s.sqlite" --out "$o/json" >/dev/null 2>"$o/json.err"
      "$b" export --db "$w/s.sqlite" --out "$o/zeek" --format zeek >/dev/null 2>"$o/zeek.err"
      "$b" flows --db "$w/s.sqlite" --zeek >"$o/flows.log" 2>&1
    fi
    if [ -f "$w/sh/events.jsonl" ]; then
      "$b" detect --events "$w/sh/events.jsonl" --cuts "$w/sh/cut.jsonl" --alerts "$o/alerts.jsonl" --conn "$o/conn.jsonl" >/dev/null 2>"$o/detect.err"
      "$b" detect --events "$w/sh/events.jsonl" --cuts "$w/sh/cut.jsonl" --alerts "$o/alerts2.jsonl" --conn "$o/conn2.jsonl" \
        --snapshots "$o/snapshots.jsonl" >/dev/null 2>"$o/detect2.err"
    fi
  done
  if out=$(diff -r "$w/old" "$w/new" 2>&1); then
    same=$((same + 1))
  else
    differ=$((differ + 1))
    echo "DIFFERS $cap: $(echo "$out" | grep -E '^(Only in|diff|Files)' | head -3 | tr '\n' ' ')"
  fi
done
echo "compare-records: $same captures the same, $differ differ"
[ "$differ" = 0 ]
