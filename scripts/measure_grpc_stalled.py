#!/usr/bin/env python3
"""How much gRPC subscribers that never read slow a replay (the bound: at most 3x its time alone).
Usage: measure_grpc_stalled.py AETHER CAPTURE N   (N stalled subscribers beside one that reads
summaries to End; N = 0 is the replay alone). Prints the seconds from the start to End, and the
replay's own time: from the reader's first event (every subscriber connected) to End.
AETHER_TAIL_ARGS adds options to tail (say, "--grpc-queue 16384").
Needs grpcio and grpcio-tools (make test's venv has them) and a build with gRPC (make release-full)."""
import os, subprocess, sys, tempfile, time, socket, threading
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
gen = tempfile.mkdtemp(prefix="aether-grpc-gen-")
subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", os.path.join(ROOT, "proto"), f"--python_out={gen}",
                f"--grpc_python_out={gen}", os.path.join(ROOT, "proto", "aether.proto")], check=True)
sys.path.insert(0, gen)
import grpc, aether_pb2, aether_pb2_grpc  # noqa: E402
AETHER, CAP, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
def free():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
port, gport = free(), free()
args = [AETHER, "tail", "--replay", CAP, "--speed", "max", "--listen", f"127.0.0.1:{port}", "--grpc", f"127.0.0.1:{gport}", "--grpc-wait", str(max(N, 1))] + os.environ.get("AETHER_TAIL_ARGS", "").split()
t0 = time.time()
p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
time.sleep(1.5)
chans, streams = [], []
end = {"t": None, "first": None}
def full_reader():
    ch = grpc.insecure_channel(f"127.0.0.1:{gport}")
    for e in aether_pb2_grpc.LiveStub(ch).Subscribe(aether_pb2.SubscribeRequest(kinds=[aether_pb2.SubscribeRequest.SUMMARY])):
        if end["first"] is None:
            end["first"] = time.time()
        if e.WhichOneof("event") == "end":
            end["t"] = time.time(); break
if N == 0:
    threading.Thread(target=full_reader, daemon=True).start()
for i in range(N - 1 if N else 0):
    ch = grpc.insecure_channel(f"127.0.0.1:{gport}", options=[("grpc.use_local_subchannel_pool", 1)])
    s = aether_pb2_grpc.LiveStub(ch).Subscribe(aether_pb2.SubscribeRequest())
    chans.append(ch); streams.append(s)
if N:
    threading.Thread(target=full_reader, daemon=True).start()
start = time.time()
while end["t"] is None and time.time() - start < 600: time.sleep(0.2)
# From the reader's first event (the replay has begun: every subscriber is connected) to End.
print(f"{N} stalled: End after {end['t'] - start:.1f} s; replay (first event to End) {end['t'] - end['first']:.1f} s" if end["t"] else f"{N} stalled: no End")
p.terminate(); p.wait()
