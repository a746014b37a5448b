#!/usr/bin/env python3
"""Servers for the demo capture, run inside the 'server' namespace: HTTP on 80, a small
authoritative DNS on 53/udp (names under demo.lan resolve, anything else is NXDOMAIN),
an FTP-like login service on 21 that refuses every password, and plain TCP listeners
that answer a line (4444 for the reverse shell, 443 for the beacon)."""
import socket
import socketserver
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer


class Web(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>demo</body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def dns_server(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    while True:
        data, peer = s.recvfrom(2048)
        if len(data) < 12:
            continue
        qid, flags, qd = struct.unpack("!HHH", data[:6])
        # Read the question name.
        i, labels = 12, []
        while i < len(data) and data[i] != 0:
            n = data[i]
            labels.append(data[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        question = data[12:i + 5]
        name = ".".join(labels).lower()
        if name.endswith("demo.lan"):
            answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("10.66.0.2")
            hdr = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
            s.sendto(hdr + question + answer, peer)
        else:
            hdr = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0)
            s.sendto(hdr + question, peer)


class Ftp(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 demo FTP ready\r\n")
        for line in self.rfile:
            cmd = line.strip().split(b" ")[0].upper()
            if cmd == b"USER":
                self.wfile.write(b"331 Password required\r\n")
            elif cmd == b"PASS":
                self.wfile.write(b"530 Login incorrect\r\n")
            elif cmd == b"QUIT":
                self.wfile.write(b"221 Bye\r\n")
                return


class Line(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(b"ok " + line)


class TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    addr = sys.argv[1]
    threading.Thread(target=dns_server, args=(addr,), daemon=True).start()
    web = HTTPServer((addr, 80), Web)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    for port, handler, host in [(21, Ftp, addr), (4444, Line, "0.0.0.0"), (443, Line, "0.0.0.0")]:
        srv = TCP((host, port), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
