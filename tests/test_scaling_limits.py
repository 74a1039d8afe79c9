"""Issue #20, items 6 and 7: many resources open at once cost time in proportion to their
number, and valid code that is long or deep in one place is analysed, or skipped with the
true reason, never called a syntax error."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import libcst as cst
import pytest

from leaklint.analysis.obligations import analyse_module
from leaklint.config import Config
from leaklint.core import _longest_elif_chain
from test_cli import LEAK, check, codes, write


def _straight(n: int) -> str:
    return "def f(p):\n" + "".join(f"    f{i} = open(p)\n" for i in range(n))


def _closed(n: int) -> str:
    return _straight(n) + "".join(f"    f{i}.close()\n" for i in range(n))


def _in_loop(n: int) -> str:
    return "def f(p, paths):\n    for q in paths:\n" + "".join(
        f"        f{i} = open(q)\n" for i in range(n)
    ) + "".join(f"        f{i}.close()\n" for i in range(n))


def _module(n: int) -> str:
    return "".join(f"f{i} = open('p{i}')\n" for i in range(n))


def _analysis_seconds(source: str) -> tuple[float, int]:
    """CPU time of the obligation analysis alone (best of three), and the leaks found."""
    module = cst.parse_module(source)
    registry = Config().registry
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        leaks = analyse_module(module, registry)
        best = min(best, time.process_time() - start)
    return best, len(leaks)


@pytest.mark.parametrize(
    "shape, leaks_per_open",
    [(_straight, 1), (_closed, 1), (_in_loop, 1), (_module, 0)],
    ids=["opens", "opens-then-closes", "in-a-loop", "module-level"],
)
def test_ten_times_the_open_resources_is_about_ten_times_the_work(
    shape: Callable[[int], str], leaks_per_open: int
) -> None:
    # linear: about 10x; the quadratic analysis took 100x (n=2,500 3.4 s, n=10,000 43 s).
    # CPU time of this process, best of three: a busy machine stretches both sizes alike.
    small, small_leaks = _analysis_seconds(shape(400))
    big, big_leaks = _analysis_seconds(shape(4_000))
    assert (small_leaks, big_leaks) in ((400 * leaks_per_open, 4_000 * leaks_per_open),
                                        (399, 3_999))  # opens-then-closes: the last close
    assert big / max(small, 1e-3) < 35, f"400 opens: {small:.3f} s, 4,000 opens: {big:.3f} s"


@pytest.mark.slow
def test_twenty_thousand_opens_then_closes_in_one_function(tmp_path: Path) -> None:
    write(tmp_path, "many.py", _closed(20_000))
    proc = check("--no-cache", "many.py", cwd=tmp_path, timeout=900)
    assert proc.returncode == 1, proc.stderr
    found = codes(proc)
    # every open but the last leaks if a later open (or close) raises; the last one's close
    # is the next statement, whose failure is no leak
    assert len(found) == 19_999
    assert {code for _, _, code in found} == {"LL101"}


def _elif_chain(branches: int) -> str:
    arms = "".join(f"    elif x == {i}:\n        y = {i}\n" for i in range(1, branches))
    return f"def f(p, x):\n    h = open(p)\n    if x == 0:\n        y = 0\n{arms}    return y\n"


@pytest.mark.parametrize("branches", [450, 2_000])
def test_a_long_elif_chain_is_analysed(tmp_path: Path, branches: int) -> None:
    write(tmp_path, "chain.py", _elif_chain(branches))
    proc = check("--no-cache", "chain.py", cwd=tmp_path, timeout=300)
    assert codes(proc) == [("chain.py", 2, "LL100")], proc.stdout
    assert "LL900" not in proc.stdout


def test_thousands_of_adjacent_strings_are_not_a_syntax_error(tmp_path: Path) -> None:
    strings = "".join(f"        'part {i} '\n" for i in range(5_000))
    write(tmp_path, "strings.py", f"def f(p):\n    h = open(p)\n    return h, (\n{strings}    )\n")
    write(tmp_path, "z_leak.py", LEAK)
    proc = check("--no-cache", "strings.py", "z_leak.py", cwd=tmp_path)
    assert codes(proc) == [("strings.py", 4, "LL900"), ("z_leak.py", 2, "LL100")], proc.stdout
    assert "syntax error" not in proc.stdout
    assert "5,000 adjacent string literals" in proc.stdout


def test_a_real_syntax_error_is_still_called_one(tmp_path: Path) -> None:
    write(tmp_path, "broken.py", "def f(:\n    pass\n")
    proc = check("--no-cache", "broken.py", cwd=tmp_path)
    assert codes(proc) == [("broken.py", 1, "LL900")]
    assert "syntax error" in proc.stdout


def test_longest_elif_chain_is_counted_from_the_lines() -> None:
    assert _longest_elif_chain(_elif_chain(412).encode()) == 412
    nested = "if a:\n    pass\nelif b:\n    if c:\n        pass\n    elif d:\n        pass\nelif e:\n    pass\nx = 1\nif f:\n    pass\nelif g:\n    pass\n"
    assert _longest_elif_chain(nested.encode()) == 3
    assert _longest_elif_chain(b"elif_count = 1\nelifs = 2\n") == 0
