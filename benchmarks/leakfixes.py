"""Real leak fixes mined from public projects' histories: leaklint, pylint and ruff on the
function before and after each fix.

    python benchmarks/leakfixes.py                 # cut the cases, run the tools, write the report
    python benchmarks/leakfixes.py --only leaklint # one tool (the others' rows say "not run")
    python benchmarks/leakfixes.py add REPO SHA PATH QUALNAME 'SNIPPET[|SNIPPET]' KIND 'DESCRIPTION'

The cases are ``benchmarks/leakfixes/cases.csv``: one row per fixed function, naming the
repository (``owner/name`` on GitHub), the fix commit, the file, the function (its qualified
name: ``Class.method``, ``outer.inner``), its line range in the fix's parent (``before``) and
in the fix (``after``), the acquiring line(s) in ``before`` (the lines whose resource the
fix releases), the kind of resource and one line on the fix. Only this metadata is committed:
the code is cut from local git mirrors of the projects, which must be fetched first as bare
git directories at ``/work/.mirror/<owner>+<name>/repo`` (``$LEAKFIXES_MIRRORS`` overrides
``/work/.mirror``); in a session with the ``fetch`` tool that is ``fetch github:<owner>/<name>``
for each repository the CSV names, elsewhere ``git clone --bare
https://github.com/<owner>/<name> /work/.mirror/<owner>+<name>/repo``. Nothing but ``git
--git-dir=<mirror> show <commit>:<path>`` (and ``rev-parse``) is run on a mirror.

Each side of each case is one file, written to ``benchmarks/.cache/leakfixes/<id>/before/<path>``
and ``.../after/<path>`` (git-ignored): every tool sees the same single file, with no other
module of the project beside it. leaklint runs once per file (so two cases' copies of one
module never meet in one run's summaries), pylint (R1732 consider-using-with) and ruff
(SIM115) once over all of them, each as ``benchmarks/compare.py`` invokes it.

Scoring, per tool:

- recall: a labelled acquiring line counts as found when the tool reports a finding in the
  ``before`` function at that line or anywhere on the statement that holds it;
- precision: found labels against false positives, a false positive being any finding on the
  ``after`` side inside the fixed function (the fix released what leaked: a finding there
  says the fixed code still leaks), except at lines listed in ``after_leaks`` (where the fix
  left another leak in place);
- findings in the ``before`` function at unlabelled lines are listed as "unlabelled" and do
  not count either way (the fix did not touch them; they may be other leaks or noise).

Intervals are Wilson's 95% score intervals (``realworld.wilson``). leaklint's misses are
classed in ``benchmarks/leakfixes/misses.csv`` (case id, line, class, note); a miss without a
row there is listed as "unclassed". The report is ``benchmarks/leakfixes.md``. Not part of the
test suite.

``add`` writes a row: it finds the function in the parent and in the fix with ``ast``, and each
snippet's first line inside the parent's function (a snippet may end in ``@N`` for its Nth
occurrence).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the peers' command lines)
from realworld import wilson  # noqa: E402

CASES = HERE / "leakfixes" / "cases.csv"
MISSES = HERE / "leakfixes" / "misses.csv"
CUT = HERE / ".cache" / "leakfixes"
REPORT = HERE / "leakfixes.md"
MIRRORS = Path(os.environ.get("LEAKFIXES_MIRRORS", "/work/.mirror"))
FIELDS = ["id", "repo", "commit", "path", "function", "before", "after", "acquire", "kind",
          "after_leaks", "description"]
KINDS = ["file", "socket", "process", "db connection", "pool checkout", "lock", "http response",
         "async client", "project-owned class", "tempfile", "other"]
MISS_CLASSES = ["unknown resource type", "receiver type unknown", "ownership assumed to move",
                "control flow", "other"]
TOOLS = ["leaklint", "pylint", "ruff"]


@dataclass
class Case:
    id: str
    repo: str
    commit: str
    path: str
    function: str
    before: tuple[int, int]
    after: tuple[int, int]
    acquire: list[int]
    kind: str
    after_leaks: list[int]
    description: str
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # label -> its statement

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Case:
        return cls(row["id"], row["repo"], row["commit"], row["path"], row["function"],
                   span(row["before"]), span(row["after"]), lines(row["acquire"]), row["kind"],
                   lines(row["after_leaks"]), row["description"])


def span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last)


def lines(text: str) -> list[int]:
    return [int(part) for part in text.split(";") if part.strip()]


def git(repo: str, *args: str) -> str:
    """Run git on a repository's mirror (the only command this script runs on one)."""
    gitdir = MIRRORS / repo.replace("/", "+") / "repo"
    if not gitdir.is_dir():
        raise SystemExit(f"no mirror of {repo} at {gitdir}: fetch it first (see the docstring)")
    proc = subprocess.run(["git", f"--git-dir={gitdir}", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} on {repo}: {proc.stderr.strip()}")
    return proc.stdout


def source(repo: str, revision: str, path: str) -> str:
    return git(repo, "show", f"{revision}:{path}")


def find_function(text: str, qualname: str) -> ast.AST:
    """The def (or class, for a class body) named by a dotted qualified name."""
    scope: list[ast.AST] = [ast.parse(text)]
    for part in qualname.split("."):
        found = None
        for parent in scope:
            for node in ast.walk(parent):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                        and node.name == part:
                    found = node
                    break
            if found:
                break
        if found is None:
            raise LookupError(f"no {qualname} ({part})")
        scope = [found]
    return scope[0]


def extent(node: ast.AST) -> tuple[int, int]:
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return first, node.end_lineno or node.lineno


def statement_spans(text: str, function: ast.AST, labels: list[int]) -> dict[int, tuple[int, int]]:
    """Each label's statement: the innermost statement holding it (a compound one's header)."""
    spans = {}
    for label in labels:
        best: tuple[int, int] = (label, label)
        for node in ast.walk(function):
            if not isinstance(node, ast.stmt) or node is function:
                continue
            last = node.end_lineno or node.lineno
            body = getattr(node, "body", None)
            if isinstance(body, list) and body:  # a compound statement: its header only
                last = body[0].lineno - 1 if body[0].lineno > node.lineno else node.lineno
            if node.lineno <= label <= last and (best == (label, label) or
                                                 last - node.lineno <= best[1] - best[0]):
                best = (node.lineno, max(last, label))
        spans[label] = best
    return spans


# --- cutting --------------------------------------------------------------------------------

def cut(case: Case) -> tuple[Path, Path]:
    parent = git(case.repo, "rev-parse", f"{case.commit}^").strip()
    folder = CUT / case.id
    sides = []
    for side, revision in (("before", parent), ("after", case.commit)):
        target = folder / side / case.path
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source(case.repo, revision, case.path)
        target.write_text(text)
        sides.append(target)
    before_text = sides[0].read_text()
    function = find_function(before_text, case.function)
    if extent(function) != case.before:
        print(f"{case.id}: {case.function} spans {extent(function)} in the parent, "
              f"the CSV says {case.before}", file=sys.stderr)
    case.spans = statement_spans(before_text, function, case.acquire)
    return sides[0], sides[1]


# --- running the tools ----------------------------------------------------------------------

def peer_args(name: str) -> list[str]:
    for tool in compare.tools(1, "", sys.executable, {}):
        if tool.name == name:
            return tool.command()
    raise LookupError(name)


def findings(proc: subprocess.CompletedProcess, tool: str) -> list[dict]:
    """A tool's JSON output; a tool that failed stops the run (no silent zeros)."""
    try:
        if proc.returncode == 0:
            return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        pass
    raise SystemExit(f"{tool} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")


def run_leaklint(files: list[Path]) -> dict[Path, list[tuple[int, str]]]:
    command = [*peer_args("leaklint -j 1")]
    found: dict[Path, list[tuple[int, str]]] = defaultdict(list)
    for path in files:
        proc = subprocess.run([*command, path.name], cwd=path.parent, capture_output=True,
                              text=True)
        for item in findings(proc, "leaklint"):
            if item["code"].startswith("LL9"):
                print(f"{path}: {item['code']} {item['message']}", file=sys.stderr)
            else:
                found[path].append((item["line"], item["code"]))
    return found


def run_pylint(files: list[Path]) -> dict[Path, list[tuple[int, str]]]:
    command = [a for a in peer_args("pylint") if a not in ("-j", "1")]
    found: dict[Path, list[tuple[int, str]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as empty:
        proc = subprocess.run([*command, *map(str, files)], cwd=empty, capture_output=True,
                              text=True)
    for item in findings(proc, "pylint"):
        if item["message-id"] == "R1732":
            found[Path(item["path"]).resolve()].append((item["line"], "R1732"))
    return found


def run_ruff(files: list[Path]) -> dict[Path, list[tuple[int, str]]]:
    found: dict[Path, list[tuple[int, str]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as empty:
        proc = subprocess.run([*peer_args("ruff"), *map(str, files)], cwd=empty,
                              capture_output=True, text=True)
    for item in findings(proc, "ruff"):
        found[Path(item["filename"]).resolve()].append((item["location"]["row"], item["code"]))
    return found


RUNNERS = {"leaklint": run_leaklint, "pylint": run_pylint, "ruff": run_ruff}


# --- scoring --------------------------------------------------------------------------------

@dataclass
class Outcome:
    found: list[int] = field(default_factory=list)  # labels reported
    missed: list[int] = field(default_factory=list)
    false: list[tuple[int, str]] = field(default_factory=list)  # after-side findings
    unlabelled: list[tuple[int, str]] = field(default_factory=list)


def score(case: Case, before: list[tuple[int, str]], after: list[tuple[int, str]],
          texts: tuple[list[str], list[str]]) -> Outcome:
    """One tool on one case; ``texts`` are the lines of the before and after files."""
    outcome = Outcome()
    inside = [(line, code) for line, code in before if case.before[0] <= line <= case.before[1]]
    claimed = set()
    for label in case.acquire:
        first, last = case.spans.get(label, (label, label))
        hits = [(line, code) for line, code in inside if first <= line <= last or line == label]
        (outcome.found if hits else outcome.missed).append(label)
        claimed.update(hits)
    outcome.unlabelled = sorted(set(inside) - claimed)
    # an unlabelled finding that the fix left as it was (same code on a line of the same text)
    # is the same finding after the fix, not a false positive
    kept = {(texts[0][line - 1].strip(), code) for line, code in outcome.unlabelled}
    outcome.false = sorted({(line, code) for line, code in after
                            if case.after[0] <= line <= case.after[1]
                            and line not in case.after_leaks
                            and (texts[1][line - 1].strip(), code) not in kept})
    return outcome


def ratio(hits: int, total: int) -> str:
    if total == 0:
        return "-"
    low, high = wilson(hits, total)
    return f"{hits}/{total} = {hits / total:.2f} ({low:.2f}-{high:.2f})"


def report(cases: list[Case], outcomes: dict[str, dict[str, Outcome]], ran: list[str]) -> str:
    misses = {}
    if MISSES.exists():
        with MISSES.open(newline="") as handle:
            for row in csv.DictReader(handle):
                misses[(row["id"], int(row["line"]))] = (row["class"], row["note"])
    labels = sum(len(c.acquire) for c in cases)
    kinds = [k for k in KINDS if any(c.kind == k for c in cases)]
    repos = sorted({c.repo for c in cases})
    out = ["# Real leak fixes: leaklint, pylint and ruff before and after", "",
           "Generated by `python benchmarks/leakfixes.py` (see its docstring; the cases are "
           "`benchmarks/leakfixes/cases.csv`, cut from the projects' own histories).", "",
           f"{len(cases)} fixed functions from {len(repos)} projects, {labels} labelled "
           "acquiring lines. A label is found when the tool reports the `before` function at "
           "that line or on its statement; a false positive is a finding in the fixed function "
           "on the `after` side. Intervals: Wilson 95%.", "",
           "| tool | recall | precision | false positives (after) | unlabelled (before) |",
           "| --- | --- | --- | --- | --- |"]
    for tool in TOOLS:
        if tool not in ran:
            out.append(f"| {tool} | not run | | | |")
            continue
        found = sum(len(o.found) for o in outcomes[tool].values())
        false = sum(len(o.false) for o in outcomes[tool].values())
        unlabelled = sum(len(o.unlabelled) for o in outcomes[tool].values())
        out.append(f"| {tool} | {ratio(found, labels)} | {ratio(found, found + false)} | "
                   f"{false} | {unlabelled} |")
    out += ["", "## Recall by kind", "",
            "| kind | cases | labels | " + " | ".join(t for t in TOOLS if t in ran) + " |",
            "| --- | --- | --- | " + " | ".join("---" for t in TOOLS if t in ran) + " |"]
    for kind in kinds:
        group = [c for c in cases if c.kind == kind]
        total = sum(len(c.acquire) for c in group)
        cells = [ratio(sum(len(outcomes[t][c.id].found) for c in group), total)
                 for t in TOOLS if t in ran]
        out.append(f"| {kind} | {len(group)} | {total} | " + " | ".join(cells) + " |")
    out += ["", "## Precision by kind", "",
            "| kind | " + " | ".join(t for t in TOOLS if t in ran) + " |",
            "| --- | " + " | ".join("---" for t in TOOLS if t in ran) + " |"]
    for kind in kinds:
        group = [c for c in cases if c.kind == kind]
        cells = []
        for tool in (t for t in TOOLS if t in ran):
            found = sum(len(outcomes[tool][c.id].found) for c in group)
            false = sum(len(outcomes[tool][c.id].false) for c in group)
            cells.append(ratio(found, found + false))
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    if "leaklint" in ran:
        out += ["", "## leaklint's misses", "",
                "Classes: " + "; ".join(MISS_CLASSES) + " (`benchmarks/leakfixes/misses.csv`).",
                "", "| case | line | kind | class | note |", "| --- | --- | --- | --- | --- |"]
        tally: dict[str, int] = defaultdict(int)
        for case in cases:
            for line in outcomes["leaklint"][case.id].missed:
                klass, note = misses.get((case.id, line), ("unclassed", ""))
                tally[klass] += 1
                out.append(f"| {case.id} `{case.function}` | {line} | {case.kind} | {klass} | "
                           f"{note} |")
        out += ["", "| class | misses |", "| --- | --- |"]
        out += [f"| {k} | {n} |" for k, n in sorted(tally.items(), key=lambda kv: -kv[1])]
    out += ["", "## Reading the numbers", "",
            "- Each side is one file cut out of the project: a factory or class defined in "
            "another module of the project (PIL's `Image.open`, a test helper such as "
            "`hopper()`, dask's `Client`) is unknown to every tool here, as it is to a linter "
            "run on a changed file alone; leaklint would read those modules in the project.",
            "- A case is a fix the project made: the `before` function leaked on some path and "
            "the `after` function releases that resource (read from the diff). Where the fix "
            "left another path leaking, the `after` line is listed in `after_leaks` and a "
            "finding there is not counted against a tool.",
            "- A label is credited whatever the finding's reason: a finding at the acquiring "
            "line about another path of the same resource counts as found.",
            "- The issue's target for leaklint (recall >= 0.85 at precision >= 0.95) is for the "
            "engine work of issue 23; this file measures where it stands.", "",
            "Projects (fetch each as `github:<owner>/<name>` before a run): "
            + ", ".join(f"`{r}`" for r in repos) + "."]
    out += ["", "## Findings besides the labels", "",
            "False positives are findings in the fixed function after the fix; unlabelled "
            "findings are in the function before the fix at lines the fix did not label.", "",
            "| tool | case | side | line | code |", "| --- | --- | --- | --- | --- |"]
    for tool in (t for t in TOOLS if t in ran):
        for case in cases:
            outcome = outcomes[tool][case.id]
            out += [f"| {tool} | {case.id} `{case.function}` | after | {line} | {code} |"
                    for line, code in outcome.false]
            out += [f"| {tool} | {case.id} `{case.function}` | before | {line} | {code} |"
                    for line, code in outcome.unlabelled]
    out += ["", "## Cases", "", "| id | project | commit | function | kind | labels | "
            + " | ".join(t for t in TOOLS if t in ran) + " | fix |",
            "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for t in TOOLS if t in ran)
            + " | --- |"]
    for case in cases:
        marks = []
        for tool in (t for t in TOOLS if t in ran):
            o = outcomes[tool][case.id]
            marks.append(f"{len(o.found)}/{len(case.acquire)}" + (f" +{len(o.false)}fp" if o.false
                                                                 else ""))
        out.append(f"| {case.id} | {case.repo} | {case.commit[:10]} | `{case.path}` "
                   f"`{case.function}` | {case.kind} | {';'.join(map(str, case.acquire))} | "
                   + " | ".join(marks) + f" | {case.description} |")
    return "\n".join(out) + "\n"


def read_cases() -> list[Case]:
    with CASES.open(newline="") as handle:
        return [Case.from_row(row) for row in csv.DictReader(handle)]


def main_run(args: argparse.Namespace) -> None:
    cases = read_cases()
    sides = {case.id: cut(case) for case in cases}
    files = [path for pair in sides.values() for path in pair]
    ran = [t for t in TOOLS if not args.only or t in args.only]
    outcomes: dict[str, dict[str, Outcome]] = {}
    for tool in ran:
        print(f"running {tool} on {len(files)} files ...", file=sys.stderr)
        found = RUNNERS[tool]([f.resolve() for f in files])
        outcomes[tool] = {case.id: score(case, found.get(before.resolve(), []),
                                         found.get(after.resolve(), []),
                                         (before.read_text().splitlines(),
                                          after.read_text().splitlines()))
                          for case, (before, after) in ((c, sides[c.id]) for c in cases)}
    text = report(cases, outcomes, ran)
    REPORT.write_text(text)
    print(text)


# --- authoring ------------------------------------------------------------------------------

def main_add(args: argparse.Namespace) -> None:
    if args.kind not in KINDS:
        raise SystemExit(f"kind must be one of {KINDS}")
    parent = git(args.repo, "rev-parse", f"{args.commit}^").strip()
    commit = git(args.repo, "rev-parse", args.commit).strip()
    before_text = source(args.repo, parent, args.path)
    before = extent(find_function(before_text, args.function))
    after = extent(find_function(source(args.repo, commit, args.path), args.function))
    body = before_text.splitlines()
    acquire = []
    for snippet in args.snippets.split("|"):
        snippet, _, nth = snippet.partition("@")
        hits = [n for n in range(before[0], before[1] + 1) if snippet in body[n - 1]]
        if len(hits) < int(nth or 1):
            raise SystemExit(f"{snippet!r} is not in {args.function} {before}")
        acquire.append(hits[int(nth or 1) - 1])
    rows = []
    if CASES.exists():
        with CASES.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    if any(r["commit"] == commit and r["function"] == args.function and r["path"] == args.path
           for r in rows):
        raise SystemExit("already there")
    number = max((int(r["id"][2:]) for r in rows), default=0) + 1
    rows.append({"id": f"LF{number:03d}", "repo": args.repo, "commit": commit, "path": args.path,
                 "function": args.function, "before": f"{before[0]}-{before[1]}",
                 "after": f"{after[0]}-{after[1]}", "acquire": ";".join(map(str, acquire)),
                 "kind": args.kind, "after_leaks": args.after_leaks,
                 "description": args.description})
    CASES.parent.mkdir(parents=True, exist_ok=True)
    with CASES.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    for line in acquire:
        print(f"LF{number:03d} {args.repo} {args.path}:{line}: {body[line - 1].strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    add = sub.add_parser("add", help="append a case to cases.csv")
    add.add_argument("repo")
    add.add_argument("commit")
    add.add_argument("path")
    add.add_argument("function")
    add.add_argument("snippets", help="text of each acquiring line, '|'-separated")
    add.add_argument("kind")
    add.add_argument("description")
    add.add_argument("--after-leaks", default="", help="after-side lines still leaking, ;-sep")
    parser.add_argument("--only", nargs="*", choices=TOOLS, help="run only these tools")
    args = parser.parse_args()
    if args.command == "add":
        main_add(args)
    else:
        main_run(args)


if __name__ == "__main__":
    main()
