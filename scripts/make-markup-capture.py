#!/usr/bin/env python3
"""Writes Fixtures/markup.pcap: DNS names, a TLS server name, an HTTP Host, URI and User-Agent
that carry markup, for the report's escaping test. Every string below must show up as text."""
import struct
import sys

PAYLOADS = {
    "dns": "<script>alert(1)</script>",
    "dns2": '"><img src=x onerror=alert(2)>',
    "sni": "</title><script>alert(3)</script>.example",
    "host": '"><img src=x onerror=alert(4)>',
    "uri": "/</title><script>alert(5)</script>",
    "ua": "<svg onload=alert(6)>",
}


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, bytes(src), bytes(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    return ip(src, dst, 17, u)


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    t = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + data
    return ip(src, dst, 6, t)


def dns_query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        raw = label.encode()
        q += bytes([len(raw)]) + raw
    return q + b"\0" + struct.pack("!HH", 1, 1)


def client_hello(sni):
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    alpn = b"\x02h2"
    alpn_ext = struct.pack("!HHH", 16, len(alpn) + 2, len(alpn)) + alpn
    exts = sni_ext + alpn_ext
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 4) + b"\x13\x01\x13\x02" + b"\x01\x00"
    body += struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def main(out):
    a, b, c = [10, 1, 1, 10], [10, 1, 1, 53], [203, 0, 113, 80]
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    frames = [
        udp(a, b, 40001, 53, dns_query(PAYLOADS["dns"] + ".evil.example", 1)),
        udp(a, b, 40002, 53, dns_query(PAYLOADS["dns2"] + ".evil.example", 2)),
        tcp(a, c, 40003, 443, 1000, 0, 0x02),
        tcp(c, a, 443, 40003, 5000, 1001, 0x12),
        tcp(a, c, 40003, 443, 1001, 5001, 0x10),
        tcp(a, c, 40003, 443, 1001, 5001, 0x18, client_hello(PAYLOADS["sni"])),
        tcp(a, c, 40004, 80, 2000, 0, 0x02),
        tcp(c, a, 80, 40004, 7000, 2001, 0x12),
        tcp(a, c, 40004, 80, 2001, 7001, 0x10),
        tcp(a, c, 40004, 80, 2001, 7001, 0x18,
            ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n" % (PAYLOADS["uri"], PAYLOADS["host"], PAYLOADS["ua"])).encode()),
    ]
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            frame = eth + fr
            f.write(struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Fixtures/markup.pcap")
