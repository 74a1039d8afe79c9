"""Start-up (issue 25 item 7): ``leaklint --version`` and a run the cache answers import
neither libcst nor the analysis, measured with ``python -X importtime`` on the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from test_cli import LEAK, write

HEAVY = ("libcst", "leaklint.analysis", "leaklint.core")


def _imported(args: list[str], cwd: Path) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "leaklint", *args],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "LEAKLINT_CACHE_DIR": str(cwd / "cache")},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}


def _heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith(HEAVY)}


def test_version_imports_no_analysis(tmp_path: Path) -> None:
    assert _heavy(_imported(["--version"], tmp_path)) == set()


def test_a_run_the_cache_answers_imports_no_analysis(tmp_path: Path) -> None:
    write(tmp_path, "a.py", LEAK)
    time.sleep(2.2)  # past the cache's racy window (a file written just before is re-read)
    first = _imported(["check", "a.py"], tmp_path)
    assert "libcst" in first  # the cold run analyses: the measurement can see it
    # the first run made the cache folder inside the checked one, a change to its listing
    # during the run: the second run checks again, and signs it
    _imported(["check", "a.py"], tmp_path)
    assert _heavy(_imported(["check", "a.py"], tmp_path)) == set()
