#!/usr/bin/env python3
"""Live-path figures for make bench (run with the venv's python):
  - replay of CAPTURE at max speed through `aether tail` with headless Chromium on the page:
    wall time from start to the `end` message, packets/s;
  - latency from a UDP packet sent on lo to the page's total moving (tail -i lo), 7 samples.
Prints one JSON object."""
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

from playwright.sync_api import sync_playwright

AETHER, CAPTURE = sys.argv[1], sys.argv[2]


def port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def up(p, proc):
    for _ in range(400):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{p}/healthz", timeout=1); return
        except Exception:
            if proc.poll() is not None:
                sys.exit(proc.stderr.read())
            time.sleep(0.025)


out = {}
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
    # Replay at max speed with the page connected.
    p = port()
    t0 = time.monotonic()
    proc = subprocess.Popen([AETHER, "tail", "--replay", CAPTURE, "--speed", "max", "--listen", f"127.0.0.1:{p}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    up(p, proc)
    page = browser.new_page(bypass_csp=True)
    page.goto(f"http://127.0.0.1:{p}/")
    page.wait_for_function("document.getElementById('status').textContent.indexOf('replay ended') === 0", timeout=600000)
    wall = time.monotonic() - t0
    total = int(page.text_content("#total-packets"))
    out.update(replay_seconds=wall, replay_packets=total, replay_pps=total / wall)
    with open(f"/proc/{proc.pid}/status") as f:
        out["replay_peak_rss_mb"] = next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmHWM"))
    proc.send_signal(2); proc.wait(timeout=60)
    # Latency on lo.
    p = port()
    proc = subprocess.Popen([AETHER, "tail", "-i", "lo", "--listen", f"127.0.0.1:{p}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    up(p, proc)
    page = browser.new_page(bypass_csp=True)
    page.goto(f"http://127.0.0.1:{p}/")
    page.wait_for_function("document.getElementById('status').className === 'open'", timeout=10000)
    time.sleep(1.5)
    samples = []
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(7):
        time.sleep(1.2 + 0.13 * i)  # let the last sample's second close; land at different points within a second
        before = int(page.text_content("#total-packets") or 0)
        sent = time.monotonic()
        sock.sendto(b"aether-latency", ("127.0.0.1", 9))
        page.wait_for_function(f"Number(document.getElementById('total-packets').textContent) > {before}", timeout=5000)
        samples.append(time.monotonic() - sent)
    out.update(latency_median=statistics.median(samples), latency_max=max(samples), latencies=samples)
    proc.send_signal(2); proc.wait(timeout=30)
    browser.close()
print(json.dumps(out))
