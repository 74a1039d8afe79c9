"""A run's files in batches: what a worker does with one (each file read and checked, with the
fixes it has on offer; for the cache, keyed by the bytes it was checked in), and handing the
batches to worker processes (``leaklint.pool``) under the configuration's budget."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from leaklint.cache import digest
from leaklint.config import Config
from leaklint.discovery import Target
from leaklint.files import NotReadable, read_file
from leaklint.results import FileResult, Finding

# The analysis imports libcst (a quarter of a second): it is imported where a file really is
# checked, so a run the manifest answers never loads it.
if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project
    from leaklint.pool import Budget


def _read(path: str, limit: int) -> bytes | None:
    """The bytes of a file to check; None for one ``check_file`` reports as not readable."""
    try:
        return read_file(path, limit)
    except NotReadable:
        return None


def check_file(target: Target, config: Config, project: Project | None = None) -> FileResult:
    """Read and check one file; an unreadable one is an LL900 finding, never an exception."""
    path = target.path
    try:
        data = read_file(path, config.max_file_bytes)
    except NotReadable as err:
        return _unreadable(path, str(err), config)
    return _checked(data, path, config, project)


def _checked(data: bytes, path: str, config: Config, project: Project | None) -> FileResult:
    """The findings of ``data``, each with the fix it has on offer (``Finding.fix``). The
    offers cost about what the check did: a file whose check took more than a quarter of
    its time budget goes without them, and offers stop at half of it, rather than the file
    run out of time (an LL900)."""
    from leaklint.fixes.suggest import with_fixes
    from leaklint.notebook import check_bytes

    started = time.monotonic()
    result = check_bytes(data, path, config, project=project)
    budget = config.analysis_timeout or float("inf")
    if (time.monotonic() - started) * 4 > budget:
        return result
    return with_fixes(result, data, config, project, deadline=started + budget / 2)


def _unreadable(path: str, why: str, config: Config, what: str = "file ") -> FileResult:
    if not config.enabled_for("LL900", path):
        return FileResult(path)
    return FileResult(path, (Finding(path, 1, 0, "LL900", f"{what}{why}"),))


def _check_batch(targets: list[Target], config: Config, project: Project) -> list[FileResult]:
    return [check_file(target, config, project) for target in targets]


def _check_batch_keyed(
    targets: list[Target], config: Config, project: Project
) -> list[tuple[FileResult, str | None]]:
    """Each target's result, and the digest of the bytes it was checked in."""
    out: list[tuple[FileResult, str | None]] = []
    for target in targets:
        data = _read(target.path, config.max_file_bytes)
        if data is None:
            out.append((check_file(target, config, project), None))
        else:
            out.append((_checked(data, target.path, config, project), digest(data)))
    return out


def _result_key(fingerprint: str, path: str, content: str) -> str:
    return digest("result", fingerprint, path, content)


def _map_batches(  # type: ignore[no-untyped-def]
    function,
    targets: list[Target],
    jobs: int,
    shared: tuple,
    budget: Budget,
    failed: Callable[[Target, str], object],
    progress: Callable[[int], None] | None = None,
) -> list:
    """``function(batch, *shared)`` over the targets, one result per target in their order,
    in worker processes (``leaklint.pool``): a file that runs past ``budget`` or kills its
    worker is ``failed(target, why)`` and the run goes on. Always in workers, even for one
    file and ``-j 1`` (a fork costs milliseconds; an abort in libcst's native parser would
    end this process). The biggest files go first (the longest batches do not end the run
    alone). Where no worker can be had, or a result does not pickle, the files not done are
    done here, in this process, as before."""
    if not targets:
        return []
    from leaklint import core, pool  # here: a run the manifest answers starts no worker

    del core  # imported before the workers fork, so none of them pays for it, nor its budget

    size = max(1, min(32, len(targets) // (jobs * 8)))
    order = sorted(range(len(targets)), key=lambda i: (-_size(targets[i]), i))
    batches = [order[j : j + size] for j in range(0, len(order), size)]
    workers = min(jobs, len(batches))
    try:
        return pool.run(function, targets, batches, workers, shared, budget, failed, progress)
    except pool.PoolUnavailable as err:
        results = err.args[0]
    for index, result in enumerate(results):
        if pool.pending(result):
            results[index] = function([targets[index]], *shared)[0]
            if progress is not None:
                progress(1)
    return results


def _size(target: Target) -> int:
    try:
        return os.path.getsize(target.path)
    except OSError:
        return 0


def map_targets(function, targets: list[Target], jobs: int, shared: tuple) -> list:  # type: ignore[no-untyped-def]
    """``function(batch, *shared)`` over the targets, one entry per target in their order, in
    ``jobs`` worker processes under the budget of the ``Config`` in ``shared`` (fixing uses
    it too); a file stopped by the budget or whose worker died is None."""
    config = next((value for value in shared if isinstance(value, Config)), Config())
    return _map_batches(function, targets, jobs, shared, budget_of(config), lambda t, why: None)


def budget_of(config: Config) -> Budget:
    from leaklint.pool import Budget

    return Budget(config.analysis_timeout, config.max_memory_mb)
