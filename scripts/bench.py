#!/usr/bin/env python3
"""make bench: AetherLens beside tcpdump on the same 2 M-packet gencap capture, in one run.
Prints a table and writes it to reports/bench.md. Timings are wall clock with the file in
page cache; peak RSS from /usr/bin/time -v. Each tool runs 3 times; the best time is shown."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("AETHER_SHARED", os.path.join(os.path.dirname(ROOT), "shared"))
AETHER = os.path.join(ROOT, ".build/release/aether")
WORK = os.path.join(ROOT, "reports/bench")
PACKETS = int(os.environ.get("BENCH_PACKETS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def timed(cmd):
    """Wall seconds and peak RSS (kB) of one command."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{r.stderr[-2000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", r.stderr).group(1))
    return wall, rss


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


def main():
    os.makedirs(WORK, exist_ok=True)
    cap = os.path.join(WORK, f"gencap-{PACKETS}.pcap")
    if not os.path.exists(cap):
        print(f"generating {cap} …", flush=True)
        subprocess.run(["python3", os.path.join(SHARED, "bench/gencap.py"), "--out", cap, "--packets", str(PACKETS),
                        "--seed", "1", "--quiet"], check=True)
    truth = json.load(open(cap + ".truth.json"))
    n = truth["packets"]
    subprocess.run(["cat", cap], stdout=subprocess.DEVNULL, check=True)  # page cache

    rows = []
    t, rss = best(["tcpdump", "-r", cap, "-w", "/dev/null"])
    rows.append(("tcpdump -r F -w /dev/null", t, rss, None))
    tcpdump_t = t

    nfpcapd = shutil.which("nfpcapd") or ("/usr/bin/nfpcapd" if os.path.exists("/usr/bin/nfpcapd") else None)
    if nfpcapd:
        nfdir = os.path.join(WORK, "nfpcapd")

        def nf_fresh():
            shutil.rmtree(nfdir, ignore_errors=True)
            os.makedirs(nfdir)
        t, rss = best([nfpcapd, "-r", cap, "-w", nfdir], before=nf_fresh)
        rows.append(("nfpcapd -r F -w DIR (C flow meter)", t, rss, None))

    if shutil.which("tshark"):
        t, rss = timed(["tshark", "-r", cap, "-q", "-z", "conv,tcp"])
        rows.append(("tshark -q -z conv,tcp", t, rss, None))
        tshark_t = t
    else:
        tshark_t = None

    db = os.path.join(WORK, "ingest.sqlite")

    def fresh():
        for suffix in ["", "-wal", "-shm"]:
            if os.path.exists(db + suffix):
                os.remove(db + suffix)

    t, rss = best([AETHER, "ingest", cap, "--db", db, "--no-detect"], before=fresh)
    rows.append(("aether ingest --no-detect", t, rss, None))
    nodetect_t = t
    t, rss = best([AETHER, "ingest", cap, "--db", db], before=fresh)
    size = sum(os.path.getsize(db + s) for s in ["", "-wal"] if os.path.exists(db + s))
    stats = json.loads(subprocess.run([AETHER, "stats", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)
    rows.append(("aether ingest (with detectors)", t, rss, size))
    ingest_t, ingest_rss, ingest_size = t, rss, size

    report = os.path.join(WORK, "report.html")
    rt, rrss = best([AETHER, "report", "--db", db, "-o", report, "--force"])
    rows.append(("aether report (2 M-packet store)", rt, rrss, None))

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

    # The million-connection flood (issue 10): 1 M SYNs from distinct sources in 3 s.
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

    lines = []
    lines.append(f"# make bench — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    lines.append("")
    lines.append(f"Capture: `{os.path.relpath(cap, ROOT)}`, {n:,} packets, {os.path.getsize(cap) / 1e6:.0f} MB "
                 f"(gencap seed 1), in page cache; best of {RUNS} runs; {os.cpu_count()} cores.")
    lines.append("")
    lines.append("| run | time (s) | packets/s | vs tcpdump | peak RSS (MB) | store bytes/packet |")
    lines.append("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, t, rss, store in rows:
        per = f"{store / n:.2f}" if store else ""
        if name.startswith("aether report"):
            lines.append(f"| {name} | {t:.2f} | | | {rss / 1024:.0f} | |")
            continue
        lines.append(f"| {name} | {t:.2f} | {n / t / 1e6:.2f} M | {tcpdump_t / t * 100:.0f} % | {rss / 1024:.0f} | {per} |")
    if live:
        lines.append(f"| aether tail --replay (live path, Chromium on the page) | {live['replay_seconds']:.2f} | "
                     f"{live['replay_pps'] / 1e6:.2f} M | {tcpdump_t / live['replay_seconds'] * 100:.0f} % | {live['replay_peak_rss_mb']} | |")
    lines.append("")
    if tshark_t:
        lines.append(f"Ingest with detectors is {tshark_t / ingest_t:.1f}x as fast as `tshark -q -z conv,tcp` on the same file.")
    if live:
        lines.append(f"Live latency (issue 5): a UDP packet on lo shows in the page after {live['latency_median']:.2f} s median, "
                     f"{live['latency_max']:.2f} s worst of {len(live['latencies'])} (target < 1.5 s).")
    lines.append(f"Packet columns alone: {stats['store_packet_bytes'] / n:.2f} bytes/packet; "
                 f"flows {stats['flows']:,}, connections {stats['connections']:,}.")
    lines.append(f"Targets (issue 2): ingest ≥ 50 % of tcpdump's rate — {tcpdump_t / ingest_t * 100:.0f} % with detectors, "
                 f"{tcpdump_t / nodetect_t * 100:.0f} % without; peak RSS ≤ 300 MB — {ingest_rss / 1024:.0f} MB; "
                 f"≤ 12 bytes/packet — {ingest_size / n:.2f}.")
    lines.append(f"Detectors (issue 3): ingest with detectors takes {(ingest_t / nodetect_t - 1) * 100:+.0f} % time vs without (target within 15 %).")
    lines.append(f"Report (issue 4): {rt:.2f} s, {os.path.getsize(report) / 1e6:.2f} MB (targets ≤ 3 s, ≤ 3 MB).")
    lines.append(f"Worst case: one source probing 1,000,000 distinct (host, port) pairs in 100 s: {wt:.2f} s, "
                 f"peak RSS {wrss / 1024:.0f} MB, alerts: " + ", ".join(f"{k} x{c}" for k, c in sorted(__import__('collections').Counter(a['kind'] for a in walerts).items())) + ".")
    lines.append(f"Flood (issue 10): 1,000,000 SYNs from distinct sources in 3 s, `analyze` with its report: {ft:.2f} s, "
                 f"peak RSS {frss / 1024:.0f} MB, report {os.path.getsize(fhtml) / 1e6:.2f} MB (targets ≤ 60 s, ≤ 300 MB, ≤ 10 MB).")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(os.path.join(ROOT, "reports/bench.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
