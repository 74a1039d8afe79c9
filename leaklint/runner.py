"""Which files to check, and checking them (in parallel when it pays)."""

from __future__ import annotations

import dataclasses
import os
import pickle
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.batches import (
    _check_batch,
    _check_batch_keyed,
    _map_batches,
    _read,
    _result_key,
    _unreadable,
    budget_of,
    check_file,
    map_targets,
)
from leaklint.cache import (
    Cache,
    Manifest,
    code_fingerprint,
    digest,
    nested_loads,
    trusted_signature,
)
from leaklint.config import Config, Resolver
from leaklint.discovery import Target, by_config, discover
from leaklint.results import FileResult
from leaklint.summary_pass import (
    _module_anchors,
    _prefilter_switch,
    _Run,
    _summarise,
    _summarise_one,
    _view,
    summarise,
)

# The summaries and the analysis import libcst (a quarter of a second): they are imported
# where a file really is summarised or checked, so a run the manifest answers never loads them.
if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project

#: What the front ends, the fixes, the tests and the benchmarks import from here; the private
#: names are re-exported for the tests and benchmarks that reach into a run's parts.
__all__ = [
    "Target",
    "_KeptProject",
    "_manifest_key",
    "_summarise",
    "_summarise_one",
    "by_config",
    "cache_folder",
    "check_file",
    "check_groups",
    "check_paths",
    "discover",
    "map_targets",
    "summarise",
]


def _check_cached(
    targets: list[Target],
    config: Config,
    project: Project,
    run: _Run,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> tuple[list[FileResult], bool]:
    """``check_paths`` with a cache: hits are taken as they are, the rest is checked (in
    workers) and stored. A result with an internal error is never stored. Also: was every
    file checked in the bytes its summary was made from (else no manifest is written)?"""
    results: list[FileResult | None] = [None] * len(targets)
    missing = []
    for index, target in enumerate(targets):
        content = run.contents.get(target.path)
        key = _result_key(run.fingerprint, target.path, content) if content else None
        hit = run.cache.get("results", key) if key else None
        if isinstance(hit, FileResult) and hit.path == target.path:
            results[index] = hit
        else:
            missing.append(index)
    if progress is not None and len(targets) > len(missing):
        progress(len(targets) - len(missing))
    todo = [targets[i] for i in missing]
    computed = _map_batches(
        _check_batch_keyed, todo, jobs, (config, project), budget_of(config),
        lambda target, why: (_unreadable(target.path, why, config, ""), None), progress,
    )
    steady = not run.stopped
    for index, (result, content) in zip(missing, computed):
        results[index] = result
        steady = steady and content == run.contents.get(result.path)
        if content is not None and result.internal_error is None:
            run.cache.put("results", _result_key(run.fingerprint, result.path, content), result)
    return [result for result in results if result is not None], steady


def check_paths(
    targets: list[Target],
    config: Config,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache: Cache | None = None,
) -> list[FileResult]:
    """Check every target; results come back in the targets' order. ``progress(n)`` is told
    each time n more files are done (the CLI's progress bar on a terminal). With ``cache``,
    a run whose files are all as the last identical run left them is answered from its
    manifest; otherwise summaries and results are reused where their key matches (see
    ``leaklint.cache``)."""
    jobs = jobs or os.cpu_count() or 1
    if cache is None:
        project, _ = _summarise(targets, config, jobs, None)
        return _map_batches(
            _check_batch, targets, jobs, (config, project), budget_of(config),
            lambda target, why: _unreadable(target.path, why, config, ""), progress,
        )
    key = _manifest_key(targets, config)
    manifest = cache.get("manifest", key)
    if isinstance(manifest, Manifest) and manifest.key == key:
        answered = _from_manifest(manifest, targets, config, cache, key)
        if answered is not None:
            if progress is not None:
                progress(len(targets))
            return answered
    started = time.time_ns()
    project, run = _summarise(targets, config, jobs, cache)
    assert run is not None
    results, steady = _check_cached(targets, config, project, run, jobs, progress)
    if steady:
        _write_manifest(cache, key, run, targets, results, project, started)
    return results


#: How many projects the cache keeps beside the manifests (the newest): a manifest whose
#: project was pruned answers an unchanged run still, and a changed one by a whole run.
_PROJECTS_KEPT = 4


def _manifest_key(targets: list[Target], config: Config) -> str:
    return digest(
        "manifest", code_fingerprint(), repr(config), os.getcwd(), _prefilter_switch(),
        *(target.path for target in targets),
    )


def _write_manifest(
    cache: Cache,
    key: str,
    run: _Run,
    targets: list[Target],
    results: list[FileResult],
    project: Project,
    started: int,
) -> None:
    """The run's manifest, and the project beside it (for a run where a few files changed
    without changing what the others see). Not for a run with an internal error: that file
    is tried again next time, as its result is never cached."""
    if any(result.internal_error is not None for result in results):
        return
    files: dict[str, tuple[object, str]] = {
        path: (run.signatures.get(path), content) for path, content in run.contents.items()
    }
    for target in targets:
        files.setdefault(target.path, (None, ""))  # unreadable: read again next time
    folders = {folder: trusted_signature(folder, started) for folder in run.listed_folders()}
    manifest = Manifest(
        key=key,
        results=results,
        fingerprint=run.fingerprint,
        files=files,  # type: ignore[arg-type]
        folders=folders,
        views=dict(run.views),
        anchors=run.anchors,
    )
    if not cache.has("project", run.fingerprint):
        cache.put("project", run.fingerprint, _KeptProject.of(project))
        cache.prune("project", _PROJECTS_KEPT)
    cache.put("manifest", key, manifest)


class _Modules:
    """The facts of a kept project, pickled a module at a time and unpickled on first use."""

    def __init__(self, blobs: list[bytes]) -> None:
        self._blobs = blobs
        self._loaded: dict[int, tuple[dict[str, object], dict[str, object]]] = {}

    def __getitem__(self, index: int) -> tuple[dict[str, object], dict[str, object]]:
        module = self._loaded.get(index)
        if module is None:
            module = self._loaded[index] = nested_loads(self._blobs[index])  # type: ignore[assignment]
        return module


class _LazyFacts(Mapping):  # type: ignore[type-arg]
    """``Project.functions`` (``part`` 0) or ``.classes`` (1), unpickled a module at a time
    when the analysis looks one up: a file's analysis looks up a few dozen of the tens of
    thousands a big project has, and unpickling them all costs more than analysing the file."""

    def __init__(
        self,
        where: dict[str, int],
        modules: _Modules,
        part: int,
        context_manager_names: frozenset[str] | None = None,
    ) -> None:
        self._where = where  # qualified name -> its module's index
        self._modules = modules
        self._part = part
        self.context_manager_names = context_manager_names  # see core.context_manager_names

    def __getitem__(self, key: str) -> object:
        return self._modules[self._where[key]][self._part][key]

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __reduce__(self) -> tuple:
        return (dict, (dict(self.items()),))  # to a worker, as a plain dict


@dataclass
class _KeptProject:
    """A run's project as kept beside its manifest: its functions and classes pickled a
    module at a time (see ``_LazyFacts``; unpickling the whole took 0.7-1 s on the standard
    library, its 56,000 names and 1,790 modules' bytes 0.03 s), the rest as it is."""

    fields: dict[str, object]
    modules: list[bytes]
    functions: dict[str, int]  # qualified name -> index in ``modules``
    classes: dict[str, int]
    context_manager_names: frozenset[str]

    @classmethod
    def of(cls, project: Project) -> _KeptProject:
        from leaklint.core import context_manager_names

        index: dict[str, int] = {}  # a module's path -> its index
        members: list[tuple[dict[str, object], dict[str, object]]] = []
        where: tuple[dict[str, int], dict[str, int]] = ({}, {})
        for part, facts in enumerate((project.functions, project.classes)):
            for name, value in facts.items():
                at = index.setdefault(getattr(value, "path", ""), len(index))
                if at == len(members):
                    members.append(({}, {}))
                members[at][part][name] = value
                where[part][name] = at
        rest = {
            f.name: getattr(project, f.name)
            for f in dataclasses.fields(project)
            if f.name not in ("functions", "classes")
        }
        blobs = [pickle.dumps(member, pickle.HIGHEST_PROTOCOL) for member in members]
        return cls(rest, blobs, where[0], where[1], context_manager_names(project))

    def project(self) -> Project:
        from leaklint.analysis.summaries import Project

        modules = _Modules(self.modules)
        return Project(
            functions=_LazyFacts(self.functions, modules, 0),  # type: ignore[arg-type]
            classes=_LazyFacts(self.classes, modules, 1, self.context_manager_names),  # type: ignore[arg-type]
            **self.fields,  # type: ignore[arg-type]
        )


def _from_manifest(
    manifest: Manifest, targets: list[Target], config: Config, cache: Cache, key: str
) -> list[FileResult] | None:
    """The run's results from its manifest: as they are where no file changed; where some
    did, only those are read, and analysed if their bytes changed while their view (and the
    lines their factories' origins quote) did not. None: the run must be done in full."""
    changed = manifest.changed()
    if changed is None:
        return None
    if not changed:
        return manifest.results
    run = _Run(cache)
    files = dict(manifest.files)
    renewed: dict[str, str] = {}  # path -> digest of its new bytes
    for path in changed:
        signature = trusted_signature(path)
        data = _read(path, config.max_file_bytes)
        if data is None:
            return None
        content = digest(data)
        if content != files[path][1]:
            entry = _summarise_one(path, data)
            view = _view(entry)
            if view != manifest.views.get(path):
                return None
            anchors = manifest.anchors.get(path, ())
            facts = entry[1] if entry is not None else None
            if facts is not None and _module_anchors(facts, {q for q, _ in anchors}) != anchors:
                return None
            run.cache.put("facts", run.facts_key(path, content), (entry, view))
            renewed[path] = content
        files[path] = (signature, content)
    results = list(manifest.results)
    redo = []
    for index, target in enumerate(targets):
        content = renewed.get(target.path)
        if content is None:
            continue
        hit = cache.get("results", _result_key(manifest.fingerprint, target.path, content))
        if isinstance(hit, FileResult) and hit.path == target.path:
            results[index] = hit
        else:
            redo.append(index)
    if redo:
        kept = cache.get("project", manifest.fingerprint)
        if not isinstance(kept, _KeptProject):
            return None
        project = kept.project()
        todo = [targets[i] for i in redo]
        checked = _map_batches(
            _check_batch_keyed, todo, 1, (config, project), budget_of(config),
            lambda target, why: (_unreadable(target.path, why, config, ""), None),
        )
        for index, (result, content) in zip(redo, checked):
            if content != renewed[result.path] or result.internal_error is not None:
                return None  # changed again meanwhile, stopped, or our bug: a whole run decides
            results[index] = result
            cache.put("results", _result_key(manifest.fingerprint, result.path, content), result)
    cache.put("manifest", key, dataclasses.replace(manifest, results=results, files=files))
    return results


def cache_folder(resolver: Resolver, configs: Iterable[Config]) -> Path:
    """Where the run's cache lives, one place for the whole run: ``LEAKLINT_CACHE_DIR`` if
    set; else ``.leaklint_cache`` in the project root, the folder of the configuration file
    (``--config``'s; else the one that governs the working folder; else, run from outside
    any project, the one every checked file shares); else in the working folder. Never in
    each folder checked."""
    from leaklint.cache import DEFAULT_FOLDER

    named = os.environ.get("LEAKLINT_CACHE_DIR")
    if named:
        return Path(named)
    sources = {config.source: config.root for config in configs}
    here = resolver.for_folder(os.getcwd())
    if here.source:  # --config's, or the project the working folder is in
        root = here.root
    elif resolver.fixed is None and len(sources) == 1 and None not in sources:
        root = next(iter(sources.values()))  # run from outside the one project checked
    else:
        root = os.getcwd()
    return Path(root, DEFAULT_FOLDER)


def check_groups(
    groups: list[tuple[Config, list[Target]]],
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
    cache: Cache | None = None,
) -> list[FileResult]:
    """``check_paths`` for each configuration's files (``by_config``): each configuration is
    a project of its own, with its own summaries; the results in the targets' order."""
    results: list[FileResult] = []
    for config, targets in groups:
        results.extend(check_paths(targets, config, jobs, progress, cache))
    return sorted(results, key=lambda result: result.path)
