#!/usr/bin/env bash
# Same outputs from two builds (issue 11: a refactor changes no answer): for every capture given,
# `analyze` with each binary, then stats --json, alerts --json, flows --zeek, flows --json and the report
# (times of generation and the store's path removed) are compared. Prints one line per capture
# that differs and a summary; exits 1 on any difference.
# Usage: [IGNORE=REGEX] compare-outputs.sh OLD_AETHER NEW_AETHER CAPTURE...
set -uo pipefail
old=$1 new=$2; shift 2
work=$(mktemp -d /tmp/aether-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
same=0 differ=0
# The generation time is removed, and the embedded data block (its stats object became the same
# encoder as `stats --json`, a superset of its old keys); `stats --json` itself is compared.
normalize() {
  python3 -c 'import re,sys; s=sys.stdin.read(); s=re.sub(r" at [0-9T:.-]+Z\.", " at TIME.", s); s=re.sub(r"(<script type=\"application/json\" id=\"aether-data\">).*?(</script>)", r"\1\2", s, flags=re.S); sys.stdout.write(s)'
}
for cap in "$@"; do
  ok=1
  for side in old new; do
    bin=${!side}
    # The same store path for both: the report names it.
    rm -f "$work"/store.* "$work/$side".*
    "$bin" analyze "$cap" --db "$work/store.sqlite" --report "$work/store.html" >/dev/null 2>"$work/$side.err"
    echo "exit $?" >"$work/$side.out"
    "$bin" stats --db "$work/store.sqlite" --json >>"$work/$side.out" 2>&1
    "$bin" alerts --db "$work/store.sqlite" --json >>"$work/$side.out" 2>&1
    "$bin" flows --db "$work/store.sqlite" --zeek >>"$work/$side.out" 2>&1
    "$bin" flows --db "$work/store.sqlite" --json >>"$work/$side.out" 2>&1
    normalize <"$work/store.html" >"$work/$side.report" 2>/dev/null
    # IGNORE: a regular expression for what a change adds on purpose (removed from both sides).
    if [ -n "${IGNORE:-}" ]; then
      for f in "$work/$side.out" "$work/$side.report"; do
        IGNORE="$IGNORE" python3 -c 'import os,re,sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(re.sub(os.environ["IGNORE"], "", s))' "$f"
      done
    fi
  done
  if ! cmp -s "$work/old.out" "$work/new.out"; then ok=0; echo "DIFF $cap: stats/alerts/flows"; diff "$work/old.out" "$work/new.out" | head -5; fi
  if ! cmp -s "$work/old.report" "$work/new.report"; then ok=0; echo "DIFF $cap: report"; diff "$work/old.report" "$work/new.report" | head -4 | cut -c1-200; fi
  if [ $ok = 1 ]; then same=$((same + 1)); else differ=$((differ + 1)); fi
done
echo "compare: $same captures the same, $differ differ"
[ "$differ" -eq 0 ]
