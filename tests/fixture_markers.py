"""Annotated fixtures: the markers they carry, and the run-time ResourceWarning oracle.

Markers (comments, read with ``tokenize`` so text inside strings never counts):

* ``# expect: LL100`` / ``# expect: LL100, LL102`` at the end of the line a finding is on;
* ``# expect+N: LL101`` for line ``+N`` below the comment (a line that cannot hold one);
* ``# ok: <why>`` above (or inside) a case that must produce nothing;
* ``# ok (false negative): <why>`` above a real leak leaklint does not report (a known gap);
* ``# runs: leaks`` / ``# runs: clean`` on the ``def`` line of a top-level function that
  takes one argument (a path to an existing temporary text file) and can really run.

A *case* is a top-level function or class of a fixture module.

Run as a script (``python -X dev tests/fixture_markers.py oracle IN.json OUT.json``) it is
the oracle: it reads ``[{"file": ..., "function": ...}, ...]`` from IN.json, calls each
function with a fresh temporary file, forces ``gc.collect()``, and writes to OUT.json the
ResourceWarnings each call emitted and the exception it raised, if any (files, not
stdout, so what a fixture prints cannot garble the answer). Stdlib only.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

_CODE = r"LL\d{3}"
_EXPECT = re.compile(rf"^#\s*expect(?:\+(\d+))?:\s*({_CODE}(?:\s*,\s*{_CODE})*)\s*$")
_RUNS = re.compile(r"#\s*runs:\s*(\S+)\s*$")
_OK = re.compile(r"^#\s*ok(?: \(false negative\))?:\s*\S")
_KNOWN_FALSE_POSITIVE = re.compile(r"^#\s*known false positive:\s*\S")

#: The text every run-time case's input file holds: readable, but not a number nor JSON.
ORACLE_INPUT = "hello, this is not a number\n"


class MarkerError(ValueError):
    """A marker that does not parse, or sits where it cannot mean anything."""


@dataclass(frozen=True, slots=True)
class Case:
    """A top-level function or class; ``start`` includes its decorators."""

    name: str
    start: int
    end: int
    def_line: int
    params: int  # positional parameters (functions only; -1 for classes)
    runs: str | None  # "leaks" | "clean" | None


@dataclass(frozen=True, slots=True)
class Fixture:
    path: Path
    expected: frozenset[tuple[int, str]]  # (line, code)
    cases: tuple[Case, ...]
    ok_lines: frozenset[int]  # lines holding an ``# ok`` or ``# known false positive`` comment

    def expected_in(self, case: Case) -> set[tuple[int, str]]:
        return {(line, code) for line, code in self.expected if case.start <= line <= case.end}

    def documented(self, case: Case) -> bool:
        """An ``# ok`` comment just above the case (over blank/comment lines) or inside it."""
        if any(case.start <= line <= case.end for line in self.ok_lines):
            return True
        lines = self.path.read_text(encoding="utf-8").splitlines()
        line = case.start - 1
        while line >= 1 and lines[line - 1].lstrip().startswith("#"):
            if line in self.ok_lines:
                return True
            line -= 1
        return False


def parse_fixture(path: Path) -> Fixture:
    source = path.read_text(encoding="utf-8")
    expected: set[tuple[int, str]] = set()
    ok_lines: set[int] = set()
    runs: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        text, line = token.string, token.start[0]
        stripped = re.sub(r"^#\s*", "# ", text)
        if stripped.startswith("# expect"):
            match = _EXPECT.match(text)
            if match is None:
                raise MarkerError(f"{path}:{line}: malformed expect marker {text!r}")
            target = line + int(match.group(1) or 0)
            expected.update((target, code.strip()) for code in match.group(2).split(","))
        elif stripped.startswith("# ok"):
            if _OK.match(text) is None:
                raise MarkerError(f"{path}:{line}: malformed ok marker {text!r} (say why)")
            ok_lines.add(line)
        elif _KNOWN_FALSE_POSITIVE.match(text):
            ok_lines.add(line)
        elif "runs:" in text:
            match = _RUNS.search(text)
            if match is None or match.group(1) not in ("leaks", "clean"):
                raise MarkerError(f"{path}:{line}: `# runs:` takes `leaks` or `clean`: {text!r}")
            runs[line] = match.group(1)
    cases = []
    for node in ast.parse(source, filename=str(path)).body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        is_function = not isinstance(node, ast.ClassDef)
        params = len(node.args.posonlyargs) + len(node.args.args) if is_function else -1
        label = runs.pop(node.lineno, None)
        if label is not None and (not is_function or params != 1):
            raise MarkerError(
                f"{path}:{node.lineno}: `# runs:` needs a function of one argument (the path)"
            )
        cases.append(Case(node.name, start, node.end_lineno or node.lineno, node.lineno,
                          params, label))
    if runs:
        line = min(runs)
        raise MarkerError(f"{path}:{line}: `# runs:` is only allowed on a top-level def line")
    return Fixture(path, frozenset(expected), tuple(cases), frozenset(ok_lines))


# --------------------------------------------------------------------------- the oracle


def _run_oracle(requests: list[dict[str, str]]) -> list[dict[str, object]]:
    import gc
    import importlib.util
    import shutil
    import tempfile
    import warnings

    modules: dict[str, object] = {}
    results: list[dict[str, object]] = []
    for number, request in enumerate(requests):
        file, function = request["file"], request["function"]
        result: dict[str, object] = {"file": file, "function": function}
        results.append(result)
        try:
            module = modules.get(file)
            if module is None:
                spec = importlib.util.spec_from_file_location(f"_fixture_{len(modules)}", file)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                modules[file] = module
            func = getattr(module, function)
        except Exception as exc:  # reported, not raised: the other cases still run
            result["error"] = f"cannot load: {type(exc).__name__}: {exc}"
            continue
        folder = tempfile.mkdtemp(prefix=f"leaklint-oracle-{number}-")
        path = str(Path(folder, "input.txt"))
        Path(path).write_text(ORACLE_INPUT, encoding="utf-8")
        gc.collect()
        raised = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                func(path)  # the result is dropped at once
            except Exception as exc:
                raised = f"{type(exc).__name__}: {exc}"
                result["raised_value_error"] = isinstance(exc, ValueError)
            # the exception, its traceback and the frame holding the locals are now unreachable
            # from here; collect them (and any cycle) while warnings are still recorded
            gc.collect()
            gc.collect()
        result["raised"] = raised
        result["resource_warnings"] = [
            str(w.message) for w in caught if issubclass(w.category, ResourceWarning)
        ]
        shutil.rmtree(folder, ignore_errors=True)
    return results


def main(argv: list[str]) -> int:
    import json
    import sys

    if len(argv) != 4 or argv[1] != "oracle":
        print("usage: python -X dev tests/fixture_markers.py oracle IN.json OUT.json",
              file=sys.stderr)
        return 2
    requests = json.loads(Path(argv[2]).read_text(encoding="utf-8"))
    results = _run_oracle(requests)
    Path(argv[3]).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv))
