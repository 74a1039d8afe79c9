"""Formatters: findings in, text out. Columns are printed 1-based, like flake8 and ruff.

``text`` is for people, ``json`` for scripts (the schema is in the README and stays stable),
``sarif`` for code-scanning services, ``github`` for workflow annotations. Only ``text``
ever shows source lines or colour, and only when the caller says it is writing to a terminal.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tokenize
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from leaklint.results import Finding, SuggestedFix
from leaklint.files import NotReadable, read_file
from leaklint.notebook import located, shown_line
from leaklint.rules import ALL_RULES, RULES_BY_CODE
from leaklint.runtime import MISSED_NOTE, RuntimeJoin

FORMATS = (
    "text", "concise", "full", "json", "json-lines", "sarif", "github", "gitlab", "junit",
    "pylint", "rdjson", "azure",
)


@dataclass
class SourceLines:
    """The lines of the files findings point into, read once each, on demand. ``given``
    holds text that is not on disk (standard input)."""

    given: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, list[str]] = field(default_factory=dict)

    def line(self, path: str, number: int) -> str:
        lines = self._cache.get(path)
        if lines is None:
            lines = self._cache[path] = self._read(path)
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def _read(self, path: str) -> list[str]:
        if path in self.given:
            return self.given[path].splitlines()
        try:
            data = read_file(path)
        except NotReadable:  # a FIFO's LL900 line must not wait for a writer
            return []
        if path.lower().endswith(".ipynb"):  # findings point into its code cells
            from leaklint.notebook import source_lines

            cells = source_lines(data)
            if cells is not None:
                return cells.splitlines()
        return source_text(data).splitlines()


def source_text(data: bytes) -> str:
    """A Python file's text: decoded in its declared encoding (UTF-8 with replacements when
    that fails), without the BOM."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError):
        text = data.decode("utf-8", "replace")
    return text.lstrip("\ufeff")


def fingerprints(findings: Sequence[Finding], source: SourceLines, anchor: str) -> list[str]:
    """One fingerprint per finding that survives edits elsewhere in the file: the code, the
    path relative to ``anchor``, the reported line's text with its spacing normalised, and
    which occurrence of that triple it is (two identical lines stay apart)."""
    seen: Counter[tuple[str, str, str]] = Counter()
    out = []
    for finding in findings:
        text = " ".join(source.line(finding.path, finding.line).split())
        key = (finding.code, relative_path(finding.path, anchor), text)
        digest = hashlib.sha256("\0".join((*key, str(seen[key]))).encode("utf-8"))
        seen[key] += 1
        out.append(digest.hexdigest()[:20])
    return out


def relative_path(path: str, anchor: str) -> str:
    """``path`` relative to the folder ``anchor``, with ``/``; as given if it is elsewhere."""
    try:
        relative = os.path.relpath(os.path.abspath(path), os.path.abspath(anchor))
    except ValueError:  # another drive on Windows
        return Path(path).as_posix()
    return Path(path if relative.startswith("..") else relative).as_posix()


#: Control characters (C0, DEL, C1) as the escapes ``repr`` uses for them.
_CONTROL = {c: repr(chr(c))[1:-1] for c in (*range(0x20), *range(0x7F, 0xA0))}


def shown_path(path: str) -> str:
    """``path`` for a line of text output: a control character in a file name (a newline
    would split the line, an escape sequence would drive the terminal) is shown as ``repr``
    shows it (``a\\nb.py``). JSON and SARIF keep the exact name."""
    return path.translate(_CONTROL) if any(ord(c) in _CONTROL for c in path) else path


def render(
    findings: Sequence[Finding],
    fmt: str,
    *,
    source: SourceLines | None = None,
    tty: bool = False,
    color: bool = False,
    runtime: RuntimeJoin | None = None,
) -> str:
    """The report in ``fmt``. With ``runtime`` (``--runtime-report``), the findings a test run
    confirmed say so, and the leaks it saw that no finding stands at follow them."""
    source = source or SourceLines()
    runtime = runtime or RuntimeJoin()
    if fmt == "json":
        return render_json(findings, runtime)
    if fmt == "sarif":
        from leaklint.report.sarif import render_sarif

        return render_sarif(findings, source, runtime)
    if fmt == "github":
        return render_github(findings, runtime)
    from leaklint.report.formats import RENDERERS

    if fmt in RENDERERS:
        return RENDERERS[fmt](findings)
    # text: the source lines on a terminal; full: always; concise: never
    shown = fmt == "full" or (fmt == "text" and tty)
    return render_text(findings, source if shown else None, color, runtime)


def _message(finding: Finding, runtime: RuntimeJoin) -> str:
    leak = runtime.confirmed.get(finding)
    return finding.message if leak is None else f"{finding.message} [{leak.confirmation()}]"


def render_text(
    findings: Sequence[Finding],
    source: SourceLines | None = None,
    color: bool = False,
    runtime: RuntimeJoin = RuntimeJoin(),
) -> str:
    """``path:line:col: CODE message``; with ``source`` (a terminal), the line and a caret.
    Then the runtime leaks no finding stands at: ``path:line: CODE leaked <...> in 3 tests``."""

    def style(text: str, **how: object) -> str:
        return click.style(text, **how) if color else text  # type: ignore[arg-type]

    out = []
    for f in findings:
        out.append(
            f"{style(shown_path(f.path), bold=True)}:{shown_line(f)}:{f.col + 1}: "
            f"{style(f.code, fg='red', bold=True)} {_marker(f)}{_message(f, runtime)}\n"
        )
        if source is not None:
            text = source.line(f.path, f.line).rstrip()
            if text:
                number = str(located(f)[1])
                gutter = " " * len(number)
                out.append(f"  {style(number, fg='blue')} | {text.expandtabs(4)}\n")
                indent = len(text[: f.col].expandtabs(4))
                out.append(f"  {gutter} | {' ' * indent}{style('^', fg='red', bold=True)}\n")
    out += [f"{leak.describe()} [{MISSED_NOTE}]\n" for leak in runtime.missed]
    # the note is for a person (a terminal, or --format full): piped lines stay findings only
    return "".join(out) + (fixes_note(findings) if source is not None else "")


def _marker(f: Finding) -> str:
    """``[*] `` before the message of a finding ``--fix`` fixes (a safe fix), as ruff marks it."""
    return "[*] " if f.fix is not None and f.fix.applicability == "safe" else ""


def fixes_note(findings: Sequence[Finding]) -> str:
    """The line after the findings that says how many ``--fix`` fixes, and how many more
    ``--unsafe-fixes`` adds (nothing when no finding has a fix)."""
    safe = sum(1 for f in findings if f.fix is not None and f.fix.applicability == "safe")
    unsafe = sum(1 for f in findings if f.fix is not None and f.fix.applicability != "safe")
    if not safe and not unsafe:
        return ""
    head = f"[*] {safe} fixable with `--fix`" if safe else "No safe fixes available"
    more = f" ({unsafe} more with `--fix --unsafe-fixes`)" if unsafe else ""
    return f"{head}{more}.\n"


def render_json(findings: Sequence[Finding], runtime: RuntimeJoin = RuntimeJoin()) -> str:
    """With a runtime report, each row also has ``runtime`` (the leak that confirms it, or
    null) and ``static`` (false for the runtime leaks no finding stands at, added last)."""
    rows: list[dict[str, object]] = [_json_row(f) for f in findings]
    if runtime.report is not None:
        for row, f in zip(rows, findings):
            leak = runtime.confirmed.get(f)
            row.update(runtime=None if leak is None else leak.to_json(), static=True)
        rows += [
            {
                "path": leak.path,
                "line": leak.line,
                "column": None,
                "code": leak.code,
                "name": RULES_BY_CODE[leak.code].name if leak.code in RULES_BY_CODE else None,
                "message": leak.summary,
                "related": [],
                "runtime": leak.to_json(),
                "static": False,
            }
            for leak in runtime.missed
        ]
    return json.dumps(rows, indent=2) + "\n"


def _json_row(f: Finding) -> dict[str, object]:
    """A finding as JSON; in a notebook, lines are its cell's and ``cell`` (1-based, as
    ruff's JSON) says which cell, for the finding and each related step."""
    row: dict[str, object] = {
        "path": f.path,
        "line": f.line,
        "column": f.col + 1,
        "code": f.code,
        "name": RULES_BY_CODE[f.code].name if f.code in RULES_BY_CODE else None,
        "message": f.message,
        "related": [
            {"line": line, "column": col + 1, "message": label} for line, col, label in f.related
        ],
        "fix": _json_fix(f.fix),
    }
    if f.cells:
        row["cell"], row["line"] = located(f)
        for step, (line, _, _) in zip(row["related"], f.related):  # type: ignore[call-overload]
            step["cell"], step["line"] = located(f, line)
    return row


def _json_fix(fix: SuggestedFix | None) -> dict[str, object] | None:
    """A finding's fix as ruff's JSON has it: applicability, message, and the edits, each
    the text from ``location`` up to ``end_location`` (1-based, the end exclusive) replaced
    with ``content``; ``reason`` says when the fix is right (unsafe: what it may change)."""
    if fix is None:
        return None
    return {
        "applicability": fix.applicability,
        "message": fix.message,
        "reason": fix.reason,
        "edits": [
            {
                "content": edit.content,
                "location": {"line": edit.line, "column": edit.col},
                "end_location": {"line": edit.end_line, "column": edit.end_col},
            }
            for edit in fix.edits
        ],
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], runtime: RuntimeJoin = RuntimeJoin()) -> str:
    """GitHub Actions workflow commands: each finding annotates its line in the pull request;
    a runtime leak no finding stands at, as a warning."""
    return "".join(
        f"::error file={_escape_property(Path(f.path).as_posix())},line={located(f)[1]},"
        f"col={f.col + 1},title={_escape_property(f.code)}::"
        f"{_escape_data(f'{_cell_prefix(f)}{f.code} {_message(f, runtime)}')}\n"
        for f in findings
    ) + "".join(
        f"::warning file={_escape_property(leak.path)},line={leak.line},"
        f"title={_escape_property(leak.label)}::"
        f"{_escape_data(f'{leak.label} {leak.summary} [{MISSED_NOTE}]')}\n"
        for leak in runtime.missed
    )


def _cell_prefix(f: Finding) -> str:
    """``cell 3: `` before a notebook finding's message (a line number alone is its cell's)."""
    cell = located(f)[0]
    return "" if cell is None else f"cell {cell}: "


def statistics(findings: Sequence[Finding], fmt: str) -> str:
    """How many findings of each code, most first (``--statistics``)."""
    counts = Counter(f.code for f in findings)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    names = {code: RULES_BY_CODE[code].name if code in RULES_BY_CODE else "" for code in counts}
    if fmt == "json":
        rows = [{"code": c, "name": names[c], "count": n} for c, n in ordered]
        return json.dumps(rows, indent=2) + "\n"
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(f"{n:>{width}}  {c}  {names[c]}\n" for c, n in ordered)


def _markdown_cell(text: str) -> str:
    """A summary as a table cell: dunder names in code spans (else ``__exit__`` is bold),
    pipes escaped."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = re.sub(r"\b(__\w+__(?:\(\))?)", r"`\1`", parts[i])
    return "`".join(parts).replace("|", "\\|")


def rule_table() -> str:
    """The README's rule table, from the rules themselves (``leaklint rules --format markdown``)."""
    rows = ["| code | name | what |", "|---|---|---|"]
    rows += [
        f"| {rule.code} | {rule.name} | {_markdown_cell(rule.summary)} |" for rule in ALL_RULES
    ]
    return "\n".join(rows) + "\n"
