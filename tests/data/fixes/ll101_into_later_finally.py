"""A release already in a later `try`'s `finally`, which an error before that `try` skips:
the statements in between go into it when its `finally` only releases (and it has no
`except`), or into a `try` of their own that releases and re-raises."""

import socket


def adopt(reactor, address, factory):
    port = socket.socket()
    port.bind(address)
    port.listen(3)
    try:
        return reactor.adopt(port.fileno(), factory)
    finally:
        port.close()


def adopt_checked(reactor, where):
    sock = socket.socket(socket.AF_INET6)
    sock.setblocking(False)
    sock.bind(where)
    try:
        return reactor.adopt_datagram(sock.fileno())
    finally:
        # the socket should still be open here
        sock.fileno()
        sock.close()


def supports(address):
    s = socket.socket()
    s.bind(address)
    try:
        s.setsockopt(1, 2, 3)
    except OSError:
        return False
    else:
        return True
    finally:
        s.close()


def retried(address):
    try:
        s = socket.socket()
        s.bind(address)
        try:
            s.listen(1)
        finally:
            s.close()
    except OSError:
        # F1: the handler uses the socket after the error: an error in bind() now finds it
        # closed, so the fix is unsafe (left here, without --unsafe-fixes)
        s.fileno()
