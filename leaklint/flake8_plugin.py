"""flake8 adapter: flake8 hands us the file's lines; the core does the rest.

flake8 applies its own ``# noqa``, so the core's suppression is switched off here and
``flake8 --disable-noqa`` shows everything, as users expect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from leaklint import __version__
from leaklint.config import Config, ConfigError, load_config
from leaklint.core import check_source


@lru_cache(maxsize=64)
def _config_for(folder: str) -> Config:
    try:
        return load_config(None, start=Path(folder))
    except ConfigError:
        return Config()


class Plugin:
    name = "leaklint"
    version = __version__

    def __init__(self, tree: Any, filename: str, lines: Sequence[str]) -> None:
        self.filename = filename
        self.lines = lines

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        folder = os.path.dirname(os.path.abspath(self.filename)) or "."
        config = _config_for(folder)
        source = "".join(self.lines)
        result = check_source(source, self.filename, config, honour_noqa=False)
        for finding in result.findings:
            if finding.code == "LL900":
                continue  # flake8 reports files it cannot parse itself (E902/E999)
            yield finding.line, finding.col, f"{finding.code} {finding.message}", type(self)
