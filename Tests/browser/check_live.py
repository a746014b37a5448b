#!/usr/bin/env python3
"""Live view checks, against a running `aether tail` started here:
  1. replay of a gencap capture at max speed: our own WebSocket client sees summaries whose
     total_packets ends equal to `stats --json`, and the alerts of `alerts --json` from analyze;
  2. live on lo (root): a SYN scan of 200 loopback ports gives a port_scan alert over the
     WebSocket within 5 s of the scan's end;
  3. headless Chromium opens / and the numbers change between two reads;
  4. safety: non-loopback --listen without --token exits 2; /ws with a bad token or a foreign
     Origin is refused; a client that never reads does not push RSS past the bound.
Usage: check_live.py AETHER CAPTURE BIG_CAPTURE WORKDIR"""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import websockets
import livekit
from livekit import fail, failures, free_port, remove_store, stop
from playwright.sync_api import sync_playwright

AETHER, CAPTURE, BIG, WORK = sys.argv[1:5]
RSS_BOUND_MB = 400


def start_tail(args, port):
    return livekit.start_tail(AETHER, args, port)


def replay_matches_analyze():
    db = os.path.join(WORK, "analyze.sqlite")
    remove_store(db)
    subprocess.run([AETHER, "analyze", CAPTURE, "--db", db, "--report", os.path.join(WORK, "analyze.html"), "--force"], capture_output=True)
    stats = json.loads(subprocess.run([AETHER, "stats", "--db", db, "--json"], capture_output=True, text=True).stdout)
    alerts = json.loads(subprocess.run([AETHER, "alerts", "--db", db, "--json"], capture_output=True, text=True).stdout)
    port = free_port()
    tail_db = os.path.join(WORK, "tail.sqlite")
    remove_store(tail_db)
    p = start_tail(["--replay", CAPTURE, "--speed", "max", "--db", tail_db], port)

    async def client():
        summaries, seen, ended = [], {}, False
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None) as ws:
            while not ended:
                m = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
                if m["type"] == "summary":
                    summaries.append(m)
                elif m["type"] == "alert":
                    seen[m["id"]] = m
                elif m["type"] == "end":
                    ended = m
        return summaries, seen, ended
    summaries, seen, ended = asyncio.run(client())
    if not summaries or summaries[-1]["total_packets"] != stats["packets"]:
        fail(f"replay: last total_packets {summaries[-1]['total_packets'] if summaries else None} != stats {stats['packets']}")
    if ended["total_packets"] != stats["packets"]:
        fail(f"replay: end total_packets {ended['total_packets']} != {stats['packets']}")
    key = lambda a: (a["kind"], a["src"], a.get("dst") or ",".join(sorted(a.get("dsts", []))))
    if sorted(map(key, seen.values())) != sorted(map(key, alerts)):
        fail(f"replay alerts differ from analyze: {sorted(map(key, seen.values()))} vs {sorted(map(key, alerts))}")
    # A late client gets the state first: the same alerts and the end.
    async def late():
        got = {}
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if m["type"] == "alert":
                    got[m["id"]] = m
                if m["type"] == "end":
                    return got
    if sorted(map(key, asyncio.run(late()).values())) != sorted(map(key, alerts)):
        fail("late client did not get every alert first")
    stop(p)
    tail_stats = json.loads(subprocess.run([AETHER, "stats", "--db", tail_db, "--json"], capture_output=True, text=True).stdout)
    if tail_stats["packets"] != stats["packets"]:
        fail(f"tail store has {tail_stats['packets']} packets, analyze {stats['packets']}")
    status = subprocess.run([AETHER, "query", "--db", tail_db, "SELECT status FROM capture"], capture_output=True, text=True).stdout.split()
    if status[1:] != ["complete"]:
        fail(f"after Ctrl-C the capture row is {status[1:]}, not complete")
    check = subprocess.run(["sqlite3", tail_db, "PRAGMA integrity_check"], capture_output=True, text=True).stdout.strip()
    if check != "ok":
        fail(f"tail store integrity: {check}")
    print(f"live ok: replay {stats['packets']} packets, {len(alerts)} alerts match analyze", flush=True)


def live_scan_on_lo():
    if os.geteuid() != 0 or not shutil.which("nmap"):
        print("SKIP: live capture on lo needs root and nmap", flush=True)
        return
    port = free_port()
    p = start_tail(["-i", "lo"], port)

    async def watch():
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as ws:
            await asyncio.sleep(1.5)
            proc = await asyncio.create_subprocess_exec("nmap", "-n", "-sS", "-Pn", "-T4", "--max-retries", "0", "-p", "1-200",
                                                        "127.0.0.1", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
            await proc.wait()
            scan_end = time.monotonic()
            while time.monotonic() - scan_end < 5:
                try:
                    m = json.loads(await asyncio.wait_for(ws.recv(), timeout=max(0.1, 5 - (time.monotonic() - scan_end))))
                except asyncio.TimeoutError:
                    break
                if m["type"] == "alert" and m["kind"] == "port_scan" and m["src"] == "127.0.0.1":
                    return time.monotonic() - scan_end
            return None
    delay = asyncio.run(watch())
    if delay is None:
        fail("live on lo: no port_scan alert within 5 s of the scan's end")
    else:
        print(f"live ok: port_scan alert {delay:.2f} s after the scan ended", flush=True)
    stop(p)


def browser_numbers_change():
    port = free_port()
    live_db = os.path.join(WORK, "live-running.sqlite")
    remove_store(live_db)
    p = start_tail(["--replay", CAPTURE, "--speed", "300", "--db", live_db], port)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = b.new_page(bypass_csp=True)
        errors, foreign = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(f"http://127.0.0.1:{port}") and not r.url.startswith(f"ws://127.0.0.1:{port}") else None)
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("document.getElementById('status').className === 'open'", timeout=10000)
        page.wait_for_function("Number(document.getElementById('total-packets').textContent) > 0", timeout=10000)
        first = int(page.text_content("#total-packets"))
        time.sleep(2)
        second = int(page.text_content("#total-packets"))
        if second <= first:
            fail(f"live page: total packets did not change ({first} then {second})")
        if errors:
            fail(f"live page errors: {errors}")
        if foreign:
            fail(f"live page requested outside the server: {foreign}")
        page.screenshot(path=os.path.join(WORK, "live.png"))
        print(f"live ok: page numbers {first} then {second}", flush=True)
        # The store is committed every few seconds and readable while tail writes it (WAL).
        time.sleep(2.5)
        r = subprocess.run([AETHER, "report", "--db", live_db, "-o", os.path.join(WORK, "live-running.html"), "--force"], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"report while tail runs: {r.stderr.strip()}")
        # Packets are counted in the capture row at each checkpoint while the session is open.
        chunks = subprocess.run(["sqlite3", live_db, "SELECT count(*) FROM packet_chunk"], capture_output=True, text=True).stdout.strip()
        if chunks in ("", "0"):
            fail("no packets committed to the store while tail runs")
        print(f"live ok: report written from the store while tail runs ({chunks} chunks committed)", flush=True)
        b.close()
    stop(p)


def safety():
    r = subprocess.run([AETHER, "tail", "--replay", CAPTURE, "--listen", "0.0.0.0:8643"], capture_output=True, text=True, timeout=20)
    if r.returncode != 2 or "token" not in r.stderr:
        fail(f"non-loopback without token: exit {r.returncode}, {r.stderr.strip()}")
    # A cap on clients: past it an upgrade is refused; a place is given back when a client leaves.
    cport = free_port()
    cp = start_tail(["--replay", CAPTURE, "--max-clients", "2"], cport)

    def cap_upgrade():
        s = socket.create_connection(("127.0.0.1", cport))
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{cport}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        return s, s.recv(200).split(b"\r\n")[0].decode()
    first, second, third = cap_upgrade(), cap_upgrade(), cap_upgrade()
    if " 101 " not in first[1] or " 101 " not in second[1] or " 101 " in third[1]:
        fail(f"client cap 2: {first[1]!r}, {second[1]!r}, {third[1]!r}")
    first[0].close()
    time.sleep(1)
    fourth = cap_upgrade()
    if " 101 " not in fourth[1]:
        fail(f"a place was not given back: {fourth[1]!r}")
    for c in (second, third, fourth):
        c[0].close()
    stop(cp)
    # A name that starts like loopback is not loopback.
    r = subprocess.run([AETHER, "tail", "--replay", CAPTURE, "--listen", "127.evil.invalid:8643"], capture_output=True, text=True, timeout=20)
    if r.returncode != 2 or "token" not in r.stderr:
        fail(f"127.evil.invalid counted as loopback: exit {r.returncode}, {r.stderr.strip()}")
    port = free_port()
    p = start_tail(["--replay", BIG, "--speed", "max", "--token", "s3cret"], port)

    # DNS rebinding: a foreign Host (with a matching Origin) gets neither the snapshot nor the stream.
    rebind = socket.create_connection(("127.0.0.1", port))
    rebind.sendall(f"GET /api/snapshot?token=s3cret HTTP/1.1\r\nHost: evil.example:{port}\r\nOrigin: http://evil.example:{port}\r\n\r\n".encode())
    status = rebind.recv(200).split(b"\r\n")[0].decode()
    rebind.close()
    if " 421 " not in status:
        fail(f"foreign Host answered: {status}")

    def upgrade(path, origin=None, host=None):
        s = socket.create_connection(("127.0.0.1", port))
        req = (f"GET {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{port}'}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
        if origin:
            req += f"Origin: {origin}\r\n"
        s.sendall((req + "\r\n").encode())
        status = s.recv(200).split(b"\r\n")[0].decode()
        return s, status
    for path, origin, host, what in [("/ws?token=wrong", None, None, "bad token"), ("/ws", None, None, "no token"),
                                     ("/ws?token=s3cret", "http://evil.example", None, "foreign Origin"),
                                     ("/ws?token=s3cret", f"http://evil.example:{port}", f"evil.example:{port}", "foreign Host")]:
        s, status = upgrade(path, origin, host)
        s.close()
        if " 101 " in status:
            fail(f"/ws with {what} was upgraded")
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/snapshot", timeout=2)
        fail("/api/snapshot without the token answered")
    except urllib.error.HTTPError as e:
        if e.code != 401:
            fail(f"/api/snapshot without the token: {e.code}")
    # A client that upgrades and then never reads while the big capture replays.
    s, status = upgrade(f"/ws?token=s3cret", f"http://127.0.0.1:{port}")
    if " 101 " not in status:
        fail(f"good token refused: {status}")
    peak = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            snap = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/snapshot?token=s3cret", timeout=2).read())
        except Exception:
            snap = {}
        with open(f"/proc/{p.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) // 1024
        if snap.get("ended"):
            break
        time.sleep(0.5)
    s.close()
    stop(p)
    if peak > RSS_BOUND_MB:
        fail(f"server peak RSS {peak} MB with a client that never reads (bound {RSS_BOUND_MB} MB)")
    print(f"live ok: safety checks (tokens, Origin, Host against rebinding, exact loopback); peak RSS {peak} MB with a stalled client during the big replay (bound {RSS_BOUND_MB} MB)", flush=True)


replay_matches_analyze()
live_scan_on_lo()
browser_numbers_change()
safety()
sys.exit(1 if failures else 0)
