"""An attribute set in __init__ left open when a later statement of __init__ fails (the
object is never returned, so nothing can close it): released in an `except` that re-raises.
Safe when nothing after it passes `self` on or calls its methods (Pipe); unsafe when `self`
may have been handed on before the error (Registered), for a socketpair's end, or a pipe's
descriptors (both closed by os.close() in the one except)."""

import os
import socket


class Pipe:
    def __init__(self, port):
        self._rsock = socket.socket()
        self._rsock.connect(("127.0.0.1", port))
        self._open = True

    def close(self):
        self._rsock.close()


class Loop:
    def __init__(self, selector):
        self._r, self._w = socket.socketpair()
        self._r.setblocking(False)
        selector.register(self._r)

    def close(self):
        self._r.close()
        self._w.close()


class Registered:
    def __init__(self, registry, port):
        self.sock = socket.socket()
        registry.add(self)
        self.sock.connect(("127.0.0.1", port))

    def close(self):
        self.sock.close()


class Waker:
    def __init__(self, nonblocking):
        self.i, self.o = os.pipe()
        nonblocking(self.i)
        nonblocking(self.o)

    def close(self):
        os.close(self.i)
        os.close(self.o)
