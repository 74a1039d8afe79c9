"""LL130 pool-checkout-not-returned."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL130",
    name="pool-checkout-not-returned",
    summary="A connection checked out of a pool is not returned (or closed) on every path.",
    leak_kinds=(),
    bad_example='''\
import psycopg2.pool


def report(pool: psycopg2.pool.SimpleConnectionPool):
    conn = pool.getconn()
    rows = conn.cursor().execute("select 1")
    pool.putconn(conn)  # skipped when execute raises
    return rows
''',
    good_example='''\
import psycopg2.pool


def report(pool: psycopg2.pool.SimpleConnectionPool):
    conn = pool.getconn()
    try:
        return conn.cursor().execute("select 1")
    finally:
        pool.putconn(conn)
''',
    docs='''\
## What it does
Reports a connection taken from a pool (or a session or connection from an engine) that is
not given back on every path, the exception path included:

| library | check out | give back |
|---|---|---|
| `psycopg2.pool.SimpleConnectionPool` / `ThreadedConnectionPool` | `getconn()` | `putconn(conn)` |
| `psycopg_pool.ConnectionPool` | `getconn()` / `with pool.connection()` | `putconn(conn)` |
| `redis.ConnectionPool` | `get_connection(...)` | `release(conn)` |
| SQLAlchemy engine (`create_engine`) | `connect()`, `raw_connection()` | `close()` or `with` |
| SQLAlchemy `Session(...)`, `sessionmaker(...)()` | the session | `close()` or `with` |

The pool is recognised by what its name was bound from (`pool = SimpleConnectionPool(...)`
in the function, the module or on `self`) or by an annotation (`pool: ConnectionPool`).

## Why is this bad?
A pool has a fixed number of connections. Each checkout that is not returned is lost for
good; after enough errors the pool is exhausted and every request blocks or fails.

{examples}
## Fix safety
A fix returns the checkout in a `finally` at the end of its block (`pool.putconn(conn)`, the
registry's `return-to`). Safe when nothing outside the block uses the connection and
nothing made from it (a cursor) leaves the block; otherwise unsafe, with the reason.
''',
)
