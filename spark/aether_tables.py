"""The job's output: Parquet tables with plain column names, partitioned by date, and the report."""

import json
import os
import shutil
import subprocess
import tempfile
import time

from pyspark.sql import functions as F
from pyspark.sql import types as T

S, L, D, A = T.StringType(), T.LongType(), T.DoubleType(), T.ArrayType(T.StringType())

# Arrow types as `aether schema --json` names them.
ARROW = {"string": S, "int64": L, "double": D, "bool": T.BooleanType(), "list<string>": A}
# Fields that mean something only inside one store: each shard numbers its own captures.
STORE_LOCAL = {"capture_id"}
# Where each table's records come from: the shards (dns, ssl, http, x509, series) or detection.
SOURCES = {"conn": "conn", "dns": "dns", "tls": "ssl", "http": "http", "x509": "x509", "series": "series"}


def load_schemas(aether):
    """Each output table's columns, from the tool's own record schemas (`aether schema --json`):
    the job keeps no column list of its own, so a field added there arrives here."""
    p = subprocess.run([aether, "schema", "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("JobFailure: aether schema: " + (p.stderr.strip().splitlines() or ["failed"])[-1])
    described = json.loads(p.stdout)
    return {
        table: [(f["name"], ARROW[f["arrow_type"]]) for f in described[source] if f["name"] not in STORE_LOCAL]
        for table, source in SOURCES.items()
    }


def driver_binary(opts):
    return os.path.abspath(opts.aether) if opts.aether else _shipped()


def schema(fields):
    return T.StructType([T.StructField(n, t, True) for n, t in fields])


def plain(name):
    return name.replace("id.", "").replace(".", "_")


def frame(spark, lines_rdd, fields):
    df = spark.read.json(lines_rdd, schema=schema(fields), mode="FAILFAST")
    return df.select([F.col(f"`{n}`").alias(plain(n)) for n, _ in fields])


def write_all(spark, out, shards, detected, metas, uid_map, schemas):
    """Writes every table; returns the counts that `aether stats` gives for the same input."""
    uid_b = spark.sparkContext.broadcast(uid_map)

    def remap(line):
        # A dns/ssl/http record of a fragment that continues another belongs to the root's uid.
        r = json.loads(line)
        if r.get("uid") in uid_b.value:
            r["uid"] = uid_b.value[r["uid"]]
            return json.dumps(r)
        return line

    counts = {"seconds": {}}
    for table, source in SOURCES.items():
        clock = time.time()
        rdd = detected if table == "conn" else shards
        lines = rdd.filter(lambda r, s=source: r[0] == s).map(lambda r: r[1])
        if table in ("dns", "tls", "http", "x509"):
            lines = lines.map(remap)
        df = frame(spark, lines, schemas[table])
        if table == "dns":
            df = join_dns_halves(df)
        if table == "series":
            # A second that two files share comes from both shards.
            df = df.groupBy("second", "proto").agg(F.sum("packets").alias("packets"), F.sum("bytes").alias("bytes"))
            df = df.withColumn("date", F.to_date(F.from_unixtime(F.col("second"))))
        else:
            df = df.withColumn("date", F.to_date(F.from_unixtime(F.col("ts"))))
        df.write.mode("errorifexists").partitionBy("date").parquet(os.path.join(out, table))
        counts["seconds"][table] = round(time.time() - clock, 1)
    alerts = [alert_row(json.loads(line)) for _, line in detected.filter(lambda r: r[0] == "alerts").collect()]
    alerts.sort(key=lambda a: (a["start"], a["kind"], a["src"]))
    adf = spark.createDataFrame(alerts, schema=ALERT_SCHEMA).withColumn("date", F.to_date(F.from_unixtime(F.col("start"))))
    adf.coalesce(1).write.mode("errorifexists").partitionBy("date").parquet(os.path.join(out, "alerts"))
    counts["alerts"] = len(alerts)
    counts["packets"] = sum(m["packets"] for m in metas)
    counts["wire_bytes"] = sum(m["wire_bytes"] for m in metas)
    counts["bytes"] = sum(m["bytes"] for m in metas)
    counts["files"] = len(metas)
    counts["connections"] = detected.filter(lambda r: r[0] == "conn").count()
    counts["conversations"] = shards.filter(lambda r: r[0] == "conversations").map(lambda r: r[1]).distinct().count()
    return counts


def join_dns_halves(df):
    """A query at one file's end and its response at the next file's start are two halves of one
    transaction (the same connection once fragments are joined, the same id and name): one row."""
    df = df.cache()  # read three times below
    df = df.cache()  # read three times below
    keys = ["uid", "trans_id", "query", "qtype"]
    halves = F.col("query_seen") != F.col("response_seen")
    whole = df.filter(~halves)
    g = (
        df.filter(halves)
        .groupBy(keys)
        .agg(F.count("*").alias("n"), F.sum(F.col("query_seen").cast("int")).alias("q"), F.collect_list(F.struct(*df.columns)).alias("rows"))
    )
    pairs = g.filter((F.col("n") == 2) & (F.col("q") == 1))
    lone = g.filter(~((F.col("n") == 2) & (F.col("q") == 1))).select(F.explode("rows").alias("r")).select("r.*")
    ask = F.filter("rows", lambda r: r["query_seen"])[0]
    answer = F.filter("rows", lambda r: r["response_seen"])[0]
    joined = pairs.select(
        *[
            (answer[c] if c in ("rcode", "answers") else F.lit(True) if c in ("query_seen", "response_seen") else ask[c]).alias(c)
            for c in df.columns
        ]
    )
    return whole.unionByName(lone).unionByName(joined)


ALERT_SCHEMA = T.StructType(
    [
        T.StructField("kind", S), T.StructField("severity", S), T.StructField("src", S), T.StructField("dst", S),
        T.StructField("dsts", A), T.StructField("dst_count", L), T.StructField("ports", T.ArrayType(L)), T.StructField("proto", S),
        T.StructField("start", D), T.StructField("end", D), T.StructField("flows", L), T.StructField("technique", S),
        T.StructField("why", S), T.StructField("evidence", S), T.StructField("uids", A),
    ]
)


def alert_row(a):
    return {
        "kind": a["kind"], "severity": a["severity"], "src": a["src"], "dst": a.get("dst"), "dsts": a.get("dsts"),
        "dst_count": a.get("dst_count", 1 if a.get("dst") else None), "ports": a.get("ports", []), "proto": a.get("proto"),
        "start": a["start"], "end": a["end"], "flows": a.get("flows", 0), "technique": a.get("technique"),
        "why": json.dumps(a.get("why", {})), "evidence": json.dumps(a.get("evidence", {})), "uids": a.get("uids", []),
    }


def write_report(spark, opts, report, detected, shards, metas, uid_map):
    """One report of the whole, from the report code aether has: the records are imported into
    a new store (aether import) and `aether report` renders it."""
    aether = driver_binary(opts)
    work = tempfile.mkdtemp(prefix="aether-report-", dir=opts.work or None)
    try:
        rec = os.path.join(work, "records")
        os.makedirs(rec)
        with open(os.path.join(rec, "shards.jsonl"), "w") as f:
            for m in sorted(metas, key=lambda m: m["index"]):
                f.write(json.dumps(m) + "\n")
        # One pass over each RDD, each record to its table's file.
        files = {}
        try:
            for rdd, wanted in ((detected, ("conn", "alerts")), (shards, ("series", "dns", "ssl", "http", "x509", "conversations"))):
                for w in wanted:
                    files[w] = open(os.path.join(rec, w + ".jsonl"), "w")
                for table, line in rdd.filter(lambda r, w=wanted: r[0] in w).toLocalIterator():
                    if table in ("dns", "ssl", "http", "x509"):
                        r = json.loads(line)
                        if r.get("uid") in uid_map:
                            r["uid"] = uid_map[r["uid"]]
                            line = json.dumps(r)
                    files[table].write(line + "\n")
        finally:
            for f in files.values():
                f.close()
        db = os.path.join(work, "whole.sqlite")
        for cmd in (
            [aether, "import", "--records", rec, "--db", db],
            [aether, "report", "--db", db, "--output", report],
        ):
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode != 0:
                raise RuntimeError("JobFailure: report: " + (p.stderr.strip().splitlines() or ["failed"])[-1])
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _shipped():
    from pyspark import SparkFiles

    return SparkFiles.get("aether")
