"""``strict = true``: every call is an exit a leak can be blamed on, also those that fail
only on their caller's error (``ownership.NON_RAISING_METHODS``), which the default skips."""

from __future__ import annotations

from pathlib import Path

from test_cli import check, codes, write

SOURCE = '''\
import socket


def configured(settings):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    settings["sock"] = sock
'''


def test_strict_reports_calls_that_practically_never_raise(tmp_path: Path) -> None:
    write(tmp_path, "mod.py", SOURCE)
    assert codes(check("--no-cache", "mod.py", cwd=tmp_path)) == []
    write(tmp_path, "pyproject.toml", "[tool.leaklint]\nstrict = true\n")
    proc = check("--no-cache", "mod.py", cwd=tmp_path)
    assert codes(proc) == [("mod.py", 5, "LL101")]
    assert "line 6 raises" in proc.stdout


def test_strict_must_be_a_boolean(tmp_path: Path) -> None:
    write(tmp_path, "mod.py", SOURCE)
    write(tmp_path, "pyproject.toml", '[tool.leaklint]\nstrict = "yes"\n')
    proc = check("mod.py", cwd=tmp_path)
    assert proc.returncode == 2
    assert "'strict' must be true or false" in proc.stderr


def test_the_command_line_sets_strict_either_way(tmp_path: Path) -> None:
    """``--strict`` on a project without the key, ``--no-strict`` over ``strict = true``."""
    write(tmp_path, "mod.py", SOURCE)
    assert codes(check("--no-cache", "--strict", "mod.py", cwd=tmp_path)) == [
        ("mod.py", 5, "LL101")
    ]
    write(tmp_path, "pyproject.toml", "[tool.leaklint]\nstrict = true\n")
    assert codes(check("--no-cache", "--no-strict", "mod.py", cwd=tmp_path)) == []
    shown = check("--strict", "--show-settings", "mod.py", cwd=tmp_path)
    assert "strict" in shown.stdout and "true" in shown.stdout.split("strict", 1)[1].split("\n")[0]


EXECUTOR = """\
from concurrent.futures import ThreadPoolExecutor


def squares(items):
    ex = ThreadPoolExecutor(max_workers=2)
    return list(ex.map(abs, items))
"""


def test_a_finalised_resource_is_reported_only_strict(tmp_path: Path) -> None:
    """An executor never shut down: its workers exit when it is collected, and nothing warns
    (registry ``finaliser = true``): debatable, so reported only with ``--strict``."""
    write(tmp_path, "mod.py", EXECUTOR)
    assert codes(check("--no-cache", "mod.py", cwd=tmp_path)) == []
    assert codes(check("--no-cache", "--strict", "mod.py", cwd=tmp_path)) == [("mod.py", 5, "LL100")]
