"""Runtime leaks: what ``pytest --leaklint`` saw, its JSON report, and the join with the static
findings that ``leaklint check --runtime-report`` prints in every format.

The pytest plugin (``leaklint.pytest_plugin``) records leaks as :class:`RuntimeLeak` and
writes them with :func:`write_report`; the CLI reads them back with :func:`read_report` and
meets them with the findings in :func:`join`. Nothing here imports the analysis: the plugin is
loaded by every pytest run of an environment that has leaklint installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

#: The ``version`` of the JSON report this leaklint writes and reads.
REPORT_VERSION = 1
#: What the text and GitHub output add to a runtime leak no finding stands at.
MISSED_NOTE = "runtime only: the static analysis did not report it"


class RuntimeReportError(ValueError):
    """The file is not a runtime report leaklint can read."""


@dataclass(frozen=True, slots=True)
class RuntimeLeak:
    """Every object that leaked from one allocation site, of one kind.

    ``path`` and ``line`` are where it was allocated (the first frame of the allocation
    traceback inside the project), or, when ``allocated`` is false (tracemalloc had no
    traceback for it), where the warning was emitted. ``path`` is relative to the report's
    root when it is inside it. ``traceback`` is the whole allocation traceback, most recent
    call first, as (path, line) pairs."""

    path: str
    line: int
    code: str | None  # the rule that reports this kind statically; None: none does
    kind: str  # "file", "socket", "process", "coroutine", ...
    category: str  # "ResourceWarning" or "RuntimeWarning"
    resource: str  # the repr of the first object
    message: str  # the first warning's text
    tests: tuple[str, ...] = ()  # test ids, in the order they leaked here
    count: int = 1  # how many objects leaked here
    allocated: bool = True
    traceback: tuple[tuple[str, int], ...] = ()

    @property
    def label(self) -> str:
        """What stands where a finding has its code: the code, else the warning's category."""
        return self.code or self.category

    @property
    def verb(self) -> str:
        return "never awaited" if self.kind == "coroutine" else "leaked"

    def what(self) -> str:
        """``path:line: LL100 leaked <_io.TextIOWrapper name='x' ...>``: one object."""
        return f"{self.path}:{self.line}: {self.label} {self.verb} {self.resource}"

    @property
    def in_tests(self) -> str:
        """``in 3 tests``, ``in 1 test (2 times)``."""
        tests = len(self.tests)
        where = f"in {tests} test{'' if tests == 1 else 's'}"
        return where if self.count == tests else f"{where} ({self.count} times)"

    @property
    def summary(self) -> str:
        """``leaked <_io.TextIOWrapper name='x' ...> in 3 tests``."""
        untraced = "" if self.allocated else " (not traced: where it was collected)"
        return f"{self.verb} {self.resource} {self.in_tests}{untraced}"

    def describe(self) -> str:
        """``path:line: LL100 leaked <_io.TextIOWrapper name='x' ...> in 3 tests``."""
        return f"{self.path}:{self.line}: {self.label} {self.summary}"

    def confirmation(self) -> str:
        """What a finding this leak confirms says: ``confirmed at runtime: leaked in 3 tests``."""
        return f"confirmed at runtime: {self.verb} {self.in_tests}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "code": self.code,
            "kind": self.kind,
            "category": self.category,
            "resource": self.resource,
            "message": self.message,
            "tests": list(self.tests),
            "count": self.count,
            "allocated": self.allocated,
            "traceback": [{"path": p, "line": n} for p, n in self.traceback],
        }

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> RuntimeLeak:
        try:
            return cls(
                path=str(row["path"]),
                line=int(row["line"]),
                code=None if row.get("code") is None else str(row["code"]),
                kind=str(row.get("kind", "resource")),
                category=str(row.get("category", "ResourceWarning")),
                resource=str(row.get("resource", "")),
                message=str(row.get("message", "")),
                tests=tuple(str(t) for t in row.get("tests", ())),
                count=int(row.get("count", 1)),
                allocated=bool(row.get("allocated", True)),
                traceback=tuple((str(f["path"]), int(f["line"])) for f in row.get("traceback", ())),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise RuntimeReportError(f"a leak without a valid {err}") from None


@dataclass(frozen=True, slots=True)
class RuntimeReport:
    """A test session's leaks. ``root`` is the folder relative paths are relative to (pytest's
    rootdir)."""

    root: str
    leaks: tuple[RuntimeLeak, ...] = ()
    tests: int = 0  # how many tests ran
    frames: int = 0  # tracemalloc's traceback limit

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "tool": "leaklint",
            "root": self.root,
            "tests": self.tests,
            "frames": self.frames,
            "leaks": [leak.to_json() for leak in self.leaks],
        }


def write_report(path: str | os.PathLike[str], report: RuntimeReport) -> None:
    Path(path).write_text(json.dumps(report.to_json(), indent=2) + "\n", "utf-8")


def read_report(path: str | os.PathLike[str]) -> RuntimeReport:
    """Read a report written by ``pytest --leaklint-report``; :class:`RuntimeReportError` with
    one line of reason otherwise."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as err:
        raise RuntimeReportError(f"{path}: cannot read: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise RuntimeReportError(f"{path}: not JSON: {err}") from None
    if not isinstance(data, dict) or data.get("tool") != "leaklint" or "leaks" not in data:
        raise RuntimeReportError(f"{path}: not a leaklint runtime report (pytest --leaklint-report)")
    if data.get("version") != REPORT_VERSION:
        raise RuntimeReportError(
            f"{path}: runtime report version {data.get('version')!r}; this leaklint reads "
            f"{REPORT_VERSION}"
        )
    try:
        leaks = tuple(RuntimeLeak.from_json(row) for row in data["leaks"])
    except RuntimeReportError as err:
        raise RuntimeReportError(f"{path}: {err}") from None
    return RuntimeReport(
        root=str(data.get("root", "")),
        leaks=leaks,
        tests=int(data.get("tests", 0)),
        frames=int(data.get("frames", 0)),
    )


@dataclass(frozen=True, slots=True)
class RuntimeJoin:
    """Static findings met with a runtime report. ``confirmed`` maps each finding that a leak
    confirms to that leak; ``missed`` are the leaks no finding stands at (each one a recall
    bug to look at), their paths made relative to the current folder like the findings'."""

    confirmed: Mapping[Any, RuntimeLeak] = field(default_factory=dict)
    missed: tuple[RuntimeLeak, ...] = ()
    report: RuntimeReport | None = None  # None: no runtime report was given


def _key(path: str, line: int) -> tuple[str, int]:
    return os.path.normcase(os.path.realpath(path)), line


def _display(path: str) -> str:
    """``path`` relative to the current folder when it is below it, with ``/``."""
    relative = os.path.relpath(path)
    return Path(path if relative.startswith("..") else relative).as_posix()


def join(findings: Sequence[Any], report: RuntimeReport) -> RuntimeJoin:
    """Meet ``findings`` (anything with ``path`` and ``line``) with ``report``'s leaks: a
    finding is confirmed by a leak allocated on its line of its file, at the allocation site or
    at any frame of the allocation traceback (a factory's caller, where the static analysis
    reports ``conn = get_conn()``). The one join behind the text, JSON and SARIF output."""
    root = report.root if report.root and os.path.isdir(report.root) else os.getcwd()
    by_site: dict[tuple[str, int], list[Any]] = {}
    for finding in findings:
        by_site.setdefault(_key(finding.path, finding.line), []).append(finding)
    confirmed: dict[Any, RuntimeLeak] = {}
    missed = []
    for leak in report.leaks:
        sites = [(leak.path, leak.line), *leak.traceback] if leak.allocated else []
        hits = [f for path, line in sites for f in by_site.get(_key(os.path.join(root, path), line), ())]
        for finding in hits:
            confirmed.setdefault(finding, leak)
        if not hits:
            missed.append(replace(leak, path=_display(os.path.join(root, leak.path))))
    return RuntimeJoin(confirmed, tuple(missed), report)


def ordered(leaks: Iterable[RuntimeLeak]) -> list[RuntimeLeak]:
    """The leaks sorted by site, the most frequent first where several share a line."""
    return sorted(leaks, key=lambda leak: (leak.path, leak.line, -leak.count, leak.label))
