"""Runnable: a socket closed on the happy path only (LL101), fixed with a with block."""

import socket


def bound_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    if port < 0:
        raise ValueError(port)
    sock.close()
    return port > 0


def bound_then_fail():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    int("not a number")  # raises: the socket leaks
    sock.close()


if __name__ == "__main__":
    print(bound_port())
    try:
        bound_then_fail()
    except ValueError as err:
        print("error:", err)
