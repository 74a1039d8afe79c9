"""Baselines: record today's findings, then report only new ones.

A finding is known by its fingerprint (see ``leaklint.report.fingerprints``): the code, the
path relative to the baseline file's folder, the text of the reported line with its spacing
normalised, and its occurrence index. Lines added or removed above it do not change it;
editing the line itself, or moving the file, makes the finding new again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leaklint.config import ConfigError
from leaklint.results import Finding
from leaklint.report import SourceLines, fingerprints, relative_path, source_text

VERSION = 1


def write_baseline(path: Path, findings: Sequence[Finding], source: SourceLines) -> None:
    anchor = os.path.dirname(os.path.abspath(path))
    rows = [
        {
            "code": f.code,
            "path": relative_path(f.path, anchor),
            "line": f.line,
            "fingerprint": print_,
            "message": f.message,
        }
        for f, print_ in zip(findings, fingerprints(findings, source, anchor))
    ]
    text = json.dumps({"leaklint-baseline": VERSION, "findings": rows}, indent=2) + "\n"
    Path(path).write_text(text, "utf-8")


def read_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file holds; a file that is not one is a ConfigError."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the baseline: {err.strerror or err}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ConfigError(f"{path}: not a leaklint baseline (invalid JSON: {err})") from None
    if (
        not isinstance(data, dict)
        or data.get("leaklint-baseline") != VERSION
        or not isinstance(data.get("findings"), list)
        or not all(isinstance(r, dict) and isinstance(r.get("fingerprint"), str) for r in data["findings"])
    ):
        raise ConfigError(
            f"{path}: not a leaklint baseline of version {VERSION} "
            "(write one with --write-baseline)"
        )
    return frozenset(row["fingerprint"] for row in data["findings"])


def new_findings(
    path: Path, known: frozenset[str], findings: Sequence[Finding], source: SourceLines
) -> list[Finding]:
    """The findings whose fingerprint the baseline at ``path`` does not hold."""
    anchor = os.path.dirname(os.path.abspath(path))
    return [
        f for f, print_ in zip(findings, fingerprints(findings, source, anchor)) if print_ not in known
    ]


@dataclass(frozen=True, slots=True)
class Baseline:
    """A baseline as a run uses it: the fingerprints it holds, and the file it was read from
    (paths are relative to that file's folder). Picklable, for fixing in worker processes."""

    path: Path
    known: frozenset[str]

    @classmethod
    def read(cls, path: Path) -> Baseline:
        return cls(path, read_baseline(path))

    def new(self, findings: Sequence[Finding], source: SourceLines) -> list[Finding]:
        """The findings the baseline does not hold."""
        return new_findings(self.path, self.known, findings, source)

    def new_in(self, findings: Sequence[Finding], path: str, data: bytes) -> list[Finding]:
        """The findings of one file the baseline does not hold, the file being ``data``
        (not what is on disk: fixing asks this of each round's source)."""
        return self.new(findings, SourceLines(given={path: source_text(data)}))
