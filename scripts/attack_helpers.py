#!/usr/bin/env python3
"""Small clients and servers that scripts/record-attacks.sh runs inside the network namespaces it
creates. Real sockets, real packets; nothing here leaves those namespaces. Each subcommand is one
behaviour; the script writes the truth file from the arguments it passed, not from these."""
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time


def dns_query(name, qtype=1, qid=None):
    qid = random.randrange(65536) if qid is None else qid
    out = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        b = label.encode("latin-1")
        out += bytes([len(b)]) + b
    return out + b"\x00" + struct.pack(">HH", qtype, 1)


def ask(server, name, qtype=1, port=53, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(dns_query(name, qtype), (server, port))
        return s.recv(4096)
    except OSError:
        return None
    finally:
        s.close()


def txt_server(addr, port):
    """Authoritative for anything: answers every TXT question with 180 bytes of base64 'commands'."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, int(port)))
    rng = random.Random(7)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    while True:
        q, peer = s.recvfrom(4096)
        if len(q) < 12:
            continue
        qid = q[:2]
        end = 12
        while end < len(q) and q[end] != 0:
            end += q[end] + 1
        question = q[12:end + 5]
        data = bytes(rng.choice(alphabet) for _ in range(180))
        rdata = bytes([len(data)]) + data
        answer = b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 0, len(rdata)) + rdata
        s.sendto(qid + struct.pack(">HHHHH", 0x8400, 1, 1, 0, 0) + question + answer, peer)


def txt_c2(server, domain, count, gap):
    for i in range(int(count)):
        ask(server, "c%d.%s" % (i, domain), qtype=16)
        time.sleep(float(gap))


def dnscat(server, count, gap):
    """dnscat2's wire form without a domain: a marker label, then the data in hex labels."""
    rng = random.Random(11)
    for _ in range(int(count)):
        data = bytes(rng.randrange(256) for _ in range(60)).hex()
        labels = [data[i:i + 60] for i in range(0, len(data), 60)]
        ask(server, "dnscat." + ".".join(labels), qtype=rng.choice([5, 15, 16]))
        time.sleep(float(gap))


def dga(server, count, gap):
    rng = random.Random(5)
    for _ in range(int(count)):
        label = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(rng.randrange(10, 18)))
        ask(server, label + rng.choice([".com", ".net", ".info", ".ru"]))
        time.sleep(float(gap))


def lookups(server, names, rounds):
    for _ in range(int(rounds)):
        for n in names.split(","):
            ask(server, n)
            time.sleep(0.02)


def http_beacon(url_host, port, interval, jitter, count, use_tls):
    """A new connection each time: GET /beacon, read the answer, close, sleep."""
    rng = random.Random(int(float(interval) * 1000) + int(float(jitter) * 100))
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    for i in range(int(count)):
        try:
            s = socket.create_connection((url_host, int(port)), timeout=3)
            if use_tls == "tls":
                s = ctx.wrap_socket(s, server_hostname="updates.example")
            s.sendall(b"GET /beacon?id=%d HTTP/1.1\r\nHost: updates.example\r\nConnection: close\r\n\r\n" % i)
            while s.recv(4096):
                pass
            s.close()
        except OSError:
            pass
        j = float(jitter)
        time.sleep(float(interval) * (1 + rng.uniform(-j, j)))


def keepalive_beacon(host, port, interval, count):
    """Bursts inside one long-lived HTTP/1.1 connection: a request every interval."""
    s = socket.create_connection((host, int(port)), timeout=5)
    for i in range(int(count)):
        s.sendall(b"GET /poll?n=%d HTTP/1.1\r\nHost: updates.example\r\n\r\n" % i)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
        head, _, body = buf.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            body += s.recv(4096)
        time.sleep(float(interval))
    s.close()


def keepalive_idle(host, port, seconds):
    """One connection kept open by TCP keep-alive probes only (no payload after the first request)."""
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 2)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 2)
    s.sendall(b"hello\n")
    time.sleep(float(seconds))
    s.close()


def http_server(addr, port, cert=None):
    """HTTP/1.1 with keep-alive, optionally TLS; small answers."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            # /admin: Basic authentication (alice's password), refused with a 401 on a kept connection.
            if self.path.startswith("/admin"):
                import base64
                good = "Basic " + base64.b64encode(b"alice:Corr3ct-Horse-Battery").decode()
                if self.headers.get("Authorization") != good:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="admin"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            body = b"ok " + self.path.encode()[:64] + b"\n"
            if self.path.startswith("/big"):
                body = os.urandom(4_000_000)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer((addr, int(port)), H)
    if cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, cert)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def listener(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port)))
    s.listen(64)
    return s


def echo_server(addr, port):
    s = listener(addr, port)
    while True:
        c, _ = s.accept()
        threading.Thread(target=lambda c=c: [c.sendall(d) for d in iter(lambda: c.recv(4096), b"")], daemon=True).start()


def telnet_server(addr, port):
    """inetd's job for inetutils-telnetd: one telnetd per accepted connection, the socket as fd 0-2."""
    import subprocess
    s = listener(addr, port)
    while True:
        c, _ = s.accept()
        subprocess.Popen(["/usr/sbin/telnetd", "-h"], stdin=c, stdout=c, stderr=c, close_fds=True)
        c.close()


def login_server(addr, port, kind):
    """A POP3 or IMAP server that lets a client retry its login on one connection as long as it
    likes (as many do): alice's password logs in, every other is refused in the protocol's words."""
    good = "Corr3ct-Horse-Battery"
    s = listener(addr, port)

    def serve(c):
        f = c.makefile("rb")
        if kind == "pop3":
            c.sendall(b"+OK POP3 server ready\r\n")
            for line in f:
                cmd = line.decode(errors="replace").strip()
                word = cmd.split(" ")[0].upper()
                if word == "USER":
                    c.sendall(b"+OK\r\n")
                elif word == "PASS":
                    c.sendall(b"+OK Logged in.\r\n" if cmd[5:] == good else b"-ERR [AUTH] Authentication failed.\r\n")
                elif word == "QUIT":
                    c.sendall(b"+OK Logging out\r\n")
                    break
                elif word == "CAPA":
                    c.sendall(b"+OK\r\nUSER\r\n.\r\n")
                else:
                    c.sendall(b"-ERR Unknown command.\r\n")
        else:
            c.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] IMAP server ready\r\n")
            for line in f:
                parts = line.decode(errors="replace").strip().split(" ")
                tag, word = parts[0], (parts[1].upper() if len(parts) > 1 else "")
                if word in ("LOGIN", "AUTHENTICATE"):
                    if word == "LOGIN":
                        pw = parts[3].strip('"') if len(parts) > 3 else ""
                    else:
                        import base64
                        c.sendall(b"+ \r\n")
                        try:
                            pw = base64.b64decode(f.readline().strip()).split(b"\0")[-1].decode(errors="replace")
                        except ValueError:
                            pw = ""
                    ok = pw == good
                    c.sendall((f"{tag} OK Logged in\r\n" if ok else f"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n").encode())
                elif word == "CAPABILITY":
                    c.sendall(f"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n{tag} OK done\r\n".encode())
                elif word == "LOGOUT":
                    c.sendall(f"* BYE\r\n{tag} OK bye\r\n".encode())
                    break
                else:
                    c.sendall(f"{tag} BAD unknown\r\n".encode())
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def long_names(server, domain, count, gap):
    """Thin exfiltration: a few names of four full hex labels (data near the 253-byte limit)."""
    for i in range(int(count)):
        data = os.urandom(100).hex()
        name = ".".join(data[j:j + 50] for j in range(0, 200, 50)) + f".{i}." + domain
        try:
            ask(server, name)
        except OSError:
            pass
        time.sleep(float(gap))


def udp_pong(addrs, port):
    """Peers: each address answers every datagram on the port, from that address."""
    def serve(addr):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, int(port)))
        while True:
            data, peer = s.recvfrom(2048)
            s.sendto(b"pong " + data[:32], peer)
    ts = [threading.Thread(target=serve, args=(a,), daemon=True) for a in addrs.split(",")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def p2p(candidates, port, seconds):
    """A peer-to-peer client (DHT-like): one UDP socket; every 2 s it tries 3 new candidates and
    pings again every peer that has answered. Many candidates never answer (gone, behind NAT)."""
    peers = candidates.split(",")
    random.Random(5).shuffle(peers)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    alive, end, i = set(), time.time() + float(seconds), 0
    while time.time() < end:
        for p in peers[i:i + 3]:
            s.sendto(b"find_node " + os.urandom(8).hex().encode(), (p, int(port)))
        i += 3
        for p in sorted(alive):
            s.sendto(b"ping " + os.urandom(4).hex().encode(), (p, int(port)))
        t = time.time() + 2
        while time.time() < t:
            try:
                _, peer = s.recvfrom(2048)
                alive.add(peer[0])
            except BlockingIOError:
                time.sleep(0.02)


def revshell(host, port, seconds):
    s = socket.create_connection((host, int(port)), timeout=5)
    end = time.time() + float(seconds)
    while time.time() < end:
        s.sendall(b"$ id\nuid=0(root) gid=0(root)\n")
        s.recv(4096)
        time.sleep(0.5)
    s.close()


def chatter(iface_addr, seconds):
    """LAN discovery: mDNS and SSDP to their groups, a smart plug's broadcast every 2 s on UDP 6667,
    an IGMP join, NetBIOS-style broadcast."""
    m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(iface_addr))
    m.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    b.bind((iface_addr, 0))
    g = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    g.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    g.bind(("", 5353))
    g.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton(iface_addr))
    g2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    g2.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("239.255.255.250") + socket.inet_aton(iface_addr))
    end = time.time() + float(seconds)
    while time.time() < end:
        m.sendto(dns_query("_googlecast._tcp.local", 12, 0), ("224.0.0.251", 5353))
        m.sendto(b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n",
                 ("239.255.255.250", 1900))
        b.sendto(b'{"discover":"smartplug"}', ("255.255.255.255", 6667))
        b.sendto(b'{"discover":"lan"}', ("10.70.0.255", 6667))
        time.sleep(2)


def pinger(hosts, rounds, gap):
    import subprocess
    for _ in range(int(rounds)):
        for h in hosts.split(","):
            subprocess.run(["ping", "-c", "1", "-W", "1", h], stdout=subprocess.DEVNULL)
        time.sleep(float(gap))


def dilate(path, factor, out):
    """Stretches a pcap's time: every gap from the first packet is multiplied by factor. Used for
    periodic behaviours (30 s and 300 s beacons, slow scans) recorded at a shorter period."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic in (0xA1B2C3D4, 0xA1B23C4D), "pcap (little-endian) expected"
    scale = 1_000_000 if magic == 0xA1B2C3D4 else 1_000_000_000
    o = 24
    first = None
    parts = [data[:24]]
    while o + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack("<IIII", data[o:o + 16])
        t = sec * scale + frac
        if first is None:
            first = t
        t = first + int((t - first) * float(factor))
        parts.append(struct.pack("<IIII", t // scale, t % scale, incl, orig) + data[o + 16:o + 16 + incl])
        o += 16 + incl
    with open(out, "wb") as f:
        f.write(b"".join(parts))


if __name__ == "__main__":
    globals()[sys.argv[1]](*sys.argv[2:])
