"""The other tools' formats (issue 25 item 5), each as its consumer reads it:

- ``json-lines``: one JSON object per line, the rows of ``json``;
- ``pylint``: ``path:line: [CODE] message``, as ruff writes it for pylint's parsers;
- ``azure``: Azure Pipelines logging commands (``##vso[task.logissue ...]``);
- ``gitlab``: GitLab Code Quality JSON (an array of issues: ``description``, ``check_name``,
  ``fingerprint``, ``severity``, ``location.path``, ``location.lines.begin``);
- ``rdjson``: reviewdog's Diagnostic Format (``source``, ``severity``, ``diagnostics`` with
  ``message``, ``location.path``, ``location.range.start`` 1-based ``line``/``column``,
  ``code.value``);
- ``junit``: a JUnit XML report: one test suite, one failed test case per finding (its
  class name the file).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from xml.etree import ElementTree

from leaklint.notebook import located
from leaklint.results import Finding
from leaklint.rules import RULES_BY_CODE

RULES_URL = "https://github.com/OWNER/leaklint#rules"


def _name(code: str) -> str:
    return RULES_BY_CODE[code].name if code in RULES_BY_CODE else code


def _line(f: Finding) -> int:
    return located(f)[1]


def render_json_lines(findings: Sequence[Finding]) -> str:
    from leaklint.report import _json_row

    return "".join(json.dumps(_json_row(f)) + "\n" for f in findings)


def render_pylint(findings: Sequence[Finding]) -> str:
    return "".join(f"{f.path}:{_line(f)}: [{f.code}] {f.message}\n" for f in findings)


def _vso(text: str) -> str:
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A").replace(";", "%3B").replace("]", "%5D")


def render_azure(findings: Sequence[Finding]) -> str:
    return "".join(
        f"##vso[task.logissue type=error;sourcepath={_vso(f.path)};linenumber={_line(f)};"
        f"columnnumber={f.col + 1};code={f.code};]{_vso(f.message)}\n"
        for f in findings
    )


def _fingerprint(f: Finding, seen: dict[str, int]) -> str:
    base = f"{Path(f.path).as_posix()}\0{f.code}\0{f.message}"
    seen[base] = seen.get(base, 0) + 1
    return hashlib.sha256(f"{base}\0{seen[base]}".encode()).hexdigest()


def render_gitlab(findings: Sequence[Finding]) -> str:
    seen: dict[str, int] = {}
    issues = [
        {
            "description": f"{f.code} {f.message}",
            "check_name": f"{f.code} {_name(f.code)}",
            "fingerprint": _fingerprint(f, seen),
            "severity": "major",
            "location": {"path": Path(f.path).as_posix(), "lines": {"begin": _line(f)}},
        }
        for f in findings
    ]
    return json.dumps(issues, indent=2) + "\n"


def render_rdjson(findings: Sequence[Finding]) -> str:
    result = {
        "source": {"name": "leaklint", "url": RULES_URL},
        "severity": "ERROR",
        "diagnostics": [
            {
                "message": f.message,
                "location": {
                    "path": f.path,
                    "range": {"start": {"line": _line(f), "column": f.col + 1}},
                },
                "severity": "ERROR",
                "code": {"value": f.code, "url": RULES_URL},
            }
            for f in findings
        ],
    }
    return json.dumps(result, indent=2) + "\n"


def render_junit(findings: Sequence[Finding]) -> str:
    suites = ElementTree.Element("testsuites", name="leaklint")
    suite = ElementTree.SubElement(
        suites, "testsuite", name="leaklint", tests=str(len(findings)),
        failures=str(len(findings)), errors="0", skipped="0",
    )
    for f in findings:
        case = ElementTree.SubElement(
            suite, "testcase", classname=f.path, name=f"{f.code} at line {_line(f)}:{f.col + 1}",
            file=f.path, line=str(_line(f)),
        )
        failure = ElementTree.SubElement(case, "failure", message=f"{f.code} {f.message}", type=f.code)
        failure.text = f"{f.path}:{_line(f)}:{f.col + 1}: {f.code} {f.message}"
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(suites, "unicode") + "\n"


RENDERERS = {
    "json-lines": render_json_lines,
    "pylint": render_pylint,
    "azure": render_azure,
    "gitlab": render_gitlab,
    "rdjson": render_rdjson,
    "junit": render_junit,
}
