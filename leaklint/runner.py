"""Which files to check, and checking them (in parallel when it pays)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pathspec

from leaklint.analysis.summaries import (
    ModuleFacts,
    Project,
    build_project,
    facts_of_source,
    module_file,
)
from leaklint.config import Config
from leaklint.core import FileResult, Finding, check_source

#: Below this many files a process pool costs more than it saves.
_PARALLEL_THRESHOLD = 16


@dataclass(frozen=True, slots=True)
class Target:
    """A path to check, as the user will see it printed."""

    path: str


def discover(paths: Iterable[str], config: Config) -> list[Target]:
    """``.py`` files under ``paths``: excludes and ``.gitignore`` apply to what a walk finds;
    a file named on the command line is always checked."""
    excludes = pathspec.GitIgnoreSpec.from_lines(config.excludes)
    found: dict[str, Target] = {}
    for raw in paths:
        # a folder named like a Python file was meant as one: check_file reports it (LL900)
        if os.path.isdir(raw) and not raw.rstrip("/" + os.sep).endswith(".py"):
            for file in _walk(Path(raw), excludes):
                found.setdefault(os.path.normpath(file), Target(os.path.normpath(file)))
        else:
            found.setdefault(os.path.normpath(raw), Target(os.path.normpath(raw)))
    return sorted(found.values(), key=lambda t: t.path)


def _gitignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        text = (folder / ".gitignore").read_text("utf-8", errors="replace")
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def _walk(root: Path, excludes: pathspec.GitIgnoreSpec) -> Iterator[str]:
    # .gitignore files above the root, up to the repository's top, apply too
    inherited: list[tuple[Path, pathspec.GitIgnoreSpec]] = []
    for folder in root.resolve().parents:
        spec = _gitignore(folder)
        if spec is not None:
            inherited.append((folder, spec))
        if (folder / ".git").exists():
            break
    if _ignored(root.resolve(), True, inherited):
        inherited = []  # a folder named on the command line is checked, like a named file
    yield from _walk_folder(root, root.resolve(), excludes, inherited, set(), "")


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
    for base, spec in specs:
        try:
            relative = path.relative_to(base).as_posix()
        except ValueError:
            continue
        if spec.match_file(relative + ("/" if is_dir else "")):
            return True
    return False


def _walk_folder(
    shown: Path,
    real: Path,
    excludes: pathspec.GitIgnoreSpec,
    specs: list[tuple[Path, pathspec.GitIgnoreSpec]],
    seen: set[tuple[int, int]],
    relative: str,
) -> Iterator[str]:
    try:
        stat = real.stat()
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            return  # a symlink loop
        seen.add(key)
        entries = sorted(os.scandir(real), key=lambda e: e.name)
    except OSError:
        return
    own = _gitignore(real)
    if own is not None:
        specs = [*specs, (real, own)]
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if excludes.match_file(relative + name + ("/" if is_dir else "")):
            continue
        if _ignored(real / name, is_dir, specs):
            continue
        if is_dir:
            yield from _walk_folder(
                shown / name, real / name, excludes, specs, seen, f"{relative}{name}/"
            )
        elif name.endswith(".py"):
            yield str(shown / name)


def _read(path: str) -> bytes | None:
    try:
        if not os.path.isfile(path):
            return None
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


_Facts = tuple[str, "ModuleFacts | None", "tuple[int, int, str] | None"]


def _summarise_batch(targets: list[Target]) -> list[_Facts]:
    out: list[_Facts] = []
    for target in targets:
        data = _read(target.path)
        if data is None or b"\0" in data:
            continue  # the check reports it
        try:
            facts, error = facts_of_source(data, target.path)
        except (RecursionError, MemoryError):  # CPython's parser gives up on deep nesting
            facts, error = None, (1, 0, "too deeply nested to analyse")
        out.append((target.path, facts, error))
    return out


#: How many rounds of imports the summaries follow beyond the files of the run.
_IMPORT_DEPTH = 8


def summarise(targets: list[Target], config: Config, jobs: int = 1) -> Project:
    """Phase one: the summaries of every file of the run, and of the project modules they
    import (so one changed file, as pre-commit passes it, sees the helpers it calls),
    closed to a fixed point."""
    batches = _map_batches(_summarise_batch, targets, jobs, ())
    found = [entry for batch in batches for entry in batch]
    errors = {path: error for path, _, error in found if error is not None}
    paths = [os.path.normpath(path) for path, _, _ in found]
    seen = {os.path.realpath(path) for path, _, _ in found}
    modules = [facts for _, facts, _ in found if facts is not None]
    frontier = list(modules)
    for _ in range(_IMPORT_DEPTH):
        wanted = []
        for facts in frontier:
            for name in facts.imports:
                file = module_file(facts.root, name)
                if file is not None and os.path.realpath(file) not in seen:
                    seen.add(os.path.realpath(file))
                    wanted.append(Target(file))
        if not wanted:
            break
        frontier = [facts for _, facts, _ in _summarise_batch(wanted) if facts is not None]
        modules.extend(frontier)
    return build_project(modules, config.registry, errors, paths)


def check_file(target: Target, config: Config, project: Project | None = None) -> FileResult:
    """Read and check one file; an unreadable one is an LL900 finding, never an exception."""
    path = target.path
    try:
        if os.path.isdir(path):
            return _unreadable(path, "is a directory", config)
        if not os.path.exists(path):
            why = "is a dangling symlink" if os.path.islink(path) else "does not exist"
            return _unreadable(path, why, config)
        if not os.path.isfile(path):
            return _unreadable(path, "is not a regular file", config)
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        return _unreadable(path, f"cannot be read: {err.strerror or err}", config)
    return check_source(data, path, config, project=project)


def _unreadable(path: str, why: str, config: Config) -> FileResult:
    if not config.enabled_for("LL900", path):
        return FileResult(path)
    return FileResult(path, (Finding(path, 1, 0, "LL900", f"file {why}"),))


# State of a worker process, sent once when it starts instead of with every batch.
_WORKER: dict[str, object] = {}


def _init_worker(shared: tuple) -> None:
    _WORKER["shared"] = shared


def _run_in_worker(function, batch):  # type: ignore[no-untyped-def]
    return function(batch, *_WORKER["shared"])


def _map_batches(function, targets: list[Target], jobs: int, shared: tuple) -> list:  # type: ignore[no-untyped-def]
    """``function(batch, *shared)`` over batches of targets, in worker processes when it pays."""
    if jobs <= 1 or len(targets) < _PARALLEL_THRESHOLD:
        return [function(targets, *shared)]
    size = max(1, min(32, len(targets) // (jobs * 8)))
    batches = [targets[i : i + size] for i in range(0, len(targets), size)]
    try:
        with ProcessPoolExecutor(
            max_workers=jobs, initializer=_init_worker, initargs=(shared,)
        ) as pool:
            return list(pool.map(_run_in_worker, [function] * len(batches), batches))
    except (OSError, RuntimeError):
        return [function(targets, *shared)]  # no processes to be had: do it here


def _check_batch(targets: list[Target], config: Config, project: Project) -> list[FileResult]:
    return [check_file(target, config, project) for target in targets]


def check_paths(
    targets: list[Target],
    config: Config,
    jobs: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[FileResult]:
    """Check every target; results come back in the targets' order. ``progress(n)`` is told
    each time n more files are done (the CLI's progress bar on a terminal)."""
    jobs = jobs or os.cpu_count() or 1
    project = summarise(targets, config, jobs)
    if progress is None:
        batches = _map_batches(_check_batch, targets, jobs, (config, project))
        return [result for batch in batches for result in batch]
    # in about twenty slices, each mapped on its own, so the bar moves
    step = max(_PARALLEL_THRESHOLD * jobs, -(-len(targets) // 20))
    results: list[FileResult] = []
    for start in range(0, len(targets), step):
        part = targets[start : start + step]
        batches = _map_batches(_check_batch, part, jobs, (config, project))
        results.extend(result for batch in batches for result in batch)
        progress(len(part))
    return results
