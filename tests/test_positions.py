"""Positions computed per module-level statement (per method, in a class), on the module with
its idle definitions stubbed out, equal libcst's for the whole module as written."""

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
    monkeypatch.setattr(core._Positions, "_placed", lambda self, anchor, top: {})
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")  # the whole file parsed, too
    whole = _findings(files)
    assert per_statement == whole
    assert len(whole) > 100


#: A big class whose later methods leak: each is placed by rendering the class with that
#: method alone. Blank lines, comments, a decorator, a multi-line string and a nested class
#: before the leaks shift them; tabs and a CRLF file check that columns stay exact.
BIG_CLASS = '''\
import socket


def helper(x):
    return x + 1


@some.decorator(
    1,
)
class Big(Base):
    """A class.

    With a docstring of several lines.
    """

    attr = 1

    def first(self):
        text = """
        many
        lines
        """
        for i in range(10):
            print(i)
        return text

    # a comment between methods

    @staticmethod
    def second(path):
        f = open(path)
        data = f.read()
        return data

    class Inner:
        pass

    async def third(self, host):
        sock = socket.create_connection((host, 80))
        sock.send(b"x")
        if host:
            return None
        sock.close()

    def fourth(self, path):
        handle = open(path)  # the last one
'''


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_leak_in_a_later_method_is_placed_as_in_the_whole_module(
    monkeypatch: pytest.MonkeyPatch, newline: str
) -> None:
    source = BIG_CLASS.replace("\n", newline).encode()
    config = Config()
    rendered: list[str] = []
    real = core._Positions._placed

    def placed(self, anchor, top):  # type: ignore[no-untyped-def]
        rendered.append(type(anchor).__name__ + ":" + getattr(getattr(anchor, "name", None), "value", ""))
        return real(self, anchor, top)

    monkeypatch.setattr(core._Positions, "_placed", placed)
    per_method = core.check_source(source, "big.py", config).findings
    monkeypatch.setattr(core._Positions, "_placed", lambda self, anchor, top: {})
    monkeypatch.setenv("LEAKLINT_NO_PREFILTER", "1")
    whole = core.check_source(source, "big.py", config).findings
    assert per_method == whole
    assert [(f.line, f.col, f.code) for f in whole] == [
        (32, 12, "LL100"),  # f = open(path)
        (40, 15, "LL100"),  # sock = socket.create_connection(...)
        (47, 17, "LL100"),  # handle = open(path)
    ]
    assert rendered == ["FunctionDef:second", "FunctionDef:third", "FunctionDef:fourth"]


def test_an_idle_definition_is_not_given_to_libcst(monkeypatch: pytest.MonkeyPatch) -> None:
    """``helper`` names nothing that can acquire: libcst parses a stand-in for it, on its
    line, and the class after it keeps its lines and columns."""
    parsed: list[bytes] = []
    real = core.cst.parse_module
    monkeypatch.setattr(core.cst, "parse_module", lambda data: parsed.append(data) or real(data))
    monkeypatch.setattr("leaklint.prefilter._worth_reducing", lambda *args: True)
    source = BIG_CLASS.encode()
    core.check_source(source, "big.py", Config())
    (reduced,) = parsed
    assert reduced.splitlines()[3:6] == [b"def helper(): pass", b"", b""]
    assert len(reduced.splitlines()) == len(source.splitlines())
