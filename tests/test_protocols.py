"""LL160/LL161 against the running code: what the fixtures claim really happens."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from leaklint.config import Config
from leaklint.core import check_source

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "LL161" / "cleanup_after_yield.py"


def _load(path: Path = FIXTURE, name: str = "cleanup_after_yield"):
    spec = importlib.util.spec_from_file_location(name, path)
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



def test_ll160_positive_really_swallows_and_negatives_really_do_not() -> None:
    """The handler that discards the exception unseen swallows it (LL160); the ones left
    alone do not: a second yield makes contextmanager raise RuntimeError, and the helper that
    is handed the exception re-raises it."""
    swallowing = _load(ROOT / "fixtures" / "LL160" / "swallowing_exits.py", "ll160_swallowing")
    modules: dict[str, object] = {}
    with swallowing.module_to_load("m", modules):
        raise ImportError("the loader failed")  # vanishes
    assert "m" not in modules
    negatives = _load(ROOT / "fixtures" / "negatives" / "protocols_exits.py", "ll160_negatives")
    with pytest.raises(RuntimeError), negatives.yields_again():
        raise ValueError
    with pytest.raises(ValueError), negatives.fail_if(expected=False):
        raise ValueError
    with pytest.raises(AssertionError), negatives.AssertRaisesContext(KeyError):
        pass


def test_ll161_cleanup_words_are_whole_words() -> None:
    from leaklint.analysis.protocols import _is_undoing_name

    for name in ("close", "removeObserver", "teardown_test_loop", "tearDown", "clean_up",
                 "disable", "setprofile", "set_profile", "chdir", "unregister", "server_close"):
        assert _is_undoing_name(name), name
    for name in ("execute", "after_create", "finalize", "print", "removeprefix", "wait_until",
                 "raise_syntax_error", "restorer_of", "stopwatch", "exit"):
        assert not _is_undoing_name(name), name
