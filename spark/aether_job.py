"""AetherLens as an Apache Spark job: the same analysis as `aether analyze`, spread over a cluster.

    spark-submit --files .build/release/aether spark/aether_job.py --out OUT INPUT...
    python spark/aether_job.py --master local[2] --aether .build/release/aether --out OUT INPUT...

Stage 1, one task per capture file: `aether shard --stream` (the binary shipped with addFile)
reads the file and hands back its records: detector events, connections its end cut, dns, ssl,
http and the per-second series. Between the stages `aether join-cuts` decides which fragments
continue a connection cut at a file boundary. Stage 2: the event records are
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

# The JVM's optimizing compiler (C2) took a quarter of the job's CPU: the job's JVM code runs
# too briefly to repay it. C1 alone compiles fast and well enough; the serial collector suits
# heaps this small.
JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
# The driver's classes archived by scripts/spark-env.sh (AppCDS), when there: its JVM starts on
# about 2.5 CPU-s less. A JVM that cannot use the archive (another JDK) warns and starts without.
CDS_ARCHIVE = os.path.join(sys.prefix, "spark.jsa")
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
    p.add_argument("--intel", action="append", default=[], help="indicators to match (repeatable; as aether's --intel): shipped to every task")
    p.add_argument("--report", help="report file on the driver (default: OUT/report.html; give one when OUT is not local)")
    p.add_argument("--work", help="folder for task attempts' scratch folders (default: temp)")
    return p.parse_args(argv)


def session(master):
    # A local master's Python workers are this Python (the one with pyarrow), not whatever
    # `python3` is first on the PATH: `make spark` sets nothing. A cluster's workers keep
    # Spark's own choice, as they run elsewhere.
    if master and master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        os.environ["PYSPARK_PYTHON"] = sys.executable
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
        # Compressing the shuffled event blocks (LZ4) was a tenth of the JVMs' CPU; on a slow
        # network, AETHER_SPARK_SHUFFLE_COMPRESS=true trades it for a third of the bytes.
        "spark.shuffle.compress": os.environ.get("AETHER_SPARK_SHUFFLE_COMPRESS", "false"),
        "spark.sql.session.timeZone": "UTC",
        "spark.task.maxFailures": os.environ.get("AETHER_SPARK_MAX_FAILURES", "1"),
        "spark.driver.extraJavaOptions": os.environ.get(
            "AETHER_SPARK_JAVA_OPTIONS", JAVA_OPTIONS + (f" -XX:SharedArchiveFile={CDS_ARCHIVE}" if os.path.isfile(CDS_ARCHIVE) else "")
        ),
        "spark.executor.extraJavaOptions": os.environ.get("AETHER_SPARK_JAVA_OPTIONS", JAVA_OPTIONS),
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


def detection_flags(internal, intel):
    """aether's detection options in a task: the internal networks, and each intel file Spark
    shipped to it (addFile) by its name."""
    from pyspark import SparkFiles

    flags = ["--internal", internal] if internal else []
    for name in intel:
        flags += ["--intel", SparkFiles.get(name)]
    return flags


def shard_task(work, internal, intel, partitions, out):
    """Stage 1, the task's capture files (one, or a few in order): one `aether shard --stream
    --partitions` writes each file's records as files, and the task moves them into its attempt's
    folder in the output (`publish`). Spark carries only each file's counts and that folder's name: the later stages read the
    records there by path, so no record (and no block of them) passes through Spark or Python.
    The folder holds the detector events by partition of hosts (`events-INDEX.PART`: host,
    time, sequence, file, connection id and k before each record, in time order), the heads
    (finished connections that could continue one cut at the previous file's end, with the same
    columns), the cut connections and each other table (`TABLE-INDEX.jsonl`)."""

    def run(items):
        import aether_tables as tables
        from pyspark import TaskContext

        folder = attempt_folder(work, "shard")
        try:
            records = os.path.join(folder, "records")
            os.mkdir(records)
            # One aether for all the task's files, fed `INDEX<TAB>PATH` lines: a process start
            # per file cost about 0.05 CPU-s. The shard records every event the detectors take,
            # intel's HTTP events among them. As many threads as the task has cores
            # (spark.task.cpus, 1 by default): Spark runs a task per core, and more threads only
            # contend with the neighbours (two shards of 4 files each at once on 2 cores: 6.15
            # CPU-s with one thread each, 6.55 with two).
            cores = str(TaskContext.get().cpus())
            cmd = [binary(), "shard", "--stream", "--out", "-", "--work", records, "--partitions", str(partitions), "--threads", cores]
            cmd += detection_flags(internal, intel)
            uris = {}
            with open(os.path.join(folder, "stderr"), "w+") as err:
                p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True,
                                     env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
                metas = []
                done = False
                try:
                    for index, uri, content in items:
                        path = local_path(uri)
                        if content is not None:
                            # Read through Hadoop (hdfs://, s3a://…): the task writes the bytes out first.
                            path = f"{folder}/input-{index}" + (".gz" if uri.endswith(".gz") else "")
                            with open(path, "xb") as f:
                                f.write(content)
                            content = None
                        uris[index] = uri
                        p.stdin.write(f"{index}\t{path}\n")
                        p.stdin.flush()
                    p.stdin.close()
                    for line in p.stdout:
                        table, body = line.rstrip("\n").split("\t", 1)
                        if table == "shard":
                            metas.append(json.loads(body))
                        elif table == "error":
                            e = json.loads(body)
                            raise JobFailure(f"{uris.get(e['index'], e['file'])}: {e['message']}")
                    done = True
                finally:
                    # A failed file ends the task: the files after it are not read.
                    if not done and p.poll() is None:
                        p.kill()
                    p.wait()
                if p.returncode != 0 or len(metas) != len(uris):
                    err.seek(0)
                    last = (err.read().strip().splitlines() or ["(no message)"])[-1]
                    named = ", ".join(uris[i] for i in sorted(uris) if i not in {m["index"] for m in metas}) or "its files"
                    raise JobFailure(f"aether exited with status {p.returncode} on {named}: {last}")
            if not metas:
                return
            for meta in metas:
                events = [os.path.join(records, f"events-{meta['index']}.{part}") for part in range(partitions)]
                meta["event_bytes"] = sum(os.path.getsize(e) for e in events if os.path.exists(e))
                meta["event_records"] = meta.get("event_records", 0)
            rel = f"{tables.ATTEMPTS}/{tables.attempt_name('shard')}"
            tables.publish(out, records, rel)
            for meta in metas:
                uri = uris[meta["index"]]
                meta["dir"] = rel
                meta["uri"] = uri
                meta["file"] = uri if local_path(uri) is None else meta["file"]
                yield json.dumps(meta)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


def partition_of(host, n):
    """aether's partition of a host (EventRecorder.partition): FNV-1a of its text."""
    h = 2166136261
    for b in host.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % n


def moved_lines(blob, part, own, movers):
    """Of one file's event block of partition `own`, the lines partition `part` detects: a
    fragment that continues a cut connection is detected with its root, so its events move to the
    partition of the root's originator when that is another one (a fragment seen first from the
    other side). Only the blocks of files with such a fragment are split into lines."""
    for line in blob.split(b"\n"):
        if not line:
            continue
        cid = line.split(b"\t", 5)[4]
        to = movers.get(int(cid)) if cid else None
        if (to if to is not None else own) == part:
            yield line + b"\n"


def slices(sc, items, per_core):
    """Tasks for `items` files: one each, up to `per_core` tasks per core of the cluster. A task
    costs Spark about 0.06 CPU-s of its own (JVM and Python worker) whatever it does; beyond a few
    per core, more tasks only add that, and files share a task, in order."""
    return max(1, min(items, per_core * sc.defaultParallelism))


def inputs_rdd(sc, files):
    """(index, uri, bytes or None) per file, one partition each. A task reads a file:// input
    in place (a shared mount); any other scheme comes through Hadoop (sc.binaryFiles), whole
    in the task's memory, so split such captures into files of a few hundred MB."""
    fetch = os.environ.get("AETHER_SPARK_FETCH") == "1"  # tests take the Hadoop path with file://
    local = [(i, u, None) for i, u in enumerate(files) if local_path(u) is not None and not fetch]
    remote = {u: i for i, u in enumerate(files) if local_path(u) is None or fetch}
    rdd = sc.parallelize(local, slices(sc, len(local), 4)) if local else None
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


def detect_task(work, internal, intel, cuts_b, matches_b, first_ns, internal_seen, out, conn_fields, order, dirs_b, movers_b, parts):
    """Stage 2, one partition of hosts: `aether detect` reads that partition's event file of
    every shard in place (each in time order), merges them and runs the detectors. The task
    writes its conn table itself (Arrow) and puts the connections whole beside it for the report
    of the whole."""

    def run(items):
        import aether_tables as tables
        from pyspark import TaskContext

        movers = movers_b.value
        for part in items:
            folder = attempt_folder(work, "detect")
            try:
                streams = []
                for index, d in sorted(dirs_b.value.items()):
                    if index in movers:
                        # Lines move between partitions: this partition's lines of each block,
                        # a stream of their own per block (each in time order).
                        for own in range(parts):
                            mine = b"".join(moved_lines(tables.read_file(out, f"{d}/events-{index}.{own}"), part, own, movers[index]))
                            if mine:
                                path = f"{folder}/events-{index}.{own}"
                                with open(path, "xb") as f:
                                    f.write(mine)
                                streams.append(path)
                        continue
                    path = tables.local_file(out, f"{d}/events-{index}.{part}", folder)
                    if path is not None:
                        streams.append(path)
                if not streams:
                    continue
                with open(folder + "/cut.jsonl", "w") as f:
                    f.writelines(line + "\n" for line in cuts_b.value)
                with open(folder + "/matches.jsonl", "w") as f:
                    f.writelines(line + "\n" for line in matches_b.value)
                result = os.path.join(folder, "result")
                os.mkdir(result)
                cmd = [
                    binary(), "detect", *[a for p in streams for a in ("--events", p)], "--file-order", order, "--cuts", folder + "/cut.jsonl", "--matches", folder + "/matches.jsonl",
                    "--first-time", str(first_ns), "--alerts", folder + "/alerts.jsonl", "--conn", folder + "/conn.jsonl",
                    "--snapshots", result + f"/connections-p{part}.jsonl",
                ]
                if internal_seen:
                    cmd.append("--internal-seen")
                cmd += detection_flags(internal, intel)
                run_aether(cmd, f"partition {part} of the event records ({len(streams)} files)")
                with open(f"{folder}/conn.jsonl", "rb") as f:
                    conn = f.read()
                with open(f"{folder}/alerts.jsonl", "rb") as f:
                    yield ("alerts", f.read())
                attempt = tables.attempt_name("conn")
                # The connections whole go to the report of the whole (aether import), which
                # reads them from the output; the conn records become Parquet here.
                rel = f"{tables.ATTEMPTS}/{attempt}/report"
                tables.publish(out, result, rel)
                yield ("report", (part, ("connections", f"{rel}/connections-p{part}.jsonl")))
                t = tables.records(conn, conn_fields)
                for move in tables.write_dated(out, attempt, "conn", t, "ts", f"p{part}"):
                    yield ("move", move)
                yield ("conn_rows", t.num_rows)
            finally:
                shutil.rmtree(folder, ignore_errors=True)

    return run


def join_dns(opts, halves, routes):
    """The DNS halves of every file through `aether join-dns` (the rule is aether's): JSON Lines."""
    import aether_tables as tables

    work = tempfile.mkdtemp(prefix="aether-dns-", dir=opts.work or None)
    try:
        with open(os.path.join(work, "halves.jsonl"), "wb") as f:
            for blob in halves:
                f.write(blob)
        tables.write_routes(os.path.join(work, "routes.jsonl"), routes)
        cmd = [tables.driver_binary(opts), "join-dns", "--records", os.path.join(work, "halves.jsonl"), "--routes", os.path.join(work, "routes.jsonl")]
        p = subprocess.run(cmd, capture_output=True, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"})
        if p.returncode != 0:
            last = (p.stderr.decode(errors="replace").strip().splitlines() or ["(no message)"])[-1]
            raise JobFailure(f"aether join-dns: {last}")
        return p.stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)


def tree_cpu():
    """CPU-seconds so far of this process and every process under it (the JVM and its Python
    workers; aether children once waited for are in their parents' counts): a local run's
    stage costs (AETHER_SPARK_STAGE_CPU=1). Linux /proc only."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, times = {}, {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(name)] = int(fields[1])
        times[int(name)] = sum(int(x) for x in fields[11:15]) / tick
    me, total = os.getpid(), 0.0
    for pid, t in times.items():
        p = pid
        while p > 1 and p != me:
            p = parent.get(p, 0)
        if p == me:
            total += t
    return total


STAGE_CPU = os.environ.get("AETHER_SPARK_STAGE_CPU") == "1"


def mark():
    return (time.time(), tree_cpu() if STAGE_CPU else 0.0)


def lap(timing, cpu, name, start):
    timing[name] = time.time() - start[0]
    if STAGE_CPU:
        cpu[name] = tree_cpu() - start[1]


def run_job(spark, opts):
    sc = spark.sparkContext
    if opts.aether:
        # Every task runs the binary Spark ships to it, as on a cluster.
        sc.addFile(os.path.abspath(opts.aether))
    elif not os.path.exists(os.path.join(__import__("pyspark").SparkFiles.getRootDirectory(), "aether")):
        raise JobFailure("no aether binary: give --aether PATH or spark-submit --files PATH/aether")
    # Intel files go where the tasks run, as the binary does; Spark names them by file name.
    intel = []
    for path in opts.intel:
        if not os.path.isfile(path):
            raise JobFailure(f"{path}: no such intel file")
        name = os.path.basename(path)
        if name in intel or name == "aether":
            raise JobFailure(f"{path}: another input has the name {name}; give intel files distinct names")
        sc.addFile(os.path.abspath(path))
        intel.append(name)
    if "://" in opts.out and not opts.report:
        raise JobFailure(f"{opts.out}: not a local folder; give --report FILE for the report of the whole")
    report = opts.report or os.path.join(opts.out, "report.html")
    if os.path.lexists(report):
        raise JobFailure(f"{report}: already exists; refusing to replace it")
    import aether_tables as tables

    # The tasks write tables with it: it goes where they run, as the binary does.
    sc.addPyFile(tables.__file__)
    schemas = tables.load_schemas(tables.driver_binary(opts))
    tables.create_output(opts.out)
    opts.created = True  # a job that fails removes what it wrote there (main)
    out = opts.out if "://" in opts.out else os.path.abspath(opts.out)

    files = list_inputs(spark, opts.inputs)
    parts = opts.partitions
    shards = inputs_rdd(sc, files).mapPartitions(shard_task(opts.work, opts.internal, intel, parts, out))
    timing, cpu = {}, {}
    if STAGE_CPU:
        cpu["start-up (session, file listing)"] = tree_cpu()
    clock = mark()
    # Each file's counts and the folder (in the output) where its task left its records.
    metas = [json.loads(m) for m in shards.collect()]
    lap(timing, cpu, "stage 1: shards (decode, flows, events)", clock)
    if len(metas) != len(files):
        raise JobFailure(f"{len(files) - len(metas)} of {len(files)} files gave no records")
    seen = {}
    for m in sorted(metas, key=lambda m: m["index"]):
        if m.get("sha256") and m["sha256"] in seen:
            # aether analyze skips a capture given twice; records cannot be told apart later.
            raise JobFailure(f"{seen[m['sha256']]} and {m['uri']} are the same capture (sha256 {m['sha256']}); give it once")
        seen[m.get("sha256")] = m["uri"]
    dirs = {m["index"]: m["dir"] for m in metas}
    # Time order of the files: a connection cut at a file's end continues in the next file.
    order = sorted((m["first_ns"] if m["first_ns"] is not None else 2**63, m["index"]) for m in metas)
    rank = {index: r for r, (_, index) in enumerate(order)}
    first = {m["index"]: m["first_ns"] for m in metas}
    rank_b = sc.broadcast(rank)

    clock = mark()
    # A cut connection and the next file's fragments of the same 5-tuple (`k`, aether's) make
    # candidate pairs; `aether join-cuts` decides which continue. The cut records are few; the
    # heads are filtered where they are by the keys of the cuts they could continue.
    cuts = [json.loads(line) for index, d in sorted(dirs.items()) for line in tables.read_file(out, f"{d}/cut-{index}.jsonl").splitlines() if line]
    cut_count = len(cuts)
    by_key = {}
    for c in cuts:
        by_key.setdefault((rank[c["f"]], c["k"]), []).append(c)
    keys_b = sc.broadcast(set(by_key))

    def candidates(item):
        index, d = item
        import aether_tables as tables

        for line in tables.read_file(out, f"{d}/heads-{index}").decode().splitlines():
            cols = line.split("\t", 6)
            if (rank_b.value[int(cols[3])] - 1, cols[5]) in keys_b.value:
                yield line

    folders = sorted(dirs.items())
    heads = sc.parallelize(folders, slices(sc, len(folders), 1)).flatMap(candidates).collect() if by_key else []
    work = tempfile.mkdtemp(prefix="aether-join-", dir=opts.work or None)
    try:
        pairs = os.path.join(work, "pairs.jsonl")
        with open(pairs, "w") as f:
            for body in heads:
                cols = body.split("\t", 6)
                head_file = int(cols[3])
                for c in by_key[(rank[head_file] - 1, cols[5])]:
                    f.write('{"cut":' + json.dumps(c) + ',"head":' + cols[6] + ',"start":' + str(first[head_file] or 0) + "}\n")
        joined = run_aether([tables.driver_binary(opts), "join-cuts", "--pairs", pairs], "the cut connections").stdout
    finally:
        shutil.rmtree(work, ignore_errors=True)
    found = {"match": [], "cut": [], "route": []}
    for line in joined.splitlines():
        tag, body = line.split("\t", 1)
        found[tag].append(body)
    routes = [json.loads(line) for line in found["route"]]
    lap(timing, cpu, "joining cut connections", clock)

    # Each partition of hosts reads its event file of every shard; aether detect merges them in
    # time order.
    heads_host = {int(body.split("\t", 6)[4]): body.split("\t", 1)[0] for body in heads}
    movers = {}
    for r in routes:
        own = heads_host.get(r["id"])
        if r["host"] and own is not None and partition_of(own, parts) != partition_of(r["host"], parts):
            movers.setdefault((r["id"] >> 32) - 1, {})[r["id"]] = partition_of(r["host"], parts)
    first_ns = min(v for v in first.values() if v is not None) if any(v is not None for v in first.values()) else 0
    internal_seen = any(m.get("internal_seen") for m in metas)
    order = ",".join(str(index) for _, index in order)
    task = detect_task(
        opts.work, opts.internal, intel, sc.broadcast(found["cut"]), sc.broadcast(found["match"]), first_ns, internal_seen, out, schemas["conn"], order,
        sc.broadcast(dirs), sc.broadcast(movers), parts,
    )
    clock = mark()
    # What the driver needs of detection: each task's conn files, alerts, row count and where its
    # connections are.
    found_by_detect = sc.parallelize(range(parts), parts).mapPartitions(task).collect()
    lap(timing, cpu, "stage 2: detect by host", clock)
    uid_map = {r["uid"]: r["root_uid"] for r in routes}

    clock = mark()
    # Stage 3: each file's dns, tls, http, x509 and files records become Parquet in a task of their
    # own; series rows and DNS halves are merged on the driver.
    written = sc.parallelize(folders, slices(sc, len(folders), 1)).mapPartitions(tables.shard_writer(out, schemas, sc.broadcast(uid_map))).collect()
    moves = [v for k, v in written + found_by_detect if k == "move"]
    # DNS halves (a query or a response alone) are few: `aether join-dns` joins those of one
    # transaction that a file boundary cut, on the driver.
    joined_dns = join_dns(opts, [v for k, v in written if k == "dns-halves"], routes)
    moves += tables.write_dated(out, "driver", "dns", tables.records(joined_dns, schemas["dns"]), "ts", "joined")
    series = tables.merge_series(tables.from_ipc([v for k, v in written if k == "series"], schemas["series"]))
    moves += tables.write_dated(out, "driver", "series", series, "second", "all")
    summary = {"alerts": tables.write_alerts(out, [v for k, v in found_by_detect if k == "alerts"], moves)}
    tables.commit(out, moves, ["conn", "dns", "tls", "http", "x509", "files", "series", "alerts"])
    lap(timing, cpu, "Parquet tables", clock)
    summary["packets"] = sum(m["packets"] for m in metas)
    summary["wire_bytes"] = sum(m["wire_bytes"] for m in metas)
    summary["bytes"] = sum(m["bytes"] for m in metas)
    summary["files"] = len(metas)
    summary["connections"] = sum(v for k, v in found_by_detect if k == "conn_rows")
    summary["cut_connections"] = cut_count
    summary["joined_fragments"] = len(routes)
    summary["moved_fragments"] = sum(len(m) for m in movers.values())
    # What passes from stage 1 to stage 2 (through the output's file system): the event records.
    summary["event_records"] = sum(m["event_records"] for m in metas)
    summary["event_bytes"] = sum(m["event_bytes"] for m in metas)
    clock = mark()

    # The report of the whole reads the accepted attempts' record blocks from the output, in the
    # order of the partitions and files; the conversations (distinct 5-tuples over all files) are
    # counted on the way.
    conversations = set()
    report_blocks = [b for _, b in sorted(v for k, v in found_by_detect if k == "report")]
    report_blocks += [b for k, b in written if k == "report"]
    driver_blobs = [("alerts", v) for k, v in found_by_detect if k == "alerts"] + [("dns", joined_dns)]
    tables.write_report(opts, report, report_blocks, driver_blobs, metas, routes, conversations)
    tables.drop_attempts(out)
    conversations.discard(b"")
    summary["conversations"] = len(conversations)
    lap(timing, cpu, "report of the whole (import, render)", clock)
    summary["seconds"] = {k: round(v, 1) for k, v in timing.items()}
    if STAGE_CPU:
        summary["cpu_seconds"] = {k: round(v, 2) for k, v in cpu.items()}
    return summary


def main(argv=None):
    opts = parse_args(argv if argv is not None else sys.argv[1:])
    spark = session(opts.master)
    try:
        summary = run_job(spark, opts)
    except Exception as e:  # noqa: BLE001 - one line naming the cause, a non-zero exit
        import re

        # Tasks still running write into the output (their attempt folders): they are cancelled
        # and Spark stopped first, or a late one made the folder again after it was removed.
        spark.sparkContext.cancelAllJobs()
        spark.stop()
        if getattr(opts, "created", False):
            import aether_tables as tables

            tables.discard_output(opts.out)
        msg = str(e)
        found = re.search(r"JobFailure: (.+)", msg)
        if found:
            msg = found.group(1)
        sys.stderr.flush()
        # Last, after Spark's own noise: one line naming the cause.
        print(f"aether-spark: {msg.splitlines()[0] if msg else type(e).__name__}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(summary, sort_keys=True))
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
