"""Suppression comments: which findings of a file its comments silence, and which comments
silence nothing. Part of the core (``check_source`` applies it), so every front end agrees.

- ``# noqa``, ``# noqa: LL100, E501``, ``# leaklint: ignore``, ``# leaklint: ignore[LL1]``
  cover the line they are on; on the first or the last line of a multi-line statement (or
  of a compound statement's header), every line of it.
- ``# leaklint: ignore-file`` anywhere in the file (on a line of its own, as ruff's
  ``# ruff: noqa``) covers the whole file; ``# leaklint: ignore-file[LL100]`` only those codes.
- Codes may be prefixes (``LL1``) or rule names (``resource-not-released``).
- Comments are read from the tokens, so ``"# noqa"`` inside a string suppresses nothing.

``add_noqa`` writes ``# noqa: CODE`` comments for given findings (``--add-noqa``), where the
same rules will read them.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field, replace

from leaklint.config import Config
from leaklint.results import FileResult, Finding, UnusedSuppression
from leaklint.rules import ALL_RULES

_NOQA = re.compile(
    r"#\s*(?:noqa(?::\s*(?P<codes>[A-Z][A-Z0-9-]*(?:[\s,]+[A-Z][A-Z0-9-]*)*))?"
    r"|leaklint:\s*ignore(?P<file>-file)?(?:\[(?P<ignored>[^\]]*)\])?)",
    re.IGNORECASE,
)
#: the cheap test before tokenizing a file for its suppression comments
_MAY_SUPPRESS = re.compile(rb"#\s*(?:noqa|leaklint:\s*ignore)", re.IGNORECASE)
_CODE_OF_NAME = {rule.name: rule.code for rule in ALL_RULES}
#: What a comment that names leaklint holds: its name, an LL code, a rule's name. A file with
#: no finding and none of these has no suppression to use or report (tokenizing it to find
#: its comments was a tenth of the analysis time on tornado).
_MAY_BE_OURS = re.compile(
    rb"leaklint|LL\d|" + b"|".join(re.escape(name.encode()) for name in sorted(_CODE_OF_NAME)),
    re.IGNORECASE,
)


def _code(word: str) -> str:
    """A code or prefix as written (upper-cased), or the code of a rule's name."""
    return _CODE_OF_NAME.get(word.lower(), word.upper())


@dataclass(slots=True)
class _Comment:
    """A suppression comment and the lines it covers."""

    line: int
    col: int
    codes: tuple[str, ...] | None  # None: all codes (bare ``# noqa``/``# leaklint: ignore``)
    ours: bool  # names an LL code or is a leaklint comment: may be reported as unused
    first: int  # the logical line (statement or compound header) it stands on
    last: int
    whole_file: bool = False  # ``# leaklint: ignore-file``
    used: set[str] = field(default_factory=set)

    def covers(self, line: int) -> bool:
        """The comment's own line; on the first or last line of a multi-line statement, every
        line of it; every line for ``ignore-file``."""
        if self.whole_file or line == self.line:
            return True
        return self.line in (self.first, self.last) and self.first <= line <= self.last


def _parse_comment(text: str, line: int, col: int, first: int, last: int) -> list[_Comment]:
    """The suppressions of one comment: a line's (all its ``noqa``/``ignore`` merged) and a
    file-wide one if it holds ``leaklint: ignore-file``."""
    codes: list[str] = []
    ours = False
    every = False
    found = []
    for match in _NOQA.finditer(text):
        listed = match.group("codes") if match.group("codes") is not None else match.group("ignored")
        is_leaklint = match.group(0).lstrip("#").strip().lower().startswith("leaklint")
        names = None if listed is None else [_code(c) for c in re.split(r"[\s,]+", listed) if c]
        if match.group("file"):
            found.append(
                _Comment(line, col, None if names is None else tuple(names), True, first, last, True)
            )
            continue
        ours = ours or is_leaklint
        if names is None:
            every = True
            continue
        codes.extend(names)
        ours = ours or any(c.startswith("LL") for c in names)
    if every:
        found.append(_Comment(line, col, None, ours, first, last))
    elif codes:
        found.append(_Comment(line, col, tuple(codes), ours, first, last))
    return found


def _comments(data: bytes) -> list[_Comment]:
    """The suppression comments of a file, from its tokens (so never inside a string); a file
    that does not tokenize falls back to a search line by line."""
    if _MAY_SUPPRESS.search(data) is None:
        return []
    found: list[_Comment] = []
    pending: list[tuple[str, int, int]] = []
    first: int | None = None
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            kind, (line, col) = token.type, token.start
            if kind == tokenize.COMMENT:
                if first is None:  # a comment on a line of its own
                    found.extend(_parse_comment(token.string, line, col, line, line))
                else:
                    pending.append((token.string, line, col))
            elif kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
                last = token.start[0] if first is not None else line
                for text, cline, ccol in pending:
                    found.extend(_parse_comment(text, cline, ccol, first or cline, max(last, cline)))
                pending, first = [], None
            elif kind not in skip and first is None:
                first = line
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        found = []
        for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            at = text.find("#")
            found.extend(_parse_comment(text[at:], number, at, number, number) if at >= 0 else [])
    return found


def apply(result: FileResult, data: bytes, config: Config) -> FileResult:
    """Drop the findings a suppression comment covers; report the comments naming leaklint
    codes (or ``leaklint: ignore``) that covered nothing."""
    if not result.findings and _MAY_BE_OURS.search(data) is None:
        return result
    comments = _comments(data)
    if not comments:
        return result
    kept = []
    for finding in result.findings:
        silenced = False
        for comment in comments:
            if not comment.covers(finding.line):
                continue
            if comment.codes is None:
                comment.used.add("")
                silenced = True
                continue
            matching = [c for c in comment.codes if finding.code.startswith(c)]
            if matching:
                comment.used.update(matching)
                silenced = True
        if not silenced:
            kept.append(finding)
    unused = []
    for comment in comments:
        if not comment.ours:
            continue
        if comment.codes is None:
            if not comment.used:
                unused.append(UnusedSuppression(result.path, comment.line, comment.col, ()))
            continue
        idle = tuple(
            c
            for c in comment.codes
            if c.startswith("LL") and c not in comment.used and _could_report(c, result.path, config)
        )
        if idle:
            unused.append(UnusedSuppression(result.path, comment.line, comment.col, idle))
    return replace(result, findings=tuple(kept), unused_suppressions=tuple(unused))


def _could_report(prefix: str, path: str, config: Config) -> bool:
    """A code this run could report here: a suppression of a deselected rule is not unused."""
    return any(
        rule.code.startswith(prefix) and config.enabled_for(rule.code, path) for rule in ALL_RULES
    )


def _statement_ends(data: bytes) -> dict[int, int] | None:
    """For each line of a logical line (a statement, or a compound statement's header), the
    line its NEWLINE token is on, where a comment may go and covers it all; None if the file
    does not tokenize."""
    ends: dict[int, int] = {}
    first: int | None = None
    skip = (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    try:
        for token in tokenize.tokenize(io.BytesIO(data).readline):
            if token.type == tokenize.NEWLINE and first is not None:
                for line in range(first, token.start[0] + 1):
                    ends[line] = token.start[0]
                first = None
            elif token.type not in skip and token.type != tokenize.ENDMARKER and first is None:
                first = token.start[0]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        return None
    return ends


def add_noqa(data: bytes, findings: list[Finding]) -> tuple[bytes, int]:
    """``data`` with a ``# noqa: CODE[, CODE]`` comment at the end of each finding's
    statement (its last line: the comment covers the whole statement there), and how many
    comments were added. Findings a comment already covers, LL900 and files that do not
    tokenize are left alone. The rest of every line stays byte for byte."""
    ends = _statement_ends(data)
    if ends is None:
        return data, 0
    wanted: dict[int, list[str]] = {}
    for finding in findings:
        if finding.code == "LL900" or finding.line not in ends:
            continue
        codes = wanted.setdefault(ends[finding.line], [])
        if finding.code not in codes:
            codes.append(finding.code)
    lines = data.splitlines(keepends=True)
    for number, codes in wanted.items():
        body = lines[number - 1]
        stripped = body.rstrip(b"\r\n")
        ending = body[len(stripped) :]
        lines[number - 1] = stripped.rstrip() + f"  # noqa: {', '.join(sorted(codes))}".encode() + ending
    return b"".join(lines), len(wanted)
