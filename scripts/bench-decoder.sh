#!/usr/bin/env bash
# The decoder's packets per second (no slowdown beyond 2 % is allowed), this tree against an older
# revision, on the same file in the same run: both decoders are compiled alone (AetherCore and
# AetherDecode with the package's release flags) into Tests/bench/decode.swift, then run in
# alternation, best of ROUNDS runs each.
# Usage: bench-decoder.sh OLD_REVISION FILE.pcap [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rev=$1 cap=$2 rounds=${3:-5}
work=$(mktemp -d /tmp/aether-decbench.XXXXXX)
trap 'rm -rf "$work"' EXIT
flags="-O -wmo -parse-as-library -enforce-exclusivity=unchecked"
build() { # DIR SOURCE_ROOT
  local out=$1 src=$2
  mkdir -p "$out"
  swiftc $flags -module-name AetherCore -emit-module -emit-module-path "$out/AetherCore.swiftmodule" -emit-library -static -o "$out/libAetherCore.a" "$src"/Sources/AetherCore/*.swift
  swiftc $flags -I "$out" -module-name AetherDecode -emit-module -emit-module-path "$out/AetherDecode.swiftmodule" -emit-library -static -o "$out/libAetherDecode.a" $(find "$src/Sources/AetherDecode" -name '*.swift')
  swiftc $flags -I "$out" Tests/bench/decode.swift -L "$out" -lAetherDecode -lAetherCore -o "$out/decode-bench"
}
mkdir -p "$work/old-src" && git archive "$rev" Sources/AetherCore Sources/AetherDecode | tar -x -C "$work/old-src"
build "$work/old" "$work/old-src" 2>&1 | grep -v warning || true
build "$work/new" . 2>&1 | grep -v warning || true
cat "$cap" >/dev/null
for i in 1 2 3; do
  echo "old ($rev): $("$work/old/decode-bench" "$cap" "$rounds")"
  echo "new (tree): $("$work/new/decode-bench" "$cap" "$rounds")"
done
