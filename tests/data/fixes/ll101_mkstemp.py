"""A descriptor from tempfile.mkstemp(): os.close(fd) moves into a finally (or is added at
the end of the block when nothing closed it); kept when something else may own it."""
import os
import tempfile


def write_temp(data):
    fd, path = tempfile.mkstemp()
    os.write(fd, data)  # can raise: fd leaked
    os.close(fd)
    return path


def never_closed(data):
    fd, path = tempfile.mkstemp(suffix=".txt")
    os.write(fd, data)
    return path


def early_return(data):
    fd, path = tempfile.mkstemp()
    if not data:
        return path
    os.write(fd, data)
    os.close(fd)
    return path


def handed_to_fdopen(data):
    # ok: os.fdopen owns it now, and the with closes it
    fd, path = tempfile.mkstemp()
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path
