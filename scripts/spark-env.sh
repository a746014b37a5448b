#!/usr/bin/env bash
# The Spark job's environment: Java from Debian's packages, PySpark, pyarrow and DuckDB from PyPI in
# .build-spark. Idempotent; prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if ! command -v java >/dev/null 2>&1; then
  echo "installing: openjdk-17-jre-headless" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 >/dev/null
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 openjdk-17-jre-headless >/dev/null
fi
venv=.build-spark
if ! "$venv/bin/python" -c "import pyspark, duckdb, pyarrow" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pyspark duckdb pyarrow >&2
fi
echo "$venv/bin/python"
