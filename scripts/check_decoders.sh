#!/usr/bin/env bash
# Issue 12's checks: every encapsulation the decoder follows, against tshark packet by packet, and
# nothing left undecoded where tshark finds IP or ARP. Prints one "decode ok" line per check.
# Usage: check_decoders.sh AETHER VENV_PYTHON SHARED
set -uo pipefail
cd "$(dirname "$0")/.."
aether=$1 py=$2 shared=$3
work=$(mktemp -d /tmp/aether-decoders.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
ok() { echo "decode ok: $*"; }
bad() { echo "DECODE FAILURE: $*"; status=1; }
undecoded() { "$aether" stats --db "$1" --json | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["undecoded"], s["packets"], json.dumps(s["undecoded_reasons"]))'; }

"$py" -c "import scapy" 2>/dev/null || "$py" -m pip install -q scapy
"$py" scripts/make-encap-captures.py "$work/encap" || { bad "scapy could not write the encapsulation captures"; exit 1; }
n=$(ls "$work/encap"/*.pcap | wc -l)

# 1. Packet by packet against tshark: generated encapsulations, the project's fixtures, the shared corpus.
sets="$work/encap Fixtures"
[ -d "$shared/captures" ] && sets="$sets $shared/captures" || echo "SKIP: $shared/captures not found (compared without it)"
if out=$(python3 scripts/diff-tshark.py "$aether" $sets); then ok "$(tail -1 <<<"$out")"; else
  grep -v '^NOTE' <<<"$out" | head -40; bad "aether and tshark disagree"; fi

# 2. Every generated packet reached IP: tshark and aether both name an address for each.
empty=$(for f in "$work"/encap/*.pcap; do
  [ "$(basename "$f")" = unknown-linktype.pcap ] && continue
  "$aether" dissect "$f" | awk -F'\t' -v f="$(basename "$f")" 'NR > 1 && $2 == "" && $4 == "" { print f " frame " $1 }'
done)
if [ -z "$empty" ]; then ok "every packet of $((n - 1)) encapsulation captures decoded to an IP address"; else echo "$empty" | head; bad "packets without an address"; fi

# 3. undecoded is 0 in stats --json for the generated set and for the shared corpus.
mkdir -p "$work/ok" && cp "$work"/encap/*.pcap "$work/ok/" && rm "$work/ok/unknown-linktype.pcap"
"$aether" ingest "$work/ok" --db "$work/encap.sqlite" >/dev/null 2>"$work/encap.err"
read -r u p reasons < <(undecoded "$work/encap.sqlite")
if [ "$u" = 0 ] && [ "$p" -gt 100 ] && [ ! -s "$work/encap.err" ]; then ok "undecoded 0 of $p packets over $((n - 1)) encapsulations"; else
  cat "$work/encap.err"; bad "undecoded $u of $p on the encapsulations: $reasons"; fi
if [ -d "$shared/captures" ]; then
  "$aether" ingest "$shared/captures" --db "$work/shared.sqlite" >/dev/null 2>"$work/shared.err"
  read -r u p reasons < <(undecoded "$work/shared.sqlite")
  if [ "$u" = 0 ] && [ "$p" -gt 1000 ] && ! grep -q "not decoded" "$work/shared.err"; then ok "undecoded 0 of $p packets over $shared/captures"; else
    bad "undecoded $u of $p on $shared/captures: $reasons"; fi
fi

# 4. A link type aether does not decode: a warning, the reason in stats, and no "No alerts." verdict.
"$aether" analyze "$work/encap/unknown-linktype.pcap" --db "$work/u.sqlite" --report "$work/u.html" >"$work/u.out" 2>"$work/u.err"
read -r u p reasons < <(undecoded "$work/u.sqlite")
if grep -q "warning: .*unknown-linktype.pcap: 6 of 6 packets not decoded: link type 147" "$work/u.err" && [ "$u" = 6 ] \
   && grep -q '"link type 147 (LINKTYPE_147)": 6' <<<"$reasons" && ! grep -q "^No alerts" "$work/u.out" \
   && grep -q "No conclusion: 6 of 6 packets could not be decoded" "$work/u.out" && grep -q "No conclusion" "$work/u.html"; then
  ok "link type 147: warning, undecoded 6 by reason, no quiet verdict (CLI and report)"
else
  cat "$work/u.err" "$work/u.out"; bad "the unknown link type was not named"
fi
exit $status
