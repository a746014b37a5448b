#!/usr/bin/env python3
"""The live war room, against `aether tail` replays started here:
  1. the page in headless Chromium: dark by default (whatever the browser's colour scheme), light by
     the toggle and, with ?theme=auto, when the system asks;
     its chart canvas changes between animation frames while a replay runs; no console error and
     no request beyond the server; the alert feed shows every alert of the replay and opening one
     shows its evidence and connections; a long replay leaves the page's heap bounded;
     screenshots in WORKDIR (warroom-*.png);
  2. permessage-deflate: a client that offers it gets it, its frames inflate to the very messages
     an uncompressed client gets, and the bytes per second of both are printed;
  3. /metrics parses with prometheus_client and its packet counter equals the replay's
     total_packets; it needs the token when the server has one.
Usage: check_warroom.py AETHER CAPTURE BIG_CAPTURE WORKDIR  ("live ok" lines; exit 1 on a failure)"""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import zlib

from livekit import fail, failures, free_port, remove_store, start_tail, stop
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

AETHER, CAPTURE, BIG, WORK = sys.argv[1:5]
HEAP_BOUND_MB = 64


def ok(msg):
    print("live ok: " + msg, flush=True)


def tail(args, port):
    return start_tail(AETHER, args, port)


def analyze_alerts():
    db = os.path.join(WORK, "warroom-analyze.sqlite")
    remove_store(db)
    subprocess.run([AETHER, "ingest", CAPTURE, "--db", db], capture_output=True, check=True)
    return json.loads(subprocess.run([AETHER, "alerts", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)


def luminance(rgb):
    r, g, b = [int(x) for x in rgb[rgb.index("(") + 1:rgb.index(")")].split(",")[:3]]
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def page_checks():
    expected = analyze_alerts()
    port = free_port()
    # Slow enough that the chart is still moving while we look, fast enough to finish.
    p = tail(["--replay", CAPTURE, "--speed", "200"], port)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--enable-precise-memory-info"])
        page = b.new_page(viewport={"width": 1366, "height": 768}, bypass_csp=True)  # Playwright emulates a light system by default
        errors, foreign = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", "data:")) else None)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("document.getElementById('status').className === 'open'", timeout=10000)
        page.wait_for_function("Number(document.getElementById('total-packets').textContent) > 0", timeout=15000)
        # The page's assets are files with markers (`/*@name*/`) the server fills: none is left.
        if "/*@" in page.content():
            fail("war room: an asset marker was left unfilled")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if luminance(bg) < 0.2:
            ok(f"dark by default (background {bg})")
        else:
            fail(f"war room: not dark by default (background {bg})")
        # The canvas over 1 s of animation frames: it must change from frame to frame.
        frames = page.evaluate("""() => new Promise(done => {
            const c = document.getElementById('traffic'); const seen = []; const t0 = performance.now();
            function tick(now) { seen.push(c.toDataURL().length + ':' + c.toDataURL().slice(-64));
              if (now - t0 < 1000) requestAnimationFrame(tick); else done({frames: seen.length, distinct: new Set(seen).size}); }
            requestAnimationFrame(tick); })""")
        if frames["distinct"] >= max(5, frames["frames"] // 3):
            ok(f"chart moves between animation frames: {frames['distinct']} distinct of {frames['frames']} frames in 1 s")
        else:
            fail(f"war room: the chart did not move ({frames})")
        fps = page.evaluate("""() => new Promise(done => { let n = 0; const t0 = performance.now();
            function tick(now) { n++; if (now - t0 < 2000) requestAnimationFrame(tick); else done(n / ((now - t0) / 1000)); }
            requestAnimationFrame(tick); })""")
        print(f"war room: {fps:.0f} frames/s while a replay runs (headless Chromium)")
        page.screenshot(path=os.path.join(WORK, "warroom-dark.png"))
        # Every alert of the replay in the feed, then one opened.
        page.wait_for_function("document.getElementById('status').textContent.startsWith('replay ended')", timeout=180000)
        page.wait_for_timeout(600)
        shown = page.evaluate("Array.from(document.querySelectorAll('#feed li')).map(li => Number(li.dataset.id))")
        want = sorted(a["id"] for a in expected)
        if sorted(shown) == want and want:
            ok(f"alert feed shows the replay's {len(want)} alerts")
        else:
            fail(f"war room: feed shows {sorted(shown)[:20]}, analyze found {want[:20]}")
        if want:
            page.click("#feed li")
            page.wait_for_selector("#detail[open]", timeout=5000)
            page.wait_for_function("document.querySelectorAll('#detail-body table tbody tr').length > 0", timeout=15000)
            text = page.text_content("#detail-body")
            rows = page.evaluate("document.querySelectorAll('#detail-body table tbody tr').length")
            if "evidence" in text and rows > 0:
                ok(f"opening an alert shows its evidence and {rows} connections")
            else:
                fail("war room: the opened alert shows no evidence or connections")
            page.screenshot(path=os.path.join(WORK, "warroom-alert.png"))
            page.keyboard.press("Escape")
        # Pause and scroll back: the label names the sample shown and the chart holds still.
        page.click("#pause")
        page.evaluate("(() => { const s = document.getElementById('scrub'); s.value = '0'; s.dispatchEvent(new Event('input')); })()")
        page.wait_for_timeout(400)
        label = page.text_content("#scrub-label")
        a = page.evaluate("document.getElementById('traffic').toDataURL()")
        page.wait_for_timeout(300)
        b2 = page.evaluate("document.getElementById('traffic').toDataURL()")
        if label.startswith("paused at") and a == b2:
            ok(f"pause and scroll back: '{label}', the chart holds still")
        else:
            fail(f"war room: paused label '{label}', chart still moving {a != b2}")
        page.click("#pause")
        # Light: by the toggle, and when the system asks.
        page.click("#theme")
        light = page.evaluate("getComputedStyle(document.body).backgroundColor")
        if luminance(light) > 0.8:
            ok(f"the toggle makes it light ({light})")
        else:
            fail(f"war room: toggle gave {light}")
        page.screenshot(path=os.path.join(WORK, "warroom-light.png"))
        lp = b.new_page(viewport={"width": 390, "height": 844}, color_scheme="light", bypass_csp=True)
        lp.goto(f"http://127.0.0.1:{port}/?theme=auto")
        lp.wait_for_function("Number(document.getElementById('total-packets').textContent) > 0", timeout=10000)
        sys_bg = lp.evaluate("getComputedStyle(document.body).backgroundColor")
        wide = lp.evaluate("document.documentElement.scrollWidth")
        if luminance(sys_bg) > 0.8 and wide <= 400:
            ok(f"light when the system asks (?theme=auto); a phone's width without sideways scrolling ({wide} px)")
        else:
            fail(f"war room: prefers light gave {sys_bg}, page width {wide} px at 390")
        lp.screenshot(path=os.path.join(WORK, "warroom-phone.png"), full_page=True)
        if errors:
            fail(f"war room: console errors {errors[:5]}")
        else:
            ok("no console errors")
        if foreign:
            fail(f"war room: requests beyond the server {foreign[:5]}")
        else:
            ok("no request beyond its own server")
        b.close()
    stop(p)


def heap_bounded():
    """The big capture at full speed: the page keeps 15 minutes of samples and no more."""
    port = free_port()
    p = tail(["--replay", BIG, "--speed", "max"], port)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--enable-precise-memory-info", "--js-flags=--expose-gc"])
        page = b.new_page(bypass_csp=True)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("document.getElementById('status').textContent.startsWith('replay ended')", timeout=300000)
        page.wait_for_timeout(500)
        page.evaluate("window.gc && window.gc()")
        heap = page.evaluate("performance.memory.usedJSHeapSize") / 1e6
        total = page.text_content("#total-packets")
        if heap < HEAP_BOUND_MB:
            ok(f"after a {total}-packet replay the page's heap is {heap:.1f} MB (bound {HEAP_BOUND_MB} MB)")
        else:
            fail(f"war room: heap {heap:.1f} MB after the long replay")
        b.close()
    stop(p)


class RawClient:
    """A WebSocket client over a plain socket, so that the bytes on the wire can be counted; it
    inflates permessage-deflate frames itself (RFC 7692: append 00 00 ff ff, one stream)."""

    def __init__(self, port, deflate, token):
        self.s = socket.create_connection(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
        self.s.sendall(f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        self.headers = head.decode()
        self.negotiated = "permessage-deflate" in self.headers.lower().split("sec-websocket-extensions")[-1] if "xtensions" in self.headers else False
        self.inflater = zlib.decompressobj(-15)
        self.wire = len(head)
        self.messages = []
        self.started = time.time()

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        self.wire += n
        return buf

    def run(self):
        fragments, compressed = b"", False
        try:
            while True:
                b0, b1 = self.recv_exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self.recv_exact(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self.recv_exact(8))[0]
                payload = self.recv_exact(n)
                op = b0 & 0x0F
                if op in (1, 2):
                    fragments, compressed = payload, bool(b0 & 0x40)
                elif op == 0:
                    fragments += payload
                elif op == 8:
                    break
                else:
                    continue
                if b0 & 0x80:
                    data = self.inflater.decompress(fragments + b"\x00\x00\xff\xff") if compressed else fragments
                    text = data.decode()
                    self.messages.append(text)
                    if json.loads(text)["type"] == "end":
                        break
        except EOFError:
            pass
        self.elapsed = time.time() - self.started
        self.s.close()


def deflate_and_metrics():
    port = free_port()
    p = tail(["--replay", CAPTURE, "--speed", "400", "--token", "warroom-secret"], port)
    plain = RawClient(port, deflate=False, token="warroom-secret")
    packed = RawClient(port, deflate=True, token="warroom-secret")
    threads = [threading.Thread(target=c.run) for c in (plain, packed)]
    for t in threads:
        t.start()
    # /metrics needs the token on loopback too, when the server has one.
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
        fail("/metrics answered without the token")
    except urllib.error.HTTPError as e:
        if e.code == 401:
            ok("/metrics refuses a request without the token (401)")
        else:
            fail(f"/metrics without token: {e.code}")
    for t in threads:
        t.join(timeout=600)
    if packed.negotiated and not plain.negotiated:
        ok("a client that offers permessage-deflate gets it; one that does not, does not")
    else:
        fail(f"deflate negotiation: offered {packed.negotiated}, not offered {plain.negotiated}")
    same = [m for m in packed.messages if m in set(plain.messages)]
    kinds = lambda ms: {json.loads(m)["type"] for m in ms}
    summaries_packed = {json.loads(m)["t"]: m for m in packed.messages if '"type":"summary"' in m}
    summaries_plain = {json.loads(m)["t"]: m for m in plain.messages if '"type":"summary"' in m}
    common = set(summaries_packed) & set(summaries_plain)
    alerts_packed = {json.loads(m)["id"]: m for m in packed.messages if '"type":"alert"' in m}
    alerts_plain = {json.loads(m)["id"]: m for m in plain.messages if '"type":"alert"' in m}
    if common and all(summaries_packed[t] == summaries_plain[t] for t in common) and alerts_packed == alerts_plain and "end" in kinds(packed.messages):
        ok(f"deflated frames inflate to the same messages ({len(common)} summaries in common, {len(alerts_packed)} alerts, end)")
    else:
        fail(f"deflate: messages differ ({len(common)} common summaries, alerts {len(alerts_packed)} vs {len(alerts_plain)}, {len(same)} identical)")
    rate = lambda c: c.wire / max(c.elapsed, 1e-3)
    print(f"war room: bytes per second per client over {plain.elapsed:.1f} s: {rate(plain):,.0f} B/s without deflate, "
          f"{rate(packed):,.0f} B/s with ({rate(packed) / rate(plain) * 100:.0f} %); wire bytes {plain.wire:,} and {packed.wire:,}")
    end = json.loads(next(m for m in plain.messages if '"type":"end"' in m))
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": "Bearer warroom-secret"})
    text = urllib.request.urlopen(req, timeout=5).read().decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    packets = next(s.value for s in families["aether_packets"].samples if s.name == "aether_packets_total")
    hist = families.get("aether_summary_latency_seconds")
    if packets == end["total_packets"] and hist and any(s.name.endswith("_count") and s.value > 0 for s in hist.samples):
        ok(f"/metrics parses (prometheus_client): packets {int(packets)} = total_packets, {len(families)} families, latency histogram filled")
    else:
        fail(f"/metrics: packets {packets} vs total_packets {end['total_packets']}, families {sorted(families)}")
    stop(p)


page_checks()
heap_bounded()
deflate_and_metrics()
if failures:
    print(f"{len(failures)} war-room check(s) failed")
    sys.exit(1)
