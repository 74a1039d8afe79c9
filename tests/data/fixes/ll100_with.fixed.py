"""LL100/LL101: bound, closed later in the same block, not in a finally."""

import socket


def first_line(path):
    with open(path) as f:  # the file
        if not path.endswith(".py"):
            return None
        line = f.readline()
    return line


def size(path):
    with open(path, "rb") as f:
        data = f.read()
    return len(data)


def used_after_close(path):
    f = open(path)
    try:
        data = f.read()
    finally:
        f.close()
    print(f.closed)  # used after the close: not a with, a try/finally
    return data


def server(port):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        name = sock.getsockname()
    return name



def returned_on_some_paths(path, check):
    f = open(path)
    if check is None:
        return f  # handed to the caller: no fix
    elif check(f):
        f.seek(0)
        return f
    f.close()
