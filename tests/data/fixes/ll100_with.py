"""LL100/LL101: bound, closed later in the same block, not in a finally."""

import socket


def first_line(path):
    f = open(path)  # the file
    if not path.endswith(".py"):
        return None
    line = f.readline()

    f.close()
    return line


def size(path):
    f = open(path, "rb")
    data = f.read()
    f.close()
    return len(data)


def used_after_close(path):
    f = open(path)
    data = f.read()
    f.close()
    print(f.closed)  # used after the close: not a with, a try/finally
    return data


def server(port):
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    name = sock.getsockname()
    sock.close()
    return name



def returned_on_some_paths(path, check):
    f = open(path)
    if check is None:
        return f  # handed to the caller: no fix
    elif check(f):
        f.seek(0)
        return f
    f.close()
