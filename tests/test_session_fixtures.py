"""A conftest's autouse fixture that tracks every instance of a class and closes them after
each test (sqlite-utils' ``close_all_databases``, first contact round 3): the tests under it
leave their instances to it, so none is a leak there. Through the real CLI."""

from __future__ import annotations

from pathlib import Path

from test_cli import check, codes, write

STORE = '''import sqlite3


class Store:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def close(self):
        self.conn.close()
'''

TRACKER = '''import pytest

from app.store import Store


@pytest.fixture(autouse=True)
def close_all_stores():
    made = []
    original = Store.__init__

    def tracking(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    Store.__init__ = tracking
    yield
    Store.__init__ = original
    for store in made:
        store.close()
'''

A_TEST = '''from app.store import Store


def test_rows(tmp_path):
    store = Store(str(tmp_path / "db"))
    assert store.conn.execute("select 1").fetchone() == (1,)
'''


def test_an_autouse_fixture_closing_every_instance_covers_the_tests_under_it(
    tmp_path: Path,
) -> None:
    write(tmp_path, "pyproject.toml", "[project]\nname = 'app'\n")
    write(tmp_path, "app/__init__.py", "")
    write(tmp_path, "app/store.py", STORE)
    write(tmp_path, "tests/conftest.py", TRACKER)
    write(tmp_path, "tests/test_rows.py", A_TEST)
    write(tmp_path, "other_tests/test_rows.py", A_TEST)  # no such conftest above it
    write(tmp_path, "lazy_tests/conftest.py", TRACKER.replace("        store.close()\n", "        pass\n"))
    write(tmp_path, "lazy_tests/test_rows.py", A_TEST)  # tracked, never closed
    proc = check("--no-cache", "--format", "concise", ".", cwd=tmp_path)
    assert sorted(codes(proc)) == [
        ("lazy_tests/test_rows.py", 5, "LL100"),
        ("other_tests/test_rows.py", 5, "LL100"),
    ]
