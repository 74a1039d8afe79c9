"""The formats other tools read (issue 25 item 5), through the real CLI, each checked by its
consumer where one is on the index (junitparser for JUnit) or against a JSON schema written
from the consumer's public specification (GitLab Code Quality, reviewdog's rdjson)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from test_cli import THREE_RULES, check, write

#: GitLab's Code Quality report: an array of issues; the fields GitLab reads are required
#: (docs: ci/testing/code_quality, "Code Quality report format").
GITLAB_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string"},
                    "lines": {
                        "type": "object",
                        "required": ["begin"],
                        "properties": {"begin": {"type": "integer", "minimum": 1}},
                    },
                },
            },
        },
    },
}
_POSITION = {
    "type": "object",
    "properties": {"line": {"type": "integer", "minimum": 1}, "column": {"type": "integer", "minimum": 1}},
    "additionalProperties": False,
}
_SEVERITY = {"enum": ["UNKNOWN_SEVERITY", "ERROR", "WARNING", "INFO"]}
#: reviewdog's Diagnostic Format, DiagnosticResult (proto/rdf/reviewdog.proto; jsonschema/)
RDJSON_SCHEMA = {
    "type": "object",
    "required": ["diagnostics"],
    "additionalProperties": False,
    "properties": {
        "source": {"type": "object", "properties": {"name": {"type": "string"}, "url": {"type": "string"}}},
        "severity": _SEVERITY,
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["message", "location"],
                "additionalProperties": False,
                "properties": {
                    "message": {"type": "string"},
                    "location": {
                        "type": "object",
                        "required": ["path"],
                        "additionalProperties": False,
                        "properties": {
                            "path": {"type": "string"},
                            "range": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": {"start": _POSITION, "end": _POSITION},
                            },
                        },
                    },
                    "severity": _SEVERITY,
                    "source": {"type": "object"},
                    "code": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {"value": {"type": "string"}, "url": {"type": "string"}},
                    },
                    "suggestions": {"type": "array"},
                    "original_output": {"type": "string"},
                },
            },
        },
    },
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    write(root, "a.py", THREE_RULES)
    write(root, "sub dir/b;c].py", "def f(p):\n    return open(p).read()\n")
    return root


def _out(project: Path, fmt: str) -> str:
    proc = check("--format", fmt, ".", cwd=project)
    assert proc.returncode == 1, proc.stderr
    return proc.stdout


def test_gitlab_code_quality(project: Path) -> None:
    issues = json.loads(_out(project, "gitlab"))
    jsonschema.validate(issues, GITLAB_SCHEMA)
    assert len(issues) == 4 and len({i["fingerprint"] for i in issues}) == 4
    assert {(i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues} >= {("a.py", 2)}


def test_rdjson(project: Path) -> None:
    result = json.loads(_out(project, "rdjson"))
    jsonschema.validate(result, RDJSON_SCHEMA)
    first = result["diagnostics"][0]
    assert first["location"] == {"path": "a.py", "range": {"start": {"line": 2, "column": 9}}}
    assert first["code"]["value"] == "LL100"


def test_junit_read_by_junitparser(project: Path, tmp_path: Path) -> None:
    junitparser = pytest.importorskip("junitparser")
    report = tmp_path / "junit.xml"
    report.write_text(_out(project, "junit"))
    xml = junitparser.JUnitXml.fromfile(str(report))
    cases = [case for suite in xml for case in suite]
    assert len(cases) == 4
    assert all(isinstance(r, junitparser.Failure) for case in cases for r in case.result)
    assert {case.classname for case in cases} == {"a.py", "sub dir/b;c].py"}
    assert any("LL100" in r.message for case in cases for r in case.result)


def test_json_lines_pylint_azure(project: Path) -> None:
    rows = [json.loads(line) for line in _out(project, "json-lines").splitlines()]
    assert rows == json.loads(_out(project, "json"))
    pylint = _out(project, "pylint").splitlines()
    assert pylint[0] == f"a.py:2: [LL100] {rows[0]['message']}"
    azure = _out(project, "azure").splitlines()
    pattern = re.compile(r"^##vso\[task\.logissue type=error;sourcepath=([^;\]]+);linenumber=(\d+);"
                         r"columnnumber=(\d+);code=(LL\d{3});\](.+)$")
    parsed = [pattern.match(line) for line in azure]
    assert all(parsed) and len(parsed) == 4
    assert [m.group(1) for m in parsed if "b%3Bc%5D" in m.group(1)]  # ; and ] escaped


def test_concise_full_text_and_colour(project: Path) -> None:
    concise, text = _out(project, "concise"), _out(project, "text")
    assert concise == text and "^" not in text  # off a terminal text is concise
    full = _out(project, "full")
    assert "  2 |     f = open(path)\n" in full and "^" in full
    assert "\x1b[" not in text
    coloured = check("--color", "always", ".", cwd=project).stdout
    assert "\x1b[" in coloured and re.sub(r"\x1b\[[0-9;]*m", "", coloured) == text
    env = {**os.environ, "FORCE_COLOR": "1"}
    forced = subprocess.run([sys.executable, "-m", "leaklint", "check", "."], cwd=project,
                            env=env, capture_output=True, text=True, check=False).stdout
    assert "\x1b[" in forced
    never = subprocess.run([sys.executable, "-m", "leaklint", "check", "--color", "never", "."],
                           cwd=project, env=env, capture_output=True, text=True, check=False).stdout
    assert never == text
