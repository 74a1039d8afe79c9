"""Phase one of a run: the summary of each file (CPython's ``ast``, in workers when the files
are many), from the cache where its key matches, and of the project modules they import,
closed to a fixed point; and what the cache keys of phase two are made of (the project's
fingerprint, the lines its derived factories' origins quote)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leaklint.batches import _map_batches, _read, _size, budget_of
from leaklint.cache import Cache, code_fingerprint, digest, trusted_signature
from leaklint.config import Config
from leaklint.discovery import Target

# The summaries import libcst (a quarter of a second): they are imported where a file really
# is summarised, so a run the manifest answers never loads them.
if TYPE_CHECKING:
    from leaklint.analysis.summaries import ModuleFacts, Project


_Facts = tuple[str, "ModuleFacts | None", "tuple[int, int, str] | None"]


def _summarise_batch(targets: list[Target], limit: int) -> list[_Facts | None]:
    """One entry per target: None for a file the summaries skip (unreadable, binary)."""
    out: list[_Facts | None] = []
    for target in targets:
        data = _read(target.path, limit)
        out.append(None if data is None else _summarise_one(target.path, data))
    return out


#: How many rounds of imports the summaries follow beyond the files of the run.
_IMPORT_DEPTH = 8


@dataclass
class _Run:
    """What the cached path of a run needs from its summary pass."""

    cache: Cache
    contents: dict[str, str] = field(default_factory=dict)  # path -> digest of its bytes
    fingerprint: str = ""  # of the project as the analysis sees it, and the configuration
    keys: dict[str, str] = field(default_factory=dict)  # path -> its facts key
    views: dict[str, str] = field(default_factory=dict)  # path -> view of its summary
    signatures: dict[str, object] = field(default_factory=dict)  # path -> taken before reading
    order: list[str] = field(default_factory=list)  # the summarised files, in project order
    anchors: dict[str, tuple] = field(default_factory=dict)  # see ``_anchors``
    folders: dict[str, tuple[str, str]] = field(default_factory=dict)  # memo of _folder
    modules: dict[tuple[str, str], str | None] = field(default_factory=dict)  # of module_file
    reals: dict[str, str] = field(default_factory=dict)  # of os.path.realpath
    stopped: set[str] = field(default_factory=set)  # files the budget stopped: no manifest

    def facts_key(self, path: str, content: str) -> str:
        """The summary of ``path`` depends on its bytes and on where it sits: its real
        folder and the ``__init__.py`` files above that (its module name and root)."""
        key = self.keys.get(path)
        if key is None or self.contents.get(path) != content:
            if os.path.islink(path):
                from leaklint.analysis.summaries import module_name

                name, is_package = module_name(path)
                where = f"{os.path.realpath(path)}|{name}|{is_package}"
            else:
                folder, package = self._folder(os.path.dirname(os.path.abspath(path)))
                where = f"{folder}|{package}|{os.path.basename(path)}"
            key = digest("facts", code_fingerprint(), path, where, content)
            self.keys[path] = key
            self.contents[path] = content
        return key

    def _folder(self, folder: str) -> tuple[str, str]:
        """(real path of ``folder``, the packages it is inside of, innermost last)."""
        known = self.folders.get(folder)
        if known is None:
            real = os.path.realpath(folder)
            package = ""
            if os.path.exists(os.path.join(real, "__init__.py")):
                parent = os.path.dirname(real)
                above = self._folder(parent)[1] if parent != real else ""
                package = f"{above}/{os.path.basename(real)}"
            known = self.folders[folder] = (real, package)
        return known

    def module_file(self, root: str, name: str) -> str | None:
        key = (root, name)
        if key not in self.modules:
            from leaklint.analysis.summaries import module_file

            self.modules[key] = module_file(root, name)
        return self.modules[key]

    def realpath(self, path: str) -> str:
        real = self.reals.get(path)
        if real is None:
            real = self.reals[path] = os.path.realpath(path)
        return real

    def listed_folders(self) -> set[str]:
        """The folders whose entries decided this run's module names (the ``__init__.py``
        files above each file, up to the first folder without one) and where its imports
        led (each place an import looked, or the nearest folder above it that exists)."""
        out: set[str] = set()
        for path in self.order:
            out.add(os.path.dirname(os.path.abspath(path)))
            folder = os.path.dirname(self.realpath(path))
            while True:
                out.add(folder)
                if not os.path.exists(os.path.join(folder, "__init__.py")):
                    break
                parent = os.path.dirname(folder)
                if parent == folder:
                    break
                folder = parent
        for root, name in self.modules:
            base = os.path.join(root, *name.split("."))
            for folder in (os.path.dirname(base), base):
                while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
                    folder = os.path.dirname(folder)
                out.add(folder)
        return out


def _summarise_one(path: str, data: bytes) -> _Facts | None:
    if b"\0" in data:
        return None  # the check reports it
    from leaklint import notebook

    kind = notebook.kind_of(path, data)
    if kind != "python":  # a notebook is summarised as its code cells; other files not at all
        source = notebook.python_source(data) if kind == "notebook" else None
        if source is None:
            return None
        data = source
    from leaklint.analysis.summaries import facts_of_source
    from leaklint.core import collector_paused, users_warnings_ignored

    try:
        with users_warnings_ignored(), collector_paused():
            facts, error = facts_of_source(data, path)
    except (RecursionError, MemoryError):  # CPython's parser gives up on deep nesting
        facts, error = None, (1, 0, "too deeply nested to analyse")
    return (path, facts, error)


#: Fields of the summaries no other file's analysis reads: left out of a module's view. The
#: lines of the calls a function returns (``FunctionFacts.returns``' values) are left out
#: too; they reach other files only in a derived factory's origin, hashed on its own.
_UNSEEN_FIELDS = {"FunctionFacts": {"line", "path"}, "ClassFacts": {"line", "path"}}


def _canonical(value: object) -> object:
    """``value`` as nested tuples of str that sort the same in every process (sets and
    mappings sorted, not in their hash order)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        unseen = _UNSEEN_FIELDS.get(name, ())
        parts: list[object] = [name]
        for f in dataclasses.fields(value):
            if f.name in unseen:
                continue
            item = getattr(value, f.name)
            if name == "FunctionFacts" and f.name == "returns":
                item = frozenset(item)  # the callees, not their lines
            parts.append((f.name, _canonical(item)))
        return tuple(parts)
    if isinstance(value, Mapping):
        return ("{", *sorted((repr(k), _canonical(v)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", *sorted(repr(_canonical(v)) for v in value))
    if isinstance(value, (tuple, list)):
        return ("(", *(_canonical(v) for v in value))
    return repr(value)


def _view(entry: _Facts | None) -> str:
    """The view of one summary (see ``leaklint.cache``): a file CPython cannot parse is just
    that (its own error reaches only its own result, whose key has its bytes)."""
    if entry is None:
        return "skipped"
    _, facts, error = entry
    if facts is None:
        return "not summarised" if error is None else "syntax error"
    return digest(repr(_canonical(facts)))


def _facts_stopped(target: Target, why: str) -> _Facts:
    """A file whose summary the budget stopped: reported by the check as its own LL900 line
    (as a syntax error is), never given to libcst."""
    return (target.path, None, (1, 0, why))


#: Up to this many bytes in all, the summaries are made in the CLI's own process: they read
#: CPython's ``ast``, whose deep-nesting errors are caught (``_summarise_one``), not libcst's
#: native parser, and a file this size takes milliseconds and a few MB, so no worker's
#: watchdog is needed; a worker would cost more than the work (a fork and a round trip: about
#: 40 ms of a 0.5 s one-file check). The check itself always runs in workers.
_SUMMARISE_HERE_BYTES = 64 * 1024


def _small(targets: list[Target]) -> bool:
    total = 0
    for target in targets:
        total += _size(target)
        if total > _SUMMARISE_HERE_BYTES:
            return False
    return True


def _summarise_batch_keyed(
    targets: list[Target], limit: int
) -> list[tuple[_Facts | None, str | None, str]]:
    """Each target's summary, the digest of the bytes it was made from, and its view."""
    out: list[tuple[_Facts | None, str | None, str]] = []
    for target in targets:
        data = _read(target.path, limit)
        if data is None:
            out.append((None, None, ""))
        else:
            entry = _summarise_one(target.path, data)
            out.append((entry, digest(data), _view(entry)))
    return out


def _summaries(
    targets: list[Target], jobs: int, run: _Run | None, keys: list[str], config: Config
) -> list[_Facts | None]:
    """The summary of each target, from the cache where it has it; ``keys`` gets the
    facts key of each summary, in order. Files over the size limit are skipped; one the
    budget stops is summarised as not analysable (and never cached)."""
    limit, budget = config.max_file_bytes, budget_of(config)
    if run is None:
        if _small(targets):
            return _summarise_batch(targets, limit)
        return _map_batches(_summarise_batch, targets, jobs, (limit,), budget, _facts_stopped)
    found: list[_Facts | None] = [None] * len(targets)
    missing = []
    for index, target in enumerate(targets):
        run.signatures[target.path] = trusted_signature(target.path)  # before the bytes
        data = _read(target.path, limit)
        if data is None:
            continue
        hit = run.cache.get("facts", run.facts_key(target.path, digest(data)))
        if isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[1], str):
            found[index] = hit[0]
            run.views[target.path] = hit[1]
        else:
            missing.append(index)

    def stopped(target: Target, why: str) -> tuple[_Facts, None, str]:
        run.stopped.add(target.path)  # type: ignore[union-attr]
        entry = _facts_stopped(target, why)
        return entry, None, _view(entry)

    todo = [targets[i] for i in missing]
    if _small(todo):
        computed = _summarise_batch_keyed(todo, limit)
    else:
        computed = _map_batches(_summarise_batch_keyed, todo, jobs, (limit,), budget, stopped)
    for index, (entry, content, view) in zip(missing, computed):
        found[index] = entry
        path = targets[index].path
        if content is not None:
            run.cache.put("facts", run.facts_key(path, content), (entry, view))
        if content is not None or path in run.stopped:
            run.views[path] = view
    for target, entry in zip(targets, found):
        if entry is not None:
            keys.append(run.keys[target.path])
            run.order.append(target.path)
    return found


def summarise(targets: list[Target], config: Config, jobs: int = 1) -> Project:
    """Phase one: the summaries of every file of the run, and of the project modules they
    import (so one changed file, as pre-commit passes it, sees the helpers it calls),
    closed to a fixed point."""
    return _summarise(targets, config, jobs, None)[0]


def _summarise(
    targets: list[Target], config: Config, jobs: int, cache: Cache | None
) -> tuple[Project, _Run | None]:
    from leaklint.analysis.summaries import build_project

    run = _Run(cache) if cache is not None else None
    memo = run or _Run(None)  # type: ignore[arg-type]
    keys: list[str] = []
    found = [entry for entry in _summaries(targets, jobs, run, keys, config) if entry is not None]
    errors = {path: error for path, _, error in found if error is not None}
    paths = [os.path.normpath(path) for path, _, _ in found]
    seen = {os.path.realpath(path) for path, _, _ in found}
    modules = [facts for _, facts, _ in found if facts is not None]
    frontier = list(modules)
    # where else an import may be found: the folder the run starts in and its ``src/``
    # (a test folder with no ``__init__.py`` is a root of its own, beside the package)
    here = os.getcwd()
    also = [here, os.path.join(here, "src")]
    for _ in range(_IMPORT_DEPTH):
        wanted = []
        for facts in frontier:
            for name in facts.imports:
                file = memo.module_file(facts.root, name)
                for root in also:
                    if file is not None:
                        break
                    if root != facts.root:
                        file = memo.module_file(root, name)
                if file is not None and memo.realpath(file) not in seen:
                    seen.add(memo.realpath(file))
                    wanted.append(Target(file))
        if not wanted:
            break
        more = [entry for entry in _summaries(wanted, 1, run, keys, config) if entry is not None]
        frontier = [facts for _, facts, _ in more if facts is not None]
        modules.extend(frontier)
    project = build_project(modules, config.registry, errors, paths)
    if run is not None:
        run.fingerprint = _fingerprint(project, config, [(p, run.views[p]) for p in run.order])
        run.anchors = _anchors(project, modules, config)
    return project, run


def _derived(project: Project, config: Config) -> dict[str, object]:
    """The factories the summaries derived (those the configured registry does not hold as
    they are), by name."""
    return {
        name: resource
        for name, resource in project.registry.by_name.items()
        if config.registry.by_name.get(name) != resource
    }


def _fingerprint(project: Project, config: Config, views: list[tuple[str, str]]) -> str:
    """The project as the analysis sees it (see ``leaklint.cache``): each summarised
    module's view in order, and every factory the summaries derived, origin included."""
    derived = [repr(resource) for _, resource in sorted(_derived(project, config).items())]
    return digest(
        "project", code_fingerprint(), repr(config), os.getcwd(), _prefilter_switch(),
        *(f"{path}\0{view}" for path, view in views), "\0derived", *derived,
    )


def _prefilter_switch() -> str:
    """``LEAKLINT_NO_PREFILTER`` changes which files are parsed, so it is part of every key."""
    return os.environ.get("LEAKLINT_NO_PREFILTER", "")


def _anchors(project: Project, modules: Iterable[ModuleFacts], config: Config) -> dict[str, tuple]:
    """For each module, the lines its derived factories' origins can quote: every returned
    call's line of a derived function, the line of a derived class."""
    derived = set(_derived(project, config))
    out: dict[str, tuple] = {}
    for module in modules:
        out[module.path] = _module_anchors(module, derived)
    return out


def _module_anchors(module: ModuleFacts, derived: set[str] | frozenset[str]) -> tuple:
    lines: list[tuple[str, object]] = []
    for function in module.functions:
        if function.qualname in derived:
            lines.append((function.qualname, tuple(sorted(function.returns.items()))))
    for cls in module.classes:
        if cls.qualname in derived:
            lines.append((cls.qualname, cls.line))
    return tuple(sorted(lines, key=repr))
