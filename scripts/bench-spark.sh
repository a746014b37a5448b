#!/usr/bin/env bash
# CPU-seconds per million packets of the Spark job over its whole process tree (driver, JVMs,
# Python workers, aether children; perf stat task-clock), with the job's fixed cost on a tiny
# input taken off, beside aether analyze of the same capture (release build, same run).
# Usage: bench-spark.sh [CAPTURE…]  (default: the 2 M and 8 M packet gencap files of make bench)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v perf >/dev/null || { echo "bench-spark: needs perf (linux-perf)" >&2; exit 2; }
py=$(bash scripts/spark-env.sh)
exec python3 scripts/bench_spark.py "$py" .build/release/aether "$@"
