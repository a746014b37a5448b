#!/usr/bin/env bash
# make test: every suite in turn, then one line over all of them: "N passed, N failed".
# Usage: test-all.sh SHARED VENV_PYTHON
set -uo pipefail
cd "$(dirname "$0")/.."
shared=$1 py=$2
passed=0 failed=0
# Each suite's wall time, printed before the summary: where CI's minutes go.
times=""
log=$(mktemp /tmp/aether-test.XXXXXX)
trap 'rm -f "$log" "${spark_env_log:-}" "${fuzz_build_log:-}"' EXIT
check() { # NAME COMMAND...: one suite; its "ok" lines count as passed checks
  local name=$1; shift
  echo "== $name"
  local t0=$SECONDS
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  times="$times$(printf '%5d s  %s' $((SECONDS - t0)) "$name")\n"
  local oks; oks=$(grep -cE "^(report|live|flood|fuzz|decode|grpc|spark) ok" "$log")
  passed=$((passed + oks))
  if [ "$rc" -ne 0 ]; then failed=$((failed + 1)); echo "FAILED: $name (exit $rc)"; elif [ "$oks" -eq 0 ]; then passed=$((passed + 1)); fi
}
# A venv made before a suite was added lacks its client libraries (PyPI).
"$py" -c "import playwright, websockets, scapy, prometheus_client, grpc, grpc_tools" 2>/dev/null \
  || "$py" -m pip install -q playwright websockets scapy prometheus_client grpcio grpcio-tools
# The Spark environment (Java, PySpark's 450 MB download and build) is made in the background
# while Swift builds; the Spark check waits for it.
spark_env_log=$(mktemp /tmp/aether-spark-env.XXXXXX)
bash scripts/spark-env.sh >"$spark_env_log" 2>&1 &
spark_env_pid=$!
check "swift format lint (make format fixes)" swift format lint --strict -r Sources Tests
# With gRPC (a package trait) for its checks; build and test with the same traits, or the
# second rebuilds everything.
echo "== swift build --traits GRPC"
t0=$SECONDS
if ! swift build --traits GRPC; then echo "0 passed, 1 failed"; exit 1; fi
times="$times$(printf '%5d s  %s' $((SECONDS - t0)) "swift build --traits GRPC")\n"
# The page scripts are files (Sources/*/Resources/*.js): they must parse.
check "imports declared in Package.swift" python3 scripts/check-imports.py
check "page scripts parse (node --check)" bash -c 'for f in Sources/*/Resources/*.js; do node --check "$f" || exit 1; done'
check "page scripts formatted (js-beautify; make format)" env NODE_PATH=/usr/share/nodejs node scripts/format-js.js --check Sources/*/Resources/*.js
# The fuzz harnesses (AddressSanitizer builds, about 80 s) build on the second core while the
# unit tests, mostly one thread, run; the fuzz check waits for them.
fuzz_build_log=$(mktemp /tmp/aether-fuzz-build.XXXXXX)
bash scripts/fuzz.sh --build-only >"$fuzz_build_log" 2>&1 &
fuzz_build_pid=$!
echo "== swift test"
t0=$SECONDS
swift test --traits GRPC 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
times="$times$(printf '%5d s  %s' $((SECONDS - t0)) "swift test")\n"
line=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1)
if [ -n "$line" ]; then
  n=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$line"); f=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$line")
  passed=$((passed + n - f)); failed=$((failed + f))
fi
[ "$rc" -ne 0 ] && [ -z "$line" -o "${f:-0}" = 0 ] && { failed=$((failed + 1)); echo "FAILED: swift test (exit $rc)"; }
wait "$fuzz_build_pid" || { echo "fuzz build:"; cat "$fuzz_build_log"; }
check "fuzz (10 s per target)" bash scripts/fuzz.sh 10
check "decoders against tshark" bash scripts/check_decoders.sh .build/debug/aether "$py" "$shared"
check "same output for --threads 1, 2 and 4" bash scripts/check_threads.sh .build/debug/aether "$shared"
mkdir -p reports/check
extra=""
if [ -f "$shared/bench/gencap.py" ]; then
  python3 "$shared/bench/gencap.py" --out reports/check/gencap-s1.pcap --seed 1 --duration 7200 --packets 60000 --quiet && extra=reports/check/gencap-s1.pcap
else echo "SKIP: ../shared not found: gencap report check skipped"; fi
caps="Fixtures/demo.pcapng Fixtures/markup.pcap Fixtures/tls12-certificates.pcap"
for c in http-dns_wikipedia.pcap many-protocols_mixed.pcap scan_nmap-lan-sweep.pcap empty.pcap; do
  [ -f "$shared/captures/$c" ] && caps="$caps $shared/captures/$c"
done
check "report checks (headless Chromium)" "$py" Tests/browser/check_reports.py .build/debug/aether reports/check $caps $extra
if [ -f "$shared/bench/gencap.py" ]; then
  [ -f reports/check/live-1m.pcap ] || python3 "$shared/bench/gencap.py" --out reports/check/live-1m.pcap --seed 4 --packets 1000000 --quiet
  check "live checks" "$py" Tests/browser/check_live.py .build/debug/aether reports/check/gencap-s1.pcap reports/check/live-1m.pcap reports/check
  check "war room checks" "$py" Tests/browser/check_warroom.py .build/debug/aether reports/check/gencap-s1.pcap reports/check/live-1m.pcap reports/check
  check "gRPC event stream checks" "$py" Tests/grpc/check_grpc.py .build/debug/aether reports/check/gencap-s1.pcap reports/check/live-1m.pcap reports/check
  wait "$spark_env_pid" || { echo "Spark environment:"; cat "$spark_env_log"; }
  check "Spark job checks (local[2], standalone, DuckDB)" bash scripts/check_spark.sh .build/debug/aether "$shared"
else echo "SKIP: ../shared not found: live checks skipped"; fi
check "live load checks" "$py" Tests/browser/check_live_load.py .build/debug/aether reports/check
check "flood check" bash scripts/check_flood.sh .build/debug/aether reports/check
wait "$spark_env_pid" 2>/dev/null || true
echo
printf "time per suite:\n$times"
printf '%5d s  in all\n' "$SECONDS"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
