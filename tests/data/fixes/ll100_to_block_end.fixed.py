"""LL100/LL130/LL150: nothing releases it; the release is added at the end of the block."""

import psycopg2.pool
import requests

POOL = psycopg2.pool.SimpleConnectionPool(1, 10, dsn="dbname=test")


def first_line(path):
    with open(path) as f:
        for line in f:
            return line.strip()  # the file stayed open on every path
        return ""


def download(url, out):
    r = requests.get(url, stream=True)
    try:
        out.write(r.raw.read())
        return out
    finally:
        r.close()


def putconn_not_in_finally():
    conn = POOL.getconn()
    try:
        conn.cursor().execute("select 1")
    finally:
        POOL.putconn(conn)


def getconn_without_putconn():
    conn = POOL.getconn()
    try:
        return conn.cursor().fetchall()
    finally:
        POOL.putconn(conn)


def handed_on(path, sink):
    f = open(path)
    sink.append(f)  # handed on: no fix, the sink may keep it
    return len(sink)


def write_bodies(names):
    # the name is bound anew before the acquisition in each round (with ... as f): nothing
    # there reads the object it makes
    written = []
    for name in names:
        with open(name + "-H", "w") as f:
            f.write("header")
        f = open(name + "-D", "w")
        try:
            f.write(name)
            written.append(name)
        finally:
            f.close()
    return written


def previous_round(names):
    # the next round reads the file the last one made, before it is rebound: no fix
    f = None
    for name in names:
        if f is not None:
            f.write("more")
        f = open(name, "w")
        f.write(name)
