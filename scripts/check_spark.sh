#!/usr/bin/env bash
# The Spark job against aether analyze: local[2] with 4 and 1 partitions, a standalone
# master and worker, DuckDB over the Parquet, a failing task. Usage: check_spark.sh AETHER SHARED
set -euo pipefail
cd "$(dirname "$0")/.."
aether=$1 shared=$2
py=$(bash scripts/spark-env.sh)
exec "$py" Tests/spark/check_spark.py "$aether" "$shared/bench/gencap.py" reports/check/spark
