"""``--diff``: a unified diff of a file's bytes, in the file's own encoding and newlines, so
that ``patch -p1`` and ``git apply`` apply it to the file as it is."""

from __future__ import annotations

import difflib
import os

_NO_NEWLINE = b"\\ No newline at end of file\n"


def unified_diff(path: str, before: bytes, after: bytes) -> bytes:
    """The diff from ``before`` to ``after`` (``a/PATH``, ``b/PATH``). Lines are cut at
    ``\\n`` only, as ``patch`` and ``git`` cut them (a CRLF line keeps its ``\\r``; a CR-only
    file is one line to them); a last line without one is marked as they mark it."""
    name = os.fsencode(path)
    diff = difflib.diff_bytes(
        difflib.unified_diff, _lines(before), _lines(after), b"a/" + name, b"b/" + name
    )
    out = []
    for line in diff:
        out.append(line)
        if not line.endswith(b"\n"):  # the file's last line, with no end
            out.append(b"\n" + _NO_NEWLINE)
    return b"".join(out)


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    last = lines.pop()
    return [line + b"\n" for line in lines] + ([last] if last else [])
