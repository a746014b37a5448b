"""What the live checks share: failure collection and a free loopback port."""
import socket

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
