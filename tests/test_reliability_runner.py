"""Reliability of the runner, the cache and discovery, found by attack (issue 20): workers
that die with their parent, cache entries that are not regular files, one file that would
take the run down (time, memory, a native abort), and paths that would split a report line.
Each through the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_cli import LEAK, check, codes, write
from test_robustness import _entries, _project

needs_posix = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")


# --- the cache's bytes are read as carefully as the sources' -------------------------------


@needs_posix
@pytest.mark.parametrize("planted", ["a symlink to /dev/zero", "a FIFO"])
def test_a_cache_entry_that_is_not_a_regular_file_is_a_miss(tmp_path: Path, planted: str) -> None:
    """A repository can ship a ``.leaklint_cache/`` whose entries are links to ``/dev/zero``
    (a read that never ends) or FIFOs (a read that waits forever): each is a miss, and the
    run is as quick as an uncached one."""
    root = _project(tmp_path / "p", files=4)
    expected = check("--no-cache", ".", cwd=root)
    assert check(".", cwd=root).stdout == expected.stdout  # fills .leaklint_cache
    entries = _entries(root / ".leaklint_cache")
    assert any(entry.parent.name == "manifest" for entry in entries)
    for entry in entries:
        entry.unlink()
        if planted == "a FIFO":
            os.mkfifo(entry)
        else:
            entry.symlink_to("/dev/zero")
    started = time.monotonic()
    again = check(".", cwd=root, timeout=60)
    assert (again.returncode, again.stdout, again.stderr) == (1, expected.stdout, "")
    assert time.monotonic() - started < 30


@needs_posix
@pytest.mark.parametrize("planted", ["a symlink to /dev/zero", "a FIFO"])
def test_a_cache_key_that_is_not_a_regular_file_is_replaced(tmp_path: Path, planted: str) -> None:
    """The key under ``$XDG_CACHE_HOME/leaklint/`` is read the same way: a FIFO or a link
    there is not waited on nor read, and a fresh key replaces it."""
    root = _project(tmp_path / "p", files=2)
    key = tmp_path / "xdg" / "leaklint" / "cache-key"
    key.parent.mkdir(parents=True)
    if planted == "a FIFO":
        os.mkfifo(key)
    else:
        key.symlink_to("/dev/zero")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg"), "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "."],
        cwd=root, capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not key.is_symlink() and key.is_file() and len(key.read_bytes()) == 32


# --- discovery and report lines ------------------------------------------------------------


@needs_posix
def test_a_newline_in_a_file_name_does_not_split_a_text_line(tmp_path: Path) -> None:
    """Text shows a control character in a path as ``repr`` does; github output escapes it
    as GitHub's workflow commands say; JSON keeps the exact name."""
    write(tmp_path, "a\nb\x1b.py", LEAK)
    write(tmp_path, "z_leak.py", LEAK)
    text = check("--no-cache", ".", cwd=tmp_path)
    assert codes(text) == [("a\\nb\\x1b.py", 2, "LL100"), ("z_leak.py", 2, "LL100")]
    github = check("--no-cache", "--format", "github", ".", cwd=tmp_path)
    assert len(github.stdout.splitlines()) == 2
    assert "file=a%0Ab\x1b.py," in github.stdout
    rows = json.loads(check("--no-cache", "--format", "json", ".", cwd=tmp_path).stdout)
    assert [row["path"] for row in rows] == ["a\nb\x1b.py", "z_leak.py"]


def test_a_folder_named_like_a_file_is_walked_into_in_a_walk(tmp_path: Path) -> None:
    """As ruff does: in a walk a folder named ``x.py`` is a folder, and its files are
    checked; named on the command line it is one clear LL900 line (test_cli)."""
    write(tmp_path, "x.py/inner.py", LEAK)
    (tmp_path / "empty.py").mkdir()
    proc = check("--no-cache", ".", cwd=tmp_path)
    assert codes(proc) == [(os.path.join("x.py", "inner.py"), 2, "LL100")]
    named = check("--no-cache", "empty.py", "x.py/inner.py", cwd=tmp_path)
    assert codes(named) == [("empty.py", 1, "LL900"), (os.path.join("x.py", "inner.py"), 2, "LL100")]
    assert "empty.py:1:1: LL900 file is a directory" in named.stdout
