"""Runnable: a socket closed on the happy path only (LL101), fixed with a with block."""

import socket


def bound_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        if port < 0:
            raise ValueError(port)
    return port > 0


def bound_then_fail():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        int("not a number")  # raises: the socket leaks


if __name__ == "__main__":
    print(bound_port())
    try:
        bound_then_fail()
    except ValueError as err:
        print("error:", err)
