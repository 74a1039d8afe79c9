"""A descriptor handed to a callee in between: the callee may close it (os.close in the
finally then raises OSError) or keep it; only --unsafe-fixes moves the close."""
import os
import tempfile


def fill(fd, data):
    os.write(fd, data)


def write_temp(data):
    fd, path = tempfile.mkstemp()
    fill(fd, data)
    os.close(fd)
    return path
