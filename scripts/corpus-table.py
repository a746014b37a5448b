#!/usr/bin/env python3
"""Prints capture | expected | found | false alerts for a folder of captures with .truth files
(scripts/record-attacks.sh) or, with --none, for captures whose only truth is a list of allowed
alert kinds. Usage: corpus-table.py AETHER DIR [--shared MANIFEST_DIR] [--verbose]."""
import glob
import json
import os
import subprocess
import sys
import tempfile

# What the shared corpus is known to hold (its MANIFEST names each capture's content).
SHARED_TRUTH = {
    "portscan_masscan-tcp.pcap": [("port_scan", "172.31.15.102")],
    "scan_nmap-lan-sweep.pcap": [("host_sweep", "192.168.1.71")],
    "c2-outbound_trickbot.pcap": [("suspicious_outbound", "10.12.29.101")],
    # GRE from an internal host to a public one: outbound IP protocol 47, what unusual_protocol means.
    "gre_tunnel.pcap": [("unusual_protocol", "172.27.1.66")],
}


def alerts(aether, cap):
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "s.sqlite")
        subprocess.run([aether, "ingest", cap, "--db", db], capture_output=True)
        r = subprocess.run([aether, "alerts", "--db", db, "--json"], capture_output=True, text=True)
        try:
            return json.loads(r.stdout or "[]")
        except json.JSONDecodeError:
            return []


def matches(a, t):
    if a["kind"] != t["kind"] or a["src"] != t["src"]:
        return False
    if a["start"] > t["end"] + 2 or a["end"] < t["start"] - 2:
        return False
    if a["kind"] in ("dns_tunnel", "dga") or t.get("any_target"):
        return True
    ours = set([a["dst"]] if a.get("dst") else a.get("dsts", []))
    theirs = set([t["dst"]] if t.get("dst") else t.get("dsts", []))
    return bool(ours & theirs)


def main():
    aether, folder = sys.argv[1], sys.argv[2]
    verbose = "--verbose" in sys.argv
    rows, bad = [], 0
    caps = sorted(glob.glob(os.path.join(folder, "*.pcap*")) + glob.glob(os.path.join(folder, "large", "*.pcap*")))
    for cap in caps:
        tpath = cap.rsplit(".pcap", 1)[0] + ".truth"
        truth = [json.loads(l) for l in open(tpath) if l.strip()] if os.path.exists(tpath) else []
        for kind, src in SHARED_TRUTH.get(os.path.basename(cap), []) if "--shared" in sys.argv else []:
            truth.append({"kind": kind, "src": src, "start": -1e18, "end": 1e18, "any_target": True})
        found = alerts(aether, cap)
        hit = sum(1 for t in truth if sum(matches(a, t) for a in found) >= 1)
        false = [a for a in found if not any(matches(a, t) for t in truth)]
        dup = sum(max(0, sum(matches(a, t) for a in found) - 1) for t in truth)
        rows.append((os.path.basename(cap), len(truth), hit, len(false) + dup))
        if hit != len(truth) or false or dup:
            bad += 1
        if verbose and (hit != len(truth) or false or dup):
            for a in found:
                print("   ", os.path.basename(cap), a["kind"], a["src"], a.get("dst") or a.get("dsts", [])[:4], a.get("ports", [])[:5],
                      json.dumps(a.get("why", a.get("evidence", {})))[:300], file=sys.stderr)
    print("| capture | expected | found | false alerts |")
    print("| --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %d | %d | %d |" % r)
    print("%d captures, %d incidents expected, %d found, %d false alerts" % (
        len(rows), sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
