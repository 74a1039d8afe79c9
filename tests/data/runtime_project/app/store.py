"""A small module with leaks the static analysis reports."""

import socket
import subprocess
import sys


def first_line(path):
    f = open(path)
    if path.endswith(".empty"):
        return ""
    line = f.readline()
    f.close()
    return line


def bound_socket():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock.getsockname()[1]


def start_worker():
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(1)"],
        stdout=subprocess.DEVNULL,
    )
    return proc.pid


OPENERS = {"text": open}


def read_through_table(path):
    """A leak no static analysis follows: the factory comes out of a dict."""
    f = OPENERS["text"](path)
    return f.read()


def read_safely(path):
    with open(path) as f:
        return f.read()


def remember(path):
    """A file in a reference cycle: only the garbage collector finds it unreachable."""
    node = {"file": open(path)}
    node["self"] = node


async def refresh():
    return None


def schedule_refresh():
    refresh()  # a coroutine made and never awaited
