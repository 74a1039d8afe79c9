"""SARIF 2.1.0: one run, every rule's metadata from its docs, and for a leak along a path a
``codeFlows`` trace (acquired here → this statement raises / this return skips the release →
still held when the function ends).

With a runtime report, a result a test run confirmed has ``properties.confirmedAtRuntime``
(true) and ``properties.runtime`` (the leak, as in the report); a leak no finding stands at is
a result of its own, level ``warning``, with ``properties.missedByStaticAnalysis`` (true)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from leaklint import __version__
from leaklint.results import Finding, SuggestedFix
from leaklint.notebook import located
from leaklint.report import SourceLines, fingerprints
from leaklint.rules import ALL_RULES, FILE_NOT_ANALYSED, Rule
from leaklint.runtime import RuntimeJoin, RuntimeLeak

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


def _uri(path: str) -> str:
    """A relative path stays relative (code-scanning services resolve it against the
    checkout); an absolute one becomes a ``file://`` URI."""
    posix = Path(path).as_posix()
    if os.path.isabs(path):
        return "file://" + quote(Path(path).resolve().as_posix())
    return quote(posix)


def _section(docs: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", docs, re.M | re.S)
    return match.group(1).strip() if match else ""


def _descriptor(rule: Rule) -> dict[str, object]:
    full = _section(rule.docs, "What it does") or rule.summary
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": full},
        "help": {"text": rule.docs.strip(), "markdown": rule.docs.strip()},
        "defaultConfiguration": {"level": "warning" if rule is FILE_NOT_ANALYSED else "error"},
        "properties": {"tags": ["resource-leak"] if rule is not FILE_NOT_ANALYSED else []},
    }


def _location(
    path: str, line: int, col: int | None, text: str | None = None, cell: int | None = None
) -> dict[str, object]:
    """In a notebook, ``line`` is its cell's and ``properties.cell`` (1-based) says which."""
    region = {"startLine": line} if col is None else {"startLine": line, "startColumn": col + 1}
    where: dict[str, object] = {
        "physicalLocation": {"artifactLocation": {"uri": _uri(path)}, "region": region}
    }
    if text is not None:
        where["message"] = {"text": text}
    if cell is not None:
        where["properties"] = {"cell": cell}
    return where


def _missed(leak: RuntimeLeak, index: dict[str, int]) -> dict[str, object]:
    """A runtime leak no finding stands at (no column: tracemalloc knows lines only)."""
    result: dict[str, object] = {
        "ruleId": leak.label,
        "level": "warning",
        "message": {"text": f"{leak.summary}; the static analysis did not report it"},
        "locations": [_location(leak.path, leak.line, None)],
        "properties": {"missedByStaticAnalysis": True, "runtime": leak.to_json()},
    }
    if leak.code in index:
        result["ruleIndex"] = index[leak.code]
    return result


def _fix(path: str, fix: SuggestedFix) -> dict[str, object]:
    """A ``fix`` (SARIF 3.55): its title, the file's replacements (an empty deleted region is
    an insertion), and in ``properties`` its applicability (``safe``/``unsafe``) and why."""
    return {
        "description": {"text": fix.message},
        "artifactChanges": [
            {
                "artifactLocation": {"uri": _uri(path)},
                "replacements": [
                    {
                        "deletedRegion": {
                            "startLine": edit.line,
                            "startColumn": edit.col,
                            "endLine": edit.end_line,
                            "endColumn": edit.end_col,
                        },
                        "insertedContent": {"text": edit.content},
                    }
                    for edit in fix.edits
                ],
            }
        ],
        "properties": {"applicability": fix.applicability, "reason": fix.reason},
    }


def render_sarif(
    findings: Sequence[Finding], source: SourceLines, runtime: RuntimeJoin = RuntimeJoin()
) -> str:
    index = {rule.code: i for i, rule in enumerate(ALL_RULES)}
    results = []
    for finding, print_ in zip(findings, fingerprints(findings, source, os.getcwd())):
        rule = index.get(finding.code)
        cell, line = located(finding)
        result: dict[str, object] = {
            "ruleId": finding.code,
            "level": "warning" if finding.code == FILE_NOT_ANALYSED.code else "error",
            "message": {"text": finding.message},
            "locations": [_location(finding.path, line, finding.col, cell=cell)],
            "partialFingerprints": {"leaklintFingerprint/v1": print_},
        }
        if rule is not None:
            result["ruleIndex"] = rule
        if finding.related:
            result["codeFlows"] = [
                {
                    "threadFlows": [
                        {
                            "locations": [
                                {"location": _location(finding.path, step_line, col, label, step_cell)}
                                for (step_cell, step_line), (_, col, label) in zip(
                                    (located(finding, line) for line, _, _ in finding.related),
                                    finding.related,
                                )
                            ]
                        }
                    ]
                }
            ]
        if finding.fix is not None and not finding.cells:
            result["fixes"] = [_fix(finding.path, finding.fix)]
        leak = runtime.confirmed.get(finding)
        if leak is not None:
            result["properties"] = {"confirmedAtRuntime": True, "runtime": leak.to_json()}
        results.append(result)
    results += [_missed(leak, index) for leak in runtime.missed]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "leaklint",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_descriptor(rule) for rule in ALL_RULES],
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"
