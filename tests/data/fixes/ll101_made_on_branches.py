"""A resource made on the branches of an `if` (every other branch raises), or in a `try`
whose handlers leave, then set up by statements that may fail before it is handed on: a
`with` cannot hold what the branches make; the statements after them get an `except` that
releases it and re-raises, up to the statement that hands it on (safe)."""

import logging
import logging.handlers
import socket


def add_log_file(logger, path, mode):
    if mode == "size":
        channel: logging.Handler = logging.handlers.RotatingFileHandler(path, maxBytes=1000)
    elif mode == "time":
        channel = logging.handlers.TimedRotatingFileHandler(path, when="D")
    else:
        raise ValueError(mode)
    channel.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(channel)


def listeners(addresses):
    sockets = []
    for family, address in addresses:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError:
            continue
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(5)
        sockets.append(sock)
    return sockets


def maybe_log_file(logger, path, mode):
    # a branch that neither makes it nor leaves (no else): not this shape
    channel = logging.StreamHandler()
    if mode == "size":
        channel = logging.handlers.RotatingFileHandler(path, maxBytes=1000)
    channel.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(channel)
