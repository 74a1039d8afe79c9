"""The one core function: source in, findings out. It never raises.

The CLI and the flake8 plugin are thin adapters over ``check_source``; both get the same
findings for the same file and configuration by construction.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import tokenize
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from leaklint.analysis.obligations import ENGINE_TRIGGERS, Leak, analyse_module
from leaklint.analysis.summaries import Project, build_project, facts_of_source, module_name
from leaklint.config import Config
from leaklint.resources import Registry
from leaklint.rules import ALL_RULES, FILE_NOT_ANALYSED, rule_for
from leaklint.rules.base import PATH_KINDS, Rule


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


_NOQA = re.compile(
    r"#\s*(?:noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?"
    r"|leaklint:\s*ignore(?:\[(?P<ignored>[^\]]*)\])?)",
    re.IGNORECASE,
)
#: the cheap test before tokenizing a file for its suppression comments
_MAY_SUPPRESS = re.compile(rb"#\s*(?:noqa|leaklint:\s*ignore)", re.IGNORECASE)


@lru_cache(maxsize=8)
def _registry_pattern(registry: Registry) -> re.Pattern[bytes]:
    return _names_pattern(registry.trigger_names | ENGINE_TRIGGERS)


@lru_cache(maxsize=256)
def _names_pattern(names: frozenset[str]) -> re.Pattern[bytes]:
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in ordered) + rb")\b")


def _prefilter_on() -> bool:
    """``LEAKLINT_NO_PREFILTER=1`` turns the pre-filter off (for the test that shows it never
    changes the findings, and for measuring it)."""
    return os.environ.get("LEAKLINT_NO_PREFILTER", "") in ("", "0")


def might_acquire(source: bytes, registry: Registry, extra: frozenset[str] = frozenset()) -> bool:
    """The pre-filter: a file that names no factory cannot acquire a resource. ``extra``:
    the project factories this file can reach."""
    if _registry_pattern(registry).search(source) is not None:
        return True
    return bool(extra) and _names_pattern(extra).search(source) is not None


def check_source(
    source: bytes | str,
    path: str,
    config: Config,
    *,
    honour_noqa: bool = True,
    project: Project | None = None,
) -> FileResult:
    """Analyse one file. Unparsable input becomes an LL900 finding; our bugs, ``internal_error``.

    ``project`` holds the summaries of every file of the run (factories, owning classes);
    without it the file is its own project.
    """
    data = source.encode("utf-8") if isinstance(source, str) else source
    try:
        result = _check(data, path, config, project)
        return _suppressed(result, data, config) if honour_noqa else result
    except (RecursionError, MemoryError):  # CPython's parser raises either on deep nesting
        return _not_analysed(path, 1, 0, "too deeply nested to analyse", config)
    except Exception as err:  # noqa: BLE001 - the contract is: never raise
        return _internal_errors(path, [(None, 1, 0, err)], (), config)


def _internal_errors(
    path: str,
    errors: list[tuple[Rule | None, int, int, BaseException]],
    findings: tuple[Finding, ...],
    config: Config,
) -> FileResult:
    """Our own bugs, contained: one LL900 line for each (``internal error in rule LL101
    (release-not-in-finally): ...`` when a rule raised, ``internal error: ...`` when the
    analysis did), beside the ``findings`` the rest of the file still gave; the tracebacks
    go in ``internal_error`` (the CLI exits 2 and prints them with ``--debug``)."""
    import traceback

    lines = []
    details = []
    for rule, line, col, err in errors:
        where = f" in rule {rule.code} ({rule.name})" if rule is not None else ""
        why = f"internal error{where}: {type(err).__name__}: {err}"
        lines.extend(_not_analysed(path, line, col, why, config).findings)
        details.append("".join(traceback.format_exception(err)))
    return FileResult(path, tuple(sorted({*findings, *lines})), internal_error="\n".join(details))


@contextmanager
def users_warnings_ignored() -> Iterator[None]:
    """Around CPython parsing or compiling the checked code: its SyntaxWarnings (and, before
    3.12, DeprecationWarnings: ``"\\d"``) are the file's business, not lines on our standard
    error, and under ``-W error`` they must not turn into syntax errors (LL900)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def single_file_project(data: bytes, path: str, config: Config) -> Project:
    """The summaries of one file alone (a run of one, or a front end without a run)."""
    with users_warnings_ignored():
        facts, error = facts_of_source(data, path)
    return build_project(
        [facts] if facts is not None else [], config.registry, {path: error} if error else None
    )


def _check(data: bytes, path: str, config: Config, project: Project | None) -> FileResult:
    undecodable = _undecodable(data)
    if undecodable is not None:
        return _not_analysed(path, *undecodable, config)
    if project is None:
        project = single_file_project(data, path, config)
    registry = project.registry
    reachable = project.file_triggers.get(os.path.normpath(path), frozenset())
    # a file CPython's parser rejects (the summary pass has tried it) is reported as such and
    # never reaches libcst, whose native parser can overflow the C stack on a very deep
    # expression and kill the process (a sum of 10,000 terms: LibCST#1000)
    error = project.syntax_errors.get(path)
    if error is not None:
        return _not_analysed(path, error[0], error[1], error[2], config)
    if not might_acquire(data, config.registry, reachable) and _prefilter_on():
        return FileResult(path)
    try:
        module = cst.parse_module(data)
    except cst.ParserSyntaxError as err:
        return _not_analysed(
            path, err.raw_line, err.raw_column, f"syntax error: {err.message}", config
        )
    except (UnicodeDecodeError, LookupError, SyntaxError) as err:
        return _not_analysed(path, 1, 0, f"cannot decode the file: {err}", config)
    name, is_package = module_name(path)
    leaks = analyse_module(
        module, registry, module_name=name, is_package=is_package, project=project
    )
    if not leaks:
        return FileResult(path)
    located = _Positions(module, data)
    functions_in: dict[int, list[tuple[CodeRange, str]]] = {}  # per positions mapping
    findings = []
    failed: dict[str, tuple[Rule, int, int, Exception]] = {}  # the first failure of each rule
    for leak in leaks:
        rule = rule_for(leak.kind, leak.resource.code)
        if not config.enabled_for(rule.code, path) or rule.code in failed:
            continue
        try:
            findings.append(_finding(leak, rule, path, located, functions_in))
        except (RecursionError, MemoryError):
            raise
        except Exception as err:  # noqa: BLE001 - one rule's bug must not cost the others
            where = _start_or_none(located, leak)
            failed[rule.code] = (rule, *(where or (1, 0)), err)
    if failed:
        return _internal_errors(path, list(failed.values()), tuple(findings), config)
    return FileResult(path, tuple(sorted(set(findings))))


def _finding(
    leak: Leak,
    rule: Rule,
    path: str,
    located: _Positions,
    functions_in: dict[int, list[tuple[CodeRange, str]]],
) -> Finding:
    """The finding ``rule`` reports for ``leak``: its position, message and trace."""
    positions = located.around(leak.top)

    def line_of(node: object) -> int:
        return positions[node].start.line

    start = positions[leak.call].start
    related: tuple[tuple[int, int, str], ...] = ()
    if leak.kind in PATH_KINDS:
        functions = functions_in.get(id(positions))
        if functions is None:
            functions = functions_in[id(positions)] = [
                (positions[node], node.name.value)
                for node in positions
                if isinstance(node, cst.FunctionDef)
            ]
        related = _trace(leak, positions, functions)
    return Finding(path, start.line, start.column, rule.code, rule.message(leak, line_of), related)


def _start_or_none(located: _Positions, leak: Leak) -> tuple[int, int] | None:
    """Where ``leak`` starts, for the LL900 line of a rule that failed on it, if positions
    can still be had."""
    try:
        start = located.around(leak.top)[leak.call].start
    except Exception:  # noqa: BLE001 - the positions may be what failed
        return None
    return start.line, start.column


#: Byte-order marks of encodings Python source cannot be in (UTF-32's first, it begins
#: with UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _undecodable(data: bytes) -> tuple[int, int, str] | None:
    """(line, column, why) when ``data`` is not text CPython can read as source: UTF-16 or
    UTF-32, binary (NUL bytes), or not valid in its encoding (UTF-8 unless a PEP 263 coding
    cookie names another); None when it decodes."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return 1, 0, (
                f"{name} text (it starts with a {name} byte-order mark): Python source must be "
                "UTF-8, or an ASCII-compatible encoding named in a coding cookie"
            )
    if b"\0" in data:
        return 1, 0, "binary file (NUL bytes)"
    problem = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as err:  # an unknown encoding, a cookie the BOM contradicts, bad bytes
        encoding, problem = "utf-8", err
    try:
        codecs.decode(data, encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1)
        if encoding in ("utf-8", "utf-8-sig"):
            why = (
                "not valid UTF-8 (byte 0x{:02x}) and no PEP 263 coding cookie names another "
                "encoding"
            )
        else:
            why = f"not valid {encoding}, the encoding its coding cookie names (byte 0x{{:02x}})"
        return line, col, why.format(data[err.start])
    if problem is None:
        return None
    if data.startswith(codecs.BOM_UTF8):
        return 1, 0, (
            "it starts with a UTF-8 byte-order mark but its coding cookie names another encoding"
        )
    return problem.lineno or 1, 0, f"cannot decode the file: {problem.msg}"


class _Positions:
    """Positions of nodes, computed for one module-level statement at a time.

    libcst's ``PositionProvider`` renders the whole module (about twice the cost of parsing
    it) to place every node; a leak only needs the nodes of the statement it was found in.
    That statement is rendered alone and shifted to where CPython's ``ast`` says it starts
    (``ast`` costs a tenth of the libcst parse). A leak found by the module body itself
    (``top`` is None) falls back to positions for the whole module.
    """

    def __init__(self, module: cst.Module, data: bytes) -> None:
        self.module = module
        self.data = data
        self.cache: dict[int, Mapping[cst.CSTNode, CodeRange]] = {}
        self.starts: dict[int, int] | None = None
        self.whole: Mapping[cst.CSTNode, CodeRange] | None = None

    def around(self, top: cst.CSTNode | None) -> Mapping[cst.CSTNode, CodeRange]:
        if top is not None:
            cached = self.cache.get(id(top))
            if cached is None:
                cached = self.cache[id(top)] = self._statement(top)
            if cached:
                return cached
        if self.whole is None:
            self.whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider
            )
        return self.whole

    def _first_lines(self) -> dict[int, int]:
        """Each module-level statement's first line of code, by CPython's parser."""
        import ast

        with users_warnings_ignored():
            tree = ast.parse(self.data)
        starts: dict[int, int] = {}
        index = 0
        for statement in self.module.body:
            if index >= len(tree.body):
                break
            node = tree.body[index]
            decorators = getattr(node, "decorator_list", None)
            starts[id(statement)] = min(
                [node.lineno, *(d.lineno for d in decorators or ())]
            )
            index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        return starts

    def _statement(self, top: cst.CSTNode) -> dict[cst.CSTNode, CodeRange]:
        if self.starts is None:
            try:
                self.starts = self._first_lines()
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                self.starts = {}
        first = self.starts.get(id(top))
        if first is None:
            return {}
        alone = self.module.with_changes(body=[top], header=[], footer=[])
        ranges = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        # where the statement's code begins in the rendering of it alone
        skipped = len(getattr(top, "leading_lines", ()))
        decorators = getattr(top, "decorators", ())
        if decorators:
            skipped += len(decorators[0].leading_lines)
        shift = first - (1 + skipped)
        return {
            node: CodeRange(
                (where.start.line + shift, where.start.column),
                (where.end.line + shift, where.end.column),
            )
            for node, where in ranges.items()
        }


def _trace(
    leak: Leak, positions: Mapping[cst.CSTNode, CodeRange], functions: list[tuple[CodeRange, str]]
) -> tuple[tuple[int, int, str], ...]:
    """Where a path leak goes: acquired here → this statement raises / this return skips the
    release / the name is rebound → the resource leaves the function still held."""
    start = positions[leak.call].start
    name = f"`{leak.var}`" if leak.var else f"the {leak.resource.kind}"
    steps = [(start.line, start.column, f"{name} is acquired here")]
    other = positions.get(leak.other) if leak.other is not None else None  # type: ignore[call-overload]
    if other is not None:
        if leak.kind in ("exception-path", "init-raises"):
            label = "this statement can raise before it is released"
        elif isinstance(leak.other, cst.Return):
            label = "this return leaves the function without releasing it"
        elif isinstance(leak.other, cst.Del):
            label = f"{name} is deleted here without being released"
        else:
            label = f"{name} is rebound here without being released"
        steps.append((other.start.line, other.start.column, label))
    if isinstance(leak.other, cst.Return):
        return tuple(steps)
    enclosing = [
        (where, fname)
        for where, fname in functions
        if (where.start.line, where.start.column) <= (start.line, start.column)
        and (where.end.line, where.end.column) >= (start.line, start.column)
    ]
    if enclosing:
        where, fname = max(enclosing, key=lambda f: (f[0].start.line, f[0].start.column))
        # the range ends after the body's last newline: column 0 of the line below
        end = where.end.line - 1 if where.end.column == 0 else where.end.line
        steps.append((end, where.start.column, f"{name} is still held when {fname}() ends"))
    return tuple(steps)


def _not_analysed(path: str, line: int, col: int, why: str, config: Config) -> FileResult:
    if not config.enabled_for(FILE_NOT_ANALYSED.code, path):
        return FileResult(path)
    return FileResult(path, (Finding(path, max(line, 1), max(col, 0), "LL900", why),))


@dataclass(slots=True)
class _Comment:
    """A suppression comment and the lines it covers."""

    line: int
    col: int
    codes: tuple[str, ...] | None  # None: all codes (bare ``# noqa``/``# leaklint: ignore``)
    ours: bool  # names an LL code or is a leaklint comment: may be reported as unused
    first: int  # the logical line (statement or compound header) it stands on
    last: int
    used: set[str] = field(default_factory=set)

    def covers(self, line: int) -> bool:
        """The comment's own line; on the first or last line of a multi-line statement, every
        line of it."""
        if line == self.line:
            return True
        return self.line in (self.first, self.last) and self.first <= line <= self.last


def _parse_comment(text: str, line: int, col: int, first: int, last: int) -> _Comment | None:
    matches = list(_NOQA.finditer(text))
    if not matches:
        return None
    codes: list[str] = []
    ours = False
    for match in matches:
        listed = match.group("codes") if match.group("codes") is not None else match.group("ignored")
        is_leaklint = match.group(0).lstrip("#").strip().lower().startswith("leaklint")
        ours = ours or is_leaklint
        if listed is None:
            return _Comment(line, col, None, is_leaklint, first, last)
        names = [c.upper() for c in re.split(r"[\s,]+", listed) if c]
        codes.extend(names)
        ours = ours or any(c.startswith("LL") for c in names)
    return _Comment(line, col, tuple(codes), ours, first, last)


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
                    comment = _parse_comment(token.string, line, col, line, line)
                    found.extend([comment] if comment else [])
                else:
                    pending.append((token.string, line, col))
            elif kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
                last = token.start[0] if first is not None else line
                for text, cline, ccol in pending:
                    comment = _parse_comment(text, cline, ccol, first or cline, max(last, cline))
                    found.extend([comment] if comment else [])
                pending, first = [], None
            elif kind not in skip and first is None:
                first = line
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        found = []
        for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            at = text.find("#")
            comment = _parse_comment(text[at:], number, at, number, number) if at >= 0 else None
            found.extend([comment] if comment else [])
    return found


def _suppressed(result: FileResult, data: bytes, config: Config) -> FileResult:
    """Drop the findings a suppression comment covers; report the comments naming leaklint
    codes (or ``leaklint: ignore``) that covered nothing."""
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
