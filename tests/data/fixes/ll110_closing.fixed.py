"""LL110: with sqlite3.connect() commits but does not close."""

from __future__ import annotations

import contextlib
import sqlite3


def count_rows(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:  # the database
        with conn:
            # count them
            return conn.execute("select count(*) from t").fetchone()[0]


def one_line(path):
    with contextlib.closing(sqlite3.connect(path)) as conn:
        with conn: conn.execute("create table t (x)")


def used_after(path):
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (x)")
    return conn  # used after the block: no fix
