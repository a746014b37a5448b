#!/usr/bin/env python3
"""make bench: AetherLens beside tcpdump, nfpcapd and `openssl dgst -sha256` on the same gencap
captures (2 M and 8 M packets), in one run. Tools run in interleaved rounds (every tool once per
round, BENCH_RUNS rounds) and the median is shown: wall time, CPU time (user + system), peak RSS
and the share of tcpdump's rate. The figures are compared with reports/bench-baseline.json (committed)
and a loss of more than 10 % of tcpdump's rate is flagged as a regression. Prints a table and writes
it to reports/bench.md. Timings are taken with the files in page cache."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("AETHER_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
# AETHER_BIN: another build (an older one for a before/after table; without --threads it runs once).
AETHER = os.environ.get("AETHER_BIN", os.path.join(ROOT, ".build/release/aether"))
WORK = os.path.join(ROOT, "reports/bench")
PACKETS = int(os.environ.get("BENCH_PACKETS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def timed(cmd, cpu=False):
    """Wall seconds and peak RSS (kB) of one command; with `cpu`, also its CPU seconds."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    if cpu:
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", r.stderr).group(1))
        system = float(re.search(r"System time \(seconds\): ([\d.]+)", r.stderr).group(1))
        return wall, rss, user + system
    return wall, rss


def interleaved(runs, rounds):
    """Each (name, cmd, before) once per round, in turn; the median wall and CPU time and the
    largest peak RSS of each."""
    got = {name: [] for name, _, _ in runs}
    for _ in range(rounds):
        for name, cmd, before in runs:
            if before:
                before()
            got[name].append(timed(cmd, cpu=True))
    out = {}
    for name, _, _ in runs:
        r = got[name]
        out[name] = {"wall": statistics.median(x[0] for x in r), "cpu": statistics.median(x[2] for x in r),
                     "rss_mb": max(x[1] for x in r) / 1024, "walls": [round(x[0], 2) for x in r]}
    return out


def capture(packets, seed):
    path = os.path.join(WORK, f"gencap-{packets}-s{seed}.pcap")
    if not os.path.exists(path):
        print(f"generating {path} …", flush=True)
        subprocess.run(["python3", os.path.join(SHARED, "bench/gencap.py"), "--out", path, "--packets", str(packets),
                        "--seed", str(seed), "--quiet"], check=True)
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)  # page cache
    return path, json.load(open(path + ".truth.json"))["packets"]


def ingest_table(cap, n):
    """The ingest comparison on one capture: tcpdump, nfpcapd, the digest alone, aether with one
    thread and with the default (the machine's cores)."""
    db = os.path.join(WORK, "ab.sqlite")

    def fresh():
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    runs = [("tcpdump -r F -w /dev/null", ["tcpdump", "-r", cap, "-w", "/dev/null"], None)]
    nfpcapd = shutil.which("nfpcapd") or ("/usr/bin/nfpcapd" if os.path.exists("/usr/bin/nfpcapd") else None)
    if nfpcapd:
        nfdir = os.path.join(WORK, "nfpcapd")

        def nf_fresh():
            shutil.rmtree(nfdir, ignore_errors=True)
            os.makedirs(nfdir)
        runs.append(("nfpcapd -r F -w DIR (C flow meter, no digest)", [nfpcapd, "-r", cap, "-w", nfdir], nf_fresh))
    runs.append(("openssl dgst -sha256 F (the digest alone)", ["openssl", "dgst", "-sha256", cap], None))
    threads = "--threads" in subprocess.run([AETHER, "ingest", "--help"], capture_output=True, text=True).stdout
    if threads:
        runs.append(("aether ingest --threads 1", [AETHER, "ingest", cap, "--db", db, "--threads", "1"], fresh))
    runs.append((DEFAULT, [AETHER, "ingest", cap, "--db", db], fresh))
    # The decoder's own speed, without the file digests the mix's clear bodies cost (1.9 CPU-s
    # of the 2 M file's): the row that watches everything else for regressions.
    if "--file-hashes" in subprocess.run([AETHER, "ingest", "--help"], capture_output=True, text=True).stdout:
        runs.append((NO_HASHES, [AETHER, "ingest", cap, "--db", db, "--file-hashes", "none"], fresh))
    res = interleaved(runs, RUNS)
    fresh()
    return res


def best(cmd, before=None):
    results = []
    for _ in range(RUNS):
        if before:
            before()
        results.append(timed(cmd))
    return min(r[0] for r in results), max(r[1] for r in results)


def write_probe_capture(path, probes=1_000_000):
    """The detectors' worst case: one source SYN-probes 1 M distinct (host, port) pairs
    (1000 hosts x 1000 ports) over 100 s, nothing answers."""
    import struct
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        src = bytes([10, 9, 9, 9])
        for i in range(probes):
            host, port = divmod(i, 1000)
            dst = bytes([10, 100, host >> 8, host & 0xFF])
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0, 64, 6, 0, src, dst)
            tcp = struct.pack("!HHIIBBHHH", 40000 + (i % 20000), port + 1, i, 0, 0x50, 0x02, 1024, 0, 0)
            frame = eth + ip + tcp
            ts = 1_700_000_000_000_000 + i * 100
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)) + frame)


BASELINE = os.path.join(ROOT, "reports/bench-baseline.json")
DEFAULT = f"aether ingest (default: --threads {os.cpu_count()})"
NO_HASHES = "aether ingest --file-hashes none"


def table_lines(title, res, n, tcpdump_t):
    lines = [f"**{title}**", "",
             "| run | wall (s) | CPU (s) | packets/s | share of tcpdump's rate | peak RSS (MB) |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in res.items():
        lines.append(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {n / r['wall'] / 1e6:.2f} M | "
                     f"{tcpdump_t / r['wall'] * 100:.0f} % | {r['rss_mb']:.0f} |")
    return lines + [""]


def main():
    os.makedirs(WORK, exist_ok=True)
    cap, n = capture(PACKETS, 5)
    big = int(os.environ.get("BENCH_LARGE_PACKETS", "8000000"))
    tables = [(cap, n, ingest_table(cap, n))]
    if big > 0:
        bcap, bn = capture(big, 5)
        tables.append((bcap, bn, ingest_table(bcap, bn)))
        subprocess.run(["cat", cap], stdout=subprocess.DEVNULL, check=True)

    lines = [f"# make bench — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", "",
             f"gencap seed 5, files in page cache; {RUNS} interleaved rounds, median; {os.cpu_count()} cores. "
             "CPU is user + system time of the process and all its threads.", ""]
    flags = []
    baseline = json.load(open(BASELINE)) if os.path.exists(BASELINE) else {}
    shares = {}
    default = DEFAULT
    for c, k, res in tables:
        tcpdump_t = res["tcpdump -r F -w /dev/null"]["wall"]
        lines += table_lines(f"`{os.path.relpath(c, ROOT)}`: {k:,} packets, {os.path.getsize(c) / 1e9:.2f} GB", res, k, tcpdump_t)
        digest = res["openssl dgst -sha256 F (the digest alone)"]["wall"]
        full = res[default]["wall"]
        one = res.get("aether ingest --threads 1", res[default])["wall"]
        if NO_HASHES in res:
            lines.append(f"Without file digests, ingest takes {res[NO_HASHES]['wall'] / digest:.2f}x the digest's wall time.")
        lines.append(f"Full ingest takes {full / digest:.2f}x the digest's wall time (target ≤ 1.2x); "
                     f"{one / full:.2f}x speed-up from --threads 1 to the default. "
                     f"Walls per round: " + "; ".join(f"{name.split(' (')[0]}: {r['walls']}" for name, r in res.items() if name.startswith("aether")) + ".")
        lines.append("")
        for name, r in res.items():
            key = f"{k}:{name}"
            shares[key] = tcpdump_t / r["wall"]
            old = baseline.get(key)
            if old and name.startswith("aether") and shares[key] < 0.9 * old:
                flags.append(f"REGRESSION: {name} on {k:,} packets: {shares[key] * 100:.0f} % of tcpdump's rate, "
                             f"{old * 100:.0f} % in reports/bench-baseline.json")
    if len(tables) == 2:
        per_small = tables[0][2][default]["wall"] / tables[0][1]
        per_big = tables[1][2][default]["wall"] / tables[1][1]
        lines.append(f"Cost per packet at {tables[1][1]:,} packets is {per_big / per_small * 100 - 100:+.1f} % of the cost at "
                     f"{tables[0][1]:,} (target within 10 %).")
        lines.append("")
    if os.environ.get("BENCH_SAVE") == "1":
        with open(BASELINE, "w") as f:
            json.dump({k: round(v, 4) for k, v in shares.items()}, f, indent=1, sort_keys=True)
        lines.append("(These figures were saved as reports/bench-baseline.json.)")
        lines.append("")
    if baseline:
        lines += flags or ["No regression against reports/bench-baseline.json."]
    elif os.environ.get("BENCH_SAVE") != "1":
        lines.append("No reports/bench-baseline.json to compare with (BENCH_SAVE=1 writes it).")
    lines.append("")

    res2 = tables[0][2]
    tcpdump_t = res2["tcpdump -r F -w /dev/null"]["wall"]
    ingest_t = res2[default]["wall"]
    ingest_rss = res2[default]["rss_mb"] * 1024
    db = os.path.join(WORK, "ingest.sqlite")

    def fresh():
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    nodetect_t, _ = best([AETHER, "ingest", cap, "--db", db, "--no-detect"], before=fresh)
    fresh()
    timed([AETHER, "ingest", cap, "--db", db])
    ingest_size = sum(os.path.getsize(db + s) for s in ["", "-wal"] if os.path.exists(db + s))
    stats = json.loads(subprocess.run([AETHER, "stats", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)
    tshark_t = None
    if shutil.which("tshark"):
        tshark_t, _ = timed(["tshark", "-r", cap, "-q", "-z", "conv,tcp"])

    report = os.path.join(WORK, "report.html")
    rt, rrss = best([AETHER, "report", "--db", db, "-o", report, "--force"])

    worst = os.path.join(WORK, "probes-1M.pcap")
    if not os.path.exists(worst):
        print(f"generating {worst} …", flush=True)
        write_probe_capture(worst)
    wdb = os.path.join(WORK, "probes.sqlite")
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(wdb + suffix):
            os.remove(wdb + suffix)
    wt, wrss = timed([AETHER, "ingest", worst, "--db", wdb])
    walerts = json.loads(subprocess.run([AETHER, "alerts", "--db", wdb, "--json"], capture_output=True, text=True, check=True).stdout)
    if stats["packets"] != n:
        sys.exit(f"bench: ingest stored {stats['packets']} packets, truth says {n}")

    # The million-connection flood: 1 M SYNs from distinct sources in 3 s.
    flood = os.path.join(WORK, "flood-1M.pcap")
    if not os.path.exists(flood):
        subprocess.run(["python3", os.path.join(ROOT, "scripts/make-flood.py"), flood], check=True)
    fdb, fhtml = os.path.join(WORK, "flood.sqlite"), os.path.join(WORK, "flood.html")
    for x in [fdb, fdb + "-wal", fdb + "-shm", fhtml]:
        if os.path.exists(x):
            os.remove(x)
    ft, frss = timed([AETHER, "analyze", flood, "--db", fdb, "--report", fhtml])

    live = None
    venv_python = os.path.join(ROOT, ".build-venv/bin/python")
    if os.path.exists(venv_python) and os.geteuid() == 0:
        r = subprocess.run([venv_python, os.path.join(ROOT, "scripts/bench_live.py"), AETHER, cap], capture_output=True, text=True)
        if r.returncode == 0:
            live = json.loads(r.stdout.strip().splitlines()[-1])
        else:
            print("bench: live figures failed: " + r.stderr[-500:])

    # 100 gRPC subscribers that never read, against the replay alone (bound: at most 3x), when
    # the build has gRPC (make release-full).
    stalled = None
    if os.path.exists(venv_python) and "gRPC on" in subprocess.run([AETHER, "--version"], capture_output=True, text=True).stdout:
        stalled = {0: [], 100: []}
        for _ in range(RUNS):
            for stalled_n in (0, 100):
                r = subprocess.run([venv_python, os.path.join(ROOT, "scripts/measure_grpc_stalled.py"), AETHER, cap, str(stalled_n)],
                                   capture_output=True, text=True)
                m = re.search(r"End after ([0-9.]+) s", r.stdout)
                if m:
                    stalled[stalled_n].append(float(m.group(1)))

    if live:
        lines.append(f"Live path: `aether tail --replay` with Chromium on the page: {live['replay_seconds']:.2f} s, "
                     f"{live['replay_pps'] / 1e6:.2f} M packets/s, peak RSS {live['replay_peak_rss_mb']} MB.")
    if stalled and stalled[0] and stalled[100]:
        a, b = statistics.median(stalled[0]), statistics.median(stalled[100])
        lines.append(f"gRPC: a {PACKETS / 1e6:.0f} M-packet replay at max speed ends after {a:.1f} s alone and {b:.1f} s beside 100 subscribers "
                     f"that never read ({b / a:.1f}x; bound 3x; median of {RUNS}).")
    if tshark_t:
        lines.append(f"Ingest with detectors is {tshark_t / ingest_t:.1f}x as fast as `tshark -q -z conv,tcp` on the same file.")
    if live:
        lines.append(f"Live latency: a UDP packet on lo shows in the page after {live['latency_median']:.2f} s median, "
                     f"{live['latency_max']:.2f} s worst of {len(live['latencies'])} (target < 1.5 s).")
    lines.append(f"Packet columns alone: {stats['store_packet_bytes'] / n:.2f} bytes/packet; "
                 f"flows {stats['flows']:,}, connections {stats['connections']:,}.")
    lines.append(f"Ingest: {tcpdump_t / ingest_t * 100:.0f} % of tcpdump's rate with detectors, "
                 f"{tcpdump_t / nodetect_t * 100:.0f} % without ({nodetect_t:.2f} s, best of {RUNS}); peak RSS ≤ 64 MB — {ingest_rss / 1024:.0f} MB; "
                 f"≤ 12 bytes/packet — {ingest_size / n:.2f}.")
    lines.append(f"Detectors: ingest with detectors takes {(ingest_t / nodetect_t - 1) * 100:+.0f} % time vs without (target within 15 %).")
    lines.append(f"Report: {rt:.2f} s, {os.path.getsize(report) / 1e6:.2f} MB (targets ≤ 3 s, ≤ 3 MB).")
    lines.append(f"Worst case: one source probing 1,000,000 distinct (host, port) pairs in 100 s: {wt:.2f} s, "
                 f"peak RSS {wrss / 1024:.0f} MB, alerts: " + ", ".join(f"{k} x{c}" for k, c in sorted(__import__('collections').Counter(a['kind'] for a in walerts).items())) + ".")
    lines.append(f"Flood: 1,000,000 SYNs from distinct sources in 3 s, `analyze` with its report: {ft:.2f} s, "
                 f"peak RSS {frss / 1024:.0f} MB, report {os.path.getsize(fhtml) / 1e6:.2f} MB (targets ≤ 60 s, ≤ 300 MB, ≤ 10 MB).")
    # A 1-million-line intel file against the 2 M file: load time, slowdown, exactly the matches.
    p = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_intel.py"), AETHER, cap], capture_output=True, text=True)
    lines += ["", "Intel (`scripts/bench_intel.py`):", ""] + (p.stdout.strip().splitlines() or [])
    if p.returncode != 0:
        flags.append("INTEL: " + (p.stderr.strip().splitlines() or ["failed"])[-1])
    text = "\n".join(lines) + "\n"
    print(text)
    if flags:
        print("\n".join(flags))
    with open(os.path.join(ROOT, "reports/bench.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
