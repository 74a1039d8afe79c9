"""A descriptor from os.open() (not a tuple's): its os.close() moves into a `finally` around
the statements in between, which only read or write it with os functions."""

import os


def owner(path):
    fd = os.open(path, os.O_RDONLY)
    uid = os.fstat(fd).st_uid
    os.close(fd)
    return uid


def write_all(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
