"""Applying fixes to one file's source, to a fixed point, and writing the result safely."""

from __future__ import annotations

import os
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from leaklint.analysis.leaks import Leak
from leaklint.analysis.obligations import analyse_module
from leaklint.analysis.summaries import Project, module_name
from leaklint.config import Config
from leaklint.core import (
    FileResult,
    Finding,
    check_source,
    single_file_project,
    users_warnings_ignored,
    _Positions,
)
from leaklint.files import NotReadable
from leaklint.fixes.base import SAFE, Edit, Fix
from leaklint.fixes.imports import add_imports
from leaklint.fixes.planners import FIXABLE_CODES, plan, why_not
from leaklint.fixes.transforms import Tree
from leaklint.fixes.write import Snapshot, remove_stale_temps
from leaklint.rules import rule_for
from leaklint.runner import Target, map_targets

#: Rounds of fix → re-analyse before giving up on reaching a fixed point.
MAX_ROUNDS = 4

#: Which of a file's findings the run reports, given the file's current bytes: a baseline
#: (``Baseline.new_in``) keeps the findings it holds out of the report, and so out of fixing.
Reported = Callable[[Sequence[Finding], str, bytes], Sequence[Finding]]


@dataclass(frozen=True, slots=True)
class AppliedFix:
    """A fix that was applied: where its finding was (in the source of its round)."""

    path: str
    line: int
    col: int
    code: str
    title: str
    safety: str  # "safe", or "unsafe: " and why


@dataclass(slots=True)
class FixOutcome:
    """What fixing one file gave: its new bytes (None: unchanged), the fixes applied, and
    the findings that remain in the new source."""

    path: str
    source: bytes
    fixed: bytes | None = None
    applied: list[AppliedFix] = field(default_factory=list)
    remaining: FileResult | None = None
    error: str | None = None  # the fixes were dropped (a rewrite that would not parse)
    internal_error: str | None = None  # a traceback: a fix raised (our bug); file unchanged
    snapshot: Snapshot | None = None  # what was read, for ``write_atomic`` to check

    @property
    def counts(self) -> Counter[str]:
        return Counter(fix.code for fix in self.applied)


def fix_source(
    data: bytes,
    path: str,
    config: Config,
    *,
    project: Project | None = None,
    unsafe: bool = False,
    first: FileResult | None = None,
    reported: Reported | None = None,
) -> FixOutcome:
    """Apply every fix that is allowed (safe ones; unsafe ones too with ``unsafe``) to the
    findings ``check_source`` reports, re-analysing after each round until nothing more can
    be fixed. ``first``: the findings of ``data`` when the caller has them already;
    ``reported``: which findings the run reports (default: all), the others are not fixed."""
    if project is None:
        project = single_file_project(data, path, config)
    outcome = FixOutcome(path, data)
    current = data
    result = first if first is not None else check_source(current, path, config, project=project)
    for _ in range(MAX_ROUNDS):
        wanted = _fixable(result, current, reported)
        if not wanted or result.internal_error:
            break
        try:
            step = _one_round(current, path, planned(current, path, config, project, wanted, unsafe))
        except _NotReproduced:
            outcome.error = "libcst cannot give this file back byte for byte; not fixed"
            step = None
        except Exception as err:  # noqa: BLE001 - a fix's bug must not stop the run
            raised = isinstance(err, _FixRaised)
            code, cause = (f" for {err.code}", err.__cause__) if raised else ("", err)
            outcome.error = (
                f"internal error in the fix{code}: {type(cause).__name__}: {cause}; "
                "the file is left as it was"
            )
            outcome.internal_error = "".join(traceback.format_exception(cause))
            step = None
        else:
            if step is None:
                break
            try:
                _must_compile(step[0], path)
            except (SyntaxError, ValueError, cst.ParserSyntaxError) as err:
                outcome.error = f"a fix would not parse ({err}); the file is left as it was"
                original = _compile_error(data, path)  # `return` outside a function, say
                if original is not None:
                    outcome.error = f"the file does not compile as it is ({original}); not fixed"
                step = None
        if step is None:  # given up: nothing of any round is kept
            outcome.applied.clear()
            current = data
            result = first or check_source(data, path, config, project=project)
            break
        new, applied = step
        outcome.applied.extend(applied)
        current = new
        result = check_source(current, path, config, project=project)
    outcome.fixed = current if current != data else None
    outcome.remaining = result
    return outcome


def _fixable(
    result: FileResult, data: bytes, reported: Reported | None
) -> set[tuple[int, int, str]]:
    """Where the fixable findings of ``result`` (the findings of ``data``) stand."""
    findings: Sequence[Finding] = sorted(result.findings)
    if reported is not None and any(f.code in FIXABLE_CODES for f in findings):
        findings = reported(findings, result.path, data)  # fingerprints count all of them
    return {(f.line, f.col, f.code) for f in findings if f.code in FIXABLE_CODES}


def _must_compile(source: bytes, path: str) -> None:
    """Raise unless the fixed source parses (libcst) and compiles (CPython)."""
    cst.parse_module(source)
    with users_warnings_ignored():
        compile(source, path, "exec", dont_inherit=True)


def _compile_error(source: bytes, path: str) -> Exception | None:
    try:
        _must_compile(source, path)
    except (SyntaxError, ValueError, cst.ParserSyntaxError) as err:
        return err
    return None


def _one_round(
    data: bytes, path: str, plans: tuple[cst.Module, bytes, list[Edit]]
) -> tuple[bytes, list[AppliedFix]] | None:
    """One round: of the edits ``planned`` for the reported, fixable leaks of ``data``,
    apply those that do not overlap, and return the new source (None: nothing to apply)."""
    module, tail, edits = plans
    chosen: list[Edit] = []
    for edit in sorted(edits, key=lambda e: e.span):
        if all(edit.span[1] <= other.span[0] or other.span[1] <= edit.span[0] for other in chosen):
            if all(target not in {t for o in chosen for t, _ in o.targets} for target, _ in edit.targets):
                chosen.append(edit)
    if not chosen:
        return None
    applied = [
        AppliedFix(path, line, col, code, e.fix.title, _safety(e.fix))
        for e in chosen
        for line, col, code in ((e.line, e.col, e.code), *e.also)
    ]
    new = applied_edits(module, chosen) + tail
    return (new, applied) if new != data else None


def planned(
    data: bytes,
    path: str,
    config: Config,
    project: Project,
    wanted: set[tuple[int, int, str]],
    unsafe: bool,
    deadline: float = float("inf"),
    why: dict[tuple[int, int, str], str] | None = None,
) -> tuple[cst.Module, bytes, list[Edit]]:
    """The module parsed from ``data``, the bytes libcst drops at its end, and an edit for
    each fixable leak standing at one of ``wanted`` (line, 0-based column, code), each planned
    alone (two of them may overlap). ``why``, if given, gets the reason each leak planned
    for has no edit (``planners.why_not``)."""
    module = cst.parse_module(data)
    # libcst drops a last lone "\r" (a CR-only file's last line end): keep what it drops at
    # the end; anything else it would not reproduce means no fix at all
    kept = module.bytes
    if not data.startswith(kept):
        raise _NotReproduced
    tail = data[len(kept):]
    name, is_package = module_name(path)
    leaks = analyse_module(
        module, project.registry, module_name=name, is_package=is_package, project=project
    )
    located = _Positions(module, data)
    whole = Tree(module, parents_of(module), {})
    edits: list[Edit] = []
    fixing: list[tuple[Leak, str, _Around, int, int]] = []
    for leak in leaks:
        code = rule_for(leak.kind, leak.resource.code).code
        if code not in FIXABLE_CODES:
            continue
        positions = _Around(located, leak)
        if leak.call not in positions:
            continue
        start = positions[leak.call].start
        if (start.line, start.column, code) not in wanted:
            continue  # suppressed, deselected, or not reported
        fixing.append((leak, code, positions, start.line, start.column))
    # what a fix of several at once may take in, and where their findings are
    whole.fixing = [(leak, line, column, code) for leak, code, _, line, column in fixing]
    for leak, code, positions, line, column in fixing:
        if time.monotonic() > deadline:
            break  # the edits planned so far (``fixes.suggest``: offers within a budget)
        try:
            edit = plan(code, leak, whole.at(positions), line, column, unsafe)
        except Exception as err:
            raise _FixRaised(code) from err
        if edit is not None:
            edits.append(edit)
        elif why is not None:
            why[(line, column, code)] = why_not(code, leak, whole.at(positions))
    return module, tail, edits


def refusal_reasons(
    data: bytes, path: str, config: Config, findings: Sequence[Finding], project: Project | None = None
) -> dict[tuple[int, int, str], str]:
    """Why each of ``findings`` (of ``data``) has no fix, unsafe fixes allowed: by its line,
    0-based column and code (``benchmarks/fix_realworld.py``'s "left, by reason")."""
    if project is None:
        project = single_file_project(data, path, config)
    wanted = {(f.line, f.col, f.code) for f in findings}
    why: dict[tuple[int, int, str], str] = {
        place: f"{place[2]} has no fix" for place in wanted if place[2] not in FIXABLE_CODES
    }
    fixable = wanted - set(why)
    edits: list[Edit] = []
    if fixable:
        try:
            edits = planned(data, path, config, project, fixable, True, why=why)[2]
        except _NotReproduced:
            return {**why, **{place: "libcst cannot give this file back byte for byte" for place in fixable}}
    made = {(e.line, e.col, e.code) for e in edits}
    for place in fixable - set(why):
        why[place] = (
            "a fix is made, but the finding stays after it (or its edit overlaps another's)"
            if place in made else "no leak at the finding's place when the file is analysed alone"
        )
    return why


def parents_of(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    """Each node's parent (what ``ParentNodeProvider`` gives, in a third of its time)."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    stack: list[cst.CSTNode] = [module]
    while stack:
        node = stack.pop()
        for child in node.children:
            parents[child] = node
            stack.append(child)
    return parents


class _Around(Mapping[cst.CSTNode, CodeRange]):
    """The positions of the nodes around ``leak``, as its finding was placed (the statement
    it is in, rendered alone: ``core._Positions``); any other node's from the whole module,
    rendered only when one is asked for."""

    def __init__(self, located: _Positions, leak: Leak) -> None:
        self.located, self.leak = located, leak
        self.near: Mapping[cst.CSTNode, CodeRange] | None = None

    def _whole(self) -> Mapping[cst.CSTNode, CodeRange]:
        if self.located.whole is None:
            self.located.whole = MetadataWrapper(self.located.module, unsafe_skip_copy=True).resolve(
                PositionProvider
            )
        return self.located.whole

    def _near(self) -> Mapping[cst.CSTNode, CodeRange]:
        if self.near is None:
            self.near = self.located.around(self.leak)
        return self.near

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        near = self._near()
        return near[node] if node in near else self._whole()[node]

    def __contains__(self, node: object) -> bool:
        return node in self._near() or node in self._whole()

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._whole())

    def __len__(self) -> int:
        return len(self._whole())


def applied_edits(module: cst.Module, edits: Sequence[Edit]) -> bytes:
    """``module`` with ``edits`` (which do not overlap) made and their imports added."""
    fixed = module.visit(_Apply(list(edits)))
    imports = {module for edit in edits for module in edit.imports}
    if imports:
        fixed = add_imports(fixed, imports)  # where isort would put them
    return fixed.bytes


def _safety(fix: Fix) -> str:
    """How ``--show-fixes`` states a fix's safety: an unsafe one says why."""
    return fix.safety if fix.safety == SAFE else f"{fix.safety}: {fix.reason}"


class _NotReproduced(Exception):
    """libcst does not give the file's bytes back exactly: a rewrite would change more than
    the statements it rewrites."""


class _FixRaised(Exception):
    """The fix for ``code`` raised (the cause); the file is left as it was."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class _Apply(cst.CSTTransformer):
    """Replace each target node (by identity) with what its edit builds."""

    def __init__(self, edits: list[Edit]) -> None:
        super().__init__()
        self.builders = {id(node): build for edit in edits for node, build in edit.targets}

    def on_leave(self, original_node, updated_node):  # type: ignore[no-untyped-def, override]
        updated = super().on_leave(original_node, updated_node)
        build = self.builders.get(id(original_node))
        return build(updated) if build is not None else updated


def fix_paths(
    results: list[FileResult],
    config: Config,
    project: Project,
    *,
    unsafe: bool = False,
    jobs: int = 1,
    reported: Reported | None = None,
) -> list[FixOutcome]:
    """Fix every file of a run that has a finding the run reports and a fix exists for
    (``results``: the run's findings, in order), in ``jobs`` worker processes when it pays;
    the outcomes come back in the order of ``results``. The files themselves are not
    written."""
    todo = {
        result.path: result
        for result in results
        if not result.internal_error and any(f.code in FIXABLE_CODES for f in result.findings)
    }
    targets = [Target(path) for path in todo]
    # a run SIGKILLed at the wrong moment may have left a named temporary file
    remove_stale_temps({os.path.dirname(os.path.realpath(r.path)) or "." for r in results})
    outcomes = map_targets(_fix_batch, targets, jobs, (todo, config, project, unsafe, reported))
    return [outcome for outcome in outcomes if outcome is not None]


def _fix_batch(
    targets: list[Target],
    results: dict[str, FileResult],
    config: Config,
    project: Project,
    unsafe: bool,
    reported: Reported | None,
) -> list[FixOutcome | None]:
    out: list[FixOutcome | None] = []
    for target in targets:
        try:
            snapshot = Snapshot.read(target.path, config.max_file_bytes)
        except NotReadable:
            out.append(None)
            continue
        first = results[target.path]
        if target.path.lower().endswith(".ipynb"):
            from leaklint.notebook import fix_notebook  # its cells, written back into its JSON

            outcome = fix_notebook(snapshot.data, target.path, config, project=project,
                                   unsafe=unsafe, reported=reported)
        else:
            outcome = fix_source(snapshot.data, target.path, config, project=project,
                                 unsafe=unsafe, first=first, reported=reported)
        outcome.snapshot = snapshot
        out.append(outcome)
    return out
