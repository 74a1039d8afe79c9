"""flake8 adapter: the run is leaklint's own, made once; flake8 asks it file by file.

When flake8 hands the plugin its options (``parse_options``, in flake8's main process,
before ``-j`` forks its workers), the plugin does what ``leaklint check`` does with the same
paths: the same discovery, each file's configuration (its nearest configuration file, one
project per configuration), the same worker pool and the same on-disk cache
(``.leaklint_cache`` in the project root, ``LEAKLINT_CACHE_DIR``). flake8's workers inherit
the results (fork) or, where workers are spawned, make the same run again and find it in the
cache's manifest. ``run`` then only looks its file up: a file whose text flake8 read is
not what leaklint analysed (edited meanwhile) is analysed again, in-process, against its
project's summaries; a file leaklint's discovery left out (its configuration excludes it, or
``.gitignore``) is not reported, as the CLI would not report it.

The core applies ``[tool.leaklint]`` (select, ignore, per-file-ignores) and its own
suppressions (``# noqa`` on the first or last line of a multi-line statement,
``# leaklint: ignore[...]``), so both front ends agree; ``flake8 --disable-noqa`` switches
the core's suppressions off too and shows everything, as users expect.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leaklint import __version__
from leaklint.config import Config, ConfigError, Resolver

if TYPE_CHECKING:
    from leaklint.analysis.summaries import Project
    from leaklint.results import FileResult
    from leaklint.runner import Target


@dataclass
class _Run:
    """leaklint's run over the paths flake8 was given."""

    resolver: Resolver
    results: dict[str, FileResult] = field(default_factory=dict)
    groups: dict[Config, list[Target]] = field(default_factory=dict)
    projects: dict[Config, Project] = field(default_factory=dict)

    def project(self, config: Config) -> Project | None:
        """The summaries of ``config``'s files, made on first need (a file that changed
        since the run analysed it), from the cache's summaries where it has them."""
        if config not in self.projects:
            from leaklint.cache import Cache
            from leaklint.runner import _summarise, cache_folder

            targets = self.groups.get(config, [])
            cache = Cache.open(cache_folder(self.resolver, self.groups))
            self.projects[config] = _summarise(targets, config, 1, cache)[0]
        return self.projects[config]


_run: _Run | None = None


def _jobs(options: Any) -> int:
    jobs = getattr(options, "jobs", None)
    if jobs is None or getattr(jobs, "is_auto", True):
        return os.cpu_count() or 1
    return max(1, int(getattr(jobs, "n_jobs", 1)))


def _prepare(paths: Sequence[str], jobs: int) -> _Run:
    from leaklint.cache import Cache
    from leaklint.runner import by_config, cache_folder, check_groups, discover

    resolver = Resolver()
    run = _Run(resolver)
    if list(paths) == ["-"]:
        return run  # standard input: the file stands alone
    groups = by_config(discover(paths, resolver), resolver)
    run.groups = dict(groups)
    cache = Cache.open(cache_folder(resolver, run.groups))
    for result in check_groups(groups, jobs, cache=cache):
        run.results[result.path] = result
    return run


def _text_of(path: str) -> str | None:
    """The file's text as flake8 reads it (universal newlines), None if it cannot be read."""
    from leaklint.files import NotReadable, read_file
    from leaklint.report import source_text

    try:
        return _newlines(source_text(read_file(path)))
    except NotReadable:
        return None


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class Plugin:
    name = "leaklint"
    version = __version__
    _honour_noqa = True

    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def parse_options(cls, options: Any) -> None:
        global _run
        cls._honour_noqa = not getattr(options, "disable_noqa", False)
        paths = tuple(getattr(options, "filenames", None) or (".",))
        try:
            _run = _prepare(paths, _jobs(options))
        except ConfigError as err:  # as the CLI: a broken configuration stops the run
            sys.stderr.write(f"leaklint: error: {err}\n")
            raise SystemExit(2) from None

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        for finding in self._findings():
            if finding.code == "LL900":
                continue  # flake8 reports files it cannot parse itself (E902/E999)
            yield finding.line, finding.col, f"{finding.code} {finding.message}", type(self)

    def _findings(self) -> tuple:
        from leaklint.core import check_source

        source = "".join(self.lines)
        path = os.path.normpath(self.filename)
        run = _run if _run is not None else _Run(Resolver())
        known = run.results.get(path)
        if known is None and run.results:
            return ()  # leaklint's discovery left it out: excluded, or .gitignore'd
        try:
            config = run.resolver.for_path(path)
        except ConfigError as err:
            sys.stderr.write(f"leaklint: error: {err}\n")
            raise SystemExit(2) from None
        if known is not None and self._honour_noqa and _text_of(path) == _newlines(source):
            return known.findings
        project = run.project(config) if known is not None else None
        result = check_source(
            source, self.filename, config, honour_noqa=self._honour_noqa, project=project
        )
        return result.findings
