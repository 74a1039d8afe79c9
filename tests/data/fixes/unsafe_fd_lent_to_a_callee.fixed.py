"""A descriptor from os.open() lent to a method that may keep it, never closed: the only
release a fix may add is os.close() (a descriptor is an int: `fd.close()` raised
AttributeError), and it is unsafe (the callee may keep the descriptor)."""

import os


def lend(path, reader):
    fd = os.open(path, os.O_RDONLY)
    try:
        reader.use(fd)
        reader.check()
    finally:
        os.close(fd)
