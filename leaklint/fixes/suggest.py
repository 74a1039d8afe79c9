"""The fix each finding has, as text edits for the reports (JSON ``fix``, SARIF ``fixes``,
text ``[*]``): each fixable finding's edit planned alone on the file as it is, the same
planners ``--fix`` uses (``planned``), unsafe ones included; nothing is written."""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Sequence
from dataclasses import replace

from leaklint.analysis.summaries import Project
from leaklint.config import Config
from leaklint.core import single_file_project, users_warnings_ignored
from leaklint.fixes.apply import applied_edits, planned
from leaklint.fixes.base import Edit
from leaklint.fixes.planners import FIXABLE_CODES
from leaklint.results import FileResult, Finding, SuggestedFix, TextEdit

_LINE = re.compile(r".*?(?:\r\n|\r|\n)|.+\Z", re.S)

#: Offers cost a second analysis of the whole module (the check analyses it without its idle
#: definitions) and a pass over it per offer (apply, compile, diff): a module larger than
#: OFFER_SIZE, or whose fixable findings x size pass OFFER_WORK, offers none (``--fix`` still
#: fixes it). Sizes, not time, so that the same files offer fixes in every run on every
#: machine; on the stdlib's 173 kB test_os.py the offers tripled the check's CPU time.
OFFER_SIZE = 100_000
OFFER_WORK = 4_000_000


def with_fixes(
    result: FileResult,
    data: bytes,
    config: Config,
    project: Project | None,
    deadline: float = float("inf"),
) -> FileResult:
    """``result`` (the findings of ``data``) with each fixable finding's ``fix`` set, as
    many as are made before ``deadline`` (``time.monotonic()``). A file with no fixable
    finding, one too large to offer them (``OFFER_SIZE``, ``OFFER_WORK``), a notebook, or a
    planner that fails leaves it as it is."""
    wanted = {(f.line, f.col, f.code) for f in result.findings if f.code in FIXABLE_CODES}
    if not wanted or result.internal_error or result.path.lower().endswith(".ipynb"):
        return result
    if len(data) > OFFER_SIZE or len(wanted) * len(data) > OFFER_WORK:
        return result  # --fix still fixes them; only the offers are left out
    try:
        fixes = suggested(data, result.path, config, project, wanted, deadline)
    except Exception:  # noqa: BLE001 - an offer that cannot be made is no finding's loss
        return result
    if not fixes:
        return result
    findings = tuple(
        replace(f, fix=fixes[key]) if (key := (f.line, f.col, f.code)) in fixes else f
        for f in result.findings
    )
    return replace(result, findings=findings)


def suggested(
    data: bytes,
    path: str,
    config: Config,
    project: Project | None,
    wanted: set[tuple[int, int, str]],
    deadline: float = float("inf"),
) -> dict[tuple[int, int, str], SuggestedFix]:
    """For each (line, 0-based column, code) of ``wanted`` that has a fix, that fix alone
    (until ``deadline``: each costs a pass over the module)."""
    if project is None:
        project = single_file_project(data, path, config)
    module, tail, edits = planned(data, path, config, project, wanted, unsafe=True,
                                  deadline=deadline)
    before = _text(data, module.encoding)
    out: dict[tuple[int, int, str], SuggestedFix] = {}
    for edit in edits:
        key = (edit.line, edit.col, edit.code)
        if time.monotonic() > deadline:
            break
        if key in out:
            continue
        after = applied_edits(module, [edit]) + tail
        if not _compiles(after, path):
            continue
        changes = text_edits(before, _text(after, module.encoding))
        if changes:
            out[key] = _suggestion(edit, changes)
    return out


def _suggestion(edit: Edit, changes: tuple[TextEdit, ...]) -> SuggestedFix:
    return SuggestedFix(edit.fix.safety, edit.fix.title, edit.fix.reason, changes)


def _text(data: bytes, encoding: str) -> str:
    return data.decode(encoding, "replace").removeprefix("\ufeff")


def _compiles(source: bytes, path: str) -> bool:
    try:
        with users_warnings_ignored():
            compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def lines_of(text: str) -> list[str]:
    """``text`` cut after each line end Python knows (``\\r\\n``, ``\\r``, ``\\n``), ends kept."""
    return _LINE.findall(text)


def text_edits(before: str, after: str) -> tuple[TextEdit, ...]:
    """The edits that make ``after`` of ``before``: whole lines replaced, one edit per run of
    changed lines (an added import and the rewrite are two edits)."""
    old, new = lines_of(before), lines_of(after)

    def where(index: int) -> tuple[int, int]:
        """The 1-based line and column of the start of old line ``index`` (the end of the
        text when it is past the last line)."""
        if index < len(old) or not old or old[-1].endswith(("\n", "\r")):
            return index + 1, 1
        return len(old), len(old[-1]) + 1

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            (line, col), (end_line, end_col) = where(i1), where(i2)
            out.append(TextEdit(line, col, end_line, end_col, "".join(new[j1:j2])))
    return tuple(out)


def apply_text_edits(before: str, edits: Sequence[TextEdit]) -> str:
    """``before`` with ``edits`` (not overlapping) made: what a client of the JSON or SARIF
    output does with a fix."""
    old = lines_of(before)
    starts = [0]
    for line in old:
        starts.append(starts[-1] + len(line))

    def offset(line: int, col: int) -> int:
        return starts[min(line - 1, len(old))] + col - 1

    out = before
    for edit in sorted(edits, key=lambda e: (e.line, e.col), reverse=True):
        out = out[: offset(edit.line, edit.col)] + edit.content + out[offset(edit.end_line, edit.end_col):]
    return out

