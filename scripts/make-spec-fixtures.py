#!/usr/bin/env python3
"""Writes the specification fixtures (Fixtures/spec): small captures of every encapsulation the
decoder reads, and beside each the fields tshark reports for it (NAME.tshark.tsv), which
DecodeSpecTests compares packet by packet without needing tshark. Run again after adding a case;
commit both files. Usage: make-spec-fixtures.py [OUT_DIR]"""
import os
import struct
import sys

import tsharkfields

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Fixtures", "spec")
MAC = bytes.fromhex("020000000001020000000002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def v4(a):
    return bytes(int(x) for x in a.split("."))


def v6(last):
    return bytes.fromhex("20010db8000000000000000000000000")[:15] + bytes([last])


def ip4(src, dst, proto, payload, ident=1, frag=0x4000):
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, v4(src), v4(dst)))
    h[10:12] = struct.pack("!H", csum(bytes(h)))
    return bytes(h) + payload


def ip6(src, dst, nxt, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + v6(src) + v6(dst) + payload


def tcp(sp, dp, flags=0x02, data=b""):
    return struct.pack("!HHIIBBHHH", sp, dp, 1000, 0, 0x50, flags, 65535, 0, 0) + data


def udp(sp, dp, data=b"x" * 8):
    return struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data


def icmp(t, c, rest):
    return struct.pack("!BBH", t, c, 0) + rest


def eth(etype, payload):
    return MAC + struct.pack("!H", etype) + payload


def write(name, linktype, frames):
    path = os.path.join(OUT, name + ".pcap")
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(fr), len(fr)) + fr)
    tsharkfields.write_spec(path, os.path.join(OUT, name + ".tshark.tsv"))


def main():
    os.makedirs(OUT, exist_ok=True)
    frames = [
        eth(0x0800, ip4("10.0.0.1", "10.0.0.2", 6, tcp(40000, 80))),
        eth(0x8100, struct.pack("!HH", 100, 0x0800) + ip4("10.0.0.1", "10.0.0.53", 17, udp(5353, 53))),
        eth(0x88A8, struct.pack("!HH", 10, 0x8100) + struct.pack("!HH", 20, 0x0800) + ip4("10.0.1.1", "10.0.1.2", 1, icmp(8, 0, struct.pack("!HH", 7, 1) + b"ping"))),
        eth(0x86DD, ip6(1, 2, 6, tcp(40001, 443))),
        eth(0x86DD, ip6(1, 2, 0, bytes([17, 0, 1, 4, 0, 0, 0, 0]) + udp(546, 547))),
        eth(0x86DD, ip6(3, 4, 44, bytes([17, 0, 0, 1, 0, 0, 0, 9]) + udp(5000, 5001, b"y" * 16))),
        eth(0x0800, ip4("192.0.2.1", "192.0.2.2", 47, struct.pack("!HH", 0, 0x0800) + ip4("10.9.0.1", "10.9.0.2", 6, tcp(1234, 22)))),
        eth(0x0800, ip4("192.0.2.3", "192.0.2.4", 17, udp(49152, 4789, struct.pack("!II", 0x08000000, 0x00123400)
                                                           + eth(0x0800, ip4("10.8.0.1", "10.8.0.2", 17, udp(7000, 7001)))))),
        eth(0x0800, ip4("10.0.0.2", "10.0.0.1", 1, icmp(3, 3, b"\0\0\0\0" + ip4("10.0.0.1", "10.0.0.2", 17, udp(33000, 33434))[:28]))),
        eth(0x0800, ip4("192.0.2.5", "192.0.2.6", 41, ip6(5, 6, 58, icmp(128, 0, struct.pack("!HH", 1, 1))))),
        eth(0x8864, struct.pack("!BBHHH", 0x11, 0, 1, 2 + 40, 0x0021) + ip4("100.64.0.1", "100.64.0.2", 6, tcp(50000, 8080))),
        eth(0x0806, struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC[6:] + v4("10.0.0.7") + bytes(6) + v4("10.0.0.8")),
        eth(0x0800, ip4("10.0.0.1", "10.0.0.2", 17, b"z" * 24, ident=9, frag=0x0003)),
        eth(0x0800, ip4("192.0.2.7", "192.0.2.8", 4, ip4("10.7.0.1", "10.7.0.2", 17, udp(6000, 6001)))),
    ]
    write("ethernet-encapsulations", 1, frames)
    write("raw-ip", 101, [ip4("10.1.0.1", "10.1.0.2", 6, tcp(1111, 2222)), ip6(7, 8, 17, udp(3333, 4444))])
    sll = lambda proto, p: struct.pack("!HHH", 0, 1, 6) + MAC[:6] + b"\0\0" + struct.pack("!H", proto) + p
    write("linux-sll", 113, [sll(0x0800, ip4("10.2.0.1", "10.2.0.2", 17, udp(53, 5353))), sll(0x86DD, ip6(9, 10, 6, tcp(80, 40000, 0x12)))])


main()
