"""How many of the real-world corpus's findings ``--fix --unsafe-fixes`` resolves (issue 24).

    python benchmarks/realworld.py --only NAME   # fetches the pinned wheels first (once)
    python benchmarks/fix_realworld.py [-j N] [PATH-SUBSTRING ...]
    python benchmarks/fix_realworld.py --projects [NAME ...]   # issue 24 item 4

For every file with a finding in ``benchmarks/realworld/findings.json`` (the pinned wheels
under ``benchmarks/.cache/corpus/`` and the running Python's standard library), the fixes
are applied in process, with ``--unsafe-fixes``: a finding counts as fixed when it is gone
afterwards, as safely fixed when a safe fix removed it. Every fixed file must compile, a
second run must change nothing, and its comments must all still be there. The counts go to
``benchmarks/fix_realworld.md``. Each file is analysed on its own (not with its project's
other files), so a few findings differ from the CLI's over the whole project.

``--projects``: the proof on real test suites. For each of ``PROJECTS`` (pure-Python
projects whose tests run offline), its sdist (``pip download --no-deps --no-binary :all:``,
kept in ``benchmarks/.cache/fixproof/``, never committed) is unpacked afresh; its tests run
(pytest, JUnit XML); ``leaklint check --fix --unsafe-fixes`` runs on the whole project, as a
user would; the tests run again. A test that passed before and fails after is a bug in a
fix. The table (findings, fixed, left by reason, tests before/after) goes into the
``## Real projects`` part of ``benchmarks/fix_realworld.md``.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tokenize
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from leaklint.config import Config
from leaklint.core import check_source
from leaklint.fixes import FIXABLE_CODES, WAITS_OR_JOINS, fix_source
from leaklint.fixes.apply import refusal_reasons

HERE = Path(__file__).resolve().parent
FINDINGS = HERE / "realworld" / "findings.json"
CORPUS = HERE / ".cache" / "corpus"
REPORT = HERE / "fix_realworld.md"


def _comments(data: bytes) -> Counter[str]:
    try:
        tokens = tokenize.tokenize(io.BytesIO(data).readline)
        return Counter(t.string for t in tokens if t.type == tokenize.COMMENT)
    except (tokenize.TokenError, SyntaxError):
        return Counter()


def fix_one(path: str) -> dict:
    """One file: its findings by code, those fixed (any, safe), the checks on the result."""
    data = Path(path).read_bytes()
    config = Config(root=str(Path(path).parent))
    first = check_source(data, path, config)
    outcome = fix_source(data, path, config, unsafe=True, first=first)
    before = Counter(f.code for f in first.findings)
    after = Counter(f.code for f in (outcome.remaining or first).findings)
    row: dict = {
        "path": path,
        "findings": dict(before),
        "fixed": {code: max(0, before[code] - after[code]) for code in before},
        "safe": dict(Counter(a.code for a in outcome.applied if a.safety == "safe")),
        "unsafe_reasons": dict(Counter(a.safety for a in outcome.applied if a.safety != "safe")),
        "left": _left(outcome.fixed or data, path, config, (outcome.remaining or first).findings),
        "error": outcome.error,
        "compiles": True,
        "idempotent": True,
        "comments_kept": True,
    }
    if outcome.fixed is not None:
        try:
            compile(outcome.fixed, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            row["compiles"] = False
        again = fix_source(outcome.fixed, path, config, unsafe=True)
        row["idempotent"] = again.fixed is None
        row["comments_kept"] = _comments(outcome.fixed) == _comments(data)
    return row


def _left(data: bytes, path: str, config: Config, findings: list) -> list[tuple[str, str]]:
    """Each finding left after the fixes, with why no fix removed it (the planners' own
    reason, or the waiting factory's)."""
    why = refusal_reasons(data, path, config, findings)
    left = []
    for f in findings:
        factory = _FACTORY.search(f.message)
        reason = why.get((f.line, f.col, f.code), "no fix shape matches this place")
        if factory and factory.group(1) in WAITS_OR_JOINS:
            reason = "never fixed: " + WAITS_OR_JOINS[factory.group(1)]
        left.append((f.code, reason))
    return left


def corpus_files(substrings: list[str]) -> list[str]:
    saved = json.loads(FINDINGS.read_text("utf-8"))
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    files = set()
    for finding in saved["findings"]:
        if finding["project"] == "stdlib":
            root = stdlib
        else:
            root = CORPUS / f"{finding['project']}-{finding['version']}"
        path = root / finding["path"]
        if path.exists():
            files.add(str(path))
    return sorted(f for f in files if not substrings or any(s in f for s in substrings))


def report(rows: list[dict], only: list[str]) -> str:
    findings, fixed, safe = Counter(), Counter(), Counter()
    for row in rows:
        findings.update(row["findings"])
        fixed.update(row["fixed"])
        safe.update(row["safe"])
    total, done, done_safe = sum(findings.values()), sum(fixed.values()), sum(safe.values())
    lines = [
        "# Fixes on real code (issue 24)",
        "",
        "`python benchmarks/fix_realworld.py`: the real-world corpus's files with findings "
        "(`realworld/findings.json`), fixed in process with `--unsafe-fixes`, each file on "
        "its own." + (f" Only the files whose path contains {', '.join(only)}." if only else ""),
        "",
        f"- files: {len(rows)}; findings: {total}",
        f"- with a fix (safe or unsafe): {done} ({done / total:.0%}); safe: {done_safe} "
        f"({done_safe / total:.0%})",
        f"- fixed files that do not compile: {sum(not r['compiles'] for r in rows)}; "
        f"a second run changes: {sum(not r['idempotent'] for r in rows)}; "
        f"comments lost: {sum(not r['comments_kept'] for r in rows)}; "
        f"files refused (errors): {sum(bool(r['error']) for r in rows)}",
        "",
        "| rule | findings | fixed | safe |",
        "|---|---|---|---|",
    ]
    for code in sorted(findings):
        lines.append(f"| {code} | {findings[code]} | {fixed[code]} | {safe[code]} |")
    reasons = Counter()
    for row in rows:
        reasons.update(row["unsafe_reasons"])
    if reasons:
        lines += ["", "Unsafe fixes applied, by reason:", ""]
        lines += [f"- {n} × {reason}" for reason, n in reasons.most_common()]
    left = Counter(tuple(item) for row in rows for item in row["left"])
    if left:
        lines += ["", "Left, by reason (the planners' own reason for giving no fix):", "",
                  "| reason | findings | rules |", "|---|---:|---|"]
        by_reason: dict[str, Counter[str]] = {}
        for (code, reason), n in left.items():
            by_reason.setdefault(reason, Counter())[code] += n
        for reason, codes in sorted(by_reason.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
            rules = ", ".join(f"{c} {n}" for c, n in sorted(codes.items()))
            lines.append(f"| {reason} | {sum(codes.values())} | {rules} |")
    errors = Counter(row["error"].split(";")[0] for row in rows if row["error"])
    if errors:
        lines += ["", "Files left as they were:", ""]
        lines += [f"- {n} × {error}" for error, n in errors.most_common()]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Project:
    """A project whose test suite runs offline: its release, where its code is imported from
    (relative to the unpacked sdist) and the arguments of pytest that run its tests."""

    name: str
    version: str
    pythonpath: str
    pytest: tuple[str, ...]

    @property
    def folder(self) -> str:
        return f"{self.name}-{self.version}"


#: Projects of first contact (rounds 1, 2 and 4) whose tests need nothing beyond pytest.
#: tqdm's own addopts need pytest-asyncio and pytest-timeout: they are dropped (its asyncio
#: tests and timing tests are left out with them). click has findings but no fix for them.
PROJECTS = (
    Project("bottle", "0.13.4", ".", ("test",)),
    Project("tqdm", "4.70.1", ".", ("tests", "-o", "addopts=", "-k", "not perf and not asyncio",
                                   "--ignore", "tests/tests_asyncio.py")),
    Project("websocket-client", "1.9.2", ".", ("websocket/tests",)),
    Project("aiosqlite", "0.22.1", ".", ("aiosqlite/tests/smoke.py",)),
    Project("ptyprocess", "0.7.0", ".", ("tests",)),
    Project("click", "8.5.1", "src", ("tests",)),
)
FIXPROOF = HERE / ".cache" / "fixproof"
TEST_TIMEOUT = 1800


def _sdist(project: Project) -> Path:
    """The release's sdist, downloaded once (first contact's copy if it has one)."""
    for folder in (FIXPROOF / "dist", HERE / ".cache" / "firstcontact" / "dist" / project.folder):
        for found in sorted(folder.glob(f"{project.name.replace('-', '_')}-{project.version}.tar.gz")) + sorted(
            folder.glob(f"{project.folder}.tar.gz")
        ):
            return found
    (FIXPROOF / "dist").mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "-d", str(FIXPROOF / "dist"), f"{project.name}=={project.version}"],
        check=True,
    )
    return _sdist(project)


def _unpack(project: Project) -> Path:
    """A fresh copy of the sdist's tree (what a fix wrote before is gone)."""
    work = FIXPROOF / "work"
    shutil.rmtree(work / project.folder, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    with tarfile.open(_sdist(project)) as archive:
        top = archive.getnames()[0].split("/")[0]
        archive.extractall(work, filter="data")
    if top != project.folder:
        (work / top).rename(work / project.folder)
    return work / project.folder


def _tests(project: Project, root: Path, label: str) -> dict[str, str]:
    """Run the project's tests: each test's outcome (passed, failed, error, skipped)."""
    report = root.parent / f"{project.folder}-{label}.xml"
    env = {**os.environ, "PYTHONPATH": str(root / project.pythonpath), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NO_COLOR", None)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:leaklint",
         "--junitxml", str(report), *project.pytest],
        cwd=root, env=env, capture_output=True, text=True, timeout=TEST_TIMEOUT,
    )
    outcomes: dict[str, str] = {}
    for case in ET.parse(report).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = {child.tag for child in case}
        outcome = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        outcomes[name] = {"failure": "failed"}.get(outcome, outcome)
    return outcomes


def _leaklint(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "leaklint", "check", "--no-cache", "--format", "json", *args, "."],
        cwd=root, env=env, capture_output=True, text=True,
    )


_FACTORY = re.compile(r"from ([\w.]+)\(\)")


def left_reason(finding: dict, refused: set[str], root: Path) -> str:
    """Why a finding is still there after ``--fix --unsafe-fixes``: the planners' own reason
    (``refusal_reasons``, the file analysed on its own) unless the file was refused, the rule
    has no fix or the factory waits or joins."""
    if finding["path"] in refused:
        return "file not fixed (see the run's message)"
    if finding["code"] not in FIXABLE_CODES:
        return f"{finding['code']} has no fix"
    factory = _FACTORY.search(finding["message"])
    if factory and factory.group(1) in WAITS_OR_JOINS:
        return "never fixed: " + WAITS_OR_JOINS[factory.group(1)]
    path = root / finding["path"]
    place = SimpleNamespace(line=finding["line"], col=finding["column"] - 1, code=finding["code"])
    try:
        why = refusal_reasons(path.read_bytes(), str(path), Config(root=str(root)), [place])
    except Exception as err:  # noqa: BLE001 - a reason that cannot be found is said so
        return f"no reason found ({type(err).__name__})"
    return why.get((place.line, place.col, place.code), "no fix shape matches this place")


def prove(project: Project) -> dict:
    """Tests, ``--fix --unsafe-fixes``, tests again, on a fresh copy of ``project``."""
    root = _unpack(project)
    before_tests = _tests(project, root, "before")
    before = json.loads(_leaklint(root).stdout or "[]")
    fixing = _leaklint(root, "--fix", "--unsafe-fixes")
    refused = {
        line.split(": ")[1] for line in fixing.stderr.splitlines()
        if line.startswith("leaklint: ") and ": " in line[10:] and not line.startswith("leaklint: fixed")
    }
    again = _leaklint(root, "--fix", "--unsafe-fixes")  # a fresh analysis of the fixed tree
    after = json.loads(again.stdout or "[]")
    after_tests = _tests(project, root, "after")
    newly = sorted(t for t, o in after_tests.items() if o in ("failed", "error") and before_tests.get(t) == "passed")
    count_before, count_after = Counter(f["code"] for f in before), Counter(f["code"] for f in after)
    return {
        "project": project,
        "findings": sum(count_before.values()),
        "fixed": sum(count_before.values()) - sum(count_after.values()),
        "by_code": {c: (count_before[c], count_before[c] - count_after[c]) for c in sorted(count_before)},
        "left": Counter(left_reason(f, refused, root) for f in after),
        "summary": (fixing.stderr.strip().splitlines() or [""])[-1],
        "second": (again.stderr.strip().splitlines() or [""])[-1],
        "tests_before": Counter(before_tests.values()),
        "tests_after": Counter(after_tests.values()),
        "newly_failing": newly,
    }


def projects_report(rows: list[dict]) -> str:
    def tests(counts: Counter) -> str:
        return ", ".join(f"{counts[k]} {k}" for k in ("passed", "failed", "error", "skipped") if counts[k])

    lines = [
        "## Real projects: their tests before and after `--fix --unsafe-fixes` (issue 24 item 4)",
        "",
        "`python benchmarks/fix_realworld.py --projects`: each sdist unpacked afresh, its tests "
        "run (pytest), `leaklint check --no-cache --fix --unsafe-fixes .` on the whole project, "
        "the tests again.",
        "",
        "| project | findings | fixed | by rule (findings/fixed) | tests before | tests after | newly failing |",
        "|---|---:|---:|---|---|---|---:|",
    ]
    for row in rows:
        by_code = ", ".join(f"{c} {n}/{f}" for c, (n, f) in row["by_code"].items())
        lines.append(
            f"| {row['project'].name} {row['project'].version} | {row['findings']} | {row['fixed']} | "
            f"{by_code} | {tests(row['tests_before'])} | {tests(row['tests_after'])} | "
            f"{len(row['newly_failing'])} |"
        )
    lines += ["", "Left after the fixes, by reason:", ""]
    for row in rows:
        left = "; ".join(f"{n} × {why}" for why, n in row["left"].most_common()) or "nothing"
        lines.append(f"- {row['project'].name}: {left}")
    lines += ["", "leaklint's summaries (the fix, then a second `--fix`):", ""]
    for row in rows:
        lines.append(f"- {row['project'].name}: `{row['summary']}`; again: `{row['second']}`")
    newly = [f"{row['project'].name}: {t}" for row in rows for t in row["newly_failing"]]
    if newly:
        lines += ["", "Tests newly failing:", "", *(f"- {t}" for t in newly)]
    return "\n".join(lines) + "\n"


def _replace_part(text: str, title: str, part: str) -> str:
    """``text`` with its part starting at ``## title`` replaced by ``part`` (appended if none)."""
    start = text.find(f"## {title}")
    if start < 0:
        return text.rstrip("\n") + "\n\n" + part
    end = text.find("\n## ", start + 3)
    return text[:start] + part + (text[end + 1:] if end >= 0 else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--projects", action="store_true", help="the proof on real test suites")
    parser.add_argument("only", nargs="*", help="only files whose path contains one of these")
    args = parser.parse_args()
    if args.projects:
        rows = [prove(p) for p in PROJECTS if not args.only or p.name in args.only]
        part = projects_report(rows)
        REPORT.write_text(_replace_part(REPORT.read_text("utf-8"), "Real projects", part), "utf-8")
        print(part)
        sys.exit(1 if any(row["newly_failing"] for row in rows) else 0)
    files = corpus_files(args.only)
    if not files:
        sys.exit("no corpus files: run benchmarks/realworld.py first")
    with multiprocessing.Pool(args.jobs) as pool:
        rows = list(pool.imap_unordered(fix_one, files))
    text = report(sorted(rows, key=lambda r: r["path"]), args.only)
    kept = REPORT.read_text("utf-8") if REPORT.exists() else ""
    start = kept.find("\n## ")  # the parts after this one (--projects', the notes) stay
    REPORT.write_text(text + (kept[start:] if start >= 0 else ""), "utf-8")
    print(text)


if __name__ == "__main__":
    main()
