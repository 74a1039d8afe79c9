"""What a check gives back: findings per file. Kept apart from ``leaklint.core`` so that
reporting a cached run imports neither libcst nor the analysis."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One diagnostic. ``col`` is 0-based inside; front ends print it 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str
    #: the path of a leak, for traces (SARIF codeFlows): (line, 0-based col, what happens there)
    related: tuple[tuple[int, int, str], ...] = ()
    #: in a notebook: (first line, 1-based cell number) of each code cell, for the lines
    #: above, which are the notebook's code cells as one module (``leaklint.notebook``)
    cells: tuple[tuple[int, int], ...] = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (
            Finding,
            (self.path, self.line, self.col, self.code, self.message, self.related, self.cells),
        )


@dataclass(frozen=True, slots=True, order=True)
class UnusedSuppression:
    """A ``# noqa: LL…`` or ``# leaklint: ignore[…]`` that silenced nothing: ``codes`` are
    the leaklint codes it names that matched no finding (empty: a bare ``leaklint: ignore``)."""

    path: str
    line: int
    col: int
    codes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    internal_error: str | None = None  # a traceback: our bug, not the user's
    unused_suppressions: tuple[UnusedSuppression, ...] = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        # pickled as its fields: a slots dataclass's own state functions cost ten times this
        # on the thousands of results a manifest holds
        return (FileResult, (self.path, self.findings, self.internal_error, self.unused_suppressions))
