"""The one core function: source in, findings out. It never raises.

The CLI and the flake8 plugin are thin adapters over ``check_source``; both get the same
findings for the same file and configuration by construction.

Here: the check of one file (``check_source``, ``_check``), contained failures (LL900 lines)
and what is dropped after the analysis (a test's per-test cleanup, a finaliser's, a script's
end). Its parts live beside it: ``leaklint.parsing`` (libcst's parse for the analysis, the
collector paused, the file's warnings ignored), ``leaklint.prefilter`` (what libcst need not
parse), ``leaklint.not_analysed`` (why a file cannot be analysed, the deep-stack retry) and
``leaklint.positions`` (from a leak to a finding: position, message, trace).
"""

from __future__ import annotations

import os
from functools import partial

import libcst as cst
from libcst.metadata import CodeRange

from leaklint.analysis.obligations import analyse_module
from leaklint.analysis import scripts
from leaklint.analysis.summaries import Project, build_project, facts_of_source, module_name
from leaklint import suppressions
from leaklint.config import Config
from leaklint.not_analysed import (
    _longest_elif_chain,
    _on_deep_stack,
    _parse_failure,
    _too_deep,
    _undecodable,
)
from leaklint.parsing import collector_paused, parse_unvalidated, users_warnings_ignored
from leaklint.positions import _finding, _Positions, _start_or_none
from leaklint.prefilter import (
    _prefilter_on,
    _without_idle_definitions,
    context_manager_names,
    might_acquire,
)
from leaklint.results import FileResult, Finding
from leaklint.rules import FILE_NOT_ANALYSED, rule_for
from leaklint.rules.base import Rule

#: What the front ends, the fixes, the tests and the benchmarks import from here; the private
#: names are re-exported for the tests and benchmarks that reach into the check's parts.
__all__ = [
    "FileResult",
    "Finding",
    "_Positions",
    "_held_attributes",
    "_longest_elif_chain",
    "_without_idle_definitions",
    "check_source",
    "collector_paused",
    "context_manager_names",
    "might_acquire",
    "parse_unvalidated",
    "single_file_project",
    "users_warnings_ignored",
]


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
        try:
            with collector_paused():
                result = _check(data, path, config, project)
        except RecursionError:
            # valid code nested deeper than Python's default recursion limit lets libcst's
            # visitors (and the analysis) go: an if/elif chain of a few hundred branches
            if project is None:
                project = single_file_project(data, path, config)
            result = _on_deep_stack(partial(_check, data, path, config, project))
            if result is None:
                return _not_analysed(path, 1, 0, _too_deep(data), config)
        return suppressions.apply(result, data, config) if honour_noqa else result
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


def single_file_project(data: bytes, path: str, config: Config) -> Project:
    """The summaries of one file alone (a run of one, or a front end without a run)."""
    with users_warnings_ignored():
        facts, error = facts_of_source(data, path)
    return build_project(
        [facts] if facts is not None else [], config.registry, {path: error} if error else None
    )


def _held_attributes(project: Project, module: str, class_name: str) -> frozenset[str]:
    """The attributes of module-level class ``class_name`` that the project's summary says
    hold what a factory made (``self.pool = ConnectionPool()``): a method's
    ``self.pool.getconn()`` acquires through the type the analysis reads there."""
    return project.typed_attributes(f"{module}.{class_name}") if module else frozenset()


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
    name, is_package = module_name(path)
    reduced = None
    if _prefilter_on():
        if not might_acquire(data, config.registry, reachable):
            return FileResult(path)
        held = partial(_held_attributes, project, name)
        managers = context_manager_names(project)
        reduced = _without_idle_definitions(data, config.registry, reachable, held, managers)
    source, tree = reduced if reduced is not None else (data, None)
    try:
        module = parse_unvalidated(source)
    except cst.ParserSyntaxError as err:
        return _not_analysed(path, *_parse_failure(data, err), config)
    except (UnicodeDecodeError, LookupError, SyntaxError) as err:
        return _not_analysed(path, 1, 0, f"cannot decode the file: {err}", config)
    try:
        leaks = analyse_module(
            module, registry, module_name=name, is_package=is_package, project=project,
            strict=config.strict,
        )
    except cst.CSTValidationError as err:
        # valid Python that libcst's nodes refuse once visited (``return* next(it)``: its
        # Return wants a space after the keyword): not analysable, not an internal error
        return _not_analysed(path, 1, 0, f"libcst cannot analyse this code: {err}", config)
    closed = project.closed_after_each_test(path)
    if closed:
        leaks = [leak for leak in leaks if not _one_of(leak.resource.qualname, closed)]
    if not config.strict:
        # what its library's finaliser cleans up by design, silently (an executor), dropped on
        # a normal path; not on an exception path, whose traceback keeps it alive (a failing
        # test's executor keeps its worker thread until the traceback goes)
        leaks = [
            leak
            for leak in leaks
            if not leak.resource.finalised
            or rule_for(leak.kind, leak.resource.code).code in _EXCEPTION_PATH_RULES
        ]
    if not leaks:
        return FileResult(path)
    located = _Positions(module, source, tree)
    functions_in: dict[int, list[tuple[CodeRange, str]]] = {}  # per positions mapping
    findings = []
    failed: dict[str, tuple[Rule, int, int, Exception]] = {}  # the first failure of each rule
    #: (code, variable, line) already reported: ``ftp = FTP_TLS(h) if tls else FTP(h)`` is
    #: one leak of ``ftp`` whichever branch made it, reported once (at the first factory)
    bound: set[tuple[str, str, int]] = set()
    for leak in leaks:
        rule = rule_for(leak.kind, leak.resource.code)
        if not config.enabled_for(rule.code, path) or rule.code in failed:
            continue
        try:
            finding = _finding(leak, rule, path, located, functions_in)
            if leak.var is not None:
                once = (rule.code, leak.var, finding.line)
                if once in bound:
                    continue
                bound.add(once)
            findings.append(finding)
        except (RecursionError, MemoryError):
            raise
        except Exception as err:  # noqa: BLE001 - one rule's bug must not cost the others
            where = _start_or_none(located, leak)
            failed[rule.code] = (rule, *(where or (1, 0)), err)
    if not config.strict:
        findings = _past_the_scripts_end(findings, data, path, name, project)
    if failed:
        return _internal_errors(path, list(failed.values()), tuple(findings), config)
    return FileResult(path, tuple(sorted(set(findings))))


#: Rules whose leak is on an exception path.
_EXCEPTION_PATH_RULES = frozenset({"LL101"})


def _one_of(qualname: str, classes: frozenset[str]) -> bool:
    """``sqlite_utils.db.Database`` is the ``sqlite_utils.Database`` a conftest imported: the
    same package and class name (a package re-exports its classes); a bare ``Database`` (a
    resource known from the code's own close, named as written) is that class too."""
    if qualname in classes:
        return True
    top, name = qualname.partition(".")[0], qualname.rsplit(".", 1)[-1]
    return any(
        c.rsplit(".", 1)[-1] == name and (c.partition(".")[0] == top or "." not in qualname)
        for c in classes
    )


def _past_the_scripts_end(
    findings: list[Finding], data: bytes, path: str, module: str, project: Project
) -> list[Finding]:
    """Without the leaks the end of a throw-away script reclaims (``analysis.scripts``)."""
    if not any(f.code in scripts.RECLAIMED_AT_EXIT for f in findings):
        return findings
    if not scripts.is_script(data, path, module, project.imported):
        return findings
    once = scripts.once_per_run(data)
    if once is None:
        return findings
    return [f for f in findings if f.code not in scripts.RECLAIMED_AT_EXIT or not once(f.line)]


def _not_analysed(path: str, line: int, col: int, why: str, config: Config) -> FileResult:
    if not config.enabled_for(FILE_NOT_ANALYSED.code, path):
        return FileResult(path)
    return FileResult(path, (Finding(path, max(line, 1), max(col, 0), "LL900", why),))
