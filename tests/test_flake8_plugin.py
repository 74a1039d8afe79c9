"""The flake8 plugin, run by the real flake8: it agrees with the CLI on a configuration
hierarchy with and without ``-j`` workers (daemonic processes, which may not start leaklint's
pool), uses the project's one cache, and stops on a broken configuration as the CLI does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import check, codes, write
from test_configuration import TWO, _caches, tree


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("flake8")
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "LL", *args],
        cwd=cwd, capture_output=True, text=True, timeout=300,
    )


def _flake8_rows(text: str) -> list[tuple[str, int, str]]:
    out = []
    for line in text.splitlines():
        path, number, _, rest = line.split(":", 3)
        out.append((os.path.normpath(path), int(number), rest.split()[0]))
    return sorted(out)


def test_flake8_with_workers_agrees_with_the_cli_on_a_hierarchy(tree: Path) -> None:
    for name in ("p1.py", "p2.py", "sub/q.py"):
        write(tree, name, TWO)
    cli = check(".", cwd=tree)
    for jobs in ("1", "2"):
        flake8 = _flake8(tree, "-j", jobs, ".")
        assert "daemonic" not in flake8.stderr and "Traceback" not in flake8.stderr, flake8.stderr
        assert _flake8_rows(flake8.stdout) == sorted(codes(cli))
    # the plugin's run used the project's one cache
    assert _caches(tree) == [".leaklint_cache"]


def test_flake8_stops_on_a_broken_configuration(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.leaklint\n")
    write(tmp_path, "a.py", TWO)
    flake8 = _flake8(tmp_path, "a.py")
    assert flake8.returncode == 2
    assert "invalid TOML" in flake8.stderr


def test_flake8_analyses_an_edited_file_as_flake8_read_it(tmp_path: Path) -> None:
    """A file whose text is not what the plugin's run analysed (here: read from standard
    input) is analysed as flake8 gives it."""
    write(tmp_path, "a.py", "x = 1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "LL", "--stdin-display-name", "a.py", "-"],
        cwd=tmp_path, input=TWO, capture_output=True, text=True, timeout=120,
    )
    assert _flake8_rows(proc.stdout) == [("a.py", 2, "LL100"), ("a.py", 5, "LL102")]
