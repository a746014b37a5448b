"""AetherLens as an Apache Spark job: the same analysis as `aether analyze`, spread over a cluster.

    spark-submit --files .build/release/aether spark/aether_job.py --out OUT INPUT...
    python spark/aether_job.py --master local[2] --aether .build/release/aether --out OUT INPUT...

Stage 1, one task per capture file: `aether shard` (the binary shipped with addFile) reads the
file and hands back its records: detector events, connections its end cut, dns, ssl, http and
the per-second series. Between the stages the driver finds the fragments that continue a
connection cut at a file boundary (aether_records.py). Stage 2: the event records are
partitioned by host and sorted by time, and each partition runs `aether detect`, which joins
the fragments and gives alerts and connections. Output: Parquet tables (conn, dns, tls, http,
alerts, series) under OUT/<table>/, partitioned by date, and OUT/report.html.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aether_records as records  # noqa: E402

LONGEST_TIMEOUT_NS = 300 * 10**9  # the TCP idle timeout, the longest a connection may pause
CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz")


class JobFailure(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="capture files or folders (any URI Hadoop reads)")
    p.add_argument("--out", required=True, help="output folder (must not exist)")
    p.add_argument("--aether", help="the aether binary (default: shipped with --files)")
    p.add_argument("--master", help="Spark master (default: spark-submit's)")
    p.add_argument("--partitions", type=int, default=4, help="partitions of hosts for detection")
    p.add_argument("--internal", help="internal networks, comma-separated (as aether's --internal)")
    p.add_argument("--report", help="report file on the driver (default: OUT/report.html; give one when OUT is not local)")
    p.add_argument("--work", help="folder for task attempts' scratch folders (default: temp)")
    return p.parse_args(argv)


def session(master):
    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("aetherlens")
    if master:
        b = b.master(master)
    for k, v in {
        "spark.driver.bindAddress": os.environ.get("AETHER_SPARK_BIND", "127.0.0.1"),
        "spark.driver.host": os.environ.get("AETHER_SPARK_HOST", "127.0.0.1"),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.sql.session.timeZone": "UTC",
        "spark.task.maxFailures": os.environ.get("AETHER_SPARK_MAX_FAILURES", "1"),
    }.items():
        b = b.config(k, v)
    s = b.getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    return s


def list_inputs(spark, inputs):
    """Every capture file under the inputs, through Hadoop's FileSystem (any scheme it reads)."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    out = []
    for uri in inputs:
        if "://" not in uri:
            uri = "file://" + os.path.abspath(uri)
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        if not fs.exists(path):
            raise JobFailure(f"{uri}: no such file or folder")
        if fs.getFileStatus(path).isDirectory():
            it = fs.listFiles(path, True)
            found = []
            while it.hasNext():
                name = it.next().getPath().toString()
                if name.lower().endswith(CAPTURE_SUFFIXES):
                    found.append(name)
            out += sorted(found)
        else:
            out.append(path.toString())
    if not out:
        raise JobFailure("no capture files in the inputs")
    return list(dict.fromkeys(out))  # a file named twice (itself and its folder) is read once


def local_path(uri):
    from urllib.parse import unquote, urlparse

    u = urlparse(uri)
    return unquote(u.path) if u.scheme == "file" else None


def attempt_folder(work, name):
    from pyspark import TaskContext

    ctx = TaskContext.get()
    tag = f"{name}-stage{ctx.stageId()}-task{ctx.taskAttemptId()}-attempt{ctx.attemptNumber()}" if ctx else name
    base = work or tempfile.gettempdir()
    os.makedirs(base, exist_ok=True)
    return tempfile.mkdtemp(prefix=f"aether-{tag}-", dir=base)


def binary():
    """The aether binary Spark shipped to this task (addFile)."""
    from pyspark import SparkFiles

    return SparkFiles.get("aether")


def run_aether(args, what):
    """Runs aether; a non-zero exit fails the task with what it was reading named."""
    p = subprocess.run(args, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise JobFailure(f"aether exited with status {p.returncode} on {what}: {last}")
    return p


def shard_task(work, internal):
    def run(items):
        for index, uri, content in items:
            folder = attempt_folder(work, f"shard{index}")
            try:
                path = local_path(uri)
                if content is not None:
                    # Read through Hadoop (hdfs://, s3a://…): the task writes the bytes out first.
                    path = folder + "/input" + (".gz" if uri.endswith(".gz") else "")
                    with open(path, "xb") as f:
                        f.write(content)
                    content = None
                cmd = [binary(), "shard", path, "--index", str(index), "--out", folder + "/s"]
                if internal:
                    cmd += ["--internal", internal]
                run_aether(cmd, uri)
                with open(folder + "/s/shard.json") as f:
                    meta = json.loads(f.read())
                meta["uri"] = uri
                meta["file"] = uri if local_path(uri) is None else meta["file"]
                meta["cut_records"] = 0
                for table in ("cut", "dns", "ssl", "http", "series", "conversations"):
                    with open(f"{folder}/s/{table}.jsonl") as f:
                        for line in f:
                            meta["cut_records"] += table == "cut"
                            yield (table, line.rstrip("\n"))
                # The events; those of connections that began early enough in this file to
                # continue one cut at the previous file's end also go to the driver as heads.
                n = size = 0
                first = meta.get("first_ns")
                with open(f"{folder}/s/events.jsonl") as f:
                    for line in f:
                        line = line.rstrip("\n")
                        n += 1
                        size += len(line) + 1
                        yield ("events", line)
                        if first is not None and '"e":"finished"' in line:
                            if records.head_candidate(json.loads(line), first, LONGEST_TIMEOUT_NS):
                                yield ("head", line)
                meta["event_records"], meta["event_bytes"] = n, size
                yield ("shard", json.dumps(meta))
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    return run


def inputs_rdd(sc, files):
    """(index, uri, bytes or None) per file, one partition each. A task reads a file:// input
    in place (a shared mount); any other scheme comes through Hadoop (sc.binaryFiles), whole
    in the task's memory, so split such captures into files of a few hundred MB."""
    fetch = os.environ.get("AETHER_SPARK_FETCH") == "1"  # tests take the Hadoop path with file://
    local = [(i, u, None) for i, u in enumerate(files) if local_path(u) is not None and not fetch]
    remote = {u: i for i, u in enumerate(files) if local_path(u) is None or fetch}
    rdd = sc.parallelize(local, max(1, len(local))) if local else None
    if remote:
        index_b = sc.broadcast(remote)

        def tag(pair):
            uri, content = pair
            i = index_b.value.get(uri)
            if i is None:  # the same file, spelt another way by the file system
                i = next((j for u, j in index_b.value.items() if u.rstrip("/").endswith(uri.split("://")[-1].lstrip("/"))), None)
            if i is None:
                raise JobFailure(f"{uri}: read through Hadoop but not among the inputs")
            return (i, uri, content)

        fetched = sc.binaryFiles(",".join(sorted(remote)), minPartitions=len(remote)).map(tag)
        rdd = fetched if rdd is None else rdd.union(fetched)
    return rdd


def detect_task(work, internal, cuts_b, matches_b, first_ns, internal_seen):
    def run(rows):
        folder = attempt_folder(work, "detect")
        try:
            events = folder + "/events.jsonl"
            n = 0
            with open(events, "w") as f:
                for _, line in rows:
                    f.write(line + "\n")
                    n += 1
            if n == 0:
                return
            with open(folder + "/cut.jsonl", "w") as f:
                f.writelines(line + "\n" for line in cuts_b.value)
            with open(folder + "/matches.jsonl", "w") as f:
                f.writelines(line + "\n" for line in matches_b.value)
            cmd = [
                binary(), "detect", "--events", events, "--cuts", folder + "/cut.jsonl", "--matches", folder + "/matches.jsonl",
                "--first-time", str(first_ns), "--alerts", folder + "/alerts.jsonl", "--conn", folder + "/conn.jsonl",
            ]
            if internal_seen:
                cmd.append("--internal-seen")
            if internal:
                cmd += ["--internal", internal]
            run_aether(cmd, f"a partition of {n} event records")
            for table in ("alerts", "conn"):
                with open(f"{folder}/{table}.jsonl") as f:
                    for line in f:
                        yield (table, line.rstrip("\n"))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def run_job(spark, opts):
    from pyspark import StorageLevel
    from pyspark.rdd import portable_hash

    sc = spark.sparkContext
    sc.addPyFile(records.__file__)
    if opts.aether:
        # Every task runs the binary Spark ships to it, as on a cluster.
        sc.addFile(os.path.abspath(opts.aether))
    elif not os.path.exists(os.path.join(__import__("pyspark").SparkFiles.getRootDirectory(), "aether")):
        raise JobFailure("no aether binary: give --aether PATH or spark-submit --files PATH/aether")
    if "://" not in opts.out and os.path.lexists(opts.out):
        raise JobFailure(f"{opts.out}: already exists; the job writes a new folder")
    report = opts.report or os.path.join(opts.out, "report.html")
    if os.path.lexists(report):
        raise JobFailure(f"{report}: already exists; refusing to replace it")
    files = list_inputs(spark, opts.inputs)
    shards = inputs_rdd(sc, files).mapPartitions(shard_task(opts.work, opts.internal))
    shards = shards.persist(StorageLevel.MEMORY_AND_DISK)
    timing = {}
    clock = time.time()
    # The events are most of the records: the other tables get an RDD of their own, so that
    # writing each of them does not read every event again.
    others = shards.filter(lambda r: r[0] != "events").persist(StorageLevel.MEMORY_AND_DISK)
    metas = [json.loads(line) for _, line in others.filter(lambda r: r[0] == "shard").collect()]
    timing["stage 1: shards (decode, flows, events)"] = time.time() - clock
    if len(metas) != len(files):
        raise JobFailure(f"{len(files) - len(metas)} of {len(files)} files gave no records")
    seen = {}
    for m in sorted(metas, key=lambda m: m["index"]):
        if m.get("sha256") and m["sha256"] in seen:
            # aether analyze skips a capture given twice; records cannot be told apart later.
            raise JobFailure(f"{seen[m['sha256']]} and {m['uri']} are the same capture (sha256 {m['sha256']}); give it once")
        seen[m.get("sha256")] = m["uri"]
    # Time order of the files: a connection cut at a file's end continues in the next file.
    order = sorted((m["first_ns"] if m["first_ns"] is not None else 2**63, m["index"]) for m in metas)
    rank = {index: r for r, (_, index) in enumerate(order)}
    first = {m["index"]: m["first_ns"] for m in metas}
    rank_b = sc.broadcast(rank)

    def ranked(line):
        r = json.loads(line)
        r["f"] = rank_b.value[r["f"]]
        return r

    clock = time.time()
    # Cut connections meet the next file's early fragments in a join: neither side is brought
    # to the driver, only the matches (one per joined fragment).
    cut_lines = others.filter(lambda r: r[0] == "cut").map(lambda r: r[1]).persist(StorageLevel.MEMORY_AND_DISK)
    cuts_kv = cut_lines.map(ranked).map(lambda r: (records.cut_key(r), r))
    heads_kv = others.filter(lambda r: r[0] == "head").map(lambda r: ranked(r[1])).filter(lambda r: r["f"] > 0)
    pairs = cuts_kv.join(heads_kv.map(lambda r: (records.head_key(r), r))).values().filter(lambda p: records.continues(*p))
    matches = records.earliest(pairs.collect())
    # Only the cut connections that something continues are needed by the partitions (a
    # cut connection nothing continues simply ended with its file).
    continued_b = sc.broadcast(set(matches.values()))
    joined_cuts = cut_lines.filter(lambda line: json.loads(line)["c"]["id"] in continued_b.value).collect()
    cut_lines.unpersist()
    cut_count = sum(m["cut_records"] for m in metas)
    roots = records.root_hosts(matches, [json.loads(line) for line in joined_cuts])
    roots_b = sc.broadcast(roots)
    timing["joining cut connections"] = time.time() - clock

    def keyed(line):
        host, t, q, f = records.route_line(line, roots_b.value)
        return ((t, rank_b.value[f], q, host), line)

    parts = opts.partitions
    events = shards.filter(lambda r: r[0] == "events").map(lambda r: keyed(r[1]))
    events = events.repartitionAndSortWithinPartitions(parts, partitionFunc=lambda k: portable_hash(k[3]))
    first_ns = min(v for v in first.values() if v is not None) if any(v is not None for v in first.values()) else 0
    internal_seen = any(m.get("internal_seen") for m in metas)
    detected = events.mapPartitions(
        detect_task(opts.work, opts.internal, sc.broadcast(joined_cuts), sc.broadcast(records.match_lines(matches)), first_ns, internal_seen)
    ).persist(StorageLevel.MEMORY_AND_DISK)
    clock = time.time()
    detected.count()
    shards.unpersist()  # the events are detected; the other tables are in `others`
    timing["stage 2: shuffle by host, sort, detect"] = time.time() - clock
    uid_map = {records.connection_uid(b): records.connection_uid(root) for b, root in records.roots(matches).items()}
    import aether_tables as tables

    clock = time.time()
    summary = tables.write_all(spark, opts.out, others, detected, metas, uid_map, tables.load_schemas(tables.driver_binary(opts)))
    timing["Parquet tables"] = time.time() - clock
    summary["cut_connections"] = cut_count
    summary["joined_fragments"] = len(matches)
    # What crosses the shuffle: the event records.
    summary["event_records"] = sum(m["event_records"] for m in metas)
    summary["event_bytes"] = sum(m["event_bytes"] for m in metas)
    clock = time.time()
    tables.write_report(spark, opts, report, detected, others, metas, uid_map)
    timing["report of the whole (import, render)"] = time.time() - clock
    summary["seconds"] = dict({k: round(v, 1) for k, v in timing.items()}, parquet=summary.pop("seconds"))
    others.unpersist()
    detected.unpersist()
    return summary


def main(argv=None):
    opts = parse_args(argv if argv is not None else sys.argv[1:])
    spark = session(opts.master)
    try:
        summary = run_job(spark, opts)
    except Exception as e:  # noqa: BLE001 - one line naming the cause, a non-zero exit
        import re

        msg = str(e)
        found = re.search(r"JobFailure: (.+)", msg)
        if found:
            msg = found.group(1)
        spark.stop()
        sys.stderr.flush()
        # Last, after Spark's own noise: one line naming the cause.
        print(f"aether-spark: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(summary, sort_keys=True))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
