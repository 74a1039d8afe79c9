"""A connection used without being bound: its context manager commits and does not close,
so the statement goes in `with contextlib.closing(...)`, which binds the connection itself
and closes it after the statement. Not when something made from it outlives the statement."""
import contextlib
import sqlite3


def count(p):
    with contextlib.closing(sqlite3.connect(p)) as conn:
        return conn.execute("select count(*) from t").fetchone()[0]


def rows(p):
    with contextlib.closing(sqlite3.connect(p)) as conn:
        data = conn.execute("select x from t").fetchall()
    return data


def cursor(p):
    # a cursor outlives the statement: closing the connection would break it
    cur = sqlite3.connect(p).execute("select x from t")
    return cur
