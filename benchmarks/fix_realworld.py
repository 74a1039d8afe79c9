"""How many of the real-world corpus's findings ``--fix --unsafe-fixes`` resolves (issue 24).

    python benchmarks/realworld.py --only NAME   # fetches the pinned wheels first (once)
    python benchmarks/fix_realworld.py [-j N] [PATH-SUBSTRING ...]

For every file with a finding in ``benchmarks/realworld/findings.json`` (the pinned wheels
under ``benchmarks/.cache/corpus/`` and the running Python's standard library), the fixes
are applied in process, with ``--unsafe-fixes``: a finding counts as fixed when it is gone
afterwards, as safely fixed when a safe fix removed it. Every fixed file must compile, a
second run must change nothing, and its comments must all still be there. The counts go to
``benchmarks/fix_realworld.md``. Each file is analysed on its own (not with its project's
other files), so a few findings differ from the CLI's over the whole project.

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import sys
import sysconfig
import tokenize
from collections import Counter
from pathlib import Path

from leaklint.config import Config
from leaklint.core import check_source
from leaklint.fixes import fix_source

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
        "left": [f"{f.code}" for f in (outcome.remaining or first).findings],
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
    errors = Counter(row["error"].split(";")[0] for row in rows if row["error"])
    if errors:
        lines += ["", "Files left as they were:", ""]
        lines += [f"- {n} × {error}" for error, n in errors.most_common()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("only", nargs="*", help="only files whose path contains one of these")
    args = parser.parse_args()
    files = corpus_files(args.only)
    if not files:
        sys.exit("no corpus files: run benchmarks/realworld.py first")
    with multiprocessing.Pool(args.jobs) as pool:
        rows = list(pool.imap_unordered(fix_one, files))
    text = report(sorted(rows, key=lambda r: r["path"]), args.only)
    REPORT.write_text(text, "utf-8")
    print(text)


if __name__ == "__main__":
    main()
