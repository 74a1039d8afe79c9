"""Real leak fixes mined from public projects' histories: leaklint, pylint and ruff on the
function before and after each fix.

    python benchmarks/leakfixes.py                 # cut the cases, run the tools, write the report
    python benchmarks/leakfixes.py --only leaklint # one tool (the others' rows say "not run")
    python benchmarks/leakfixes.py --jobs 2        # leaklint runs two files at a time
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
https://github.com/<owner>/<name> /work/.mirror/<owner>+<name>/repo``. Only read-only git
commands run on a mirror: ``show``, ``rev-parse``, ``ls-tree`` and ``cat-file --batch``.

leaklint is measured twice:

- **whole project** (``leaklint``, the headline): each side is checked inside the project's
  tree at that revision, as a developer runs it in a checkout. The tree (its ``*.py`` files
  and ``pyproject.toml`` files, the only files leaklint reads; a mirror may lack large
  blobs, which are never Python) is materialised once per (repository, revision) into
  ``benchmarks/.cache/leakfixes/trees/<owner>+<name>/<sha>/`` (git-ignored, reused by later
  runs) with ``git ls-tree`` and ``git cat-file --batch``; then ``leaklint check --no-cache
  --format json <path>`` runs with the tree's root as its working folder, one run per file,
  so it reads the project modules the file imports (a factory such as PIL's ``Image.open``
  or a test helper such as ``hopper()`` is known);
- **single file** (``leaklint-file``): each side is one file cut out alone, written to
  ``benchmarks/.cache/leakfixes/<id>/before/<path>`` and ``.../after/<path>``, with no other
  module of the project beside it (as a linter sees a file pasted into an editor).

Both run leaklint from a snapshot of the checkout's committed sources (``git archive HEAD
leaklint``, as ``benchmarks/compare.py`` does), so others' uncommitted edits do not leak in,
and with ``python -P`` on 3.11+ (a project's top-level module never shadows the standard
library). pylint (R1732 consider-using-with) and ruff (SIM115) run once over the single-file
cuts, as ``benchmarks/compare.py`` invokes them: ruff's SIM115 matches ``open()`` calls in
the file's text and pylint's R1732 a fixed list of standard-library callables by inferred
name, so neither would find more in the project tree.

Scoring, per tool:

- recall: a labelled acquiring line counts as found when the tool reports a finding in the
  ``before`` function at that line or anywhere on the statement that holds it;
- precision: found labels against false positives, a false positive being any finding on the
  ``after`` side inside the fixed function (the fix released what leaked: a finding there
  says the fixed code still leaks), except at lines listed in ``after_leaks`` (where the fix
  left another leak in place);
- findings in the ``before`` function at unlabelled lines are listed as "unlabelled" and do
  not count either way (the fix did not touch them; they may be other leaks or noise).

Intervals are Wilson's 95% score intervals (``realworld.wilson``). leaklint's misses (whole
project mode) are classed in ``benchmarks/leakfixes/misses.csv`` (case id, line, class, note);
a miss without a row there is listed as "unclassed"; its after-side false positives carry a
note from ``benchmarks/leakfixes/false_positives.csv``. The report is
``benchmarks/leakfixes.md``; ``--report-only`` rewrites it from the last run's findings
(``benchmarks/.cache/leakfixes/findings.json``). Not part of the test suite.

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
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the peers' command lines)
from realworld import wilson  # noqa: E402

CASES = HERE / "leakfixes" / "cases.csv"
MISSES = HERE / "leakfixes" / "misses.csv"
FALSE_POSITIVES = HERE / "leakfixes" / "false_positives.csv"  # id, line, code, note
CUT = HERE / ".cache" / "leakfixes"
REPORT = HERE / "leakfixes.md"
MIRRORS = Path(os.environ.get("LEAKFIXES_MIRRORS", "/work/.mirror"))
FIELDS = ["id", "repo", "commit", "path", "function", "before", "after", "acquire", "kind",
          "after_leaks", "description"]
KINDS = ["file", "socket", "process", "db connection", "pool checkout", "lock", "http response",
         "async client", "project-owned class", "tempfile", "other"]
MISS_CLASSES = ["unknown resource type", "receiver type unknown", "ownership assumed to move",
                "control flow", "other"]
TOOLS = ["leaklint", "leaklint-file", "pylint", "ruff"]
LABELS = {"leaklint": "leaklint (whole project)", "leaklint-file": "leaklint (single file)"}
TREES = CUT / "trees"


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


def mirror(repo: str) -> Path:
    gitdir = MIRRORS / repo.replace("/", "+") / "repo"
    if not gitdir.is_dir():
        raise SystemExit(f"no mirror of {repo} at {gitdir}: fetch it first (see the docstring)")
    return gitdir


def git(repo: str, *args: str) -> str:
    """Run a read-only git command on a repository's mirror."""
    proc = subprocess.run(["git", f"--git-dir={mirror(repo)}", *args], capture_output=True,
                          text=True)
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


def wanted_in_tree(path: str) -> bool:
    """A file of the project leaklint may read (a module, or a configuration)."""
    return path.endswith(".py") or path.rsplit("/", 1)[-1] == "pyproject.toml"


def materialise(repo: str, revision: str) -> Path:
    """The project's tree at ``revision`` (its Python files and ``pyproject.toml`` files), in
    ``TREES``; made once and reused (a ``.complete`` marker says a tree is whole). A blob the
    mirror lacks (a partial fetch) is left out and counted on standard error."""
    root = TREES / repo.replace("/", "+") / revision
    if (root / ".complete").exists():
        return root
    listing = git(repo, "ls-tree", "-r", "-z", revision).split("\0")
    entries = []
    for item in filter(None, listing):
        meta, path = item.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and mode in ("100644", "100755") and wanted_in_tree(path):
            entries.append((sha, path))
    proc = subprocess.run(["git", f"--git-dir={mirror(repo)}", "cat-file", "--batch"],
                          input="".join(f"{sha}\n" for sha, _ in entries).encode(),
                          capture_output=True, check=True)
    out, at, missing = proc.stdout, 0, 0
    TREES.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tree-", dir=TREES))
    for sha, path in entries:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if header[-1] == b"missing":
            missing += 1
            continue
        size = int(header[2])
        target = staging / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(out[at:at + size])
        at += size + 1
    if missing:
        print(f"{repo}@{revision[:10]}: {missing} files absent from the mirror", file=sys.stderr)
    (staging / ".complete").write_text(f"{len(entries) - missing} files\n")
    root.parent.mkdir(parents=True, exist_ok=True)
    if root.exists():  # an earlier run stopped half-way
        subprocess.run(["rm", "-rf", "--", str(root)], check=True)
    staging.rename(root)
    return root


def trees(case: Case) -> tuple[Path, Path]:
    """The case's file in the project's tree before and after the fix."""
    parent = git(case.repo, "rev-parse", f"{case.commit}^").strip()
    return (materialise(case.repo, parent) / case.path,
            materialise(case.repo, case.commit) / case.path)


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


def leaklint_command() -> list[str]:
    """leaklint as ``compare.py`` runs it, with ``-P`` where Python has it (a project module
    at the tree's root never shadows the standard library)."""
    command = peer_args("leaklint -j 1")
    if sys.version_info >= (3, 11):
        command.insert(1, "-P")
    return command


def run_leaklint_in(pairs: list[tuple[Path, Path]], jobs: int,
                    env: dict[str, str]) -> dict[Path, list[tuple[int, str]]]:
    """leaklint once per (file, working folder): the file named relative to the folder."""
    command = leaklint_command()
    environment = {**os.environ, **env}

    def one(pair: tuple[Path, Path]) -> tuple[Path, list[dict]]:
        path, cwd = pair
        proc = subprocess.run([*command, str(path.relative_to(cwd))], cwd=cwd,
                              capture_output=True, text=True, env=environment, check=False)
        return path, findings(proc, "leaklint")

    found: dict[Path, list[tuple[int, str]]] = defaultdict(list)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        for path, items in pool.map(one, pairs):
            for item in items:
                if item["code"].startswith("LL9"):
                    print(f"{path}: {item['code']} {item['message']}", file=sys.stderr)
                else:
                    found[path].append((item["line"], item["code"]))
    return found


def tree_root(path: Path) -> Path:
    """The materialised tree a file sits in."""
    return next(folder for folder in path.parents if folder.parent.parent == TREES)


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


def run_leaklint_file(files: list[Path], jobs: int,
                      env: dict[str, str]) -> dict[Path, list[tuple[int, str]]]:
    """Single-file mode: each cut file alone in its folder."""
    return run_leaklint_in([(path, path.parent) for path in files], jobs, env)


def run_leaklint_project(files: list[Path], jobs: int,
                         env: dict[str, str]) -> dict[Path, list[tuple[int, str]]]:
    """Whole-project mode: each file in its tree, the tree's root the working folder."""
    return run_leaklint_in([(path, tree_root(path)) for path in files], jobs, env)


RUNNERS = {"leaklint": run_leaklint_project, "leaklint-file": run_leaklint_file,
           "pylint": lambda files, jobs, env: run_pylint(files),
           "ruff": lambda files, jobs, env: run_ruff(files)}


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


def report(cases: list[Case], outcomes: dict[str, dict[str, Outcome]], ran: list[str],
           meta: dict) -> str:
    misses = {}
    if MISSES.exists():
        with MISSES.open(newline="") as handle:
            for row in csv.DictReader(handle):
                misses[(row["id"], int(row["line"]))] = (row["class"], row["note"])
    labels = sum(len(c.acquire) for c in cases)
    kinds = [k for k in KINDS if any(c.kind == k for c in cases)]
    repos = sorted({c.repo for c in cases})
    shown = [t for t in TOOLS if t in ran]
    names = [LABELS.get(t, t) for t in shown]
    seconds = meta.get("seconds", {})
    timing = "; ".join(f"{LABELS.get(k, k)} {v} s" for k, v in seconds.items())
    out = ["# Real leak fixes: leaklint, pylint and ruff before and after", "",
           "Generated by `python benchmarks/leakfixes.py` (see its docstring; the cases are "
           "`benchmarks/leakfixes/cases.csv`, cut from the projects' own histories).", "",
           f"{len(cases)} fixed functions from {len(repos)} projects, {labels} labelled "
           "acquiring lines. A label is found when the tool reports the `before` function at "
           "that line or on its statement; a false positive is a finding in the fixed function "
           "on the `after` side. Intervals: Wilson 95%.", "",
           "leaklint runs in two modes: **whole project** (the headline: the file checked in "
           f"the project's tree at that revision, {meta.get('trees', '?')} trees materialised, "
           "so the project modules it imports are read) and **single file** (the file cut out "
           "alone). pylint and ruff see the single file: neither reads another module's code "
           f"for these checks. leaklint at commit `{meta.get('engine', '?')}` (committed "
           f"sources); wall time, {meta.get('jobs', 1)} leaklint run(s) at a time: {timing}.", "",
           "| tool | recall | precision | false positives (after) | unlabelled (before) |",
           "| --- | --- | --- | --- | --- |"]
    for tool in TOOLS:
        if tool not in ran:
            out.append(f"| {LABELS.get(tool, tool)} | not run | | | |")
            continue
        found = sum(len(o.found) for o in outcomes[tool].values())
        false = sum(len(o.false) for o in outcomes[tool].values())
        unlabelled = sum(len(o.unlabelled) for o in outcomes[tool].values())
        out.append(f"| {LABELS.get(tool, tool)} | {ratio(found, labels)} | "
                   f"{ratio(found, found + false)} | "
                   f"{false} | {unlabelled} |")
    out += ["", "## Recall by kind", "",
            "| kind | cases | labels | " + " | ".join(names) + " |",
            "| --- | --- | --- | " + " | ".join("---" for t in shown) + " |"]
    for kind in kinds:
        group = [c for c in cases if c.kind == kind]
        total = sum(len(c.acquire) for c in group)
        cells = [ratio(sum(len(outcomes[t][c.id].found) for c in group), total)
                 for t in TOOLS if t in ran]
        out.append(f"| {kind} | {len(group)} | {total} | " + " | ".join(cells) + " |")
    out += ["", "## Precision by kind", "",
            "| kind | " + " | ".join(names) + " |",
            "| --- | " + " | ".join("---" for t in shown) + " |"]
    for kind in kinds:
        group = [c for c in cases if c.kind == kind]
        cells = []
        for tool in shown:
            found = sum(len(outcomes[tool][c.id].found) for c in group)
            false = sum(len(outcomes[tool][c.id].false) for c in group)
            cells.append(ratio(found, found + false))
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    if "leaklint" in ran:
        out += ["", "## leaklint's misses (whole project)", "",
                "Classes: " + "; ".join(MISS_CLASSES) + " (`benchmarks/leakfixes/misses.csv`). "
                "Each note says what the engine does not see.",
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
        out += false_positive_notes(cases, outcomes["leaklint"])
    if "leaklint" in ran and "leaklint-file" in ran:
        out += mode_changes(cases, outcomes)
    root_misses = sum(1 for case in cases for line in outcomes.get("leaklint", {}).get(
        case.id, Outcome()).missed
        if any(w in misses.get((case.id, line), ("", ""))[1] for w in ("import root", "src/")))
    out += ["", "## Reading the numbers", "",
            "- In single-file mode a factory or class defined in another module of the project "
            "(PIL's `Image.open`, a test helper such as `hopper()`, dask's `Client`) is unknown, "
            "as it is to pylint and ruff here. In whole-project mode leaklint reads the modules "
            "the file imports, found from the file's own package root (the folder above its "
            "outermost `__init__.py`); a module only importable through an install or a "
            "`src/` folder (pytest's `src/_pytest` seen from `testing/`), or from the project "
            "root by a test folder without `__init__.py` (`distributed/tests/`), is still not "
            f"read: {root_misses} of the misses below name the import root or `src/` in "
            "their note.",
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
    for tool in (t for t in shown if t != "leaklint-file"):  # its differences: see above
        for case in cases:
            outcome = outcomes[tool][case.id]
            out += [f"| {LABELS.get(tool, tool)} | {case.id} `{case.function}` | after | {line} "
                    f"| {code} |" for line, code in outcome.false]
            out += [f"| {LABELS.get(tool, tool)} | {case.id} `{case.function}` | before | {line} "
                    f"| {code} |"
                    for line, code in outcome.unlabelled]
    out += ["", "## Cases", "", "| id | project | commit | function | kind | labels | "
            + " | ".join(names) + " | fix |",
            "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for t in shown)
            + " | --- |"]
    for case in cases:
        marks = []
        for tool in shown:
            o = outcomes[tool][case.id]
            marks.append(f"{len(o.found)}/{len(case.acquire)}" + (f" +{len(o.false)}fp" if o.false
                                                                 else ""))
        out.append(f"| {case.id} | {case.repo} | {case.commit[:10]} | `{case.path}` "
                   f"`{case.function}` | {case.kind} | {';'.join(map(str, case.acquire))} | "
                   + " | ".join(marks) + f" | {case.description} |")
    return "\n".join(out) + "\n"


def false_positive_notes(cases: list[Case], outcomes: dict[str, Outcome]) -> list[str]:
    """leaklint's after-side false positives, each with its note from ``FALSE_POSITIVES``."""
    notes = {}
    if FALSE_POSITIVES.exists():
        with FALSE_POSITIVES.open(newline="") as handle:
            notes = {(row["id"], int(row["line"]), row["code"]): row["note"]
                     for row in csv.DictReader(handle)}
    out = ["", "## leaklint's false positives (whole project, after the fix)", "",
           "Notes: `benchmarks/leakfixes/false_positives.csv`.", "",
           "| case | line | code | note |", "| --- | --- | --- | --- |"]
    for case in cases:
        out += [f"| {case.id} `{case.function}` | {line} | {code} | "
                f"{notes.get((case.id, line, code), 'no note')} |"
                for line, code in outcomes[case.id].false]
    return out


def mode_changes(cases: list[Case], outcomes: dict[str, dict[str, Outcome]]) -> list[str]:
    """What reading the project changed for leaklint: labels and false positives one mode has
    and the other has not."""
    out = ["", "## What the project tree changed for leaklint", "",
           "Labels found, and false positives reported, in one mode and not the other.", "",
           "| case | line | kind | whole project | single file |", "| --- | --- | --- | --- | --- |"]
    for case in cases:
        project, single = outcomes["leaklint"][case.id], outcomes["leaklint-file"][case.id]
        for line in case.acquire:
            if (line in project.found) != (line in single.found):
                out.append(f"| {case.id} `{case.function}` | {line} | {case.kind} | "
                           f"{'found' if line in project.found else 'missed'} | "
                           f"{'found' if line in single.found else 'missed'} |")
        for line, code in sorted(set(project.false) ^ set(single.false)):
            where = "whole project" if (line, code) in project.false else "single file"
            out.append(f"| {case.id} `{case.function}` | after {line} | {case.kind} | "
                       f"{code} false positive in {where} only | |")
    return out


def read_cases() -> list[Case]:
    with CASES.open(newline="") as handle:
        return [Case.from_row(row) for row in csv.DictReader(handle)]


FOUND = CUT / "findings.json"  # the last run's raw findings, for ``--report-only``


def engine() -> str:
    """The leaklint commit measured (its committed sources: see ``compare.snapshot``)."""
    return subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=HERE.parent,
                          capture_output=True, text=True, check=True).stdout.strip()


def main_run(args: argparse.Namespace) -> None:
    cases = read_cases()
    cuts = {case.id: cut(case) for case in cases}
    ran = [t for t in TOOLS if not args.only or t in args.only]
    if args.report_only:
        saved = json.loads(FOUND.read_text())
        ran, meta = saved["ran"], saved["meta"]
        found = {tool: {case: {side: [tuple(f) for f in items] for side, items in sides.items()}
                        for case, sides in per_case.items()}
                 for tool, per_case in saved["found"].items()}
    else:
        meta = {"engine": engine(), "seconds": {}, "jobs": args.jobs}
        found = {}
        start = time.perf_counter()
        tree_sides = {case.id: trees(case) for case in cases} if "leaklint" in ran else {}
        meta["seconds"]["materialise"] = round(time.perf_counter() - start, 1)
        meta["trees"] = len({path.parent for pair in tree_sides.values() for path in pair})
        with tempfile.TemporaryDirectory() as folder:
            env = compare.snapshot(folder, "HEAD")
            for tool in ran:
                sides = tree_sides if tool == "leaklint" else cuts
                files = [path.resolve() for pair in sides.values() for path in pair]
                print(f"running {tool} on {len(files)} files ...", file=sys.stderr)
                start = time.perf_counter()
                raw = RUNNERS[tool](files, args.jobs, env)
                meta["seconds"][tool] = round(time.perf_counter() - start, 1)
                found[tool] = {case.id: {"before": raw.get(sides[case.id][0].resolve(), []),
                                         "after": raw.get(sides[case.id][1].resolve(), [])}
                               for case in cases}
        FOUND.write_text(json.dumps({"ran": ran, "meta": meta, "found": found}))
    outcomes: dict[str, dict[str, Outcome]] = {}
    for tool in ran:
        outcomes[tool] = {}
        for case in cases:
            before, after = cuts[case.id]
            outcomes[tool][case.id] = score(case, found[tool][case.id]["before"],
                                            found[tool][case.id]["after"],
                                            (before.read_text().splitlines(),
                                             after.read_text().splitlines()))
    text = report(cases, outcomes, ran, meta)
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
    parser.add_argument("--jobs", type=int, default=1, help="leaklint files at a time")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the last run's findings")
    args = parser.parse_args()
    if args.command == "add":
        main_add(args)
    else:
        main_run(args)


if __name__ == "__main__":
    main()
