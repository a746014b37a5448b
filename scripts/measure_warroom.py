#!/usr/bin/env python3
"""The war room over a long replay (its performance figures): the page's frame rate and JavaScript heap
each minute while `aether tail --replay CAPTURE --speed SPEED` runs, in headless Chromium.
Usage: measure_warroom.py AETHER CAPTURE [MINUTES=10] [SPEED=10]  (venv python)"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "browser"))
from livekit import free_port, start_tail, stop  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

AETHER, CAPTURE = sys.argv[1], sys.argv[2]
MINUTES = float(sys.argv[3]) if len(sys.argv) > 3 else 10
SPEED = sys.argv[4] if len(sys.argv) > 4 else "10"

port = free_port()
p = start_tail(AETHER, ["--replay", CAPTURE, "--speed", SPEED], port)
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--enable-precise-memory-info", "--js-flags=--expose-gc"])
    page = b.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)
    page.goto(f"http://127.0.0.1:{port}/")
    start = time.time()
    print(f"replay of {CAPTURE} at {SPEED}x; one line a minute: minutes, frames/s over 2 s, JS heap after gc, packets shown")
    while time.time() - start < MINUTES * 60:
        time.sleep(max(0, 60 - (time.time() - start) % 60))
        fps = page.evaluate("""() => new Promise(done => { let n = 0; const t0 = performance.now();
            function tick(now) { n++; if (now - t0 < 2000) requestAnimationFrame(tick); else done(n / ((now - t0) / 1000)); }
            requestAnimationFrame(tick); })""")
        page.evaluate("window.gc && window.gc()")
        heap = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
        print(f"{(time.time() - start) / 60:5.1f} min  {fps:5.1f} frames/s  heap {heap:5.1f} MB  packets {page.text_content('#total-packets')}", flush=True)
    b.close()
stop(p)
