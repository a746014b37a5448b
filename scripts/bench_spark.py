"""The Spark job's cost per packet beside aether analyze's (scripts/bench-spark.sh).

    bench_spark.py SPARK_PYTHON AETHER [CAPTURE…]

For each capture: `aether analyze` of the whole file, then the job (local[2], 4 partitions) on the
file split into 8 and into 32 files. With AETHER_BENCH_BEFORE=JOB_DIR:AETHER (an older
checkout's spark/ folder and its binary), each job also runs as it was, alternating. CPU is `perf stat -e task-clock` over each command's whole
process tree. The job's fixed cost is its CPU on a tiny input (two small fixtures), the median of
as many runs; each job runs AETHER_BENCH_ROUNDS times (default 3) and its median counts. The cost
per million packets is (job CPU - fixed cost) / millions of packets. Prints a
Markdown table and the job's stage times (wall seconds) of each run.
"""

import json
import os
import statistics
import shutil
import subprocess
import sys

PY, AETHER = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "reports", "bench", "spark")
SHARED = os.environ.get("AETHER_SHARED", os.path.join(ROOT, "..", "shared"))
# The job reports each stage's CPU over its process tree (AETHER_SPARK_STAGE_CPU).
ENV = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=os.path.abspath(PY), PYSPARK_DRIVER_PYTHON=os.path.abspath(PY),
           AETHER_SPARK_STAGE_CPU="1")


def cpu(args, out=None):
    """CPU-seconds of a command's process tree, and its standard output."""
    stat = os.path.join(WORK, "perf.txt")
    p = subprocess.run(["perf", "stat", "-x,", "-e", "task-clock", "-o", stat, "--"] + args, capture_output=True, text=True, env=ENV, cwd=ROOT)
    if p.returncode != 0:
        sys.exit(f"bench-spark: {args[0]} failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
    for line in open(stat):
        if "task-clock" in line:
            return float(line.split(",")[0]) / 1000, p.stdout
    sys.exit("bench-spark: perf gave no task-clock")


ROUNDS = int(os.environ.get("AETHER_BENCH_ROUNDS", "3"))
BUILDS = [("after", os.path.join(ROOT, "spark"), AETHER)]
if os.environ.get("AETHER_BENCH_BEFORE"):
    before_dir, before_bin = os.environ["AETHER_BENCH_BEFORE"].split(":", 1)
    BUILDS.insert(0, ("before", os.path.abspath(before_dir), os.path.abspath(before_bin)))


def job(inputs, tag, build=None):
    _, job_dir, aether = build or BUILDS[-1]
    out = os.path.join(WORK, "out-" + tag)
    shutil.rmtree(out, ignore_errors=True)
    scratch = os.path.join(WORK, "scratch")
    os.makedirs(scratch, exist_ok=True)
    seconds, stdout = cpu([PY, os.path.join(job_dir, "aether_job.py"), "--master", "local[2]", "--aether", aether, "--partitions", "4", "--out", out, "--work", scratch] + inputs)
    summary = json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])
    shutil.rmtree(out, ignore_errors=True)
    return seconds, summary


def capture(path):
    if not os.path.exists(path):
        packets = int(os.path.basename(path).split("-")[1])
        subprocess.run(["python3", os.path.join(SHARED, "bench", "gencap.py"), "--out", path, "--packets", str(packets), "--seed", "5", "--quiet"], check=True)
    return path


def main():
    os.makedirs(WORK, exist_ok=True)
    caps = sys.argv[3:] or [capture(os.path.join(ROOT, "reports", "bench", f"gencap-{n}-s5.pcap")) for n in (2000000, 8000000)]
    tiny = os.path.join(WORK, "tiny")
    shutil.rmtree(tiny, ignore_errors=True)
    os.makedirs(tiny)
    for f in ("demo.pcapng", "markup.pcap"):
        shutil.copy(os.path.join(ROOT, "Fixtures", f), tiny)
    # Each job runs ROUNDS times (alternating builds) and its median counts: the JVM's start-up
    # alone varies by about 1 CPU-s from run to run, half a CPU-second per million packets on
    # the 2 M file. The fixed cost is the median of as many tiny runs.
    fixed = {b[0]: statistics.median(job([tiny], "tiny", b)[0] for _ in range(max(2, ROUNDS))) for b in BUILDS}
    rows, stages = [], []
    for cap in caps:
        db = os.path.join(WORK, "whole.sqlite")
        # In the page cache, as the split files the job reads are: a cold read of a large file
        # would count the disk's waits and faults against analyze.
        subprocess.run(["cat", cap], stdout=subprocess.DEVNULL, check=True)

        def analyze_once():
            for leftover in (db, db + "-wal", db + "-shm", db + ".html"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
            return cpu([AETHER, "analyze", cap, "--db", db, "--report", db + ".html"])[0]

        analyze = statistics.median(analyze_once() for _ in range(ROUNDS))
        packets = json.loads(subprocess.run([AETHER, "stats", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)["packets"]
        for done in (db, db + "-wal", db + "-shm", db + ".html"):
            if os.path.exists(done):
                os.unlink(done)
        m = packets / 1e6
        rows.append((os.path.basename(cap), "aether analyze", analyze, analyze / m, 1.0, ""))
        for n in (8, 32):
            parts = os.path.join(WORK, f"parts-{n}")
            shutil.rmtree(parts, ignore_errors=True)
            os.makedirs(parts)
            subprocess.run(["python3", os.path.join(ROOT, "scripts", "split-pcap.py"), cap, str(n), parts], check=True, capture_output=True)
            runs = {b[0]: [] for b in BUILDS}
            for _ in range(ROUNDS):
                for build in BUILDS:
                    runs[build[0]].append(job([parts], f"{n}", build))
            for build in BUILDS:
                seconds, summary = sorted(runs[build[0]], key=lambda r: r[0])[len(runs[build[0]]) // 2]
                per = (seconds - fixed[build[0]]) / m
                shuffle = f"{summary['event_bytes'] / m / 1e6:.0f} MB, {summary['event_records'] / m / 1e3:.0f} k records"
                name = f"Spark job, {n} files" + (f" ({build[0]})" if len(BUILDS) > 1 else "")
                rows.append((os.path.basename(cap), name, seconds, per, per / (analyze / m), shuffle))
                stages.append((os.path.basename(cap), name, summary["seconds"], summary.get("cpu_seconds"), m))
            shutil.rmtree(parts)
    for name, f in fixed.items():
        print(f"fixed cost of the job{'' if len(BUILDS) == 1 else ' (' + name + ')'} (tiny input, median of {max(2, ROUNDS)} runs): {f:.1f} CPU-s")
    print()
    print("| capture | run | CPU-s | CPU-s per million packets (job: fixed cost off) | × analyze | shuffle per million packets |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cap, run, seconds, per, ratio, shuffle in rows:
        print(f"| {cap} | {run} | {seconds:.1f} | {per:.2f} | {ratio:.1f} | {shuffle} |")
    print("\nstage wall seconds:")
    for cap, name, s, _, _ in stages:
        print(f"- {cap}, {name}: " + ", ".join(f"{k} {v}" for k, v in s.items()))
    rows = [(cap, name, c, m) for cap, name, _, c, m in stages if c]
    if rows:
        print("\nCPU-seconds per million packets by stage (the job's process tree; start-up is a fixed cost):\n")
        # Every stage any run named (a stage renamed between the builds compared gets a column of
        # its own).
        names = list(dict.fromkeys(k for _, _, c, _ in rows for k in c))
        print("| run | " + " | ".join(names) + " |")
        print("| --- |" + " --- |" * len(names))
        for cap, name, c, m in rows:
            print(f"| {cap}, {name} | " + " | ".join(f"{c.get(k, 0) / m:.2f}" for k in names) + " |")


if __name__ == "__main__":
    main()
