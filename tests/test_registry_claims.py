"""The registry's claims about context managers, checked against the real libraries."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from leaklint.resources import builtin_registry


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_sqlite3_connect_leaves_the_connection_open(tmp_path) -> None:
    """LL110's claim: after `with sqlite3.connect(p) as conn:` the connection still works."""
    out = _run(
        f"""
        import sqlite3
        with sqlite3.connect({str(tmp_path / "db.sqlite")!r}) as conn:
            conn.execute("create table t (x)")
        print(conn.execute("select count(*) from t").fetchone()[0])
        conn.close()
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"
    assert builtin_registry().get("sqlite3.connect").cm_closes is False


def test_closing_around_sqlite3_connect_closes_it(tmp_path) -> None:
    """The fix LL110 suggests really closes: using the connection afterwards fails."""
    out = _run(
        f"""
        import contextlib, sqlite3
        with contextlib.closing(sqlite3.connect({str(tmp_path / "db.sqlite")!r})) as conn:
            with conn:
                conn.execute("create table t (x)")
        try:
            conn.execute("select 1")
        except sqlite3.ProgrammingError:
            print("closed")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "closed"


def test_every_cm_that_does_not_close_says_what_it_does() -> None:
    for resource in builtin_registry().by_name.values():
        if not resource.cm_closes:
            assert resource.cm_effect, f"{resource.qualname}: cm-closes = false needs cm-effect"
            assert resource.source, f"{resource.qualname}: cm-closes = false needs a source"
