"""Issue 24's F2: contextlib.closing() would close the connection while a cursor made from
it is still to be used. Offered only as unsafe, and --show-fixes says why."""
import contextlib
import sqlite3


def rows(p):
    with contextlib.closing(sqlite3.connect(p)) as conn:
        with conn:
            cur = conn.execute("select x from t")
    return cur.fetchall()


def rows2(p):
    with contextlib.closing(sqlite3.connect(p)) as conn:
        with conn:
            return conn.execute("select x from t")


def rows3(p):
    # only data leaves the block: safe
    with contextlib.closing(sqlite3.connect(p)) as conn:
        with conn:
            data = conn.execute("select x from t").fetchall()
    return data
