"""The one core function: source in, findings out. It never raises.

The CLI and the flake8 plugin are thin adapters over ``check_source``; both get the same
findings for the same file and configuration by construction.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import partial

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from leaklint.analysis.obligations import Leak, analyse_module
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
from leaklint.prefilter import (
    _prefilter_on,
    _without_idle_definitions,
    context_manager_names,
    might_acquire,
)
from leaklint.results import FileResult, Finding
from leaklint.rules import FILE_NOT_ANALYSED, rule_for
from leaklint.rules.base import PATH_KINDS, Rule


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


def _finding(
    leak: Leak,
    rule: Rule,
    path: str,
    located: _Positions,
    functions_in: dict[int, list[tuple[CodeRange, str]]],
) -> Finding:
    """The finding ``rule`` reports for ``leak``: its position, message and trace."""
    positions = located.around(leak)

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
        start = located.around(leak)[leak.call].start
    except Exception:  # noqa: BLE001 - the positions may be what failed
        return None
    return start.line, start.column


class _Positions:
    """Positions of nodes, computed for one module-level statement at a time, or for one
    method of a module-level class.

    libcst's ``PositionProvider`` renders the whole module (about twice the cost of parsing
    it) to place every node; a leak only needs the nodes around it. The statement it was
    found in is rendered alone (a class: with only the method the leak is in) and shifted to
    where CPython's ``ast`` says that statement (or method) starts (``ast`` costs a tenth of
    the libcst parse, and ``tree`` is usually at hand already). A leak found by the module
    body itself (``top`` is None), or outside any method of its class, is placed in the
    whole statement or module.
    """

    def __init__(self, module: cst.Module, data: bytes, tree: ast.Module | None = None) -> None:
        self.module = module
        self.data = data
        self.tree = tree
        self.cache: dict[int, Mapping[cst.CSTNode, CodeRange]] = {}
        self.lines: dict[int, int] | None = None  # id of a statement or method -> its line
        self.whole: Mapping[cst.CSTNode, CodeRange] | None = None

    def around(self, leak: Leak) -> Mapping[cst.CSTNode, CodeRange]:
        top = leak.top
        if top is not None:
            if self.lines is None:
                self.lines = self._ast_lines()
            method = leak.method if isinstance(top, cst.ClassDef) else None
            if method is not None and id(method) in self.lines:
                alone = top.with_changes(body=top.body.with_changes(body=[method]))
                placed = self._placed(method, alone)
                other = leak.other if isinstance(leak.other, cst.CSTNode) else None
                if leak.call in placed and (other is None or other in placed):
                    return placed
            placed = self._placed(top, top)
            if placed:
                return placed
        if self.whole is None:
            self.whole = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(
                PositionProvider
            )
        return self.whole

    def _placed(self, anchor: cst.CSTNode, top: cst.CSTNode) -> Mapping[cst.CSTNode, CodeRange]:
        """Positions of ``top`` (a module-level statement) rendered alone, shifted so that
        ``anchor`` (it, or a method in it) starts on its line in the file."""
        cached = self.cache.get(id(anchor))
        if cached is not None:
            return cached
        line = self.lines.get(id(anchor)) if self.lines else None
        if line is None:
            return {}
        alone = self.module.with_changes(body=[top], header=[], footer=[])
        ranges = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
        shift = line - ranges[anchor].start.line
        placed = self.cache[id(anchor)] = {
            node: CodeRange(
                (where.start.line + shift, where.start.column),
                (where.end.line + shift, where.end.column),
            )
            for node, where in ranges.items()
        }
        return placed

    def _ast_lines(self) -> dict[int, int]:
        """The line CPython's parser gives each module-level statement and each statement of
        a module-level class body: where its code (not its decorators) starts, which is where
        libcst's positions start it too."""
        tree = self.tree
        if tree is None:
            try:
                with users_warnings_ignored():
                    tree = ast.parse(self.data)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                return {}
        lines = {}
        for statement, node in _aligned(self.module.body, tree.body):
            lines[id(statement)] = node.lineno
            if isinstance(statement, cst.ClassDef) and isinstance(statement.body, cst.IndentedBlock):
                lines.update(
                    (id(inner), node.lineno) for inner, node in _aligned(statement.body.body, node.body)
                )
        return lines


def _aligned(
    statements: Sequence[cst.CSTNode], nodes: list[ast.stmt]
) -> Iterator[tuple[cst.CSTNode, ast.stmt]]:
    """libcst's statements of a block with CPython's first statement of the same code: a
    line of ``a = 1; b = 2`` is one statement for libcst, two for CPython."""
    index = 0
    for statement in statements:
        if index >= len(nodes):
            return
        yield statement, nodes[index]
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1


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
        elif isinstance(leak.other, cst.Break):
            label = "this break leaves the loop without releasing it"
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
