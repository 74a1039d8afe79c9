"""Positions computed per module-level statement equal libcst's for the whole module."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import pytest

import leaklint.core as core
from leaklint.config import Config

ROOT = Path(__file__).resolve().parents[1]


def _files() -> list[Path]:
    fixtures = sorted((ROOT / "fixtures").rglob("*.py"))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sample = sorted(
        p
        for p in stdlib.rglob("*.py")
        if "site-packages" not in p.parts and "test" not in p.parts
    )[::25]
    return fixtures + sample


def _findings(files: list[Path]) -> list[core.Finding]:
    config = Config()
    return [f for path in files for f in core.check_source(path.read_bytes(), str(path), config).findings]


def test_statement_positions_equal_whole_module_positions(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    per_statement = _findings(files)
    monkeypatch.setattr(core._Positions, "_statement", lambda self, top: {})
    whole = _findings(files)
    assert per_statement == whole
    assert len(whole) > 100
