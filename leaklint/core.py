"""The one core function: source in, findings out. It never raises.

The CLI and the flake8 plugin are thin adapters over ``check_source``; both get the same
findings for the same file and configuration by construction.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint.analysis.obligations import analyse_module
from leaklint.analysis.summaries import Project, build_project, facts_of_source, module_name
from leaklint.config import Config
from leaklint.resources import Registry
from leaklint.rules import FILE_NOT_ANALYSED, rule_for


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One diagnostic. ``col`` is 0-based inside; front ends print it 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    internal_error: str | None = None  # a traceback: our bug, not the user's


_NOQA = re.compile(
    r"#\s*(?:noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:[\s,]+[A-Z]+[0-9]*)*))?"
    r"|leaklint:\s*ignore\[(?P<ignored>[^\]]*)\])",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _registry_pattern(registry: Registry) -> re.Pattern[bytes]:
    return _names_pattern(registry.trigger_names)


@lru_cache(maxsize=256)
def _names_pattern(names: frozenset[str]) -> re.Pattern[bytes]:
    ordered = sorted(names, key=len, reverse=True)
    return re.compile(rb"\b(?:" + b"|".join(re.escape(n.encode()) for n in ordered) + rb")\b")


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
        return _check(data, path, config, honour_noqa, project)
    except (RecursionError, MemoryError):  # CPython's parser raises either on deep nesting
        return _not_analysed(path, 1, 0, "too deeply nested to analyse", config)
    except Exception as err:  # noqa: BLE001 - the contract is: never raise
        import traceback

        detail = "".join(traceback.format_exception(err))
        result = _not_analysed(
            path, 1, 0, f"internal error: {type(err).__name__}: {err}", config
        )
        return FileResult(path, result.findings, internal_error=detail)


def single_file_project(data: bytes, path: str, config: Config) -> Project:
    """The summaries of one file alone (a run of one, or a front end without a run)."""
    facts, error = facts_of_source(data, path)
    return build_project(
        [facts] if facts is not None else [], config.registry, {path: error} if error else None
    )


def _check(
    data: bytes, path: str, config: Config, honour_noqa: bool, project: Project | None
) -> FileResult:
    if b"\0" in data:
        return _not_analysed(path, 1, 0, "binary file (NUL bytes)", config)
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
    if not might_acquire(data, config.registry, reachable):
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
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)

    def line_of(node: object) -> int:
        return positions[node].start.line

    findings = []
    for leak in leaks:
        rule = rule_for(leak.kind, leak.resource.code)
        if not config.enabled(rule.code):
            continue
        start = positions[leak.call].start
        findings.append(
            Finding(path, start.line, start.column, rule.code, rule.message(leak, line_of))
        )
    if honour_noqa and findings:
        findings = _unsuppressed(findings, module.code.splitlines())
    return FileResult(path, tuple(sorted(set(findings))))


def _not_analysed(path: str, line: int, col: int, why: str, config: Config) -> FileResult:
    if not config.enabled(FILE_NOT_ANALYSED.code):
        return FileResult(path)
    return FileResult(path, (Finding(path, max(line, 1), max(col, 0), "LL900", why),))


def _unsuppressed(findings: list[Finding], lines: list[str]) -> list[Finding]:
    """Drop findings whose line carries ``# noqa``, ``# noqa: LL100`` or ``# leaklint: ignore[...]``."""
    kept = []
    for finding in findings:
        text = lines[finding.line - 1] if 0 < finding.line <= len(lines) else ""
        match = _NOQA.search(text)
        if match is None:
            kept.append(finding)
            continue
        codes = match.group("codes") or match.group("ignored")
        if codes is None:
            continue  # bare noqa: everything on the line
        listed = [c.strip().upper() for c in re.split(r"[\s,]+", codes) if c.strip()]
        if not any(finding.code.startswith(c) for c in listed):
            kept.append(finding)
    return kept
