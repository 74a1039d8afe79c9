"""LL161 against the running code: the clean-up after a bare yield really is skipped."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from leaklint.config import Config
from leaklint.core import check_source

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "LL161" / "cleanup_after_yield.py"


def _load():
    spec = importlib.util.spec_from_file_location("cleanup_after_yield", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_lock_is_left_held_where_ll161_says() -> None:
    findings = check_source(FIXTURE.read_bytes(), str(FIXTURE), Config()).findings
    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    reported = {f.line for f in findings if f.code == "LL161"}
    yield_line = next(i for i, text in enumerate(lines, 1) if "LOCK.acquire()" in text) + 1
    assert yield_line in reported
    _load().lock_left_held("not a number")  # asserts that the lock was left held
