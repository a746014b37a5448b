"""A 1-million-line intel file against a capture: load time, ingest slowdown, and exactly the
expected matches (issue: intel matches must cost O(1) per observation).

    bench_intel.py AETHER CAPTURE [LINES]   (default 1,000,000 lines)

1. `aether ingest CAPTURE` without intel; from that store, indicators that are present: a few
   responder addresses of opened connections and a few DNS query names.
2. A Zeek intel file of LINES lines: those indicators at random places among indicators that
   cannot be present (addresses in 100.64.0.0/10, which the capture does not use, names under the
   reserved `.invalid`, random JA3, JA4, certificate and file hashes).
3. The load time: `aether ingest` of a two-packet capture with and without the file.
4. The slowdown: ingest of CAPTURE with and without the file, alternating, three rounds each
   (medians of wall and CPU).
5. The matches: the intel_match alerts name exactly the chosen indicators, every one of them.
"""

import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

AETHER, CAPTURE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
LINES = int(sys.argv[3]) if len(sys.argv) > 3 else 1_000_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = os.path.join(ROOT, "Fixtures", "markup.pcap")


def run(args):
    """Wall and CPU seconds (user + system of the child) of one command, which must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.monotonic()
    p = subprocess.run(args, capture_output=True, text=True)
    wall = time.monotonic() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit(f"bench-intel: {' '.join(args[:2])} failed: {(p.stderr.strip().splitlines() or ['?'])[-1]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), p.stdout


def ingest(work, name, capture, intel=None):
    db = os.path.join(work, name + ".sqlite")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    args = [AETHER, "ingest", capture, "--db", db] + (["--intel", intel] if intel else [])
    wall, cpu, _ = run(args)
    return wall, cpu, db


def present(db):
    """Indicators the capture holds: responders of opened connections outside the private
    ranges, and DNS query names."""
    s = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    addrs = [r[0] for r in s.execute(
        "SELECT resp_h FROM flow WHERE resp_h NOT LIKE '10.%' AND resp_h NOT LIKE '192.168.%' AND resp_h NOT LIKE '%:%' "
        "GROUP BY resp_h ORDER BY count(*) DESC LIMIT 3")]
    names = [r[0] for r in s.execute("SELECT qname FROM dns WHERE qname <> '' GROUP BY qname ORDER BY count(*) DESC LIMIT 3")]
    return [(a, "Intel::ADDR") for a in addrs] + [(n, "Intel::DOMAIN") for n in names]


def intel_file(path, chosen, lines, rng):
    kinds = ["addr", "domain", "ja3", "ja4", "cert", "file"]
    at = set(rng.sample(range(lines), len(chosen)))
    it = iter(chosen)
    with open(path, "w") as f:
        f.write("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n")
        for i in range(lines):
            if i in at:
                ind, typ = next(it)
                f.write(f"{ind}\t{typ}\tbench\tpresent\n")
                continue
            k = kinds[i % len(kinds)]
            if k == "addr":
                n = rng.getrandbits(22)
                f.write(f"100.{64 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}\tIntel::ADDR\tbench\tabsent\n")
            elif k == "domain":
                f.write(f"x{rng.getrandbits(48):012x}.invalid\tIntel::DOMAIN\tbench\tabsent\n")
            elif k == "ja3":
                f.write(f"{rng.getrandbits(128):032x}\tIntel::JA3\tbench\tabsent\n")
            elif k == "ja4":
                f.write(f"t13d1516h2_{rng.getrandbits(48):012x}_{rng.getrandbits(48):012x}\tIntel::JA4\tbench\tabsent\n")
            elif k == "cert":
                f.write(f"{rng.getrandbits(160):040x}\tIntel::CERT_HASH\tbench\tabsent\n")
            else:
                f.write(f"{rng.getrandbits(256):064x}\tIntel::FILE_HASH\tbench\tabsent\n")


def main():
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="aether-bench-intel-") as work:
        subprocess.run(["cat", CAPTURE], stdout=subprocess.DEVNULL, check=True)  # the page cache, for both sides
        _, _, base = ingest(work, "base", CAPTURE)
        chosen = present(base)
        if not chosen:
            sys.exit("bench-intel: the capture has no external responder or DNS name to choose")
        intel = os.path.join(work, "intel.dat")
        intel_file(intel, chosen, LINES, rng)
        size = os.path.getsize(intel)

        loads = []
        for _ in range(3):
            plain = ingest(work, "tiny", TINY)
            loaded = ingest(work, "tiny-intel", TINY, intel)
            loads.append((loaded[0] - plain[0], loaded[1] - plain[1]))

        rows = {"without": [], "with": []}
        db = None
        for _ in range(3):
            w, c, _ = ingest(work, "plain", CAPTURE)
            rows["without"].append((w, c))
            w, c, db = ingest(work, "intel", CAPTURE, intel)
            rows["with"].append((w, c))

        _, _, out = run([AETHER, "alerts", "--db", db, "--json"])
        found = {}
        for a in json.loads(out):
            if a.get("kind") == "intel_match":
                e = a.get("evidence", {})
                found[e.get("indicator")] = found.get(e.get("indicator"), 0) + e.get("sightings", 0)
        wanted = {ind for ind, _ in chosen}
        missing, extra = wanted - set(found), set(found) - wanted

        med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in rows.items()}
        print(f"intel file: {LINES:,} lines, {size / 1e6:.0f} MB; {len(chosen)} indicators present in {os.path.basename(CAPTURE)}")
        print(f"load (ingest of a tiny capture with the file minus without; 3 rounds): wall {', '.join(f'{w:.2f}' for w, _ in loads)} s, "
              f"CPU {', '.join(f'{c:.2f}' for _, c in loads)} s")
        print("| ingest | wall (median of 3) | CPU (median of 3) |")
        print("| --- | --- | --- |")
        for k in ("without", "with"):
            print(f"| {k} intel | {med[k][0]:.2f} s | {med[k][1]:.2f} s |")
        load_wall, load_cpu = statistics.median(w for w, _ in loads), statistics.median(c for _, c in loads)
        extra_wall = med["with"][0] - med["without"][0] - load_wall
        extra_cpu = med["with"][1] - med["without"][1] - load_cpu
        print(f"slowdown beyond the load: wall {extra_wall:+.2f} s ({extra_wall / med['without'][0] * 100:+.0f} %), "
              f"CPU {extra_cpu:+.2f} s ({extra_cpu / med['without'][1] * 100:+.0f} %)")
        print("matches: " + ", ".join(f"{k} ({v} sightings)" for k, v in sorted(found.items())))
        if missing or extra:
            sys.exit(f"bench-intel: expected matches missing {sorted(missing)}, unexpected {sorted(extra)}")
        print(f"every present indicator matched ({len(wanted)}), and nothing else")


if __name__ == "__main__":
    main()
