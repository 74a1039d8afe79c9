"""Which files a run checks: ``.py`` files and notebooks under the paths given, each folder's
configuration deciding what of it is excluded, ``.gitignore`` applied to what a walk finds."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from leaklint.config import Config, Resolver, exclude_spec
from leaklint.files import NotReadable, read_file

if TYPE_CHECKING:
    import pathspec


@dataclass(frozen=True, slots=True)
class Target:
    """A path to check, as the user will see it printed."""

    path: str


def discover(
    paths: Iterable[str], config: Config | Resolver, force_exclude: bool = False
) -> list[Target]:
    """``.py`` files and notebooks (``.ipynb``) under ``paths``: each folder's configuration
    (its nearest configuration file, see ``Resolver``) decides what of it is excluded,
    patterns relative to that configuration's root, and ``.gitignore`` applies to what a walk
    finds; a file named on the command line is always checked (one leaklint does not handle,
    ``notes.txt``, is one LL900 line), unless ``force_exclude`` and its configuration
    excludes it. The result does not depend on the order of ``paths``."""
    resolver = config if isinstance(config, Resolver) else Resolver.of(config)
    found: dict[str, Target] = {}
    for raw in paths:
        # a folder named like a Python file was meant as one: check_file reports it (LL900)
        if not raw.rstrip("/" + os.sep).endswith(".py") and os.path.isdir(raw):
            if force_exclude and resolver.for_path(raw).excluded(raw):
                continue
            for file in _walk(Path(raw), resolver):
                found.setdefault(os.path.normpath(file), Target(os.path.normpath(file)))
        elif not (force_exclude and resolver.for_path(raw).excluded(raw)):
            found.setdefault(os.path.normpath(raw), Target(os.path.normpath(raw)))
    return sorted(found.values(), key=lambda t: t.path)


def by_config(targets: list[Target], resolver: Resolver) -> list[tuple[Config, list[Target]]]:
    """The targets grouped by their configuration (one project per configuration file), in
    the order of the configurations' roots; each group in the targets' order."""
    groups: dict[Config, list[Target]] = {}
    for target in targets:
        groups.setdefault(resolver.for_path(target.path), []).append(target)
    return sorted(groups.items(), key=lambda item: (item[0].root, item[0].source or ""))


def _gitignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    import pathspec

    try:
        text = read_file(str(folder / ".gitignore")).decode("utf-8", errors="replace")
    except NotReadable:
        return None
    return pathspec.GitIgnoreSpec.from_lines(text.splitlines())


def _walk(root: Path, resolver: Resolver) -> Iterator[str]:
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
    # a folder named on the command line that its configuration excludes is walked all the
    # same (without --force-exclude): its entries match the patterns below it, not above
    anchored = not resolver.for_path(str(root)).excluded(str(root))
    yield from _walk_folder(root, root.resolve(), resolver, inherited, set(), "", anchored)


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
    resolver: Resolver,
    specs: list[tuple[Path, pathspec.GitIgnoreSpec]],
    seen: set[tuple[int, int]],
    relative: str,
    anchored: bool,
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
    config = resolver.for_folder(str(real))
    excludes = exclude_spec(config.excludes)
    # patterns are relative to the configuration's root; a folder outside it (a path given
    # from elsewhere) matches them relative to where the walk started
    prefix = relative
    if anchored:
        try:
            under_root = real.relative_to(config.root).as_posix()
            prefix = "" if under_root == "." else under_root + "/"
        except ValueError:
            pass
    for entry in entries:
        name = entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if excludes.match_file(prefix + name + ("/" if is_dir else "")):
            continue
        if _ignored(real / name, is_dir, specs):
            continue
        if is_dir:
            yield from _walk_folder(
                shown / name, real / name, resolver, specs, seen, f"{relative}{name}/", anchored
            )
        elif name.endswith((".py", ".ipynb")):
            yield str(shown / name)
