"""LL900 file-not-analysed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class FileNotAnalysed(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:  # pragma: no cover - not a leak
        raise TypeError("LL900 is reported by the runner, not the analysis")


RULE = FileNotAnalysed(
    code="LL900",
    name="file-not-analysed",
    summary="The file could not be read or parsed; it was skipped and the run went on.",
    bad_example="print 'hello'  # Python 2\n",
    good_example="print('hello')\n",
    docs='''\
## What it does
Reports, in one line, a file that leaklint could not analyse: it does not parse as
Python 3 (a syntax error, Python 2 code), it is not valid in its declared encoding, it is
binary, or it could not be read (permissions, a dangling symlink, a directory named
`x.py`). The other files are still checked.

## Why is this bad?
A file that is not analysed may hide leaks; the line says why, so it can be fixed or
excluded (`exclude` in `[tool.leaklint]`).

{examples}
## Fix safety
There is no fix: the file has to be made readable and valid Python 3, or excluded.
''',
)
