"""What a check gives back: findings per file. Kept apart from ``leaklint.core`` so that
reporting a cached run imports neither libcst nor the analysis."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TextEdit:
    """Replace the text from (``line``, ``col``) up to (``end_line``, ``end_col``) with
    ``content``; lines 1-based, columns 1-based in code points, the end exclusive."""

    line: int
    col: int
    end_line: int
    end_col: int
    content: str


@dataclass(frozen=True, slots=True)
class SuggestedFix:
    """The fix a finding has (``leaklint.fixes.suggest``), as edits of the file's text:
    ``applicability`` "safe" or "unsafe" (``reason`` says why it is unsafe, or when the
    safe one applies), ``message`` its title."""

    applicability: str
    message: str
    reason: str
    edits: tuple[TextEdit, ...]


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
    #: the fix on offer, if any (not part of the finding's identity)
    fix: SuggestedFix | None = field(default=None, compare=False)

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (
            Finding,
            (self.path, self.line, self.col, self.code, self.message, self.related, self.cells,
             self.fix),
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
