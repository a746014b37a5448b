#!/usr/bin/env python3
"""The decoder against tshark, packet by packet: for every capture given (files or
folders), `aether dissect` and `tshark -T fields` must report the same IPv4 and IPv6 addresses of
every layer (outermost and innermost included), the same TCP and UDP ports, and the same ARP
sender. Each difference is one line naming capture, frame and field; the last line is a summary.
Exits 1 on any difference that is not one of the documented exceptions below.
Usage: diff-tshark.py AETHER CAPTURE_OR_DIR..."""
import os
import itertools
import subprocess
from collections import deque
from concurrent.futures import ThreadPoolExecutor
import sys

from tsharkfields import FIELDS, run as tshark_fields

# Documented exceptions: (capture file name, frame or None for all, field or "*", why). Keep this short.
EXCEPTIONS = [
    ("corrupt_huge-caplen.pcap", None, "*",
     "a fuzzed file: tshark's wiretap takes it for the 'modified pcap' variant (24-byte record headers) and reads "
     "every frame 8 bytes off; libpcap (tcpdump -r) and aether read standard records, and their frame 1 is IPv4/TCP"),
]


def captures(paths):
    for p in paths:
        if os.path.isdir(p):
            for root, _, files in sorted(os.walk(p)):
                for f in sorted(files):
                    if f.endswith((".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz")):
                        yield os.path.join(root, f)
        else:
            yield p


def excepted(path, frame, field):
    name = os.path.basename(path)
    return any(n == name and (f is None or f == frame) and fl in (field, "*") for n, f, fl, _ in EXCEPTIONS)


def main():
    aether, paths = sys.argv[1], sys.argv[2:]
    files = packets = differences = excused = 0

    def both(path):
        # aether and tshark read the capture side by side.
        with ThreadPoolExecutor(2) as side:
            ours = side.submit(subprocess.run, [aether, "dissect", path], capture_output=True, text=True)
            theirs = side.submit(tshark_fields, path)
            return path, ours.result(), theirs.result()

    # Two captures in flight at a time, compared in order: at most two captures' output held.
    pool = ThreadPoolExecutor(2)
    todo = iter(captures(paths))
    flight = deque(pool.submit(both, p) for p in itertools.islice(todo, 2))
    while flight:
        path, ours, theirs = flight.popleft().result()
        following = next(todo, None)
        if following is not None:
            flight.append(pool.submit(both, following))
        if ours.returncode != 0 or theirs.returncode != 0:
            # A capture that either side cannot read to its end is compared up to where both read.
            print(f"NOTE {path}: aether exit {ours.returncode}, tshark exit {theirs.returncode}: {(ours.stderr or theirs.stderr).strip()[:200]}")
        a = [l.split("\t") for l in ours.stdout.splitlines()[1:]]
        t = [l.split("\t") for l in theirs.stdout.splitlines()]
        if theirs.returncode != 0 and theirs.stdout and not theirs.stdout.endswith("\n"):
            # A tshark that died mid-line (it crashes on Fixtures/http-files.pcap's decompression
            # bomb, which its HTTP dissector inflates) left its last packet half written.
            t = t[:-1]
        files += 1
        if len(a) != len(t) and ours.returncode == 0 and theirs.returncode == 0:
            print(f"DIFF {path}: aether read {len(a)} packets, tshark {len(t)}")
            differences += 1
        for i, (x, y) in enumerate(zip(a, t)):
            packets += 1
            for j, field in enumerate(FIELDS):
                ov = x[j + 1] if j + 1 < len(x) else ""
                tv = y[j] if j < len(y) else ""
                if ov == tv:
                    continue
                if excepted(path, i + 1, field):
                    excused += 1
                    continue
                differences += 1
                if differences <= 200:
                    reason = x[-1] if len(x) > len(FIELDS) + 1 and x[-1] else ""
                    print(f"DIFF {path} frame {i + 1} {field}: aether {ov!r} tshark {tv!r}" + (f" (aether: {reason})" if reason else ""))
    print(f"diff-tshark: {files} captures, {packets} packets, {differences} differences, {excused} documented exceptions")
    sys.exit(1 if differences else 0)


main()
