"""Closed on a branch that returns, left open when a later statement fails: released in an
`except` that re-raises (a socket's second close() does nothing). Safe when nothing but the
function holds it there."""

import socket


def probe(fd, peer):
    s = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        if not peer:
            s.close()
            return None
        s.connect(peer)
        return s
    except BaseException:
        s.close()
        raise


def adopt(cls, fd, factory):
    # handed to cls() at the return: the except stops before that statement (handoff.py)
    skt = socket.fromfd(fd, socket.AF_INET, socket.SOCK_STREAM)
    try:
        proto = factory.build(skt.getsockname())
        if proto is None:
            skt.close()
            return None
    except BaseException:
        skt.close()
        raise
    return cls(skt, proto)
