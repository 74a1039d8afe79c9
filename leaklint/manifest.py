"""The warm run: a run's manifest (every file's signature and digest, the results, the
project's fingerprint) and its project kept beside it, a module at a time, so that a run whose
files are as the last identical run left them is answered without analysing, and one where a
few files changed analyses only those, when what the others see of them did not change."""

from __future__ import annotations

import dataclasses
import os
import pickle
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.batches import (
    _check_batch_keyed,
    _map_batches,
    _read,
    _result_key,
    _unreadable,
    budget_of,
)
from leaklint.cache import (
    Cache,
    Manifest,
    code_fingerprint,
    digest,
    nested_loads,
    trusted_signature,
)
from leaklint.config import Config
from leaklint.discovery import Target
from leaklint.results import FileResult
from leaklint.summary_pass import (
    _module_anchors,
    _prefilter_switch,
    _Run,
    _summarise_one,
    _view,
)

if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project


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
        self.context_manager_names = context_manager_names  # see prefilter.context_manager_names

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
