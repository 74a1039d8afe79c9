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
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def to_null(fd):
    # never closed, only copied onto another descriptor (os.dup2 borrows it): os.close(),
    # never `dest.close()` (a descriptor is an int)
    dest = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(dest, fd)
    finally:
        os.close(dest)


def quiet():
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        raise SystemExit(1)
    finally:
        os.close(devnull)
