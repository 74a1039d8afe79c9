"""A resource the function returns, left open when a statement before the return fails:
released in an `except` that re-raises. Safe when nothing but the function holds it there
(used through its methods only, handed on only by the final return)."""

import socket


def listener(host, port):
    s = socket.socket()
    s.setsockopt(1, 2, 3)
    s.bind((host, port))
    return s


def client_and_closer(port):
    c = socket.socket()
    c.connect(("127.0.0.1", port))
    return (c.close, port)


def wrapped(host, wrap):
    # handed to wrap() at the return, which may keep it and fail: the except stops before
    # that statement (handoff.py)
    s = socket.socket()
    s.bind((host, 0))
    return wrap(s)
