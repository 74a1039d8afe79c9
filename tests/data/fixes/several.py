"""Several fixes in one file and in one function: applied without collisions."""

import contextlib
import sqlite3


def report(path, db):
    f = open(path)
    text = f.read()
    header = open(path).readline()
    f.close()
    with sqlite3.connect(db) as conn:
        conn.execute("insert into t values (?)", (text + header,))
    return len(text)
