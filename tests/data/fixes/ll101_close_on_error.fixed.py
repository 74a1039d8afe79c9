"""A resource the function returns, left open when a statement before the return fails:
released in an `except` that re-raises. Safe when nothing but the function holds it there
(used through its methods only, handed on only by the final return)."""

import socket


def listener(host, port):
    s = socket.socket()
    try:
        s.setsockopt(1, 2, 3)
        s.bind((host, port))
        return s
    except BaseException:
        s.close()
        raise


def client_and_closer(port):
    c = socket.socket()
    try:
        c.connect(("127.0.0.1", port))
        return (c.close, port)
    except BaseException:
        c.close()
        raise


def wrapped(host, wrap):
    # handed to wrap() at the return, which may keep it and fail: the except stops before
    # that statement (handoff.py)
    s = socket.socket()
    try:
        s.bind((host, 0))
    except BaseException:
        s.close()
        raise
    return wrap(s)
