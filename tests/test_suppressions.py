"""Suppressions as ruff users write them, through the real CLI (and flake8): file-level
``# leaklint: ignore-file[...]``, rule names as well as codes, and ``--add-noqa``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import check, codes, write

#: LL100 on line 2, LL102 on line 5
TWO = "def f(p):\n    g = open(p)\n    return 1\ndef u(p):\n    return open(p).read()\n"
#: LL100 on a call on a continuation line (line 3), LL102 in a statement ending on line 8
MULTI = (
    "import sqlite3\ndef m(p):\n    x = sqlite3.connect(\n        p,\n    )\n"
    "    return 1\ndef n(p):\n    return open(\n        p).read()  # a comment\n"
)


@pytest.mark.parametrize(
    "comment, left",
    [
        ("# leaklint: ignore-file", []),
        ("# leaklint: ignore-file[LL100]", [("a.py", 6, "LL102")]),
        ("# leaklint: ignore-file[resource-not-released, LL102]", []),
        ("# leaklint: ignore-file[unbound-resource]", [("a.py", 3, "LL100")]),
    ],
)
def test_ignore_file(tmp_path: Path, comment: str, left: list) -> None:
    write(tmp_path, "a.py", comment + "\n" + TWO)
    proc = check("a.py", cwd=tmp_path)
    assert codes(proc) == left
    assert proc.returncode == (1 if left else 0)


def test_ignore_file_anywhere_and_unused_is_warned(tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO + "# leaklint: ignore-file[LL100, LL101]\n")
    proc = check("a.py", "--warn-unused-noqa", cwd=tmp_path)
    assert codes(proc) == [("a.py", 5, "LL102")]
    assert "a.py:6:1: warning: unused suppression (LL101)" in proc.stderr
    # inside a string it is no comment
    write(tmp_path, "b.py", 'X = "# leaklint: ignore-file"\n' + TWO)
    assert len(codes(check("b.py", cwd=tmp_path))) == 2


def test_rule_names_as_well_as_codes(tmp_path: Path) -> None:
    write(
        tmp_path, "a.py",
        "def f(p):\n    g = open(p)  # noqa: resource-not-released\n    return 1\n"
        "def u(p):\n    return open(p).read()  # leaklint: ignore[Unbound-Resource]\n"
        "def v(p):\n    return open(p).read()  # leaklint: ignore[resource-not-released]\n",
    )
    proc = check("a.py", "--warn-unused-noqa", cwd=tmp_path)
    assert codes(proc) == [("a.py", 7, "LL102")]
    assert "a.py:7:28: warning: unused suppression (LL100)" in proc.stderr


def test_add_noqa_silences_every_finding_and_changes_nothing_else(tmp_path: Path) -> None:
    original = (MULTI + TWO.replace("\n", "\r\n")).encode()
    path = write(tmp_path, "a.py", original)
    write(tmp_path, "clean.py", "X = 1\n")
    before = codes(check("a.py", "clean.py", cwd=tmp_path))
    assert len(before) == 4
    added = check("--add-noqa", "a.py", "clean.py", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert "added 4 noqa comments to 1 file" in added.stderr
    after = path.read_bytes()
    assert codes(check("a.py", "--warn-unused-noqa", cwd=tmp_path)) == []
    old_lines, new_lines = original.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(old_lines) == len(new_lines)
    changed = [i + 1 for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b]
    # the multi-line statements get theirs on their last line, where it covers them
    assert changed == [5, 9, 11, 14]
    assert new_lines[4] == b"    )  # noqa: LL100\n"
    assert new_lines[8] == b"        p).read()  # a comment  # noqa: LL102\n"
    assert new_lines[10] == b"    g = open(p)  # noqa: LL100\r\n"  # the line's own ending
    for a, b in zip(old_lines, new_lines):
        assert b.startswith(a.rstrip()), (a, b)
    assert (tmp_path / "clean.py").read_bytes() == b"X = 1\n"
    again = check("--add-noqa", "a.py", cwd=tmp_path)
    assert "added 0 noqa comments to 0 files" in again.stderr
    assert path.read_bytes() == after


def test_add_noqa_refuses_what_it_cannot_do(tmp_path: Path) -> None:
    write(tmp_path, "a.py", TWO)
    proc = check("--add-noqa", "--fix", "a.py", cwd=tmp_path)
    assert proc.returncode == 2 and "--add-noqa" in proc.stderr


def test_flake8_honours_ignore_file_and_names(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    write(tmp_path, "a.py", "# leaklint: ignore-file[unbound-resource]\n" + TWO)
    proc = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "LL", "a.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert [line.split(":")[1] + line.split()[1] for line in proc.stdout.splitlines()] == ["3LL100"]
