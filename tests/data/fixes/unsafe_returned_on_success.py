"""A resource returned on the path that does not fail: released only in an `except` that
re-raises, never in a `finally` (which would close what the caller gets)."""

import socket


def connect(host, port, timeout):
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.connect((host, port))
    return sock


class Client:
    def __init__(self, path, size):
        f = open(path, "rb")
        self.header = f.read(size)
        self.f = f
        self.check()

    def check(self):
        if not self.header:
            raise ValueError("empty")
