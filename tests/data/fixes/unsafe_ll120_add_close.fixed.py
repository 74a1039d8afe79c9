"""LL120: a class that keeps a socket and never closes it gets a close() (unsafe: nobody
calls it yet)."""

import socket


class Client:
    def __init__(self, host):
        self.sock = socket.create_connection((host, 80))

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Recorder:
    # the attribute holds a list of files: `self.opened.close()` would not release them (no fix)
    def open(self, path):
        f = open(path)
        self.opened = [f]
