#!/usr/bin/env python3
"""Writes the million-connection flood: N SYNs from N distinct sources within 3 s of
event time, one in five to TCP 4444 of an external host, the rest to its port 80, nothing
answered. Usage: make-flood.py OUT [N]"""
import struct
import sys


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    out, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    eth = bytes.fromhex("020000000001020000000002") + b"\x08\x00"
    dst = bytes([203, 0, 113, 10])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t0 = 1_700_000_000
        for i in range(n):
            src = bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF])
            port = 4444 if i % 5 == 0 else 80
            tcp = struct.pack("!HHIIBBHHH", 40000 + (i % 20000), port, i, 0, 0x50, 0x02, 64240, 0, 0)
            ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, i & 0xFFFF, 0x4000, 64, 6, 0, src, dst))
            ip[10:12] = struct.pack("!H", csum(bytes(ip)))
            frame = eth + bytes(ip) + tcp
            us = i * 3_000_000 // n
            f.write(struct.pack("<IIII", t0 + us // 1_000_000, us % 1_000_000, len(frame), len(frame)) + frame)


main()
