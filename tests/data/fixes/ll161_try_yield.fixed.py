"""LL161: clean-up after a bare `yield` moves into a `finally` around it."""

import contextlib
import os


@contextlib.contextmanager
def working_directory(path):
    old = os.getcwd()
    os.chdir(path)
    # the caller's block runs here
    try:
        yield
    finally:
        os.chdir(old)  # skipped when the block raised


@contextlib.contextmanager
def opened(path):
    f = open(path)
    try:
        yield f
    finally:
        f.close()
