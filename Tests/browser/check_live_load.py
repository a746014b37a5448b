#!/usr/bin/env python3
"""The live server under load, against a running `aether tail --replay F --speed max`
of a capture with one packet per second of event time (so one summary per packet):
  - 150 WebSocket clients that read, 50 that upgrade and never read, 300 HTTP requests left
    half-open; every reader completes the handshake and receives frames up to `end`;
  - /healthz answers within 1 s throughout (probed from another process every 0.2 s);
  - peak RSS of the server stays at or under 400 MB;
  - malformed requests (bare LF, a 100 kB URL, Content-Length with Transfer-Encoding) get 400
    and a close; a half-open request is closed (408) by the head timeout.
Prints "live ok: ..." lines; exits 1 on any failure.
Usage: check_live_load.py AETHER WORKDIR [PACKETS]"""
import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

import websockets
from livekit import fail, failures, free_port, stop, wait_up

AETHER, WORK = sys.argv[1], sys.argv[2]
PACKETS = int(sys.argv[3]) if len(sys.argv) > 3 else 30000
READERS, STALLED, HALF_OPEN = (int(x) for x in os.environ.get("LOAD_MIX", "150,50,300").split(","))
RSS_BOUND_MB = 400


def slow_capture(path, n):
    """n UDP packets one second apart among 40 hosts: every packet starts a new second."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            src = bytes([10, 0, 0, 1 + i % 40])
            dst = bytes([10, 0, 1, 1 + (i * 7) % 40])
            payload = b"x" * (20 + i % 50)
            udp = struct.pack("!HHHH", 5000 + i % 100, 53 if i % 3 == 0 else 9000 + i % 7, 8 + len(payload), 0) + payload
            ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst))
            s = sum(struct.unpack("!10H", bytes(ip)))
            while s >> 16:
                s = (s & 0xFFFF) + (s >> 16)
            ip[10:12] = struct.pack("!H", ~s & 0xFFFF)
            frame = bytes.fromhex("020000000001020000000002") + b"\x08\x00" + bytes(ip) + udp
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)


PROBE = r"""
import sys, time, urllib.request
port, out = sys.argv[1], sys.argv[2]
worst, n, errors = 0.0, 0, 0
log = open(out + ".log", "w")
start = time.monotonic()
deadline = time.monotonic() + float(sys.argv[3])
while time.monotonic() < deadline:
    t = time.monotonic()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
    except Exception:
        errors += 1
    worst = max(worst, time.monotonic() - t)
    log.write(f"{t - start:.2f} {time.monotonic() - t:.3f}\n"); log.flush()
    n += 1
    with open(out, "w") as f:
        f.write(f"{worst} {n} {errors}\n")
    time.sleep(0.2)
"""


def peak_rss(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    return 0


def raw(port, data, wait=3.0):
    """Sends data; returns (first line of the answer, closed by the server)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(wait)
    s.sendall(data)
    got, closed = b"", False
    try:
        while True:
            d = s.recv(65536)
            if not d:
                closed = True
                break
            got += d
    except ConnectionResetError:
        closed = True  # closed with our unread bytes still queued: the kernel sends RST, not FIN
    except OSError:
        pass
    s.close()
    return got.split(b"\r\n")[0].decode(errors="replace"), closed


def ws_close_code(port, frame):
    """Upgrades to /ws, sends one raw frame, and returns the code of the server's close frame
    (None if the server sent none within 10 s)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    try:
        while b"\r\n\r\n" not in buf:
            d = s.recv(4096)
            if not d:
                return None
            buf += d
        if b" 101 " not in buf.split(b"\r\n")[0]:
            return None
        buf = buf.split(b"\r\n\r\n", 1)[1]
        s.sendall(frame)
        while True:
            # Server frames are unmasked: opcode, length (7, 16 or 64 bits), payload.
            while len(buf) < 2 or len(buf) < 2 + {126: 2, 127: 8}.get(buf[1] & 127, 0):
                d = s.recv(65536)
                if not d:
                    return None
                buf += d
            n, head = buf[1] & 127, 2
            if n == 126:
                n, head = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                n, head = int.from_bytes(buf[2:10], "big"), 10
            while len(buf) < head + n:
                d = s.recv(65536)
                if not d:
                    return None
                buf += d
            opcode, payload, buf = buf[0] & 15, buf[head:head + n], buf[head + n:]
            if opcode == 8:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
    except OSError:
        return None
    finally:
        s.close()


def masked(opcode, payload, fin=True):
    key = b"\x01\x02\x03\x04"
    return bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)]) + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


async def reader(port, results, i):
    frames, ended = 0, False
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=30, max_size=None, ping_interval=None) as ws:
            results["handshakes"] += 1
            async for msg in ws:
                frames += 1
                if json.loads(msg).get("type") == "end":
                    ended = True
                    break
    except Exception as e:
        results["errors"].append(f"reader {i}: {type(e).__name__}: {e}")
    results["frames"].append(frames)
    results["ended"] += ended


async def stalled(port, keep):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await w.drain()
    keep.append((r, w))  # never read again


async def half_open(port, keep):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    w.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n".encode())
    await w.drain()
    keep.append((r, w))


async def load(port):
    results = {"handshakes": 0, "frames": [], "ended": 0, "errors": []}
    keep = []
    await asyncio.gather(*[stalled(port, keep) for _ in range(STALLED)], *[half_open(port, keep) for _ in range(HALF_OPEN)])
    try:
        await asyncio.wait_for(asyncio.gather(*[reader(port, results, i) for i in range(READERS)]), timeout=180)
    except asyncio.TimeoutError:
        results["errors"].append("readers still waiting for `end` after 180 s")
    # The half-open requests were answered 408 and closed by the head timeout by now.
    async def was_closed(r):
        try:
            data = await asyncio.wait_for(r.read(200), timeout=15)
            return data.startswith(b"HTTP/1.1 408") or data == b""
        except Exception:
            return False
    closed = sum(await asyncio.gather(*[was_closed(r) for r, _ in keep[STALLED:]]))
    for r, w in keep[STALLED:]:
        w.close()
    for r, w in keep[:STALLED]:
        w.close()
    return results, closed


def main():
    os.makedirs(WORK, exist_ok=True)
    cap = os.path.join(WORK, f"one-per-second-{PACKETS}.pcap")
    if not os.path.exists(cap):
        slow_capture(cap, PACKETS)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "AETHER_TOKEN"}
    tail = subprocess.Popen([AETHER, "tail", "--replay", cap, "--speed", "max", "--listen", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_up(tail, port, "--replay under load")
    probe_out = os.path.join(WORK, "healthz-probe.txt")
    probe = subprocess.Popen([sys.executable, "-c", PROBE, str(port), probe_out, "900"])
    peak = [0]

    def sample():
        while tail.poll() is None:
            try:
                peak[0] = max(peak[0], peak_rss(tail.pid))
            except OSError:
                break
            time.sleep(0.5)
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.monotonic()
    results, closed = asyncio.run(load(port))
    took = time.monotonic() - t0
    # Malformed requests while the server is loaded.
    host = f"Host: 127.0.0.1:{port}\r\n".encode()
    for what, data in [("bare LF", b"GET /healthz HTTP/1.1\n" + host + b"\n"),
                       ("100 kB URL", b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\n" + host + b"\r\n"),
                       ("CL+TE", b"POST / HTTP/1.1\r\n" + host + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                       # What the HTTP decoder itself refuses: answered and closed, never left open.
                       ("NUL in a header", b"GET /healthz HTTP/1.1\r\n" + host + b"X-A: a\x00b\r\n\r\n"),
                       ("101 header fields", b"GET /healthz HTTP/1.1\r\n" + host + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"),
                       ("control byte in the method", b"G\x01T /healthz HTTP/1.1\r\n" + host + b"\r\n"),
                       ("two Host headers", b"GET /healthz HTTP/1.1\r\n" + host + b"Host: evil.example\r\n\r\n"),
                       ("absolute-form for another authority", b"GET http://evil.example/healthz HTTP/1.1\r\n" + host + b"\r\n")]:
        status, was_closed = raw(port, data)
        if " 400 " not in status or not was_closed:
            fail(f"malformed request ({what}): {status!r}, closed {was_closed}")
    # 300 requests the decoder refuses, all at once: each answered and closed, none left open.
    import select
    socks = []
    for i in range(300):
        c = socket.create_connection(("127.0.0.1", port), timeout=10)
        c.sendall(b"GET /healthz HTTP/1.1\r\n" + host + (b"X-A: a\x00b\r\n\r\n" if i % 2 else b"G\x01T: x\r\n\r\n"))
        socks.append(c)
    start, pending = time.monotonic(), set(socks)
    while pending and time.monotonic() - start < 60:
        for c in select.select(list(pending), [], [], 1.0)[0]:
            try:
                if c.recv(65536) == b"":
                    pending.discard(c)
            except OSError:
                pending.discard(c)
    for c in socks:
        c.close()
    if pending:
        fail(f"{len(pending)} of 300 refused requests still open after 60 s")
    else:
        print(f"live ok: 300 refused requests at once, all answered and closed within {time.monotonic() - start:.1f} s", flush=True)
    # RFC 6455 violations from a client: refused with the close code the RFC names.
    for what, frame, want in [("an unmasked frame", b"\x81\x02hi", 1002),
                              ("a continuation with no start", masked(0, b"hi"), 1002),
                              ("text that is not UTF-8", masked(1, b"\xff\xfehi"), 1007)]:
        code = ws_close_code(port, frame)
        if code != want:
            fail(f"websocket: {what}: close code {code}, not {want}")
    probe.terminate()
    probe.wait()
    worst, probes, probe_errors = open(probe_out).read().split()
    worst, probes, probe_errors = float(worst), int(probes), int(probe_errors)
    rss = max(peak[0], peak_rss(tail.pid) if tail.poll() is None else 0)
    stop(tail)
    if results["handshakes"] != READERS:
        fail(f"{results['handshakes']} of {READERS} readers completed the handshake: {results['errors'][:3]}")
    if min(results["frames"] or [0]) == 0 or results["ended"] != READERS:
        fail(f"readers: fewest frames {min(results['frames'] or [0])}, {results['ended']} of {READERS} saw the end")
    if worst >= 1.0 or probe_errors:
        fail(f"/healthz: worst {worst:.3f} s over {probes} probes, {probe_errors} errors")
    if rss > RSS_BOUND_MB:
        fail(f"peak RSS {rss} MB (bound {RSS_BOUND_MB} MB)")
    if closed != HALF_OPEN:
        fail(f"{closed} of {HALF_OPEN} half-open requests were closed by the head timeout")
    frames = sorted(results["frames"])
    print(f"live ok: load of {READERS} readers, {STALLED} stalled, {HALF_OPEN} half-open over a {PACKETS}-summary replay "
          f"({took:.1f} s): handshakes {results['handshakes']}/{READERS}, frames per reader {frames[0]}..{frames[-1]}, "
          f"/healthz worst {worst * 1000:.0f} ms over {probes} probes, peak RSS {rss} MB, half-open closed {closed}/{HALF_OPEN}", flush=True)
    if not failures:
        print("live ok: malformed requests (bare LF, 100 kB URL, CL+TE, NUL, 101 fields, control in method, two Hosts, foreign absolute-form) answered 400 and closed", flush=True)
        print("live ok: websocket frames that break RFC 6455 (unmasked, continuation with no start, text not UTF-8) closed with 1002, 1002, 1007", flush=True)
    sys.exit(1 if failures else 0)


main()
