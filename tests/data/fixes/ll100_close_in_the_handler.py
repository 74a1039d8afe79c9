"""A resource used in a `try` whose handler swallows the error (or raises another) and
leaves without it: the release runs first in that handler (safe when nothing before the
error hands it on and nothing the handler leaves to uses it)."""

import errno
import os
import socket


def agent():
    if "SSH_AUTH_SOCK" in os.environ:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(os.environ["SSH_AUTH_SOCK"])
            return conn
        except OSError:
            # probably a dangling env var: the ssh agent is gone
            return None
    else:
        conn = None
    return conn


def available_port(host, port):
    for i in range(10):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port + i))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EINVAL):
                continue
            raise
        else:
            return sock, port + i
    raise RuntimeError("no port")


def first_reachable(addresses):
    # the handler falls through to the next round with it open: not this shape
    for address in addresses:
        sock = socket.socket()
        try:
            sock.connect(address)
        except OSError as exc:
            reason = str(exc)
        else:
            return sock
    raise RuntimeError(reason)
