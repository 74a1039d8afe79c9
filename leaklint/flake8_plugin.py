"""flake8 adapter: flake8 hands us the file's lines; the core does the rest.

The core applies ``[tool.leaklint]`` (select, ignore, per-file-ignores) and its own
suppressions (``# noqa`` on the first or last line of a multi-line statement,
``# leaklint: ignore[...]``), so both front ends agree; ``flake8 --disable-noqa`` switches
the core's suppressions off too and shows everything, as users expect.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaklint import __version__
from leaklint.analysis.summaries import Project
from leaklint.config import Config, ConfigError, load_config
from leaklint.core import check_source
from leaklint.runner import discover, summarise


@lru_cache(maxsize=64)
def _config_for(folder: str) -> Config:
    try:
        return load_config(None, start=Path(folder))
    except ConfigError as err:  # flake8 has no error channel for a plugin: say it, go on
        sys.stderr.write(f"leaklint: error: {err}; using the default configuration\n")
        return Config()


@lru_cache(maxsize=4)
def _project_for(paths: tuple[str, ...], config: Config) -> Project:
    """The summaries of the files flake8 was asked to check, as the CLI's run has them."""
    return summarise(discover(paths, config), config)


class Plugin:
    name = "leaklint"
    version = __version__
    _paths: tuple[str, ...] = (".",)
    _honour_noqa = True

    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls._paths = tuple(getattr(options, "filenames", None) or (".",))
        cls._honour_noqa = not getattr(options, "disable_noqa", False)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        folder = os.path.dirname(os.path.abspath(self.filename)) or "."
        config = _config_for(folder)
        source = "".join(self.lines)
        project: Project | None = _project_for(self._paths, config)
        if os.path.normpath(self.filename) not in project.paths:
            project = None  # a file the run did not list (stdin): it stands alone
        result = check_source(
            source, self.filename, config, honour_noqa=self._honour_noqa, project=project
        )
        for finding in result.findings:
            if finding.code == "LL900":
                continue  # flake8 reports files it cannot parse itself (E902/E999)
            yield finding.line, finding.col, f"{finding.code} {finding.message}", type(self)
