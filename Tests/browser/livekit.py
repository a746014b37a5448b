"""What the live checks share: failure collection, a free loopback port, starting and stopping tail."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

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


def wait_up(p, port, what):
    """Waits for /healthz of a tail just started; a tail that exits or never answers fails."""
    for _ in range(200):
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read() == b"ok\n":
                return
        except Exception:
            time.sleep(0.05)
        if p.poll() is not None:
            break
    fail(f"tail {what} did not come up: {p.stderr.read() if p.stderr and p.poll() is not None else ''}")


def remove_store(path):
    for suffix in ["", "-wal", "-shm"]:
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def start_tail(aether, args, port):
    """`aether tail` on a loopback port, waited for until it answers."""
    p = subprocess.Popen([aether, "tail", "--listen", f"127.0.0.1:{port}"] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_up(p, port, args)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            fail("tail did not stop on Ctrl-C within 20 s")
