"""Fixes in every output (issue 24 item 3): ``[*]`` in text, a ``fix`` object per JSON row,
SARIF ``fixes``; computed by a plain check, which writes nothing. Through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leaklint.config import Config
from leaklint.core import check_source
from leaklint.fixes.suggest import apply_text_edits, text_edits
from leaklint.results import TextEdit
from test_cli import check, write
from test_fixes import GOLDENS, copies  # noqa: F401 - the fixture
from test_interfaces import _sarif_schema


ONE_SAFE = """\
import json


def load(p):
    f = open(p)
    data = json.load(f)
    f.close()
    return data
"""


def _apply(source: str, fix: dict) -> str:
    edits = [
        TextEdit(e["location"]["line"], e["location"]["column"], e["end_location"]["line"],
                 e["end_location"]["column"], e["content"])
        for e in fix["edits"]
    ]
    return apply_text_edits(source, edits)


@pytest.fixture(scope="module")
def cases(copies: Path) -> Path:
    """The fix goldens' cases, in a folder of their own (``test_fixes.copies``)."""
    return copies


def test_json_fixes_compile_and_remove_their_finding_and_nothing_is_written(cases: Path) -> None:
    before = {p.name: p.read_bytes() for p in cases.iterdir()}
    proc = check("--no-cache", "--format", "json", ".", cwd=cases, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert {p.name: p.read_bytes() for p in cases.iterdir()} == before  # a check writes nothing
    rows = json.loads(proc.stdout)
    fixed = [row for row in rows if row["fix"] is not None]
    assert {row["fix"]["applicability"] for row in fixed} == {"safe", "unsafe"}
    assert len(fixed) >= 20, len(fixed)
    for row in fixed:
        source = (cases / row["path"]).read_text("utf-8")
        after = _apply(source, row["fix"])
        assert after != source
        compile(after, row["path"], "exec", dont_inherit=True)
        # the finding the fix is for is gone: one fewer of its code in the fixed file
        again = check_source(after, str(cases / row["path"]), Config(root=str(cases))).findings
        count = sum(1 for r in rows if r["path"] == row["path"] and r["code"] == row["code"])
        assert sum(1 for f in again if f.code == row["code"]) < count, row
    # the unsafe cases are offered as unsafe, with the reason
    f2 = [r for r in fixed if r["path"] == "unsafe_f2_cursor_escapes.py"]
    assert [r["fix"]["applicability"] for r in f2][:2] == ["unsafe", "unsafe"]
    assert "used after it" in f2[0]["fix"]["reason"]


def test_a_json_fix_is_what_fix_writes(tmp_path: Path) -> None:
    path = write(tmp_path, "a.py", ONE_SAFE)
    (row,) = json.loads(check("--no-cache", "--format", "json", "a.py", cwd=tmp_path).stdout)
    assert row["fix"]["applicability"] == "safe"
    offered = _apply(ONE_SAFE, row["fix"])
    assert path.read_text("utf-8") == ONE_SAFE
    check("--no-cache", "--fix", "a.py", cwd=tmp_path)
    assert path.read_text("utf-8") == offered
    assert "with open(p) as f:" in offered


def test_text_marks_safe_fixes_and_full_counts_the_unsafe_ones(tmp_path: Path) -> None:
    shutil.copy(GOLDENS / "unsafe_f2_cursor_escapes.py", tmp_path / "f2.py")
    rows = json.loads(check("--no-cache", "--format", "json", "f2.py", cwd=tmp_path).stdout)
    safe = sum(1 for r in rows if r["fix"] and r["fix"]["applicability"] == "safe")
    unsafe = sum(1 for r in rows if r["fix"] and r["fix"]["applicability"] == "unsafe")
    assert safe and unsafe
    lines = check("--no-cache", "f2.py", cwd=tmp_path).stdout.splitlines()
    assert len(lines) == len(rows)  # piped: finding lines only, no note
    for line, row in zip(lines, rows):
        marked = row["fix"] is not None and row["fix"]["applicability"] == "safe"
        assert (f" {row['code']} [*] " in line) == marked, line
    full = check("--no-cache", "--format", "full", "f2.py", cwd=tmp_path).stdout
    assert full.endswith(
        f"[*] {safe} fixable with `--fix` ({unsafe} more with `--fix --unsafe-fixes`).\n"
    )


def test_sarif_fixes_are_valid_and_match_the_json_edits(cases: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    log = json.loads(check("--no-cache", "--format", "sarif", ".", cwd=cases, timeout=300).stdout)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    rows = json.loads(check("--no-cache", "--format", "json", ".", cwd=cases, timeout=300).stdout)
    results = log["runs"][0]["results"]
    assert len(results) == len(rows)
    with_fixes = 0
    for result, row in zip(results, rows):
        assert ("fixes" in result) == (row["fix"] is not None)
        if row["fix"] is None:
            continue
        with_fixes += 1
        (fix,) = result["fixes"]
        assert fix["properties"]["applicability"] == row["fix"]["applicability"]
        (change,) = fix["artifactChanges"]
        assert change["artifactLocation"]["uri"] == row["path"]
        assert [
            (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"],
             r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"],
             r["insertedContent"]["text"])
            for r in change["replacements"]
        ] == [
            (e["location"]["line"], e["location"]["column"], e["end_location"]["line"],
             e["end_location"]["column"], e["content"])
            for e in row["fix"]["edits"]
        ]
    assert with_fixes >= 20


_LINES = st.lists(
    st.tuples(st.sampled_from(["a", "bb", "", "  x = 1", "é"]), st.sampled_from(["\n", "\r\n", "\r"])),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(_LINES, _LINES, st.booleans(), st.booleans())
def test_text_edits_rebuild_the_new_text(old: list, new: list, cut_old: bool, cut_new: bool) -> None:
    before = "".join(a + b for a, b in old)
    after = "".join(a + b for a, b in new)
    if cut_old and before:  # no line end at the end of the file
        before = before.rstrip("\r\n")
    if cut_new and after:
        after = after.rstrip("\r\n")
    assert apply_text_edits(before, text_edits(before, after)) == after
