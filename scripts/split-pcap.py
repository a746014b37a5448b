#!/usr/bin/env python3
"""Splits a classic pcap into N files of consecutive packets (the file header kept in each):
the shape of a sensor's rotated captures. Usage: split-pcap.py IN N OUT_DIR"""
import os
import struct
import sys


def split(path, parts, out_dir):
    with open(path, "rb") as f:
        head = f.read(24)
        if head[:4] not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
            sys.exit(f"{path}: not a classic pcap file")
        endian = "<" if head[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        sizes = []
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = struct.unpack(endian + "I", rec[8:12])[0]
            f.seek(caplen, 1)
            sizes.append(16 + caplen)
        f.seek(24)
        per = -(-len(sizes) // parts)
        names = []
        for k in range(parts):
            name = os.path.join(out_dir, f"part-{k}.pcap")
            with open(name, "xb") as o:
                o.write(head)
                for n in sizes[k * per : (k + 1) * per]:
                    o.write(f.read(n))
            names.append(name)
    return names, len(sizes)


if __name__ == "__main__":
    names, total = split(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    print(f"{total} packets into {len(names)} files")
