import asyncio, json, subprocess, sys, time, urllib.request, zlib, struct
"""How big the live view's frames are as JSON, with permessage-deflate (with and without context
takeover) and as a packed binary form. Usage: measure_ws_frames.py AETHER CAPTURE (venv python)."""
AETHER, CAP = sys.argv[1], sys.argv[2]
p = subprocess.Popen([AETHER, "tail", "--replay", CAP, "--speed", "max", "--listen", "127.0.0.1:8677"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(200):
    try: urllib.request.urlopen("http://127.0.0.1:8677/healthz"); break
    except Exception: time.sleep(0.05)
import websockets
async def go():
    msgs = []
    async with websockets.connect("ws://127.0.0.1:8677/ws", max_size=None, compression=None) as ws:
        while True:
            m = await ws.recv(); msgs.append(m)
            if json.loads(m)["type"] == "end": return msgs
msgs = asyncio.run(go()); p.send_signal(2); p.wait()
summ = [m for m in msgs if '"type":"summary"' in m]
raw = sum(len(m.encode()) for m in summ)
# permessage-deflate without context takeover: each message alone
alone = sum(len(zlib.compress(m.encode(), 6)) - 6 for m in summ)
# with context takeover (the default): one stream, sync-flushed per message
c = zlib.compressobj(6, zlib.DEFLATED, -15); taken = 0
for m in summ: taken += len(c.compress(m.encode()) + c.flush(zlib.Z_SYNC_FLUSH)) - 4
# a binary form: fixed fields packed, talkers as 16-byte address + two u32
def binary(m):
    d = json.loads(m); b = struct.pack("<qQQQQ", d["t"], d["packets"], d["bytes"], d["total_packets"], d["total_bytes"]) + struct.pack("<7I", *d["protocols"].values()) + struct.pack("<I", d["drops"])
    return len(b) + 24 * len(d["top_talkers"])
binsize = sum(binary(m) for m in summ)
print(f"{len(summ)} summaries: JSON {raw/len(summ):.0f} B/frame; permessage-deflate no takeover {alone/len(summ):.0f} B ({alone/raw*100:.0f} %); with takeover {taken/len(summ):.0f} B ({taken/raw*100:.0f} %); packed binary {binsize/len(summ):.0f} B ({binsize/raw*100:.0f} %)")
