"""``--exit-non-zero-on-fix`` (issue 24 item 3), as ruff's: with ``--fix``, a run that changed a
file exits 1 even when no finding remains, so CI (and pre-commit) sees that the tree changed.
Through the real CLI on real files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from test_cli import CLEAN, LEAK, check, write


def _run_on(folder: Path, text: str, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """``leaklint check ARGS a.py`` (no cache, one worker) on an a.py holding ``text`` (unless
    one is there already): the run, and a.py's text after it."""
    path = folder / "a.py"
    if not path.exists():
        write(folder, "a.py", text)
    proc = check("--no-cache", "-j", "1", *args, "a.py", cwd=folder)
    return proc, path.read_text("utf-8")


def test_a_run_that_fixed_a_file_exits_1_though_nothing_remains(tmp_path: Path) -> None:
    proc, after = _run_on(tmp_path, LEAK, "--fix", "--exit-non-zero-on-fix")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""  # no finding remains: the exit code says a file changed
    assert "fixed 1 finding" in proc.stderr
    assert after == CLEAN
    again, after = _run_on(tmp_path, LEAK, "--fix", "--exit-non-zero-on-fix")
    assert again.returncode == 0, again.stderr  # nothing left to fix: nothing changed
    assert after == CLEAN


def test_without_the_flag_a_run_that_fixed_everything_exits_0(tmp_path: Path) -> None:
    proc, after = _run_on(tmp_path, LEAK, "--fix")
    assert (proc.returncode, after) == (0, CLEAN), proc.stderr


def test_a_fix_the_baseline_holds_back_changes_nothing_and_exits_0(tmp_path: Path) -> None:
    recorded, _ = _run_on(tmp_path, LEAK, "--write-baseline", "known.json")
    assert recorded.returncode == 0, recorded.stderr
    proc, after = _run_on(tmp_path, LEAK, "--baseline", "known.json", "--fix", "--exit-non-zero-on-fix")
    assert (proc.returncode, after) == (0, LEAK), proc.stderr


def test_with_diff_nothing_is_written_and_a_fix_to_show_exits_1(tmp_path: Path) -> None:
    proc, after = _run_on(tmp_path, LEAK, "--diff", "--exit-non-zero-on-fix")
    assert (proc.returncode, after) == (1, LEAK), proc.stderr
    assert "+    with open(path) as f:" in proc.stdout


def test_the_flag_without_fix_and_a_clean_file_exits_0(tmp_path: Path) -> None:
    proc, _ = _run_on(tmp_path, CLEAN, "--exit-non-zero-on-fix")
    assert proc.returncode == 0, proc.stderr


def test_exit_zero_and_exit_non_zero_on_fix_are_a_usage_error(tmp_path: Path) -> None:
    proc, after = _run_on(tmp_path, LEAK, "--fix", "--exit-zero", "--exit-non-zero-on-fix")
    assert proc.returncode == 2
    assert "--exit-zero and --exit-non-zero-on-fix cannot be combined" in proc.stderr
    assert after == LEAK  # refused before anything was fixed
