"""leaklint on popular projects: findings, judged precision, and pylint/ruff side by side.

    python -m pip install -e '.[bench]'
    python benchmarks/realworld.py                  # download, run leaklint, write the report
    python benchmarks/realworld.py --compare        # also pylint consider-using-with, ruff SIM115
    python benchmarks/realworld.py --sample         # (re)draw the seeded sample to judge

The corpus is the pinned wheels below, fetched with ``pip download --no-deps --only-binary
:all:`` into ``benchmarks/.cache/corpus/`` (not committed) and unpacked there, plus the
standard library of the running Python. Wheels carry the projects' own Python sources (the
compiled extensions beside them are ignored), the same for every machine of one platform.

Judgements live in ``benchmarks/realworld/judgements.csv``: one row per judged finding
(project, version, path, line, rule, verdict, reason), the verdict one of ``true`` (a real
leak), ``fp`` (a false positive: the reason says why) or ``debatable``. The sample, per rule:
the judged findings still reported, topped up to ``PER_RULE`` with unjudged ones in a seeded
order (a hash of each finding with ``SEED``), so a fix that removes false positives asks only
for the few findings that move in. Each run matches
the findings against the judgements by (project, path, rule, line, the text of the flagged
line): at pinned versions a finding stays where it was, and one whose line changed is new;
a sampled finding without a verdict, and a judged finding that is gone, are listed for
re-judging.

``benchmarks/realworld/second_judgements.csv`` is a second, blind judgement of the sample (the
brief the second judge had: ``realworld/second_judge_brief.md``); the report gives the two
judges' agreement and precision by each of them and after reconciling.

The report is ``benchmarks/realworld.md``. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402  (the peers' command lines and the machine line are shared)

CORPUS = HERE / ".cache" / "corpus"
JUDGEMENTS = HERE / "realworld" / "judgements.csv"
FINDINGS = HERE / "realworld" / "findings.json"
REPORT = HERE / "realworld.md"
SEED = 10
PER_RULE = 40
VERDICTS = ("true", "fp", "debatable")
FIELDS = ["project", "version", "path", "line", "rule", "verdict", "reason", "text"]
PEER_JUDGEMENTS = HERE / "realworld" / "peer_judgements.csv"
PEER_FIELDS = ["project", "version", "path", "line", "tools", "verdict", "reason", "text"]
PEER_VERDICTS = ("missed", "correct", "debatable")
PEER_SAMPLE = 30
#: A second, blind judgement of the judged sample: ``first`` (the verdict judgements.csv held
#: before), ``second`` (a judge who saw the rubric and the code, not the first verdict) and its
#: reason; ``final`` is judgements.csv's verdict after the two were reconciled by re-reading.
SECOND_JUDGEMENTS = HERE / "realworld" / "second_judgements.csv"
SECOND_FIELDS = ["project", "version", "path", "line", "rule", "first", "second", "final",
                 "reason", "text"]
PRECISION_NOTE = (
    "Precision is the share of the judged findings that are real leaks (the issue's measure: "
    "what fraction of the findings on real projects are real leaks), so a debatable finding "
    "counts against it. A debatable finding is a leak on a path the code can take, but one a "
    "maintainer may reasonably leave (an exception from a call that practically never raises "
    "there, a throw-away script, a test of the finaliser: `realworld/README.md`); the last two "
    "columns show precision with the debatable ones set aside, and counted as real. The "
    "interval is Wilson's 95% score interval of the strict precision: a rule with a handful "
    "of findings in the corpus has a wide one, whatever its judged share."
)
#: leaklint's rules that stand at the acquisition, as pylint's and ruff's findings do
ACQUISITION_RULES = frozenset({"LL100", "LL101", "LL102", "LL110", "LL130", "LL140", "LL150", "LL200"})

#: (distribution, pinned version, the folders of the wheel that are the project's code)
PROJECTS = [
    ("django", "5.2.19", ["django"]),
    ("requests", "2.34.2", ["requests"]),
    ("urllib3", "2.8.0", ["urllib3"]),
    ("sqlalchemy", "2.1.9", ["sqlalchemy"]),
    ("aiohttp", "3.14.5", ["aiohttp"]),
    ("httpx", "0.28.1", ["httpx"]),
    ("celery", "5.7.0", ["celery"]),
    ("paramiko", "5.1.0", ["paramiko"]),
    ("pip", "26.3", ["pip"]),
    ("setuptools", "84.2.1", ["setuptools", "pkg_resources", "_distutils_hack"]),
    ("black", "26.10.1", ["black", "blib2to3", "blackd"]),
    ("tornado", "6.6.1", ["tornado"]),
    ("twisted", "26.10.0", ["twisted"]),
    ("psycopg2-binary", "2.9.13", ["psycopg2"]),
    ("redis", "8.1.0", ["redis"]),
]


@dataclass
class Project:
    name: str
    version: str
    root: Path  # paths in findings and judgements are relative to it

    def files(self) -> list[str]:
        found = []
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in {"__pycache__", "site-packages"})
            found.extend(str(Path(folder) / n) for n in sorted(names) if n.endswith(".py"))
        return found


def fetch(name: str, version: str, folders: list[str]) -> Path:
    """The unpacked wheel of ``name==version`` (downloaded and unpacked on first use)."""
    target = CORPUS / f"{name}-{version}"
    if (target / ".unpacked").exists():
        return target
    wheels = CORPUS / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:",
         "-d", str(wheels), f"{name}=={version}"],
        check=True,
    )
    prefix = name.replace("-", "_").lower()
    wheel = next(
        w for w in sorted(wheels.glob("*.whl"))
        if w.name.lower().startswith(f"{prefix}-{version}-")
    )
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.split("/", 1)[0] in folders]
        archive.extractall(target, members)
    (target / ".unpacked").write_text(wheel.name)
    return target


def corpus(names: set[str] | None) -> list[Project]:
    projects = [
        Project(name, version, fetch(name, version, folders))
        for name, version, folders in PROJECTS
        if not names or name in names
    ]
    if not names or "stdlib" in names:
        root, _ = compare.stdlib_files(skip_tests=False)
        projects.append(Project("stdlib", platform.python_version(), root))
    return projects


def run_json(command: list[str], files: list[str], cwd: str) -> tuple[list[dict], float]:
    start = time.perf_counter()
    proc = subprocess.run([*command, *files], cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    try:
        if proc.returncode == 0:  # every tool runs with --exit-zero
            return json.loads(proc.stdout or "[]"), elapsed
    except json.JSONDecodeError:
        pass
    sys.exit(f"{' '.join(command[:4])} exited {proc.returncode}: {proc.stderr.strip()[-400:]}")


def line_text(path: Path, line: int) -> str:
    try:
        lines = path.read_text("utf-8", errors="replace").splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""
    except OSError:
        return ""


def leaklint_findings(project: Project, jobs: int, cwd: str) -> tuple[list[dict], float, int]:
    files = project.files()
    command = [sys.executable, "-m", "leaklint", "check", "--exit-zero", "--format", "json",
               "--no-cache", "-j", str(jobs)]
    rows, elapsed = run_json(command, files, cwd)
    findings = []
    for row in rows:
        path = Path(row["path"])
        findings.append({
            "project": project.name,
            "version": project.version,
            "path": path.relative_to(project.root).as_posix(),
            "line": row["line"],
            "rule": row["code"],
            "message": row["message"],
            "text": line_text(path, row["line"]),
        })
    return findings, elapsed, len(files)


def peer_findings(project: Project, jobs: int, cwd: str,
                  seconds: dict[str, float] | None = None) -> dict[str, set[tuple[str, int]]]:
    """(relative path, line) of every pylint consider-using-with and ruff SIM115 finding;
    each tool's run time goes into ``seconds`` when given."""
    files = project.files()
    by_tool: dict[str, set[tuple[str, int]]] = {}
    for tool in compare.tools(jobs, "", sys.executable, {}):
        if tool.name not in ("pylint", "ruff") or not tool.available():
            continue
        rows, elapsed = run_json(tool.command(), files, cwd)
        if seconds is not None:
            seconds[tool.name] = elapsed
        found = set()
        for row in rows:
            if row.get("symbol", row.get("code")) not in ("consider-using-with", "SIM115"):
                continue  # pylint's other messages, ruff's syntax errors
            path = row.get("path") or row.get("filename")
            line = row.get("line") or row.get("location", {}).get("row")
            found.add((Path(path).resolve().relative_to(project.root.resolve()).as_posix(), line))
        by_tool[tool.name] = found
    return by_tool


def load_peers(saved: dict) -> dict[str, dict[str, set]]:
    return {p: {t: {tuple(x) for x in v} for t, v in tools.items()}
            for p, tools in saved.get("peers", {}).items()}


def key(row: dict) -> tuple[str, str, str, str, str]:
    """A finding at the pinned versions: where it is and what the flagged line says (the
    same statement can stand twice in a file)."""
    return (row["project"], row["path"], row["rule"], str(row["line"]), row["text"])


def load_judgements() -> dict[tuple[str, str, str, str, str], dict]:
    return load_csv(JUDGEMENTS, key)


def write_judgements(rows: list[dict]) -> None:
    write_csv(JUDGEMENTS, FIELDS, rows)


def top_up(pool: list[dict], judged: dict, key_of, size: int, salt: str) -> list[dict]:
    """The pool's findings judged before, topped up to ``size`` with unjudged ones first in a
    seeded order (a hash of each finding's key), their verdicts copied in: a re-run after a
    fix only asks for the few findings that moved into the sample."""
    def order(row: dict) -> str:
        return hashlib.sha256(f"{SEED}|{salt}|{'|'.join(key_of(row))}".encode()).hexdigest()

    kept = [r for r in pool if judged.get(key_of(r), {}).get("verdict")]
    fresh = sorted((r for r in pool if not judged.get(key_of(r), {}).get("verdict")), key=order)
    chosen = kept + fresh[: max(0, size - len(kept))]
    return [{**r, "verdict": judged.get(key_of(r), {}).get("verdict", ""),
             "reason": judged.get(key_of(r), {}).get("reason", "")} for r in chosen]


def draw_sample(findings: list[dict], judged: dict) -> list[dict]:
    """Up to PER_RULE findings per rule (see ``top_up``)."""
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for finding in findings:
        if finding["rule"] != "LL900":
            by_rule[finding["rule"]].append(finding)
    return [row for rule in sorted(by_rule) for row in top_up(by_rule[rule], judged, key, PER_RULE, rule)]


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval (95% for z = 1.96) of a proportion: where the precision of
    the rule's findings at large may lie, given what its judged sample showed (sound for the
    small samples of the rarer rules, and never outside 0-100%)."""
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * ((p * (1 - p) / trials + z * z / (4 * trials * trials)) ** 0.5) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def precision_table(findings: list[dict], judged: dict) -> tuple[list[str], list[str]]:
    """Markdown rows of precision per rule, and the findings to (re-)judge."""
    present = {key(f) for f in findings}
    counts: dict[str, Counter] = defaultdict(Counter)
    for row in judged.values():
        if key(row) in present and row["verdict"] in VERDICTS:
            counts[row["rule"]][row["verdict"]] += 1
    lines = [
        "| rule | findings | judged | true | false positive | debatable "
        "| precision: true / judged | its 95% interval | debatable set aside: true / (true + fp) "
        "| debatable as true |",
        "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    total_by_rule = Counter(f["rule"] for f in findings if f["rule"] != "LL900")
    for rule in sorted(total_by_rule):
        c = counts[rule]
        judged_n = sum(c.values())
        decided = c["true"] + c["fp"]
        low, high = wilson(c["true"], judged_n) if judged_n else (0.0, 0.0)
        cells = [
            f"{c['true'] / judged_n:.0%}" if judged_n else "n/a",
            f"{low:.0%}-{high:.0%}" if judged_n else "n/a",
            f"{c['true'] / decided:.0%}" if decided else "n/a",
            f"{(c['true'] + c['debatable']) / judged_n:.0%}" if judged_n else "n/a",
        ]
        lines.append(
            f"| {rule} | {total_by_rule[rule]} | {judged_n} | {c['true']} | {c['fp']} "
            f"| {c['debatable']} | " + " | ".join(cells) + " |"
        )
    gone: dict[str, list[dict]] = defaultdict(list)
    for row in judged.values():
        if key(row) not in present and row["verdict"] in VERDICTS:
            gone[row["verdict"]].append(row)
    stale = []
    for verdict, heading in (
        ("true", "judged true, no longer reported: a leak lost (or moved), look at each"),
        ("debatable", "judged debatable, no longer reported"),
        ("fp", "judged false positive, no longer reported: fixed"),
    ):
        if gone[verdict]:
            stale += ["", f"{heading} ({len(gone[verdict])}):", ""]
            stale += [f"- {r['project']} `{r['path']}:{r['line']}` {r['rule']}" for r in gone[verdict]]
    return lines, stale


def ours_at(findings: list[dict], project: str) -> set[tuple[str, int]]:
    """(path, line) of leaklint's findings on an acquisition, the lines the peers flag."""
    return {(f["path"], f["line"]) for f in findings
            if f["project"] == project and f["rule"] in ACQUISITION_RULES}


def side_by_side(findings: list[dict], peers: dict[str, dict[str, set]]) -> list[str]:
    lines = [
        "| project | leaklint | pylint R1732 | ruff SIM115 | only leaklint | only pylint | only ruff |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for project, tools in peers.items():
        ours = ours_at(findings, project)
        pylint, ruff = tools.get("pylint", set()), tools.get("ruff", set())
        lines.append(
            f"| {project} | {len(ours)} | {len(pylint)} | {len(ruff)} | {len(ours - pylint - ruff)} "
            f"| {len(pylint - ours - ruff)} | {len(ruff - ours - pylint)} |"
        )
    return lines


def peer_only(findings: list[dict], peers: dict[str, dict[str, set]],
              projects: list[Project]) -> list[dict]:
    """Every line pylint or ruff flags and leaklint does not."""
    rows = []
    for project in projects:
        theirs: dict[tuple[str, int], set[str]] = defaultdict(set)
        for tool, found in peers.get(project.name, {}).items():
            for path, line in found:
                theirs[(path, line)].add(tool)
        ours = ours_at(findings, project.name)
        for (path, line), tools in sorted(theirs.items()):
            if (path, line) not in ours:
                rows.append({"project": project.name, "version": project.version, "path": path,
                             "line": line, "tools": "+".join(sorted(tools)),
                             "text": line_text(project.root / path, line)})
    return rows


def peer_key(row: dict) -> tuple[str, str, str, str]:
    return (row["project"], row["path"], str(row["line"]), row["text"])


def load_csv(path: Path, key_of) -> dict:
    if not path.exists():
        return {}
    with path.open(newline="", encoding="utf-8") as stream:
        return {key_of(row): row for row in csv.DictReader(stream)}


def write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(rows, key=lambda r: (r.get("rule", ""), r["project"], r["path"], int(r["line"])))
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fields, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def kappa(pairs: list[tuple[str, str]]) -> float:
    """Cohen's kappa of two judges' verdicts: their agreement beyond what their own verdict
    frequencies would give by chance (1: always agree; 0: no better than chance)."""
    n = len(pairs)
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = sum(first[v] * second[v] for v in VERDICTS) / (n * n)
    return 1.0 if chance == 1 else (observed - chance) / (1 - chance)


def agreement_report(findings: list[dict], judged: dict, second: dict) -> list[str]:
    """How far two judges agree on the findings still reported, and precision by each of them
    and after reconciling: a verdict changed by the reconciliation shows in the columns."""
    present = {key(f) for f in findings}
    rows = [r for k, r in second.items()
            if k in present and r["first"] in VERDICTS and r["second"] in VERDICTS]
    if not rows:
        return []
    pairs = [(r["first"], r["second"]) for r in rows]
    agree = sum(a == b for a, b in pairs)
    lines = [
        "## Two judges",
        "",
        f"Every finding of the sample was judged a second time, blind (`"
        f"{SECOND_JUDGEMENTS.relative_to(HERE.parent)}`: the rubric and the code, not the first "
        f"verdict). Of {len(rows)} still reported, the judges agree on {agree} "
        f"({agree / len(rows):.0%}; Cohen's kappa {kappa(pairs):.2f}). Where they differ, the "
        "finding was read again and the verdict the rubric gives kept (`final`, the verdict of "
        "judgements.csv, with its reason).",
        "",
        "| first judge (rows), second (columns) | " + " | ".join(VERDICTS) + " |",
        "|---|" + "---:|" * len(VERDICTS),
    ]
    matrix = Counter(pairs)
    for a in VERDICTS:
        lines.append(f"| {a} | " + " | ".join(str(matrix[(a, b)]) for b in VERDICTS) + " |")
    lines += [
        "",
        "Precision (true / judged) by each judge alone and after reconciling:",
        "",
        "| rule | judged | first judge | second judge | final |",
        "|---|---:|---:|---:|---:|",
    ]
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_rule[r["rule"]].append(r)
    for rule in sorted(by_rule):
        group = by_rule[rule]
        finals = [judged.get(key(r), {}).get("verdict", r["final"]) for r in group]
        cells = [f"{sum(v == 'true' for v in column) / len(group):.0%}"
                 for column in ([r["first"] for r in group], [r["second"] for r in group], finals)]
        lines.append(f"| {rule} | {len(group)} | " + " | ".join(cells) + " |")
    return lines


def difference_report(findings: list[dict], peers: dict[str, dict[str, set]],
                      projects: list[Project], judged: dict, peer_judged: dict) -> list[str]:
    """What the judged differences say: leaks only leaklint finds, its false positives no peer
    has, and the peers' lines leaklint is silent on (a missed leak, or correct code)."""
    flagged = {(p, path, line) for p, tools in peers.items() for found in tools.values()
               for path, line in found}
    at_line = {key(f): (f["project"], f["path"], f["line"]) for f in findings}
    only_ours: Counter = Counter()
    for k, row in judged.items():
        if row["rule"] in ACQUISITION_RULES and k in at_line and at_line[k] not in flagged \
                and row["project"] in peers:
            only_ours[row["verdict"]] += 1
    present = {peer_key(r) for r in peer_only(findings, peers, projects)}
    theirs: Counter = Counter()
    missed = []
    for k, row in peer_judged.items():
        if k in present and row["verdict"] in PEER_VERDICTS:
            theirs[row["verdict"]] += 1
            if row["verdict"] == "missed":
                missed.append(f"- {row['project']} `{row['path']}:{row['line']}` ({row['tools']}): "
                              f"{row['reason']}")
    lines = [
        f"Judged leaklint findings at a line neither pylint nor ruff flags: "
        f"**{only_ours['true']} real leaks only leaklint finds**, {only_ours['fp']} false "
        f"positives only leaklint has, {only_ours['debatable']} debatable.",
        "",
        f"A seeded sample (seed {SEED}) of the lines pylint or ruff flag and leaklint does not, "
        f"judged (`{PEER_JUDGEMENTS.relative_to(HERE.parent)}`): {theirs['correct']} are correct "
        f"code (the peer's false positive: try/finally, a handed-on resource...), "
        f"{theirs['missed']} are leaks leaklint misses, {theirs['debatable']} debatable.",
    ]
    if missed:
        lines += ["", "Leaks leaklint misses (recall bugs to look at):", "", *missed]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated project names (default: all, and stdlib)")
    parser.add_argument("--compare", action="store_true", help="also run pylint and ruff")
    parser.add_argument("--sample", action="store_true",
                        help="write the seeded sample into judgements.csv, keeping verdicts given")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the last run's findings.json instead of running leaklint")
    options = parser.parse_args()
    names = {n.strip() for n in options.only.split(",")} if options.only else None
    projects = corpus(names)

    findings: list[dict] = []
    stats: list[tuple[Project, int, float, Counter]] = []
    peers: dict[str, dict[str, set]] = {}
    if options.reuse:
        saved = json.loads(FINDINGS.read_text("utf-8"))
        findings, stats_rows = saved["findings"], saved["stats"]
        by_name = {p.name: p for p in projects}
        stats = [(by_name[s["project"]], s["files"], s["seconds"], Counter(s["rules"]))
                 for s in stats_rows if s["project"] in by_name]
        peers = load_peers(saved)
    else:
        with tempfile.TemporaryDirectory() as empty:
            for project in projects:
                print(f"{project.name} {project.version} ...", file=sys.stderr, flush=True)
                found, seconds, n_files = leaklint_findings(project, options.jobs, empty)
                findings.extend(found)
                stats.append((project, n_files, seconds, Counter(f["rule"] for f in found)))
                print(f"  {n_files} files, {len(found)} findings, {seconds:.1f} s", file=sys.stderr)
                if options.compare:
                    peers[project.name] = peer_findings(project, options.jobs, empty)
        if not options.compare and FINDINGS.exists():  # the peers' last findings still hold
            peers = load_peers(json.loads(FINDINGS.read_text("utf-8")))
        if names and FINDINGS.exists():  # the projects not run this time keep their findings
            saved = json.loads(FINDINGS.read_text("utf-8"))
            findings += [f for f in saved["findings"] if f["project"] not in names]
            stats += [(Project(s["project"], s.get("version", ""), Path()), s["files"], s["seconds"],
                       Counter(s["rules"])) for s in saved["stats"] if s["project"] not in names]
            peers = {**load_peers(saved), **peers}
        order = [name for name, _, _ in PROJECTS] + ["stdlib"]
        stats.sort(key=lambda row: order.index(row[0].name) if row[0].name in order else len(order))
        FINDINGS.parent.mkdir(parents=True, exist_ok=True)
        FINDINGS.write_text(json.dumps({
            "findings": findings,
            "stats": [{"project": p.name, "version": p.version, "files": n, "seconds": s,
                       "rules": dict(c)}
                      for p, n, s, c in stats],
            "peers": {p: {t: sorted(v) for t, v in tools.items()} for p, tools in peers.items()},
        }, indent=1), "utf-8")

    judged = load_judgements()
    if options.sample:
        sample = draw_sample(findings, judged)
        sampled = {key(r) for r in sample}
        kept = [row for k, row in judged.items() if k not in sampled and row["verdict"]]
        write_judgements(sample + kept)
        judged = load_judgements()
        print(f"{sum(1 for r in sample if not r['verdict'])} sampled findings await a verdict",
              file=sys.stderr)
        if peers:
            old_peer = load_csv(PEER_JUDGEMENTS, peer_key)
            rows = top_up(peer_only(findings, peers, projects), old_peer, peer_key, PEER_SAMPLE, "peers")
            chosen_keys = {peer_key(r) for r in rows}
            rows += [r for k, r in old_peer.items() if k not in chosen_keys and r["verdict"]]
            write_csv(PEER_JUDGEMENTS, PEER_FIELDS, rows)

    rules = sorted({r for _, _, _, c in stats for r in c})
    lines = [
        "# leaklint on real-world projects",
        "",
        f"- Python {platform.python_version()}; machine: {compare.machine()}",
        f"- `python {Path(__file__).relative_to(HERE.parent)}"
        + (" --compare" if options.compare else "") + "`; leaklint cold (`--no-cache`), "
        f"`-j {options.jobs}`; wheels at the pinned versions, their own packages only",
        f"- judgements: `{JUDGEMENTS.relative_to(HERE.parent)}`, up to {PER_RULE} findings "
        f"per rule: the first sample was seeded (seed {SEED}), later ones keep the judged "
        "findings still reported and top up in a seeded order",
        "- first contact (projects leaklint had never been run on, judged blind before any "
        "change made for them): `firstcontact.md`",
        "",
        "## Findings",
        "",
        "| project | version | files | " + " | ".join(rules) + " | time (s) |",
        "|---|---|---:|" + "---:|" * len(rules) + "---:|",
    ]
    for project, n_files, seconds, counts in stats:
        cells = " | ".join(str(counts.get(r, 0)) for r in rules)
        lines.append(f"| {project.name} | {project.version} | {n_files} | {cells} | {seconds:.1f} |")
    table, stale = precision_table(findings, judged)
    lines += ["", "## Precision on the judged sample", "", *table]
    lines += ["", PRECISION_NOTE]
    agreement = agreement_report(findings, judged, load_csv(SECOND_JUDGEMENTS, key))
    if agreement:
        lines += ["", *agreement]
    unjudged = [r for r in judged.values() if not r["verdict"]]
    lines += ["", "## To judge", ""]
    lines += [f"- {r['project']} `{r['path']}:{r['line']}` {r['rule']}: no verdict yet"
              for r in unjudged] or ["Every sampled finding has a verdict."]
    if stale:
        lines += ["", "## Judged findings no longer reported", *stale]
    if peers:
        peer_judged = load_csv(PEER_JUDGEMENTS, peer_key)
        lines += ["", "## Side by side with pylint and ruff", "",
                  "leaklint's findings on an acquisition (" + ", ".join(sorted(ACQUISITION_RULES))
                  + ") against pylint's and ruff's, by file and line.", "",
                  *side_by_side(findings, peers), "",
                  *difference_report(findings, peers, projects, judged, peer_judged)]
    compare.write_report(lines + [""], REPORT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
