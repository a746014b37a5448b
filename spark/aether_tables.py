"""The job's output: Parquet tables with plain column names, partitioned by date, and the report.

The tasks write the tables themselves with Arrow (pyarrow's C++ JSON reader and Parquet writer),
from the records aether gives them as blocks of JSON Lines: no row passes through Python or the
JVM one at a time. A task writes into a folder of its own attempt; the driver moves the files of
the attempts Spark accepted into place, so a retried task leaves no second copy.
"""

import json
import os
import posixpath
import shutil
import subprocess
import tempfile

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.json as pj
import pyarrow.parquet as pq

# Arrow types as `aether schema --json` names them.
ARROW = {"string": pa.string(), "int64": pa.int64(), "double": pa.float64(), "bool": pa.bool_(), "list<string>": pa.list_(pa.string())}
# Fields that mean something only inside one store: each shard numbers its own captures.
STORE_LOCAL = {"capture_id"}
# Where each table's records come from: the shards (dns, ssl, http, x509, files, series) or detection.
SOURCES = {"conn": "conn", "dns": "dns", "tls": "ssl", "http": "http", "x509": "x509", "files": "files", "series": "series"}
# Tables the shard tasks write; series rows and DNS halves (dns-halves) go to the driver.
SHARD_TABLES = {"dns": "dns", "tls": "ssl", "http": "http", "x509": "x509", "files": "files"}
ATTEMPTS = "_attempts"


def load_schemas(aether):
    """Each output table's fields (JSON name, Arrow type name), from the tool's own record schemas
    (`aether schema --json`): the job keeps no column list of its own, so a field added there
    arrives here."""
    p = subprocess.run([aether, "schema", "--json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError("JobFailure: aether schema: " + (p.stderr.strip().splitlines() or ["failed"])[-1])
    described = json.loads(p.stdout)
    return {table: [(f["name"], f["arrow_type"]) for f in described[source] if f["name"] not in STORE_LOCAL] for table, source in SOURCES.items()}


def driver_binary(opts):
    return os.path.abspath(opts.aether) if opts.aether else _shipped()


def plain(name):
    return name.replace("id.", "").replace(".", "_")


def records(blob, fields):
    """A block of JSON Lines as an Arrow table of the schema's fields, with plain names."""
    schema = pa.schema([pa.field(n, ARROW[t]) for n, t in fields])
    if not blob.strip():
        t = schema.empty_table()
    else:
        t = pj.read_json(
            pa.BufferReader(blob),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(1 << 20, len(blob) + 1)),
            parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"),
        ).select(schema.names)
    return t.rename_columns([plain(n) for n in schema.names])


def output(uri):
    """The output's file system and root path (local folders, and what pyarrow's file systems
    reach: hdfs://, s3://, gs://)."""
    if "://" not in uri:
        uri = os.path.abspath(uri)
    return pafs.FileSystem.from_uri(uri)


def create_output(uri):
    fs, root = output(uri)
    if fs.get_file_info(root).type != pafs.FileType.NotFound:
        raise RuntimeError(f"JobFailure: {uri}: already exists; the job writes a new folder")
    if isinstance(fs, pafs.LocalFileSystem):
        os.mkdir(root)  # exclusive: a folder or link that appeared meanwhile is not written into
    else:
        fs.create_dir(root)


def discard_output(uri):
    """A failed job's output folder, which it created, goes: no half-written tables are left to be
    taken for a result."""
    try:
        fs, root = output(uri)
        fs.delete_dir(root)
    except (OSError, pa.ArrowException):
        pass


def days(seconds):
    """UTC date of each time in seconds, as Spark's to_date(from_unixtime(…)) gives it."""
    d = pc.floor(pc.divide(pc.cast(seconds, pa.float64()), 86400.0))
    return pc.cast(pc.cast(d, pa.int32()), pa.date32())


def write_dated(out, attempt, table, t, time_col, tag):
    """Writes t under the attempt's folder, one file per date; returns (written, final) paths
    relative to the output root for the driver's commit."""
    fs, root = output(out)
    if t.num_rows == 0:
        return []
    d = days(t[time_col])
    dates = pc.unique(d).to_pylist()
    moves = []
    for day in dates:
        part = t if len(dates) == 1 else t.filter(pc.equal(d, pa.scalar(day, pa.date32())))
        final = f"{table}/date={day.isoformat()}/part-{tag}.parquet"
        written = f"{ATTEMPTS}/{attempt}/{final}"
        fs.create_dir(posixpath.dirname(posixpath.join(root, written)), recursive=True)
        pq.write_table(part, posixpath.join(root, written), filesystem=fs)
        moves.append((written, final, part.num_rows))
    return moves


def commit(out, moves, tables):
    """The driver moves the accepted attempts' files into place (`drop_attempts` then removes the
    rest, once the report has read its blocks)."""
    fs, root = output(out)
    for written, final, _ in moves:
        fs.create_dir(posixpath.dirname(posixpath.join(root, final)), recursive=True)
        fs.move(posixpath.join(root, written), posixpath.join(root, final))
    for table in tables:
        fs.create_dir(posixpath.join(root, table), recursive=True)
        with fs.open_output_stream(posixpath.join(root, table, "_SUCCESS")):
            pass


def drop_attempts(out):
    fs, root = output(out)
    if fs.get_file_info(posixpath.join(root, ATTEMPTS)).type != pafs.FileType.NotFound:
        fs.delete_dir(posixpath.join(root, ATTEMPTS))


def publish(out, local_dir, rel_dir):
    """A task's record files, written by aether into a local scratch folder, go to the attempt's
    folder in the output (`rel_dir`), where the next stages read them by path: the records cross
    from stage to stage as files, never through Spark. A local output (a shared mount) takes them
    by rename where it can; any other file system by a bulk copy."""
    fs, root = output(out)
    names = sorted(os.listdir(local_dir))
    if isinstance(fs, pafs.LocalFileSystem) and "://" not in out:
        # The output folder the driver made, never made again: a failed job removes it, and a
        # task still running then must not bring it back.
        if not os.path.isdir(root):
            raise OSError(f"the output folder {root} is gone (the job failed)")
        target = posixpath.join(root, rel_dir)
        os.makedirs(target)
        for name in names:
            shutil.move(os.path.join(local_dir, name), os.path.join(target, name))
        return
    fs.create_dir(posixpath.join(root, rel_dir), recursive=True)
    for name in names:
        with open(os.path.join(local_dir, name), "rb") as src, fs.open_output_stream(posixpath.join(root, rel_dir, name)) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)


def local_file(out, rel_path, scratch):
    """A file of the output as a local path aether can read: itself in a local output, else a
    copy in `scratch`. None when it is missing or empty."""
    fs, root = output(out)
    path = posixpath.join(root, rel_path)
    if isinstance(fs, pafs.LocalFileSystem) and "://" not in out:
        return path if os.path.exists(path) and os.path.getsize(path) > 0 else None
    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound or info.size == 0:
        return None
    copy = os.path.join(scratch, rel_path.replace("/", "_"))
    with fs.open_input_stream(path) as src, open(copy, "xb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return copy


def read_file(out, rel_path):
    """A file of the output, whole (b"" when it is missing)."""
    fs, root = output(out)
    path = posixpath.join(root, rel_path)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return b""
    with fs.open_input_stream(path) as f:
        return f.read()


def attempt_name(kind):
    from pyspark import TaskContext

    ctx = TaskContext.get()
    return f"{kind}-{ctx.stageId()}-{ctx.partitionId()}-{ctx.taskAttemptId()}" if ctx else kind


def remap_uids(t, old, new):
    """A dns/ssl/http/x509/files row of a fragment that continues another belongs to the root's uid."""
    if old is None or t.num_rows == 0:
        return t
    mapped = pc.take(new, pc.index_in(t["uid"], value_set=old))
    return t.set_column(t.schema.get_field_index("uid"), "uid", pc.coalesce(mapped, t["uid"]))


def ipc(t):
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return sink.getvalue().to_pybytes()


def from_ipc(blobs, fields):
    tables = [pa.ipc.open_stream(b).read_all() for b in blobs]
    return pa.concat_tables(tables) if tables else records(b"", fields)


# What each shard leaves in its folder, beside its event files: TABLE-INDEX.jsonl.
SHARD_FILES = ("dns", "dns-halves", "ssl", "http", "x509", "files", "series", "conversations")


def shard_writer(out, schemas, uid_map_b):
    """Stage 3 over the shards' folders, (index, folder) items: each task writes its files' dns,
    tls, http, x509 and files tables, and hands the driver its series rows to be added up, its DNS
    halves (a query or a response alone) for `aether join-dns`, and where the report of the
    whole finds each file's records (the shard's own files, read in place)."""

    def run(items):
        uid_map = uid_map_b.value
        old = pa.array(list(uid_map), pa.string()) if uid_map else None
        new = pa.array(list(uid_map.values()), pa.string()) if uid_map else None
        attempt = attempt_name("tables")
        for index, folder in items:
            for source in SHARD_FILES:
                path = f"{folder}/{source}-{index}.jsonl"
                if source == "dns-halves":
                    yield ("dns-halves", read_file(out, path))
                    continue
                yield ("report", (source, path))
                if source == "conversations":
                    continue
                blob = read_file(out, path)
                if source == "series":
                    yield ("series", ipc(records(blob, schemas["series"])))
                    continue
                table = next(k for k, v in SHARD_TABLES.items() if v == source)
                t = remap_uids(records(blob, schemas[table]), old, new)
                for move in write_dated(out, attempt, table, t, "ts", f"f{index}"):
                    yield ("move", move)

    return run


def merge_series(t):
    """A second that two files share comes from both shards: its counts add up."""
    if t.num_rows == 0:
        return t
    g = t.group_by(["second", "proto"]).aggregate([("packets", "sum"), ("bytes", "sum")])
    return g.rename_columns(["second", "proto", "packets", "bytes"]).select(t.column_names)


ALERT_SCHEMA = pa.schema(
    [
        ("kind", pa.string()), ("severity", pa.string()), ("src", pa.string()), ("dst", pa.string()), ("dsts", pa.list_(pa.string())),
        ("dst_count", pa.int64()), ("ports", pa.list_(pa.int64())), ("proto", pa.string()), ("start", pa.float64()), ("end", pa.float64()),
        ("flows", pa.int64()), ("technique", pa.string()), ("why", pa.string()), ("evidence", pa.string()), ("uids", pa.list_(pa.string())),
    ]
)


def alert_row(a):
    return {
        "kind": a["kind"], "severity": a["severity"], "src": a["src"], "dst": a.get("dst"), "dsts": a.get("dsts"),
        "dst_count": a.get("dst_count", 1 if a.get("dst") else None), "ports": a.get("ports", []), "proto": a.get("proto"),
        "start": a["start"], "end": a["end"], "flows": a.get("flows", 0), "technique": a.get("technique"),
        "why": json.dumps(a.get("why", {})), "evidence": json.dumps(a.get("evidence", {})), "uids": a.get("uids", []),
    }


def write_alerts(out, alert_blobs, moves):
    """The alerts, few, written on the driver in time order; adds their files to `moves`."""
    alerts = [alert_row(json.loads(line)) for blob in alert_blobs for line in blob.splitlines() if line]
    alerts.sort(key=lambda a: (a["start"], a["kind"], a["src"]))
    moves += write_dated(out, "driver", "alerts", pa.Table.from_pylist(alerts, schema=ALERT_SCHEMA), "start", "all")
    return len(alerts)


def write_routes(path, routes):
    """Each joined fragment's uid and its root connection's (what `aether join-cuts` routed), for
    `aether import` and `aether join-dns`."""
    with open(path, "w") as f:
        for r in routes:
            f.write(json.dumps({"uid": r["uid"], "root_uid": r["root_uid"]}) + "\n")


def write_report(opts, report, blocks, blobs, metas, routes, conversations):
    """One report of the whole, from the report code aether has: the records are imported into
    a new store (aether import, which also follows the joined fragments' routes to their root
    connections) and `aether report` renders it. `blocks` are (table, path) of the accepted
    attempts' record blocks in the output (`report_block`), read in bulk; `blobs` yields the
    driver's own (table, bytes). The distinct lines of the conversations blocks are added to the
    set `conversations` on the way."""
    fs, root = output(opts.out)

    def from_output():
        for table, path in blocks:
            with fs.open_input_stream(posixpath.join(root, path)) as f:
                blob = f.read()
            if table == "conversations":
                conversations.update(blob.split(b"\n"))
            yield table, blob

    import itertools

    blobs = itertools.chain(from_output(), blobs)
    aether = driver_binary(opts)
    work = tempfile.mkdtemp(prefix="aether-report-", dir=opts.work or None)
    try:
        rec = os.path.join(work, "records")
        os.makedirs(rec)
        with open(os.path.join(rec, "shards.jsonl"), "w") as f:
            for m in sorted(metas, key=lambda m: m["index"]):
                f.write(json.dumps(m) + "\n")
        write_routes(os.path.join(rec, "routes.jsonl"), routes)
        files = {}
        try:
            for table, blob in blobs:
                if table not in files:
                    files[table] = open(os.path.join(rec, table + ".jsonl"), "wb")
                files[table].write(blob)
                if blob and not blob.endswith(b"\n"):
                    files[table].write(b"\n")
        finally:
            for f in files.values():
                f.close()
        for name in ("conn", "alerts", "series"):
            open(os.path.join(rec, name + ".jsonl"), "ab").close()
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
