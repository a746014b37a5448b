#!/usr/bin/env bash
# Same outputs from two builds (a refactor changes no answer): for every capture given,
# `analyze` with each binary, then stats --json, alerts --json, flows --zeek, flows --json and the report
# (times of generation and the store's path removed) are compared. Prints one line per capture
# that differs and a summary; exits 1 on any difference.
# The store's rows are compared too: every table, in key order, without the capture row's clock times.
# OLD_ARGS and NEW_ARGS are added to each side's `analyze`; MORE_ARGS (';'-separated) adds further
# runs of the new build with those arguments, each compared with the old (check_threads.sh:
# --threads 1 against 2 and 4 in one pass).
# JOBS (default 1) compares that many captures at once, each in a folder of its own.
# The records (export, detect's conn records and snapshots) are compared by compare-records.sh.
# Usage: [IGNORE=REGEX] [IGNORE_TABLES=T,…] [OLD_ARGS=…] [NEW_ARGS=…] [MORE_ARGS=…] [JOBS=N] compare-outputs.sh OLD_AETHER NEW_AETHER CAPTURE...
set -uo pipefail
old=$1 new=$2; shift 2
work=$(mktemp -d /tmp/aether-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The generation time is removed, and the embedded data block (its stats object became the same
# encoder as `stats --json`, a superset of its old keys); `stats --json` itself is compared.
normalize() {
  python3 -c 'import re,sys; s=sys.stdin.read(); s=re.sub(r" at [0-9T:.-]+Z\.", " at TIME.", s); s=re.sub(r"(<script type=\"application/json\" id=\"aether-data\">).*?(</script>)", r"\1\2", s, flags=re.S); sys.stdout.write(s)'
}
# Every table's rows in a fixed order; the capture row without its wall-clock times.
# IGNORE_TABLES: comma-separated tables a change adds on purpose (left out on both sides).
rows() {
  IGNORE_TABLES="${IGNORE_TABLES:-}" python3 - "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
skip = set(filter(None, os.environ["IGNORE_TABLES"].split(",")))
for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"):
    if t in skip:
        continue
    cols = [r[1] for r in db.execute(f"PRAGMA table_info({t})") if r[1] not in ("started_at", "finished_at")]
    if not cols:
        continue
    q = ", ".join(f'"{c}"' for c in cols)
    print(f"== {t}")
    for r in db.execute(f"SELECT {q} FROM {t} ORDER BY {q}"):
        print(repr(r))
PY
}
sides=(old new) side_bin=("$old" "$new") side_args=("${OLD_ARGS:-}" "${NEW_ARGS:-}")
if [ -n "${MORE_ARGS:-}" ]; then
  IFS=';' read -r -a more <<<"$MORE_ARGS"
  for i in "${!more[@]}"; do sides+=("more$i"); side_bin+=("$new"); side_args+=("${more[$i]}"); done
fi
# Compares the captures given in folder W; prints "DIFF …" lines and, last, "counted SAME DIFFER".
compare_all() {
  local w=$1; shift
  mkdir -p "$w"
  local same=0 differ=0
  for cap in "$@"; do
    ok=1
    for k in "${!sides[@]}"; do
      side=${sides[$k]} bin=${side_bin[$k]} args=${side_args[$k]}
      # The same store path for both: the report names it.
      rm -f "$w"/store.* "$w/$side".*
      # shellcheck disable=SC2086
      "$bin" analyze "$cap" --db "$w/store.sqlite" --report "$w/store.html" $args >/dev/null 2>"$w/$side.err"
      echo "exit $?" >"$w/$side.out"
      "$bin" stats --db "$w/store.sqlite" --json >>"$w/$side.out" 2>&1
      "$bin" alerts --db "$w/store.sqlite" --json >>"$w/$side.out" 2>&1
      "$bin" flows --db "$w/store.sqlite" --zeek >>"$w/$side.out" 2>&1
      "$bin" flows --db "$w/store.sqlite" --json >>"$w/$side.out" 2>&1
      normalize <"$w/store.html" >"$w/$side.report" 2>/dev/null
      rows "$w/store.sqlite" >"$w/$side.rows"
      # IGNORE: a regular expression for what a change adds on purpose (removed from both sides).
      if [ -n "${IGNORE:-}" ]; then
        for f in "$w/$side.out" "$w/$side.report"; do
          IGNORE="$IGNORE" python3 -c 'import os,re,sys; p=sys.argv[1]; s=open(p).read(); open(p,"w").write(re.sub(os.environ["IGNORE"], "", s))' "$f"
        done
      fi
    done
    for side in "${sides[@]:1}"; do
      what="$cap${side#new}"
      if ! cmp -s "$w/old.out" "$w/$side.out"; then ok=0; echo "DIFF $what: stats/alerts/flows"; diff "$w/old.out" "$w/$side.out" | head -5; fi
      if ! cmp -s "$w/old.rows" "$w/$side.rows"; then ok=0; echo "DIFF $what: store rows"; diff "$w/old.rows" "$w/$side.rows" | head -4 | cut -c1-200; fi
      if ! cmp -s "$w/old.report" "$w/$side.report"; then ok=0; echo "DIFF $what: report"; diff "$w/old.report" "$w/$side.report" | head -4 | cut -c1-200; fi
    done
    if [ $ok = 1 ]; then same=$((same + 1)); else differ=$((differ + 1)); fi
  done
  echo "counted $same $differ"
}
jobs=${JOBS:-1}
for ((j = 0; j < jobs; j++)); do
  mine=()
  for ((i = j; i < $#; i += jobs)); do mine+=("${@:i+1:1}"); done
  [ ${#mine[@]} -gt 0 ] && compare_all "$work/j$j" "${mine[@]}" >"$work/j$j.log" 2>&1 &
done
wait
same=0 differ=0
for ((j = 0; j < jobs; j++)); do
  [ -f "$work/j$j.log" ] || continue
  grep -v '^counted ' "$work/j$j.log"
  read -r _ s d < <(grep '^counted ' "$work/j$j.log" || echo "counted 0 1")
  same=$((same + s)); differ=$((differ + d))
done
echo "compare: $same captures the same, $differ differ"
[ "$differ" -eq 0 ]
