"""The Spark job's cost per packet beside aether analyze's (scripts/bench-spark.sh).

    bench_spark.py SPARK_PYTHON AETHER [CAPTURE…]

For each capture: `aether analyze` of the whole file, then the job (local[2], 4 partitions) on the
file split into 8 and into 32 files. CPU is `perf stat -e task-clock` over each command's whole
process tree. The job's fixed cost is its CPU on a tiny input (two small fixtures), the lower of
two runs; the cost per million packets is (job CPU - fixed cost) / millions of packets. Prints a
Markdown table and the job's stage times (wall seconds) of each run.
"""

import json
import os
import shutil
import subprocess
import sys

PY, AETHER = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "reports", "bench", "spark")
SHARED = os.environ.get("AETHER_SHARED", os.path.join(ROOT, "..", "shared"))
ENV = dict(os.environ, SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=os.path.abspath(PY), PYSPARK_DRIVER_PYTHON=os.path.abspath(PY))


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


def job(inputs, tag):
    out = os.path.join(WORK, "out-" + tag)
    shutil.rmtree(out, ignore_errors=True)
    scratch = os.path.join(WORK, "scratch")
    os.makedirs(scratch, exist_ok=True)
    seconds, stdout = cpu([PY, "spark/aether_job.py", "--master", "local[2]", "--aether", AETHER, "--partitions", "4", "--out", out, "--work", scratch] + inputs)
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
    fixed = min(job([tiny], "tiny")[0] for _ in range(2))
    rows, stages = [], []
    for cap in caps:
        db = os.path.join(WORK, "whole.sqlite")
        for leftover in (db, db + ".html"):
            if os.path.exists(leftover):
                os.unlink(leftover)
        analyze, _ = cpu([AETHER, "analyze", cap, "--db", db, "--report", db + ".html"])
        packets = json.loads(subprocess.run([AETHER, "stats", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)["packets"]
        os.unlink(db)
        os.unlink(db + ".html")
        m = packets / 1e6
        rows.append((os.path.basename(cap), "aether analyze", analyze, analyze / m, 1.0, ""))
        for n in (8, 32):
            parts = os.path.join(WORK, f"parts-{n}")
            shutil.rmtree(parts, ignore_errors=True)
            os.makedirs(parts)
            subprocess.run(["python3", os.path.join(ROOT, "scripts", "split-pcap.py"), cap, str(n), parts], check=True, capture_output=True)
            seconds, summary = job([parts], f"{n}")
            shutil.rmtree(parts)
            per = (seconds - fixed) / m
            shuffle = f"{summary['event_bytes'] / m / 1e6:.0f} MB, {summary['event_records'] / m / 1e3:.0f} k records"
            rows.append((os.path.basename(cap), f"Spark job, {n} files", seconds, per, per / (analyze / m), shuffle))
            stages.append((os.path.basename(cap), n, summary["seconds"]))
    print(f"fixed cost of the job (tiny input, lower of two runs): {fixed:.1f} CPU-s\n")
    print("| capture | run | CPU-s | CPU-s per million packets (job: fixed cost off) | × analyze | shuffle per million packets |")
    print("| --- | --- | --- | --- | --- | --- |")
    for cap, run, seconds, per, ratio, shuffle in rows:
        print(f"| {cap} | {run} | {seconds:.1f} | {per:.2f} | {ratio:.1f} | {shuffle} |")
    print("\nstage wall seconds:")
    for cap, n, s in stages:
        print(f"- {cap}, {n} files: " + ", ".join(f"{k} {v}" for k, v in s.items()))


if __name__ == "__main__":
    main()
