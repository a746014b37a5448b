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
# The driver JVM's classes, archived once (AppCDS): a JVM that maps them starts on about 2.5
# CPU-s less, a third of the job's fixed cost. Made by a small local job that exits; the JVM
# writes the archive as it exits, after Python has, so it is awaited, then moved into place.
cds="$venv/spark.jsa"
if [ ! -s "$cds" ] && java -XX:+PrintFlagsFinal -version 2>/dev/null | grep -q ArchiveClassesAtExit; then
  tmp="$venv/spark.jsa.$$"
  rm -f "$tmp"
  SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$PWD/$venv/bin/python" "$venv/bin/python" - "$tmp" >/dev/null 2>&1 <<'PY' || true
import sys
from pyspark.sql import SparkSession
s = (SparkSession.builder.master("local[2]").appName("aether-cds")
     .config("spark.ui.enabled", "false")
     .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ArchiveClassesAtExit=" + sys.argv[1])
     .getOrCreate())
sc = s.sparkContext
sc.setLogLevel("ERROR")
# What the job does, on nothing: a shipped file, a folder listed through Hadoop, tasks with
# broadcasts and results, two stages.
sc.addFile(sys.argv[0] if sys.argv[0] != "-" else "/bin/sh")
jvm = sc._jvm
path = jvm.org.apache.hadoop.fs.Path("file:///tmp")
fs = path.getFileSystem(sc._jsc.hadoopConfiguration())
it = fs.listFiles(path, False)
while it.hasNext():
    it.next().getPath().toString()
b = sc.broadcast({1: 2})
def run(items):
    from pyspark import SparkFiles, TaskContext
    TaskContext.get().cpus()
    for x in items:
        yield (x, b.value.get(1), SparkFiles.getRootDirectory())
sc.parallelize(range(8), 4).mapPartitions(run).collect()
sc.parallelize(range(4), 2).flatMap(lambda x: [x, x]).collect()
s.stop()
PY
  for _ in $(seq 1 120); do [ -s "$tmp" ] && ! pgrep -f "ArchiveClassesAtExit=$tmp" >/dev/null && break; sleep 0.5; done
  if [ -s "$tmp" ]; then mv -f "$tmp" "$cds"; else rm -f "$tmp"; fi
fi
echo "$venv/bin/python"
