"""Which files to check, and checking them (in parallel when it pays).

Here: a run, ``check_paths`` (one configuration's files) and ``check_groups`` (each
configuration's), with and without the cache, and where the cache lives. Its parts live beside
it: ``leaklint.discovery`` (which files), ``leaklint.summary_pass`` (phase one: every file's
summary, the project), ``leaklint.batches`` (phase two: files checked in batches in worker
processes, ``leaklint.pool``) and ``leaklint.manifest`` (the warm run: a run answered from
its manifest, and what is kept for it).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.batches import (
    _check_batch,
    _check_batch_keyed,
    _map_batches,
    _result_key,
    _unreadable,
    budget_of,
    check_file,
    map_targets,
)
from leaklint.cache import Cache, Manifest
from leaklint.config import Config, Resolver
from leaklint.discovery import Target, by_config, discover
from leaklint.manifest import _from_manifest, _KeptProject, _manifest_key, _write_manifest
from leaklint.results import FileResult
from leaklint.summary_pass import _Run, _summarise, _summarise_one, summarise

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
