"""The Spark job against `aether analyze`. Run by scripts/check_spark.sh with the
Spark environment's Python:

    check_spark.py AETHER GENCAP WORK

A gencap capture is split into 8 files; the job runs on local[2] with 4 partitions and with 1,
and on a standalone master with two workers (spark-submit --files aether) with an executor
killed in the middle of the job. Each run must give the
alerts (kind, src, target, time) and the connection, packet and byte totals of `aether analyze`
of the whole file, and DuckDB's counts over its Parquet must equal `aether stats`. Every run
and the analyze it is compared with take the same intel file (`--intel`), naming a responder
address and a DNS name of the capture, so that the intel matches are among the alerts compared.
A capture that aether cannot read must fail the job with that file named, and so must a missing
intel file.
"""

import json
import os
import shutil
import subprocess
import sys
import time

AETHER, GENCAP, WORK = os.path.abspath(sys.argv[1]), sys.argv[2], os.path.abspath(sys.argv[3])
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "browser"))
from livekit import free_port  # noqa: E402  (standard library only)
JOB = os.path.join(HERE, "..", "..", "spark", "aether_job.py")
PY = sys.executable
BIN = os.path.dirname(PY)
ENV = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=PY, PYSPARK_DRIVER_PYTHON=PY)
passed = failed = 0
INTEL = []  # --intel files every job run takes, as analyze did (main)
TRUTH_FILES = []  # the whole files' SHA-256 that analyze found (main)


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"spark ok {name}")
    else:
        failed += 1
        print(f"spark FAIL {name} {detail}")


def split_pcap(path, parts, out_dir):
    p = subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "scripts", "split-pcap.py"), path, str(parts), out_dir], check=True, capture_output=True, text=True)
    files = sorted(os.path.join(out_dir, f) for f in os.listdir(out_dir))
    return files, int(p.stdout.split()[0])


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, env=ENV, **kw)


def alert_key(a):
    target = a.get("dst") or ",".join(sorted(a.get("dsts") or []))
    return (a["kind"], a["src"], target, round(float(a["start"]), 6))


def job(out, master, partitions, inputs, submit=False, env=None, uri=False, bare=False):
    """bare: launched as `make spark` launches it, by the venv's python with no PYSPARK_PYTHON
    set, so the job must find its own workers' Python (with pyarrow)."""
    if submit:
        args = [os.path.join(BIN, "spark-submit"), "--master", master, "--files", AETHER, JOB]
    else:
        args = [PY, JOB, "--master", master, "--aether", AETHER]
    # As a URI, the output is reached through pyarrow's file systems, as hdfs:// or s3:// would
    # be: the tasks copy their records there and back instead of moving them in place.
    args += ["--out", "file://" + out if uri else out, "--partitions", str(partitions), "--work", os.path.join(WORK, "scratch")]
    if uri:
        args += ["--report", os.path.join(out, "report.html")]
    args += [a for path in INTEL for a in ("--intel", path)] + inputs
    t0 = time.time()
    base = {k: v for k, v in ENV.items() if not k.startswith("PYSPARK_")} if bare else ENV
    p = subprocess.run(args, capture_output=True, text=True, env=dict(base, **(env or {})))
    took = time.time() - t0
    summary = None
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            summary = json.loads(line)
    return p, summary, took


def compare(label, out, summary, truth_stats, truth_alerts):
    import duckdb

    check(f"{label}: job finished with a summary", summary is not None)
    if summary is None:
        return
    check(f"{label}: connection total", summary["connections"] == truth_stats["connections"], f"{summary['connections']} != {truth_stats['connections']}")
    check(f"{label}: packet total", summary["packets"] == truth_stats["packets"], f"{summary['packets']} != {truth_stats['packets']}")
    check(f"{label}: byte total", summary["wire_bytes"] == truth_stats["wire_bytes"], f"{summary['wire_bytes']} != {truth_stats['wire_bytes']}")
    check(f"{label}: conversation total", summary["conversations"] == truth_stats["flows"], f"{summary['conversations']} != {truth_stats['flows']}")
    check(f"{label}: some connections were cut at file boundaries and joined", summary["joined_fragments"] > 0, str(summary))
    db = duckdb.connect()
    q = lambda sql: db.execute(sql.replace("T(", f"read_parquet('{out}/").replace(")/", "/**/*.parquet', hive_partitioning=true)")).fetchall()
    alerts = q("SELECT kind, src, dst, dsts, start FROM T(alerts)/")
    got = sorted(alert_key({"kind": k, "src": s, "dst": d, "dsts": ds, "start": st}) for k, s, d, ds, st in alerts)
    want = sorted(alert_key(a) for a in truth_alerts)
    check(f"{label}: the same {len(want)} alerts (kind, src, target, time)", got == want, f"\n got  {sorted(set(got) - set(want))}\n want {sorted(set(want) - set(got))}")
    n_conn = q("SELECT count(*) FROM T(conn)/")[0][0]
    check(f"{label}: DuckDB conn rows = stats connections", n_conn == truth_stats["connections"], f"{n_conn}")
    pk, by = q("SELECT sum(packets), sum(bytes) FROM T(series)/")[0]
    check(f"{label}: DuckDB series packets and bytes = stats", (pk, by) == (truth_stats["packets"], truth_stats["wire_bytes"]), f"{pk} {by}")
    tcp = q("SELECT sum(packets) FROM T(series)/ WHERE proto = 'tcp'")[0][0]
    check(f"{label}: DuckDB tcp packets = stats protocols.tcp", tcp == truth_stats["protocols"]["tcp"], f"{tcp}")
    dq, dr = q("SELECT count(*) FILTER (WHERE query_seen), count(*) FILTER (WHERE response_seen) FROM T(dns)/")[0]
    check(f"{label}: DuckDB dns queries and responses = stats", (dq, dr) == (truth_stats["dns_queries"], truth_stats["dns_responses"]), f"{dq} {dr}")
    sni = sorted(r[0] for r in q("SELECT DISTINCT server_name FROM T(tls)/ WHERE server_name IS NOT NULL"))
    check(f"{label}: DuckDB TLS server names = stats tls_sni", sni == sorted(truth_stats["tls_sni"]), f"{len(sni)}")
    hosts = sorted(r[0] for r in q("SELECT DISTINCT host FROM T(http)/ WHERE host IS NOT NULL"))
    check(f"{label}: DuckDB HTTP hosts = stats http_hosts", hosts == sorted(truth_stats["http_hosts"]), f"{len(hosts)}")
    dates = q("SELECT DISTINCT date FROM T(conn)/")
    check(f"{label}: conn partitioned by date", len(dates) >= 1 and os.path.isdir(os.path.join(out, "conn", f"date={dates[0][0]}")))
    cols = [r[0] for r in q("DESCRIBE SELECT * FROM T(conn)/")]
    check(f"{label}: plain column names", "orig_h" in cols and not any("." in c for c in cols), str(cols))
    # Every table has the tool's schema (`aether schema --json`), field for field, not a copy.
    described = json.loads(subprocess.run([AETHER, "schema", "--json"], capture_output=True, text=True, check=True).stdout)
    for table, source in (("conn", "conn"), ("dns", "dns"), ("tls", "ssl"), ("http", "http"), ("files", "files"), ("series", "series")):
        want = [f["name"].replace("id.", "").replace(".", "_") for f in described[source] if f["name"] != "capture_id"] + ["date"]
        got = [r[0] for r in q(f"DESCRIBE SELECT * FROM T({table})/")]
        check(f"{label}: {table} columns are the schema's", got == want, f"{got} against {want}")
    # Files: each whole one is one analyze found; a transfer that a split between input files
    # cuts is not whole on either side, so at most one per split is missing.
    whole = [r[0] for r in q("SELECT sha256 FROM T(files)/ WHERE sha256 IS NOT NULL")]
    check(f"{label}: every whole file the job found, analyze found", set(whole) <= set(TRUTH_FILES), f"{len(set(whole) - set(TRUTH_FILES))} not")
    check(
        f"{label}: whole files {len(whole)} of analyze's {len(TRUTH_FILES)}, at most one missing per split",
        len(TRUTH_FILES) - summary["files"] + 1 <= len(whole) <= len(TRUTH_FILES), f"{summary['files']} files")
    report = os.path.join(out, "report.html")
    text = open(report).read() if os.path.exists(report) else ""
    kinds = {a["kind"] for a in truth_alerts}
    check(f"{label}: report.html of the whole names every alert kind", len(text) > 10000 and all(k in text for k in kinds), report)
    facts = f"data-stat=\"connections (Zeek model)\">{truth_stats['connections']}<"
    check(f"{label}: report.html counts the whole's connections", facts in text, facts)


def records_rules():
    """The rule that joins fragments cut at file boundaries (`aether join-cuts`, the one place it
    lives), on hand-made pairs."""
    base = {"vl": 0, "sv": 0, "opk": 1, "rpk": 1, "ob": 0, "rb": 0, "oib": 40, "rib": 40, "lf": 0, "ls": 0, "in": 0, "as": 0, "tk": 0,
            "tp": 0, "ic": 0, "lop": 0, "fp": 1, "lp": 1, "fr": 1, "cap": 1}

    def conn(i, oh, op, rh, rp, ts, lt, hi, pr=6, os_=4, rs=4):
        return dict(base, id=i, oh=oh, op=op, rh=rh, rp=rp, pr=pr, ts=ts, lt=lt, hi=hi, os=os_, rs=rs)

    def matches(pairs, start=0):
        text = "".join(json.dumps({"cut": a, "head": b, "start": start}) + "\n" for a, b in pairs)
        p = subprocess.run([AETHER, "join-cuts"], input=text, capture_output=True, text=True)
        if p.returncode != 0:
            return p.stderr.strip()
        return {json.loads(body)["b"]: json.loads(body)["a"] for tag, body in (line.split("\t", 1) for line in p.stdout.splitlines()) if tag == "match"}

    cut = {"f": 0, "to": 100, "c": conn(1, "10.0.0.1", 5000, "10.0.0.2", 80, 0, 50, "ShADF", os_=5)}
    later = {"f": 1, "c": conn(2, "10.0.0.2", 80, "10.0.0.1", 5000, 60, 70, "^dA")}  # the server first: flipped
    check("join-cuts: a flipped fragment within the timeout continues the cut one", matches([(cut, later)]) == {2: 1})
    syn = {"f": 1, "c": conn(3, "10.0.0.1", 5000, "10.0.0.2", 80, 60, 70, "S")}
    check("join-cuts: a fresh SYN after the connection ended is a new connection", matches([(cut, syn)]) == {})
    attempt = {"f": 0, "to": 5, "c": conn(11, "10.0.0.1", 6000, "10.0.0.2", 80, 0, 1, "S", os_=1, rs=0)}
    retry = {"f": 1, "c": conn(12, "10.0.0.1", 6000, "10.0.0.2", 80, 3, 3, "S", os_=1, rs=0)}
    check("join-cuts: a retransmitted SYN goes on with the attempt", matches([(attempt, retry)]) == {12: 11})
    late = {"f": 1, "c": conn(4, "10.0.0.1", 5000, "10.0.0.2", 80, 151, 160, "D")}
    check("join-cuts: past the idle timeout it is a new connection", matches([(cut, late)]) == {})
    first = {"f": 1, "c": conn(6, "10.0.0.1", 5000, "10.0.0.2", 80, 55, 58, "D")}
    check("join-cuts: the earliest fragment continues it", matches([(cut, later), (cut, first)]) == {6: 1})
    udp = {"f": 0, "to": 60, "c": conn(7, "10.0.0.1", 53000, "10.0.0.9", 53, 0, 10, "Dd", pr=17)}
    udp2 = {"f": 1, "c": conn(8, "10.0.0.1", 53000, "10.0.0.9", 53, 20, 21, "D", pr=17)}
    check("join-cuts: UDP continues within its timeout", matches([(udp, udp2)]) == {8: 7})
    deep = {"f": 1, "c": conn(9, "10.0.0.1", 5000, "10.0.0.2", 80, 400 * 10**9, 400 * 10**9 + 5, "D")}
    wide = dict(cut, to=10**12)
    check("join-cuts: a fragment that began past the longest timeout into its file continues nothing", matches([(wide, deep)]) == {})
    text = json.dumps({"cut": cut, "head": later, "start": 0}) + "\n" + json.dumps({"cut": dict(later, f=1, to=100), "head": {"f": 2, "c": conn(13, "10.0.0.2", 80, "10.0.0.1", 5000, 80, 90, "a")}, "start": 0}) + "\n"
    p = subprocess.run([AETHER, "join-cuts"], input=text, capture_output=True, text=True)
    routes = {r["id"]: r for r in (json.loads(line.split("\t", 1)[1]) for line in p.stdout.splitlines() if line.startswith("route"))}
    check("join-cuts: a chain routes to its root's originator", routes.get(13, {}).get("host") == "10.0.0.1", p.stdout + p.stderr)
    bad = subprocess.run([AETHER, "join-cuts"], input='{"cut": {}}\n', capture_output=True, text=True)
    check("join-cuts: a malformed pair is a one-line error naming its line", bad.returncode == 1 and "line 1" in bad.stderr, bad.stderr)


def executor_of(pid):
    """The Spark executor JVM above a process, or None."""
    while pid > 1:
        try:
            cmd = open(f"/proc/{pid}/cmdline", "rb").read()
            if b"CoarseGrainedExecutorBackend" in cmd:
                return pid
            pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None
    return None


def kill_an_executor(done, killed):
    """Waits for a shard task's aether under an executor, then kills that executor (SIGKILL)."""
    import signal

    deadline = time.time() + 180
    while not done.is_set() and time.time() < deadline:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                cmd = open(f"/proc/{name}/cmdline", "rb").read()
            except OSError:
                continue
            if b"\0shard\0--stream" in cmd:
                ex = executor_of(int(name))
                if ex:
                    os.kill(ex, signal.SIGKILL)
                    killed.append(ex)
                    return
        time.sleep(0.1)


def packets(path):
    """(offset, length, (src, sport, dst, dport), TCP flags or None) of each packet of a pcap with
    Ethernet framing; the 5-tuple is None for what is not IPv4 TCP."""
    import struct

    data = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        frame = data[off + 16:off + 16 + incl]
        key, flags = None, None
        if len(frame) >= 54 and frame[12:14] == b"\x08\x00" and frame[23] == 6:
            ihl = (frame[14] & 15) * 4
            tcp = 14 + ihl
            if len(frame) >= tcp + 14:
                key = (frame[26:30], struct.unpack_from(">H", frame, tcp)[0], frame[30:34], struct.unpack_from(">H", frame, tcp + 2)[0])
                flags = frame[tcp + 13]
        out.append((off, 16 + incl, key, flags))
        off += 16 + incl
    return data, out


def responder_first_split(cap, out_dir, parts):
    """Splits the capture in two where the second file opens with a responder's packet of a TCP
    connection that the first file began: that fragment's originator is the responder, so its
    events must move to the partition of the root connection's client (`movers`). Picks a
    connection whose two hosts fall in different partitions. Returns the two files, or None."""
    import ipaddress

    sys.path.insert(0, os.path.join(HERE, "..", "..", "spark"))
    from aether_job import partition_of

    data, pkts = packets(cap)
    first, tried = {}, set()
    for i, (_, _, key, flags) in enumerate(pkts):
        if key is None:
            continue
        conv = frozenset([(key[0], key[1]), (key[2], key[3])])
        if conv not in first:
            first[conv] = (i, key[0])
            continue
        start, client = first[conv]
        # Not a SYN, FIN or RST; well after the connection began, in the middle of the capture;
        # from a port no well-known service has.
        if flags & 0x07 or i - start < 3 or i < len(pkts) // 4 or key[0] == client or key[1] < 1024:
            continue
        a, b = str(ipaddress.ip_address(client)), str(ipaddress.ip_address(key[0]))
        if conv in tried or partition_of(a, parts) == partition_of(b, parts):
            continue
        tried.add(conv)
        files = []
        for n, (lo, hi) in enumerate(((0, i), (i, len(pkts)))):
            path = os.path.join(out_dir, f"half-{n}.pcap")
            with open(path, "wb") as f:
                f.write(data[:24])
                for off, length, _, _ in pkts[lo:hi]:
                    f.write(data[off:off + length])
            files.append(path)
        # The connection table makes a server port's side the responder even mid-stream; only a
        # fragment aether itself takes from the responder's side will do.
        db = os.path.join(out_dir, f"probe-{len(tried)}.sqlite")
        subprocess.run([AETHER, "ingest", files[1], "--db", db], check=True, capture_output=True)
        rows = json.loads(run([AETHER, "flows", "--db", db, "--json"]).stdout)
        if any(r["orig_h"] == b and r["resp_h"] == a and r["orig_p"] == key[1] for r in rows):
            return files
        if len(tried) >= 40:
            break
    return None


def moved_fragment(cap, stats, alerts):
    """A fragment seen first from the responder's side is detected with its root connection."""
    halves = os.path.join(WORK, "halves")
    os.makedirs(halves)
    files = responder_first_split(cap, halves, 4)
    check("the capture splits where a responder's packet opens the second file", files is not None)
    if files is None:
        return
    out = os.path.join(WORK, "out-moved")
    p, summary, _ = job(out, "local[2]", 4, files, bare=True)
    check("split at a responder's packet, launched as make spark does (no PYSPARK_PYTHON): the job exits 0", p.returncode == 0, p.stderr[-2000:])
    check("a fragment's events moved to its root's partition", summary is not None and summary.get("moved_fragments", 0) >= 1, str(summary))
    compare("responder-first split", out, summary, stats, alerts)


def standalone(parts_dir, stats, alerts):
    """A standalone master and two workers from the same wheel, on loopback, each with its own
    work folder: the job as a cluster runs it, with one executor killed mid-job."""
    import threading
    import urllib.request

    mport, mui = free_port(), free_port()
    procs = [subprocess.Popen(
        [os.path.join(BIN, "spark-class"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(mport), "--webui-port", str(mui)],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    for w in range(2):
        procs.append(subprocess.Popen(
            [os.path.join(BIN, "spark-class"), "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{mport}", "--host", "127.0.0.1",
             "--port", str(free_port()), "--webui-port", str(free_port()), "--cores", "1", "--memory", "1g",
             "--work-dir", os.path.join(WORK, f"worker{w}")],
            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        # Ready when the master lists both workers as alive (its JSON status page, on loopback).
        deadline = time.time() + 90
        alive = 0
        while time.time() < deadline and alive < 2:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{mui}/json/", timeout=2) as r:
                    alive = sum(w.get("state") == "ALIVE" for w in json.load(r).get("workers", []))
            except OSError:
                pass
            time.sleep(0.5)
        check("standalone master lists two workers", alive == 2, f"{alive}")
        inputs = [os.path.join(parts_dir, f) for f in sorted(os.listdir(parts_dir))]
        # The job as a cluster runs it (spark-submit --files aether), with an executor lost
        # mid-job: Spark runs its tasks again elsewhere (retries allowed here), and the accepted
        # attempts' files alone make the tables. (One run: CI's time is bounded.)
        done, killed = threading.Event(), []
        killer = threading.Thread(target=kill_an_executor, args=(done, killed))
        killer.start()
        out = os.path.join(WORK, "out-killed")
        p, summary, took = job(out, f"spark://127.0.0.1:{mport}", 4, inputs, submit=True, env={"AETHER_SPARK_MAX_FAILURES": "4"})
        done.set()
        killer.join()
        print(f"     standalone, one executor killed mid-job: {took:.1f} s")
        check("an executor was killed while a shard task ran", len(killed) == 1, str(killed))
        check("standalone master and two workers (spark-submit --files aether), an executor killed: exits 0", p.returncode == 0, p.stderr[-3000:])
        compare("executor killed", out, summary, stats, alerts)
        leftovers = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if "_attempts" in d]
        check("executor killed: no attempt's files are left in the output", not leftovers, str(leftovers[:3]))
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    records_rules()
    cap = os.path.join(WORK, "whole.pcap")
    subprocess.run([sys.executable, GENCAP, "--out", cap, "--packets", "60000", "--seed", "14", "--quiet"], check=True)
    parts_dir = os.path.join(WORK, "parts")
    os.makedirs(parts_dir)
    files, total = split_pcap(cap, 8, parts_dir)
    check("the capture is split into 8 files", len(files) == 8 and total > 50000, f"{total}")
    # Indicators the capture holds, from a first analyze: the busiest outside responder and the
    # most asked DNS name. The truth is an analyze with that intel file.
    plain = os.path.join(WORK, "plain.sqlite")
    subprocess.run([AETHER, "ingest", cap, "--db", plain], check=True, capture_output=True)
    import sqlite3

    s = sqlite3.connect(f"file:{plain}?mode=ro", uri=True)
    addr = s.execute("SELECT resp_h FROM flow WHERE resp_h NOT LIKE '10.%' AND resp_h NOT LIKE '%:%' GROUP BY resp_h ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    name = s.execute("SELECT qname FROM dns WHERE qname <> '' GROUP BY qname ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    s.close()
    intel = os.path.join(WORK, "case.intel")
    with open(intel, "w") as f:
        f.write(f"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n{addr}\tIntel::ADDR\tcase\tresponder\n{name}\tIntel::DOMAIN\tcase\tname\n")
    INTEL.append(intel)
    db = os.path.join(WORK, "whole.sqlite")
    subprocess.run([AETHER, "analyze", cap, "--db", db, "--report", os.path.join(WORK, "whole.html"), "--intel", intel], check=True, capture_output=True)
    stats = json.loads(run([AETHER, "stats", "--db", db, "--json"]).stdout)
    alerts = json.loads(run([AETHER, "alerts", "--db", db, "--json"]).stdout)
    check("analyze of the whole file finds alerts to compare", len(alerts) >= 10, f"{len(alerts)}")
    TRUTH_FILES.extend(r["sha256"] for r in json.loads(run([AETHER, "query", "--db", db, "--json", "SELECT sha256 FROM file WHERE sha256 != ''"]).stdout))
    check("analyze of the whole file finds files to compare", len(TRUTH_FILES) >= 10, f"{len(TRUTH_FILES)}")
    seen = {a.get("evidence", {}).get("indicator") for a in alerts if a["kind"] == "intel_match"}
    check("among them intel matches of both indicators", seen == {addr, name}, f"{seen} (wanted {addr}, {name})")

    for parts in (4, 1):
        out = os.path.join(WORK, f"out-local-{parts}")
        # With 1 partition the files come through Hadoop (sc.binaryFiles), as hdfs:// or s3a:// would.
        p, summary, took = job(out, "local[2]", parts, [parts_dir], env={"AETHER_SPARK_FETCH": "1"} if parts == 1 else None, uri=parts == 1)
        print(f"     local[2], {parts} partition(s){', files read through Hadoop, output as a URI' if parts == 1 else ''}: {took:.1f} s")
        check(f"local[2] with {parts} partition(s) exits 0", p.returncode == 0, p.stderr[-2000:])
        compare(f"local[2]/{parts}", out, summary, stats, alerts)

    moved_fragment(cap, stats, alerts)
    standalone(parts_dir, stats, alerts)

    # A file aether cannot read fails the job, with the file named.
    bad = os.path.join(WORK, "bad")
    os.makedirs(bad)
    shutil.copy(files[0], os.path.join(bad, "part-0.pcap"))
    with open(os.path.join(bad, "broken.pcap"), "wb") as f:
        f.write(b"\x00\x01\x02\x03 this is not a capture" * 10)
    p, summary, _ = job(os.path.join(WORK, "out-bad"), "local[2]", 2, [bad])
    last = ([l for l in p.stderr.splitlines() if l.startswith("aether-spark:")] or [""])[-1]
    check("a capture aether cannot read fails the job (non-zero exit, no summary)", p.returncode != 0 and summary is None, f"rc={p.returncode}")
    check("the failure names the file", "broken.pcap" in last and last.startswith("aether-spark:"), last)
    check("no partial output is left as a result (the job removes the folder it made)", not os.path.exists(os.path.join(WORK, "out-bad")))

    # A missing intel file fails the job at once, named, before any output is made.
    INTEL.append(os.path.join(WORK, "no-such.intel"))
    p, summary, _ = job(os.path.join(WORK, "out-nointel"), "local[2]", 2, files[:1])
    last = ([l for l in p.stderr.splitlines() if l.startswith("aether-spark:")] or [""])[-1]
    check("a missing intel file fails the job, named", p.returncode != 0 and "no-such.intel" in last, last)
    check("and leaves no output", not os.path.exists(os.path.join(WORK, "out-nointel")))
    print(f"spark: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
