#!/usr/bin/env bash
# Wall time of the Spark job with 1 and 2 executor cores on a capture split in 8, beside
# aether analyze of the same file (release build). Usage: bench-spark.sh CAPTURE [WORK]
set -euo pipefail
cd "$(dirname "$0")/.."
cap=$1 work=${2:-reports/bench/spark}
aether=.build/release/aether
py=$(bash scripts/spark-env.sh)
rm -rf "$work" && mkdir -p "$work/parts"
python3 scripts/split-pcap.py "$cap" 8 "$work/parts"
t0=$(date +%s.%N)
$aether analyze "$cap" --db "$work/whole.sqlite" --report "$work/whole.html" >/dev/null
t1=$(date +%s.%N)
echo "aether analyze (one process): $(echo "$t1 - $t0" | bc) s"
for cores in 1 2; do
  t0=$(date +%s.%N)
  SPARK_LOCAL_IP=127.0.0.1 $py spark/aether_job.py --master "local[$cores]" --aether $aether --partitions 4 \
    --out "$work/out-$cores" --work "$work/scratch" "$work/parts" >"$work/summary-$cores.json"
  t1=$(date +%s.%N)
  echo "spark job, local[$cores]: $(echo "$t1 - $t0" | bc) s  $(cat "$work/summary-$cores.json")"
done
