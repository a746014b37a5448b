#!/usr/bin/env python3
"""Writes one small capture per encapsulation the decoder follows, each wrapping TCP,
UDP and ICMP in IPv4 and IPv6, built with scapy (PyPI). The differential test compares aether's
decode of them with tshark's, packet by packet; `undecoded` must be 0 on every one. Also writes
`unknown-linktype.pcap` (a link type aether does not decode) for the warning check.
With --spec, writes instead the committed specification fixtures (Fixtures/spec/encap-*.pcap, two
packets per encapsulation, with tshark's fields beside each; DecodeSpecTests reads them).
Usage: make-encap-captures.py OUT_DIR | make-encap-captures.py --spec [DIR]"""
import logging
import os
import struct
import sys

import tsharkfields

from scapy.all import ICMP, IP, UDP, TCP, IPv6, ICMPv6EchoRequest, Ether, Raw, wrpcap, conf
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header
from scapy.contrib.mpls import MPLS
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.pflog import PFLog
from scapy.layers.l2 import GRE, LLC, SNAP, Dot1AD, Dot1AH, Dot1Q, Dot3
from scapy.layers.vxlan import VXLAN

conf.verb = 0
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
SPEC = sys.argv[1] == "--spec"
OUT = (sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "Fixtures", "spec")) if SPEC else sys.argv[1]
A, B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"
PW_SRC, PW_DST = "00:50:56:00:00:02", "00:1b:21:00:00:01"


def inners():
    """TCP, UDP and ICMP in IPv4 and IPv6: the packets every encapsulation wraps."""
    return [
        IP(src="10.1.0.1", dst="10.1.0.2", id=1) / TCP(sport=40001, dport=8080, flags="S"),
        IP(src="10.1.0.1", dst="10.1.0.3", id=2) / UDP(sport=40002, dport=7777) / Raw(b"payload!"),
        IP(src="10.1.0.1", dst="10.1.0.4", id=3) / ICMP(type=8, id=7, seq=1) / Raw(b"ping"),
        IPv6(src="2001:db8:1::1", dst="2001:db8:1::2") / TCP(sport=40003, dport=8443, flags="S"),
        IPv6(src="2001:db8:1::1", dst="2001:db8:1::3") / UDP(sport=40004, dport=7778) / Raw(b"payload!"),
        IPv6(src="2001:db8:1::1", dst="2001:db8:1::4") / ICMPv6EchoRequest(id=7, seq=1),
    ]


def ethertype(ip):
    return 0x0800 if ip.version == 4 else 0x86DD


def ppp_proto(ip):
    return 0x0021 if ip.version == 4 else 0x0057


def outer4(proto_layers):
    return Ether(src=A, dst=B) / IP(src="192.0.2.1", dst="192.0.2.2") / proto_layers


def outer6(proto_layers):
    return Ether(src=A, dst=B) / IPv6(src="2001:db8:ff::1", dst="2001:db8:ff::2") / proto_layers


def nflog(ip):
    family = 2 if ip.version == 4 else 10
    tlv = lambda t, v: struct.pack("<HH", 4 + len(v), t) + v + b"\0" * (-len(v) % 4)
    return struct.pack("!BBH", family, 0, 5) + tlv(1, struct.pack("!HBB", ethertype(ip), 3, 0)) + tlv(10, b"aether\0") + tlv(9, bytes(ip))


def dot11(ip, qos=False):
    llc = LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype(ip)) / ip
    if qos:
        return Dot11(type=2, subtype=8, FCfield=0x01, addr1=B, addr2=A, addr3=B) / Dot11QoS() / llc
    return Dot11(type=2, subtype=0, FCfield=0x02, addr1=B, addr2=A, addr3=A) / llc


# name: (link type, function of the inner IP packet giving the frame)
CASES = {
    "mpls": (1, lambda ip: Ether(src=A, dst=B, type=0x8847) / MPLS(label=100, s=1, ttl=64) / ip),
    "mpls-stack-vlan": (1, lambda ip: Ether(src=A, dst=B) / Dot1Q(vlan=30, type=0x8847) / MPLS(label=16, s=0) / MPLS(label=200, s=1) / ip),
    # Pseudowires carry customers' frames, here with vendor (Intel, VMware) addresses: Wireshark
    # tells a control word from a frame by whether the first 12 bytes look like two vendors' MACs.
    "mpls-pw-cw": (1, lambda ip: Ether(src=A, dst=B, type=0x8847) / MPLS(label=300, s=1) / Raw(b"\0\0\0\x07") / Ether(src=PW_SRC, dst=PW_DST, type=ethertype(ip)) / ip),
    "mpls-pw-nocw": (1, lambda ip: Ether(src=A, dst=B, type=0x8847) / MPLS(label=301, s=1) / Ether(src=PW_SRC, dst=PW_DST, type=ethertype(ip)) / ip),
    "ppp": (9, lambda ip: Raw(b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + bytes(ip))),
    "ppp-hdlc": (50, lambda ip: Raw(b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + bytes(ip))),
    "cisco-hdlc": (104, lambda ip: Raw(b"\x0f\x00" + struct.pack("!H", ethertype(ip)) + bytes(ip))),
    "llc-snap": (1, lambda ip: Dot3(src=A, dst=B) / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype(ip)) / ip),
    "fddi": (10, lambda ip: Raw(b"\x50" + bytes.fromhex("02000000000b02000000000a") + bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype(ip)) / ip))),
    "nflog": (239, lambda ip: Raw(nflog(ip))),
    "pflog": (117, lambda ip: PFLog(addrfamily=2 if ip.version == 4 else 24, iface=b"em0") / ip),
    "token-ring": (6, lambda ip: Raw(b"\x10\x40" + bytes.fromhex("02000000000b82000000000a") + b"\x02\x00"
                                       + bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype(ip)) / ip))),
    "atm-rfc1483": (11, lambda ip: LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=ethertype(ip)) / ip),
    "ppp-ether": (51, lambda ip: Raw(struct.pack("!BBHHH", 0x11, 0, 1, 2 + len(ip), ppp_proto(ip)) + bytes(ip))),
    "ieee80211": (105, lambda ip: dot11(ip)),
    "ieee80211-qos-radiotap": (127, lambda ip: RadioTap() / dot11(ip, qos=True)),
    "ppi": (192, lambda ip: Raw(struct.pack("<BBHI", 0, 0, 8, 105) + bytes(dot11(ip)))),
    "pbb": (1, lambda ip: Ether(src=A, dst=B) / Dot1AD(vlan=5, type=0x88E7) / Dot1AH(isid=0x10203) / Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02", type=ethertype(ip)) / ip),
    "vn-tag": (1, lambda ip: Ether(src=A, dst=B, type=0x8926) / Raw(struct.pack("!IH", 0x80010002, ethertype(ip))) / ip),
    "fabricpath": (1, lambda ip: Ether(src="02:00:00:00:02:01", dst="02:00:00:00:02:02", type=0x8903) / Raw(b"\x00\x41") / Ether(src=A, dst=B, type=ethertype(ip)) / ip),
    "erspan-1": (1, lambda ip: outer4(GRE(proto=0x88BE) / Ether(src=A, dst=B, type=ethertype(ip)) / ip)),
    "erspan-2": (1, lambda ip: outer4(GRE(proto=0x88BE, seqnum_present=1, seqence_number=1) / ERSPAN_II(session_id=3) / Ether(src=A, dst=B, type=ethertype(ip)) / ip)),
    "erspan-3": (1, lambda ip: outer6(GRE(proto=0x22EB, seqnum_present=1, seqence_number=1) / ERSPAN_III(session_id=4) / Ether(src=A, dst=B, type=ethertype(ip)) / ip)),
    "gre-mpls": (1, lambda ip: outer4(GRE(proto=0x8847) / MPLS(label=500, s=1) / ip)),
    "geneve-ethernet": (1, lambda ip: outer4(UDP(sport=50000, dport=6081) / GENEVE(vni=42, proto=0x6558) / Ether(src=A, dst=B, type=ethertype(ip)) / ip)),
    "geneve-ip": (1, lambda ip: outer6(UDP(sport=50001, dport=6081) / GENEVE(vni=43, proto=ethertype(ip)) / ip)),
    "gtp-u": (1, lambda ip: outer4(UDP(sport=2152, dport=2152) / GTP_U_Header(teid=0x1234, gtp_type=255) / ip)),
    "gtp-u-ipv6-seq": (1, lambda ip: outer6(UDP(sport=2152, dport=2152) / GTP_U_Header(teid=0x99, gtp_type=255, S=1, seq=7) / ip)),
    "vxlan-ipv6": (1, lambda ip: outer6(UDP(sport=50002, dport=4789) / VXLAN(vni=7, flags=0x08) / Ether(src=A, dst=B, type=ethertype(ip)) / ip)),
    "vxlan-gpe": (1, lambda ip: outer4(UDP(sport=50003, dport=4790) / Raw(struct.pack("!BBBBI", 0x0C, 0, 0, 1 if ip.version == 4 else 2, 9 << 8)) / ip)),
    "l2tp": (1, lambda ip: outer4(UDP(sport=1701, dport=1701) / Raw(struct.pack("!HHH", 0x4002, 12 + len(ip) + 4, 7) + struct.pack("!H", 1)
                                                                  + b"\xff\x03" + struct.pack("!H", ppp_proto(ip)) + bytes(ip)))),
    "mpls-in-udp": (1, lambda ip: outer4(UDP(sport=50004, dport=6635) / MPLS(label=600, s=1) / ip)),
}


def frames(packets):
    """Raw frames with fixed times, so that a regenerated file is byte for byte the same."""
    out = [Raw(bytes(p)) for p in packets]
    for i, p in enumerate(out):
        p.time = 1_700_000_000 + i
    return out


def spec():
    """Two packets (IPv4/TCP, IPv6/UDP) per encapsulation, and tshark's fields for them."""
    os.makedirs(OUT, exist_ok=True)
    for name, (linktype, wrap) in CASES.items():
        path = os.path.join(OUT, "encap-" + name + ".pcap")
        chosen = [inners()[0], inners()[4]]
        wrpcap(path, frames(wrap(ip) for ip in chosen), linktype=linktype)
        tsharkfields.write_spec(path, path.replace(".pcap", ".tshark.tsv"))


def main():
    if SPEC:
        return spec()
    os.makedirs(OUT, exist_ok=True)
    for name, (linktype, wrap) in CASES.items():
        wrpcap(os.path.join(OUT, name + ".pcap"), frames(wrap(ip) for ip in inners()), linktype=linktype)
    # Teredo carries IPv6 only.
    teredo = frames(outer4(UDP(sport=50005, dport=3544) / ip) for ip in inners() if ip.version == 6)
    wrpcap(os.path.join(OUT, "teredo.pcap"), teredo, linktype=1)
    # Link type 147 (USER0): nothing aether or tshark decodes.
    wrpcap(os.path.join(OUT, "unknown-linktype.pcap"), frames(inners()), linktype=147)


main()
