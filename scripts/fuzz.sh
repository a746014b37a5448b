#!/usr/bin/env bash
# libFuzzer runs over the capture reader, the decoder, the DNS/TLS/HTTP parsers and the records
# reader (detector events, cuts and continuations as `detect` reads them).
#   scripts/fuzz.sh SECONDS [TARGET...]      targets: reader decode appl records (default: all)
#   scripts/fuzz.sh --build-only             the harnesses only (make test builds them while the unit tests run)
# Builds with swiftc directly (a SwiftPM executable built with -sanitize=fuzzer fails to link
# here): each module is compiled with coverage and AddressSanitizer, the harness links libFuzzer.
# A crash leaves its input in Fixtures/fuzz/TARGET/ (fix it; the test suite replays that folder).
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=""
[ "${1:-}" = --build-only ] && { build_only=1; shift; }
secs=${1:-60}; shift || true
targets=${*:-reader decode appl records}
B=.build-fuzz
mkdir -p $B
inc="-I Sources/CPcap -I Sources/CZlib -I Sources/CCrypto -I Sources/CSQLite -I $B"
flags="-O -parse-as-library -sanitize=fuzzer,address"
build_module() { # name sources...
  local name=$1; shift
  swiftc $flags $inc -module-name "$name" -emit-module -emit-module-path $B/$name.swiftmodule -emit-library -static -o $B/lib$name.a "$@" 2>&1 | grep -v warning || true
}
if [ ! -f $B/stamp ] || [ -n "$(find Sources/AetherCore Sources/AetherDecode Sources/AetherCapture Sources/AetherFlows Sources/AetherDetect Tests/fuzz -newer $B/stamp -name '*.swift' | head -1)" ]; then
  build_module AetherCore Sources/AetherCore/*.swift
  build_module AetherDecode $(find Sources/AetherDecode -name "*.swift")
  build_module AetherCapture Sources/AetherCapture/*.swift
  build_module AetherFlows Sources/AetherFlows/*.swift
  build_module AetherDetect Sources/AetherDetect/*.swift
  for t in reader decode appl; do
    swiftc -O -parse-as-library -sanitize=fuzzer,address $inc Tests/fuzz/$t.swift -L $B -lAetherCapture -lAetherDecode -lAetherCore \
      -lpcap -lz -lcrypto -o $B/fuzz-$t
  done
  swiftc -O -parse-as-library -sanitize=fuzzer,address $inc Tests/fuzz/records.swift -L $B -lAetherDetect -lAetherFlows -lAetherDecode \
    -lAetherCore -o $B/fuzz-records
  touch $B/stamp
fi
[ -n "$build_only" ] && exit 0
shared=${AETHER_SHARED:-../shared}
status=0
for t in $targets; do
  corpus=$B/corpus-$t; mkdir -p $corpus Fixtures/fuzz/$t
  # Seeds: the capture corpus (small files) and what earlier runs kept; records come from Fixtures/fuzz/records.
  [ "$t" = records ] || find Fixtures "$shared/captures" -maxdepth 2 -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.gz' \) -size -200k 2>/dev/null \
    | while read -r f; do cp -n "$f" $corpus/ 2>/dev/null || true; done
  # The certificate parser starts from real certificates.
  [ "$t" = appl ] && cp -n Fixtures/x509/*.der $corpus/ 2>/dev/null || true
  echo "fuzz $t for ${secs}s"
  if ! SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $B/fuzz-$t -max_total_time=$secs -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix=Fixtures/fuzz/$t/ $corpus Fixtures/fuzz/$t 2>$B/fuzz-$t.log; then
    echo "FUZZ FAILURE in $t: see $B/fuzz-$t.log and Fixtures/fuzz/$t/"; tail -30 $B/fuzz-$t.log; status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $B/fuzz-$t.log | tr '\n' ' '; echo
  fi
done
exit $status
