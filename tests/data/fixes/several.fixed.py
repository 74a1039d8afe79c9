"""Several fixes in one file and in one function: applied without collisions."""

import contextlib
import sqlite3


def report(path, db):
    with open(path) as f:
        text = f.read()
        with open(path) as f2:
            header = f2.readline()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        with conn:
            conn.execute("insert into t values (?)", (text + header,))
    return len(text)
