"""A resource lent to a call before the release that was already there: the release moves
into a `finally`. The path that does not fail releases where it did, so whatever the callee
kept of it finds it released there already; the error path only gains the release."""

import sqlite3


def copy_to_disk(memory, target):
    disk = sqlite3.connect(target)
    memory.backup(disk)
    disk.close()


def checked(path, checker):
    f = open(path)
    checker.verify(f)
    text = f.read()
    f.close()
    return text


def kept(path, registry):
    # stored on an object that outlives the function: left as it is
    f = open(path)
    registry.files = [f]
    registry.first = f.readline()
    f.close()
