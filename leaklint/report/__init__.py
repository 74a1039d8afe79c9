"""Formatters: findings in, text out. Columns are printed 1-based, like flake8 and ruff."""

from __future__ import annotations

import json
from collections.abc import Sequence

from leaklint.core import Finding
from leaklint.rules import RULES_BY_CODE

FORMATS = ("text", "json")


def render(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "json":
        return render_json(findings)
    return render_text(findings)


def render_text(findings: Sequence[Finding]) -> str:
    return "".join(
        f"{f.path}:{f.line}:{f.col + 1}: {f.code} {f.message}\n" for f in findings
    )


def render_json(findings: Sequence[Finding]) -> str:
    rows = [
        {
            "path": f.path,
            "line": f.line,
            "column": f.col + 1,
            "code": f.code,
            "name": RULES_BY_CODE[f.code].name if f.code in RULES_BY_CODE else None,
            "message": f.message,
        }
        for f in findings
    ]
    return json.dumps(rows, indent=2) + "\n"
