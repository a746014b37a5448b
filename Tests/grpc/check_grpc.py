#!/usr/bin/env python3
"""The gRPC event stream with a Python grpcio client generated from proto/aether.proto:
  1. a replay of a gencap capture: a subscriber with no filter receives every packet (the truth's
     count, End's total_packets) and every alert that `aether ingest` finds; at the same time a
     filtered subscriber ("udp and port 53") gets exactly the matching packets and a sampled one
     (1 in 10) exactly one in ten; a subscriber that comes late first gets the alerts so far;
  2. 101 subscribers through one channel all served (the stream limit is advertised); a kind that
     does not exist is refused (INVALID_ARGUMENT);
  3. with a token: no metadata is refused (UNAUTHENTICATED); a subscriber that stops reading
     during the big replay is cut off with RESOURCE_EXHAUSTED while the server's memory stays
     bounded, and a new subscriber is served afterwards.
Usage: check_grpc.py AETHER CAPTURE BIG_CAPTURE WORKDIR  ("grpc ok" lines; exit 1 on a failure)"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "browser"))
from livekit import fail, failures, free_port, remove_store, stop, wait_up  # noqa: E402

AETHER, CAPTURE, BIG, WORK = sys.argv[1:5]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
RSS_BOUND_MB = 400

gen = os.path.join(WORK, "grpc-gen")
os.makedirs(gen, exist_ok=True)
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={gen}", f"--grpc_python_out={gen}",
                os.path.join(ROOT, "proto", "aether.proto")], check=True)
sys.path.insert(0, gen)
import aether_pb2  # noqa: E402
import aether_pb2_grpc  # noqa: E402
import grpc  # noqa: E402


def ok(msg):
    print("grpc ok: " + msg, flush=True)


def tail(args, port, gport):
    p = subprocess.Popen([AETHER, "tail", "--listen", f"127.0.0.1:{port}", "--grpc", f"127.0.0.1:{gport}"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_up(p, port, args)
    return p


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


class Reader(threading.Thread):
    """Reads one subscription to its end, keeping what it needs."""

    def __init__(self, stub, request, metadata=()):
        super().__init__()
        self.stub, self.request, self.metadata = stub, request, metadata
        self.packets, self.alerts, self.summaries, self.end, self.error = [], {}, 0, None, None
        self.started = self.finished = None

    def run(self):
        self.started = time.time()
        try:
            for e in self.stub.Subscribe(self.request, metadata=self.metadata):
                kind = e.WhichOneof("event")
                if kind == "packet":
                    p = e.packet
                    self.packets.append((p.sequence, p.protocol, p.src_port, p.dst_port))
                elif kind == "alert":
                    self.alerts[e.alert.id] = e.alert
                elif kind == "summary":
                    self.summaries += 1
                elif kind == "end":
                    self.end = e.end
        except grpc.RpcError as err:
            self.error = err
        self.finished = time.time()


def complete_stream():
    truth = json.load(open(CAPTURE + ".truth.json"))
    db = os.path.join(WORK, "grpc-ingest.sqlite")
    remove_store(db)
    subprocess.run([AETHER, "ingest", CAPTURE, "--db", db], capture_output=True, check=True)
    want_alerts = {a["id"]: a for a in json.loads(subprocess.run([AETHER, "alerts", "--db", db, "--json"], capture_output=True, text=True, check=True).stdout)}
    port, gport = free_port(), free_port()
    p = tail(["--replay", CAPTURE, "--speed", "max", "--grpc-wait", "3", "--grpc-queue", "200000"], port, gport)
    channel = grpc.insecure_channel(f"127.0.0.1:{gport}")
    stub = aether_pb2_grpc.LiveStub(channel)
    K = aether_pb2.SubscribeRequest
    everything = Reader(stub, K())
    dns = Reader(stub, K(kinds=[K.PACKET], filter="udp and port 53"))
    sampled = Reader(stub, K(kinds=[K.PACKET], sample=10))
    for r in (everything, dns, sampled):
        r.start()
    for r in (everything, dns, sampled):
        r.join(timeout=600)
    # A subscriber that comes after the replay first gets the alerts so far.
    late_alerts, late_end = {}, None
    try:
        for e in stub.Subscribe(K(kinds=[K.ALERT]), timeout=10):
            if e.WhichOneof("event") == "end":
                late_end = e.end
            else:
                late_alerts[e.alert.id] = e.alert
    except grpc.RpcError as err:
        fail(f"grpc: late subscriber: {err.code()}")
    if set(late_alerts) == set(want_alerts) and late_end is not None:
        ok(f"a late subscriber first gets the {len(late_alerts)} alerts so far, then End ({late_end.total_packets} packets)")
    else:
        fail(f"grpc: late subscriber got alerts {sorted(late_alerts)}, End {late_end}")
    stop(p)
    n = len(everything.packets)
    if everything.error is None and n == truth["packets"] and everything.end and everything.end.total_packets == n:
        rate = n / max(everything.finished - everything.started, 1e-3)
        ok(f"every packet: {n} = truth {truth['packets']} = End.total_packets; {everything.summaries} summaries")
        print(f"grpc: {rate:,.0f} events/s to one subscriber (three subscribers at once, debug build, replay at max speed)")
    else:
        fail(f"grpc: {n} packets (truth {truth['packets']}), end {everything.end}, error {everything.error}")
    seqs = [s for s, *_ in everything.packets]
    if seqs != list(range(1, n + 1)):
        fail("grpc: packet sequence numbers are not 1…N in order")
    if set(everything.alerts) == set(want_alerts) and want_alerts and all(everything.alerts[i].kind == want_alerts[i]["kind"] for i in want_alerts):
        ok(f"every alert of the replay: {len(want_alerts)} (ids and kinds as aether alerts --json)")
    else:
        fail(f"grpc: alerts {sorted(everything.alerts)} vs {sorted(want_alerts)}")
    match = [x for x in everything.packets if x[1] == "udp" and 53 in (x[2], x[3])]
    if dns.error is None and dns.packets == match and match:
        ok(f"filter 'udp and port 53': exactly the {len(match)} matching packets")
    else:
        fail(f"grpc: filtered subscriber got {len(dns.packets)} packets, {len(match)} match ({dns.error})")
    if sampled.error is None and len(sampled.packets) == (n + 9) // 10 and not sampled.alerts and sampled.summaries == 0:
        ok(f"sample 10 (packets only): {len(sampled.packets)} of {n}")
    else:
        fail(f"grpc: sampled subscriber got {len(sampled.packets)} (want {(n + 9) // 10}), alerts {len(sampled.alerts)}, summaries {sampled.summaries}")


def slow_subscriber():
    port, gport = free_port(), free_port()
    p = tail(["--replay", BIG, "--speed", "max", "--grpc-wait", "1", "--grpc-queue", "20000", "--token", "grpc-secret"], port, gport)
    channel = grpc.insecure_channel(f"127.0.0.1:{gport}")
    stub = aether_pb2_grpc.LiveStub(channel)
    try:
        next(iter(stub.Subscribe(aether_pb2.SubscribeRequest(), timeout=10)))
        fail("grpc: a subscription without the token was served")
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNAUTHENTICATED:
            ok("without the token: UNAUTHENTICATED")
        else:
            fail(f"grpc: without the token: {err.code()}")
    auth = (("authorization", "Bearer grpc-secret"),)
    stream = stub.Subscribe(aether_pb2.SubscribeRequest(), metadata=auth)
    first = next(iter(stream))  # subscribed (this starts the replay), then stop reading
    peak = 0.0
    # The server ends the stream without this client reading another event: its writer is
    # stopped at the cut and the stream reset once it has taken nothing for 10 s.
    waited = time.time()
    while not stream.done() and time.time() - waited < 45:
        peak = max(peak, rss_mb(p.pid))
        time.sleep(0.1)
        if p.poll() is not None:
            break
    if stream.done():
        ok(f"a subscriber that never read again was ended by the server after {time.time() - waited:.0f} s")
    else:
        fail("grpc: a subscriber that stopped reading was still open after 45 s")
    got, code = 1, None
    try:
        for _ in stream:
            got += 1
    except grpc.RpcError as err:
        code = err.code()
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED and peak < RSS_BOUND_MB:
        ok(f"a subscriber that stopped reading was cut off (RESOURCE_EXHAUSTED after {got} events); server peak RSS {peak:.0f} MB")
    else:
        fail(f"grpc: slow subscriber ended with {code} after {got} events ({first.WhichOneof('event')} first), peak RSS {peak:.0f} MB")
    later = Reader(stub, aether_pb2.SubscribeRequest(kinds=[aether_pb2.SubscribeRequest.SUMMARY]), metadata=auth)
    later.start()
    time.sleep(2)
    if p.poll() is None and later.error is None:
        ok("the server goes on: a new subscriber is served after the cut")
    else:
        fail(f"grpc: after the cut the server {'exited' if p.poll() is not None else 'refused'}: {later.error}")
    stop(p)
    later.join(timeout=30)


def many_on_one_connection():
    """101 subscribers through one channel (grpcio puts them on one HTTP/2 connection): the
    server advertises its stream limit, so none loses the connection; a request for a kind
    that does not exist is refused."""
    port, gport = free_port(), free_port()
    p = tail(["--replay", CAPTURE, "--speed", "max", "--grpc-wait", "101", "--grpc-queue", "200000"], port, gport)
    channel = grpc.insecure_channel(f"127.0.0.1:{gport}")
    stub = aether_pb2_grpc.LiveStub(channel)
    K = aether_pb2.SubscribeRequest
    try:
        next(iter(stub.Subscribe(K(kinds=[99]), timeout=10)))
        fail("grpc: a subscription to kind 99 was served")
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.INVALID_ARGUMENT:
            ok("a kind that does not exist: INVALID_ARGUMENT")
        else:
            fail(f"grpc: kind 99: {err.code()}")
    readers = [Reader(stub, K(kinds=[K.SUMMARY])) for _ in range(101)]
    for r in readers:
        r.start()
    for r in readers:
        r.join(timeout=600)
    stop(p)
    served = [r for r in readers if r.error is None and r.end is not None and r.summaries > 0]
    if len(served) == 101:
        ok("101 subscribers on one connection: every one got its events and End")
    else:
        bad = [r.error.code() if r.error else "no End" for r in readers if r not in served]
        fail(f"grpc: {len(served)} of 101 subscribers on one connection served; others: {bad[:3]}")


def doors():
    """The port's own limits: a request for another authority (a page rebinding its name) is
    refused as the WebSocket side refuses its Host; 300 bare connections (no preface) are all
    closed by the server within 60 s, and the live page answers meanwhile."""
    import select
    import socket
    import urllib.request
    port, gport = free_port(), free_port()
    p = tail(["--replay", CAPTURE, "--speed", "max", "--grpc-wait", "1"], port, gport)
    # While the replay waits for its subscriber, the war room says so (not a still, empty chart).
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = b.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        status = "document.getElementById('status').textContent"
        try:
            page.wait_for_function(status + ".indexOf('waiting for 1 gRPC subscriber') === 0", timeout=10000)
            ok("the war room says it waits: '" + page.evaluate(status) + "'")
        except Exception:
            fail("war room while waiting: status '" + page.evaluate(status) + "'")
        b.close()
    channel = grpc.insecure_channel(f"127.0.0.1:{gport}", options=[("grpc.default_authority", f"rebound.example:{gport}")])
    try:
        next(iter(aether_pb2_grpc.LiveStub(channel).Subscribe(aether_pb2.SubscribeRequest(), timeout=10)))
        fail("grpc: a request for another authority was served")
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.PERMISSION_DENIED:
            ok("a request for another :authority: PERMISSION_DENIED")
        else:
            fail(f"grpc: another authority: {err.code()}")
    socks = []
    for _ in range(300):
        s = socket.create_connection(("127.0.0.1", gport), timeout=5)
        socks.append(s)
    start = time.time()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        healthy = r.status == 200
    open_ = set(range(len(socks)))
    while open_ and time.time() - start < 60:
        ready, _, _ = select.select([socks[i] for i in open_], [], [], 1.0)
        for sock in ready:
            try:
                gone = sock.recv(1024) == b""
            except OSError:
                gone = True
            if gone:
                open_.discard(socks.index(sock))
    for s in socks:
        s.close()
    if not open_ and healthy:
        ok(f"300 bare connections all closed by the server after {time.time() - start:.0f} s; /healthz answered meanwhile")
    else:
        fail(f"grpc: {len(open_)} of 300 bare connections still open after 60 s (healthz {healthy})")
    stop(p)


complete_stream()
doors()
many_on_one_connection()
slow_subscriber()
if failures:
    print(f"{len(failures)} gRPC check(s) failed")
    sys.exit(1)
