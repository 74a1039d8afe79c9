"""First contact: leaklint's precision on projects it has never been run on.

    python benchmarks/firstcontact.py --pool                     # the pool, and what is drawn
    python benchmarks/firstcontact.py --draw 5 --seed 21 \\
        --engine /work/fc-base --packet /tmp/judge_round1.md     # a new round
    python benchmarks/firstcontact.py                            # the report from the saved files

The pool is ``POOL`` below: popular projects (libraries, applications, and their test suites;
sync and async) that are in neither the tuned corpus of ``realworld.py`` nor the list reserved
for an independent evaluation (``RESERVED``), each pinned by version. A round draws N
projects never drawn before (a seeded order: a hash of each name with the round's seed),
records them in ``firstcontact/draws.csv`` (committed: a project once drawn, and so judged
and then tuned to, is out of the pool for good), fetches their source distributions (the
sdist carries the tests; a project whose sdist cannot be had falls back to its wheel, noted in
the findings), and runs leaklint and the peers (pylint consider-using-with, ruff SIM115,
``compare.py``'s command lines) on every ``.py`` file of each.

Run a round *before* changing the engine for it, with ``--engine`` naming a folder that holds
the ``leaklint`` package of the commit to measure (a git worktree), so that what is measured
is the untuned engine; the commit is recorded. The round's findings (metadata only: project,
version, path, line, rule, message, the flagged line) go into ``firstcontact/findings.json``,
a sample of them into ``firstcontact/judgements.csv`` (realworld's columns, verdict empty),
and a seeded sample of the lines only the peers flag into ``firstcontact/peer_judgements.csv``.
Up to ``SAMPLE_ALL`` findings are all judged; above that, every finding of a rule with at
most ``SMALL_RULE`` of them and a seeded ``PER_RULE`` of each other rule (the report weights
each rule by its findings). ``--packet`` writes the judges' brief: every sampled finding with
the absolute path of its file, the rubric of ``realworld/README.md`` copied in, and no
verdict. Verdicts go into the CSVs by hand; the report is ``firstcontact.md``.

Fetched code stays in ``benchmarks/.cache/firstcontact/`` (ignored, never committed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402
import realworld  # noqa: E402  (its Project, runs, keys, sampling and CSV helpers are shared)
from realworld import FIELDS, PEER_FIELDS, PEER_VERDICTS, VERDICTS, Project, key, peer_key  # noqa: E402

CACHE = HERE / ".cache" / "firstcontact"
FOLDER = HERE / "firstcontact"
DRAWS = FOLDER / "draws.csv"
DRAW_FIELDS = ["round", "seed", "project", "version", "date", "engine", "note"]
FINDINGS = FOLDER / "findings.json"
JUDGEMENTS = FOLDER / "judgements.csv"
PEER_JUDGEMENTS = FOLDER / "peer_judgements.csv"
REPORT = HERE / "firstcontact.md"
RUBRIC = HERE / "realworld" / "README.md"
SAMPLE_ALL = 70  # a round with at most this many findings is judged whole
SMALL_RULE = 10  # above it, a rule with at most this many findings is judged whole
PER_RULE = 12  # and each other rule by a seeded sample of this many
PEER_SAMPLE = 30
#: the issue's bar for the latest round, per rule with at least MIN_FINDINGS findings
TARGET_TRUE, TARGET_FP, MIN_FINDINGS = 0.85, 0.05, 5

#: the tuned corpus (``realworld.PROJECTS``) and the projects reserved for an independent
#: evaluation (issue 23): never in the pool
RESERVED = frozenset({
    "requests", "urllib3", "aiohttp", "httpx", "setuptools", "tornado", "sqlalchemy", "paramiko",
    "ansible", "scrapy", "ipython", "docker", "docker-py", "mitmproxy", "poetry", "sphinx",
    "psycopg", "asyncpg", "redis", "redis-py", "gunicorn", "xarray", "numpy", "tox", "buildbot",
    "waitress",
})

#: (distribution, pinned version, kind): library or application; async where it has an
#: asyncio/trio side. The sdists carry the projects' test suites where the authors ship them.
#: Each pin was fetched with ``fetch`` when it was added; aio-pika, filelock, ipykernel,
#: nats-py and portalocker come as wheels (no tests): their sdists' build backends (uv_build,
#: hatchling) cannot be built from source offline, which ``--no-binary :all:`` asks for.
POOL = [
    ("aio-pika", "10.2.1", "library, async"),
    ("aiofiles", "25.1.0", "library, async"),
    ("aiokafka", "0.14.0", "library, async"),
    ("aiomysql", "0.3.2", "library, async"),
    ("aiosmtpd", "1.4.6", "application (server), async"),
    ("aiosmtplib", "5.1.3", "library, async"),
    ("aiosqlite", "0.22.1", "library, async"),
    ("alembic", "1.20.1", "library and application"),
    ("amqp", "5.4.2", "library"),
    ("anyio", "4.16.0", "library, async"),
    ("apscheduler", "3.11.3", "library, sync+async"),
    ("arq", "0.28.0", "application (task queue), async"),
    ("asyncssh", "2.24.1", "library, async"),
    ("botocore", "1.44.5", "library"),
    ("bottle", "0.13.4", "application framework"),
    ("cheroot", "11.1.2", "application (server)"),
    ("cherrypy", "18.10.0", "application framework and server"),
    ("click", "8.5.1", "library"),
    ("cookiecutter", "2.7.1", "application"),
    ("coverage", "7.17.3", "application"),
    ("daphne", "4.2.3", "application (server), async"),
    ("databases", "0.9.0", "library, async"),
    ("datasette", "0.65.5", "application (server), async"),
    ("diskcache", "5.6.3", "library"),
    ("dnspython", "2.9.2", "library, sync+async"),
    ("dramatiq", "2.2.1", "application (task queue)"),
    ("dulwich", "1.2.21", "library and application"),
    ("eventlet", "0.41.3", "library, green threads"),
    ("fabric", "3.2.3", "library and application"),
    ("falcon", "4.4.0", "application framework, sync+async"),
    ("filelock", "4.3.2", "library, sync+async"),
    ("flask", "3.1.3", "application framework"),
    ("fsspec", "2026.9.0", "library, sync+async"),
    ("gitpython", "3.2.1", "library"),
    ("h11", "0.16.0", "library"),
    ("httpcore", "1.0.9", "library, sync+async"),
    ("httplib2", "0.32.1", "library"),
    ("huey", "3.5.4", "application (task queue)"),
    ("hypercorn", "0.18.0", "application (server), async"),
    ("invoke", "3.0.3", "library and application"),
    ("ipykernel", "7.4.0", "application (kernel), async"),
    ("jupyter-client", "8.10.0", "library, sync+async"),
    ("jupyter-server", "2.21.1", "application (server), async"),
    ("kafka-python", "3.0.12", "library"),
    ("kazoo", "2.11.0", "library"),
    ("kombu", "5.7.0", "library"),
    ("ldap3", "2.9.1", "library"),
    ("minio", "7.2.20", "library"),
    ("motor", "3.7.1", "library, async"),
    ("mutagen", "1.48.1", "library (file format)"),
    ("nats-py", "2.16.0", "library, async"),
    ("nbclient", "0.11.0", "library, async"),
    ("nbconvert", "7.17.2", "application"),
    ("neo4j", "6.4.1", "library, sync+async"),
    ("nox", "2026.10.20", "application"),
    ("openpyxl", "3.1.5", "library (file format)"),
    ("paho-mqtt", "2.2.0", "library"),
    ("peewee", "4.5.3", "library"),
    ("pexpect", "4.9.0", "library"),
    ("pg8000", "1.31.6", "library"),
    ("pika", "1.4.4", "library, sync+async"),
    ("plumbum", "2.0.2", "library"),
    ("portalocker", "4.4.2", "library"),
    ("pre-commit", "4.7.0", "application"),
    ("psutil", "7.2.2", "library"),
    ("ptyprocess", "0.7.0", "library"),
    ("pyftpdlib", "2.2.0", "application (server)"),
    ("pymemcache", "4.0.0", "library"),
    ("pymodbus", "3.16.1", "library, sync+async"),
    ("pymongo", "4.20.0", "library, sync+async"),
    ("pymysql", "1.2.4", "library"),
    ("pypdf", "7.1.1", "library (file format)"),
    ("pyramid", "2.1", "application framework"),
    ("pyro5", "5.17", "library"),
    ("pyserial", "3.5", "library"),
    ("pytest", "9.2.0", "application"),
    ("python-docx", "1.2.0", "library (file format)"),
    ("python-socketio", "5.18.1", "library, sync+async"),
    ("pyzmq", "27.3.0", "library, sync+async"),
    ("quart", "0.22.0", "application framework, async"),
    ("requests-toolbelt", "1.0.0", "library"),
    ("rpyc", "6.0.2", "library"),
    ("rq", "2.12.0", "application (task queue)"),
    ("s3transfer", "0.19.3", "library"),
    ("sanic", "25.12.1", "application framework and server, async"),
    ("smart-open", "9.0.2", "library"),
    ("smbprotocol", "1.17.0", "library"),
    ("sqlite-utils", "4.2.1", "library and application"),
    ("starlette", "1.10.0", "application framework, async"),
    ("supervisor", "4.3.0", "application (process manager)"),
    ("taskiq", "0.13.0", "application (task queue), async"),
    ("tinydb", "4.9.0", "library"),
    ("tqdm", "4.70.1", "library"),
    ("trio", "0.35.0", "library, async"),
    ("twine", "7.0.0", "application"),
    ("uvicorn", "0.54.0", "application (server), async"),
    ("vcrpy", "9.4.2", "library"),
    ("virtualenv", "21.15.7", "application"),
    ("watchdog", "7.1.1", "library"),
    ("websocket-client", "1.9.2", "library"),
    ("websockets", "17.4", "library, sync+async"),
    ("werkzeug", "3.1.9", "application framework and server"),
    ("xlsxwriter", "3.3.1", "library (file format)"),
    ("zeep", "4.3.3", "library, sync+async"),
]
VERSIONS = {name: version for name, version, _ in POOL}


def load_draws() -> list[dict]:
    if not DRAWS.exists():
        return []
    with DRAWS.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def undrawn(draws: list[dict]) -> list[str]:
    """The pool less every project drawn (or struck out) in any round, and less the tuned
    corpus and the reserved list, should one of them ever be added to the pool by mistake."""
    gone = {row["project"] for row in draws} | RESERVED | {n for n, _, _ in realworld.PROJECTS}
    return [name for name, _, _ in POOL if name not in gone]


def draw(names: list[str], n: int, seed: int) -> list[str]:
    """``n`` of ``names`` in a seeded order (a hash of each name with the seed)."""
    def order(name: str) -> str:
        return hashlib.sha256(f"{seed}|{name}".encode()).hexdigest()

    return sorted(names, key=order)[:n]


def fetch(name: str, version: str) -> tuple[Path, str]:
    """The unpacked ``.py`` files of ``name==version``'s sdist (its wheel if the sdist cannot
    be had), and what they came from: downloaded and unpacked on first use."""
    target = CACHE / "src" / f"{name}-{version}"
    marker = target / ".unpacked"
    if marker.exists():
        return target, marker.read_text()
    folder = CACHE / "dist" / f"{name}-{version}"
    folder.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(folder)]
    for extra in (["--no-binary", ":all:"], ["--no-binary", ":all:", "--no-build-isolation"],
                  ["--only-binary", ":all:"]):
        if not any(folder.iterdir()):
            subprocess.run([*base, *extra, f"{name}=={version}"], check=False)
    archive = next(iter(sorted(folder.iterdir())), None)
    if archive is None:
        sys.exit(f"{name}=={version}: neither an sdist nor a wheel could be downloaded")
    target.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".whl") or archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.namelist() if m.endswith(".py")]
            zipped.extractall(target, members)
    else:
        with tarfile.open(archive) as tarred:
            members = [m for m in tarred.getmembers() if m.isfile() and m.name.endswith(".py")]
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tarred.extractall(target, members, **safe)
    # an sdist unpacks into one folder named after the release: that folder is the root
    entries = [p for p in target.iterdir() if p.name != ".unpacked"]
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() and archive.suffix != ".whl" else target
    source = f"{archive.name}\t{root.relative_to(target).as_posix()}"
    marker.write_text(source)
    return target, source


def project(name: str) -> tuple[Project, str]:
    target, source = fetch(name, VERSIONS[name])
    archive, _, sub = source.partition("\t")
    return Project(name, VERSIONS[name], (target / sub).resolve()), archive


@contextlib.contextmanager
def pythonpath(value: str | None) -> Iterator[None]:
    """PYTHONPATH set to ``value`` (unset for None) for the subprocesses started within."""
    saved = os.environ.get("PYTHONPATH")
    if value is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = value
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@contextlib.contextmanager
def engine(path: str | None) -> Iterator[str]:
    """Run leaklint from the ``leaklint`` package in ``path`` (checked: the import must
    really come from there) and yield its commit."""
    saved = os.environ.get("PYTHONPATH")
    with pythonpath(os.pathsep.join(filter(None, [path, saved])) if path else saved):
        with tempfile.TemporaryDirectory() as empty:
            where = subprocess.run(
                [sys.executable, "-c", "import leaklint; print(leaklint.__file__)"],
                cwd=empty, capture_output=True, text=True, check=True).stdout.strip()
        folder = Path(where).resolve().parent.parent
        if path and folder != Path(path).resolve():
            sys.exit(f"leaklint imports from {where}, not from {path}")
        commit = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(folder), "status", "--porcelain", "leaklint"],
                               capture_output=True, text=True, check=False).stdout.strip()
        yield commit + ("+uncommitted" if dirty else "")


def lines_of(files: list[str]) -> int:
    total = 0
    for name in files:
        with open(name, "rb") as stream:
            total += sum(1 for _ in stream)
    return total


def sample(findings: list[dict], judged: dict, seed: int) -> tuple[list[dict], dict[str, list[int]]]:
    """The round's findings to judge, and per rule [findings, sampled]: all of them up to
    SAMPLE_ALL; above, all of a rule with at most SMALL_RULE and PER_RULE of each other."""
    by_rule: dict[str, list[dict]] = defaultdict(list)
    for finding in findings:
        if finding["rule"] != "LL900":
            by_rule[finding["rule"]].append(finding)
    whole = sum(len(rows) for rows in by_rule.values()) <= SAMPLE_ALL
    chosen, strata = [], {}
    for rule in sorted(by_rule):
        rows = by_rule[rule]
        size = len(rows) if whole or len(rows) <= SMALL_RULE else PER_RULE
        picked = realworld.top_up(rows, judged, key, size, f"{seed}|{rule}")
        chosen += picked
        strata[rule] = [len(rows), len(picked)]
    return chosen, strata


def run_round(n: int, seed: int, engine_path: str | None, jobs: int, packet: Path | None) -> None:
    draws = load_draws()
    number = max((int(r["round"]) for r in draws), default=0) + 1
    missing = [tool.name for tool in compare.tools(jobs, "", sys.executable, {})
               if tool.name in ("pylint", "ruff") and not tool.available()]
    if missing:
        # a round drawn without its peers cannot be drawn again (round 6 was, from an
        # interpreter without the bench extra): refuse before anything is drawn
        sys.exit(f"{', '.join(missing)} not installed for {sys.executable}: "
                 "pip install -e '.[bench]' (the peers are part of every round)")
    names = draw(undrawn(draws), n, seed)
    if len(names) < n:
        sys.exit(f"only {len(names)} projects left in the pool")
    print(f"round {number}, seed {seed}: {', '.join(names)}", file=sys.stderr)
    projects = [project(name) for name in names]
    findings: list[dict] = []
    stats, peers = [], {}
    saved_path = os.environ.get("PYTHONPATH")
    with engine(engine_path) as commit, tempfile.TemporaryDirectory() as empty:
        for proj, archive in projects:
            files = proj.files()
            print(f"{proj.name} {proj.version}: {len(files)} files ...", file=sys.stderr, flush=True)
            found, seconds, _ = realworld.leaklint_findings(proj, jobs, empty)
            peer_seconds: dict[str, float] = {}
            with pythonpath(saved_path):  # the peers run without the engine's folder on their path
                peers[proj.name] = realworld.peer_findings(proj, jobs, empty, peer_seconds)
            findings += found
            stats.append({
                "project": proj.name, "version": proj.version, "source": archive,
                "files": len(files), "lines": lines_of(files),
                "tests": sum(1 for f in files if "test" in Path(f).relative_to(proj.root).as_posix()),
                "seconds": {"leaklint": seconds, **peer_seconds},
                "rules": dict(Counter(f["rule"] for f in found)),
                "peers": {tool: len(v) for tool, v in peers[proj.name].items()},
            })
            print(f"  leaklint {len(found)} in {seconds:.1f} s; " + ", ".join(
                f"{t} {len(peers[proj.name][t])} in {peer_seconds[t]:.1f} s" for t in peer_seconds),
                file=sys.stderr)
    judged = realworld.load_csv(JUDGEMENTS, key)
    chosen, strata = sample(findings, judged, seed)
    peer_rows = realworld.top_up(
        realworld.peer_only(findings, peers, [p for p, _ in projects]),
        realworld.load_csv(PEER_JUDGEMENTS, peer_key), peer_key, PEER_SAMPLE, f"{seed}|peers")
    today = datetime.date.today().isoformat()
    saved = json.loads(FINDINGS.read_text("utf-8")) if FINDINGS.exists() else {"rounds": []}
    saved["rounds"].append({
        "round": number, "seed": seed, "date": today, "engine": commit, "jobs": jobs,
        "projects": stats, "strata": strata, "findings": findings,
        "peers": {p: {t: sorted(v) for t, v in tools.items()} for p, tools in peers.items()},
        "peer_only": len(realworld.peer_only(findings, peers, [p for p, _ in projects])),
    })
    FOLDER.mkdir(parents=True, exist_ok=True)
    FINDINGS.write_text(json.dumps(saved, indent=1), "utf-8")
    realworld.write_csv(JUDGEMENTS, FIELDS, [*judged.values(), *(
        r for r in chosen if key(r) not in judged)])
    old_peers = realworld.load_csv(PEER_JUDGEMENTS, peer_key)
    realworld.write_csv(PEER_JUDGEMENTS, PEER_FIELDS, [*old_peers.values(), *(
        r for r in peer_rows if peer_key(r) not in old_peers)])
    with DRAWS.open("a", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, DRAW_FIELDS, lineterminator="\n")
        if not draws:
            writer.writeheader()
        for proj, archive in projects:
            writer.writerow({"round": number, "seed": seed, "project": proj.name,
                             "version": proj.version, "date": today, "engine": commit,
                             "note": "" if archive.endswith((".tar.gz", ".zip")) else f"wheel: {archive}"})
    if packet:
        write_packet(packet, number, [p for p, _ in projects], chosen, strata, peer_rows,
                     engine_path)


def rubric() -> str:
    """The section "How a finding is judged" of realworld/README.md, as it stands."""
    text = RUBRIC.read_text("utf-8")
    start = text.index("## How a finding is judged")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None].strip()


def write_packet(path: Path, number: int, projects: list[Project], chosen: list[dict],
                 strata: dict[str, list[int]], peer_rows: list[dict],
                 engine_path: str | None = None) -> None:
    """The judges' brief: the findings to judge, where they are, and the rubric; no verdict."""
    roots = {p.name: p.root for p in projects}
    lines = [
        f"# First contact, round {number}: findings to judge",
        "",
        "Judge each finding below by the rubric (copied from `benchmarks/realworld/README.md`, "
        "section \"How a finding is judged\"). Read the code at the path given: the whole "
        "function, and the helpers and classes it calls in the same project. A rule's "
        "documentation: `" + (f"PYTHONPATH={engine_path} " if engine_path else "")
        + "python -m leaklint rule LL100` (any code), from the engine that was measured.",
        "",
        "Answer one line per finding, as CSV: `id,verdict,reason`, the verdict one of "
        "`true`, `fp`, `debatable`, the reason one line as the rubric asks.",
        "",
        "Projects (the unpacked source distributions): " + ", ".join(
            f"{p.name} {p.version} (`{p.root}`)" for p in projects),
        "",
        rubric().replace("## How a finding is judged", "## The rubric: how a finding is judged"),
        "",
        "## leaklint's findings",
        "",
        "Per rule: findings in the round, and how many are listed here (all of a rule, or a "
        "seeded sample of it): " + "; ".join(
            f"{rule} {n} ({k} listed)" for rule, (n, k) in sorted(strata.items())),
        "",
    ]
    def entry(name: str, row: dict, *more: str) -> list[str]:
        return [f"### {name}", "", f"- project: {row['project']} {row['version']}",
                f"- file: `{roots[row['project']] / row['path']}`",
                f"- line: {row['line']}: `{row['text']}`", *more, ""]

    for i, row in enumerate(chosen, 1):
        lines += entry(f"L{number}-{i:03d}", row, f"- rule: {row['rule']}",
                       f"- leaklint says: {row['message']}")
    lines += [
        "## Lines only pylint or ruff flag",
        "",
        "pylint `consider-using-with` (R1732) or ruff `SIM115` flags these lines and leaklint "
        "does not (a seeded sample). Answer `id,verdict,reason`, the verdict one of `missed` "
        "(by the rubric above this line is a real leak: it would be `true`), `correct` (the "
        "resource is released or handed on on every path: the peer's false positive), "
        "`debatable` (the rubric's debatable).",
        "",
    ]
    for i, row in enumerate(peer_rows, 1):
        lines += entry(f"P{number}-{i:02d}", row, f"- flagged by: {row['tools']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), "utf-8")
    print(f"packet: {path} ({len(chosen)} findings, {len(peer_rows)} peer-only lines)",
          file=sys.stderr)


def packet_entries(path: Path) -> dict[str, dict]:
    """A packet's ids -> (project, path, line) as the packet gives them (``write_packet``)."""
    entries: dict[str, dict] = {}
    current: dict | None = None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("### "):
            current = entries.setdefault(line[4:].strip(), {})
        elif current is not None and line.startswith("- project: "):
            current["project"] = line[len("- project: "):].rsplit(" ", 1)[0]
        elif current is not None and line.startswith("- file: `"):
            current["file"] = line[len("- file: `"):].rstrip("`")
        elif current is not None and line.startswith("- line: "):
            current["line"] = line[len("- line: "):].split(":", 1)[0]
        elif current is not None and line.startswith("- rule: "):
            current["rule"] = line[len("- rule: "):]
    return entries


def record(packet: Path, verdicts: Path) -> None:
    """File a blind judge's answers (``id,verdict,reason``) against the packet's findings in
    ``judgements.csv`` and ``peer_judgements.csv``; an id that matches nothing is an error."""
    entries = packet_entries(packet)
    with verdicts.open(newline="", encoding="utf-8") as stream:
        answers = list(csv.DictReader(stream))
    for table, fields, key_of, allowed in (
        (JUDGEMENTS, FIELDS, key, VERDICTS), (PEER_JUDGEMENTS, PEER_FIELDS, peer_key, PEER_VERDICTS)
    ):
        rows = realworld.load_csv(table, key_of)
        where = {(r["project"], r["path"], str(r["line"]), r.get("rule", "")): k for k, r in rows.items()}
        for answer in answers:
            entry = entries.get(answer["id"])
            if entry is None:
                sys.exit(f"{answer['id']}: not in {packet}")
            if (entry.get("rule") is None) != (table is PEER_JUDGEMENTS):
                continue
            if answer["verdict"] not in allowed:
                sys.exit(f"{answer['id']}: verdict {answer['verdict']!r} is not one of {allowed}")
            rel = next((r["path"] for r in rows.values() if entry["file"].endswith("/" + r["path"])
                        and r["project"] == entry["project"]), None)
            found = where.get((entry["project"], rel, entry["line"], entry.get("rule", "")))
            if found is None:
                sys.exit(f"{answer['id']}: no row of {table.name} for {entry}")
            rows[found].update(verdict=answer["verdict"], reason=answer["reason"])
        realworld.write_csv(table, fields, list(rows.values()))


def share(part: int, whole: int) -> str:
    """The share with its Wilson 95% interval."""
    if not whole:
        return "n/a"
    low, high = realworld.wilson(part, whole)
    return f"{part / whole:.0%} ({low:.0%}-{high:.0%})"


def pct(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "n/a"


def round_report(entry: dict, judged: dict, peer_judged: dict) -> list[str]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for finding in entry["findings"]:
        # each finding counts, two on one line too (``a, b = socketpair()``: one per name,
        # one judged row: the judges gave such twins one verdict)
        row = judged.get(key(finding))
        if row is not None and row["verdict"] in VERDICTS:
            counts[row["rule"]][row["verdict"]] += 1
    names = ", ".join(f"{p['project']} {p['version']}" for p in entry["projects"])
    lines = [
        f"## Round {entry['round']} ({entry['date']}): {names}",
        "",
        f"Engine {entry['engine']} (seed {entry['seed']}, `-j {entry['jobs']}`, leaklint cold).",
        "",
    ]
    if not any(p["peers"] for p in entry["projects"]):
        lines += ["The peers did not run in this round (it was drawn from an interpreter without "
                  "pylint and ruff; a draw now refuses to start without them).", ""]
    lines += [
        "| project | source | files | of them tests | lines | leaklint | pylint R1732 | ruff SIM115 "
        "| leaklint (s) | pylint (s) | ruff (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in entry["projects"]:
        secs = p["seconds"]
        lines.append(
            f"| {p['project']} {p['version']} | {p['source']} | {p['files']} | {p['tests']} "
            f"| {p['lines']} | {sum(n for r, n in p['rules'].items() if r != 'LL900')} "
            f"| {p['peers'].get('pylint', 'n/a')} | {p['peers'].get('ruff', 'n/a')} | "
            + " | ".join(f"{secs[t]:.1f}" if t in secs else "n/a"
                         for t in ("leaklint", "pylint", "ruff")) + " |")
    lines += [
        "",
        "| rule | findings | judged | true | fp | debatable | true / judged (95%) "
        "| fp / judged | debatable / judged | true / (true + fp) (95%) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total = Counter()
    weighted = {v: 0.0 for v in VERDICTS}
    weight = 0
    missing = []
    for rule, (n, _) in sorted(entry["strata"].items()):
        c = counts[rule]
        judged_n = sum(c.values())
        total.update(c)
        if judged_n:
            weight += n
            for v in VERDICTS:
                weighted[v] += n * c[v] / judged_n
        else:
            missing.append(rule)
        lines.append(
            f"| {rule} | {n} | {judged_n} | {c['true']} | {c['fp']} | {c['debatable']} "
            f"| {share(c['true'], judged_n)} | {pct(c['fp'], judged_n)} "
            f"| {pct(c['debatable'], judged_n)} "
            f"| {share(c['true'], c['true'] + c['fp'])} |")
    n_all = sum(total.values())
    lines.append(
        f"| all (sample) | {sum(n for n, _ in entry['strata'].values())} | {n_all} "
        f"| {total['true']} | {total['fp']} | {total['debatable']} | {share(total['true'], n_all)} "
        f"| {pct(total['fp'], n_all)} | {pct(total['debatable'], n_all)} "
        f"| {share(total['true'], total['true'] + total['fp'])} |")
    if weight:
        lines += ["", "Weighted by where the findings are (each judged rule by its findings in the "
                  "round): " + ", ".join(f"{v} {weighted[v] / weight:.0%}" for v in VERDICTS) + "."]
    if missing:
        lines += ["", "Not judged yet: " + ", ".join(missing) + "."]
    lines += ["", *target_lines(entry, counts)]
    peer_counts = Counter(r["verdict"] for r in peer_judged.values()
                          if r["project"] in {p["project"] for p in entry["projects"]}
                          and r["verdict"] in PEER_VERDICTS)
    sampled_peers = sum(1 for r in peer_judged.values()
                        if r["project"] in {p["project"] for p in entry["projects"]})
    lines += ["", f"Lines only pylint or ruff flag: {entry['peer_only']}; {sampled_peers} sampled, "
              f"judged: {peer_counts['missed']} leaks leaklint misses, {peer_counts['correct']} "
              f"correct code, {peer_counts['debatable']} debatable."]
    lines += judges_lines(entry["round"])
    return lines


def judges_lines(round_no: int) -> list[str]:
    """Where the round kept both blind judges' answers (``round<N>_verdicts_judgeA.csv`` and
    ``..._judgeB.csv``; A's are the ones recorded): B's counts on leaklint's findings, and how
    often the two agree (Cohen's kappa), so a reader sees how far the verdicts hold."""
    answers = []
    for judge in "AB":
        path = JUDGEMENTS.parent / f"round{round_no}_verdicts_judge{judge}.csv"
        if not path.exists():
            return []
        with path.open(newline="", encoding="utf-8") as stream:
            answers.append({row["id"].strip(): row["verdict"].strip() for row in csv.DictReader(stream)
                            if row["id"].strip().startswith("L")  # not the peers' lines (P...)
                            and row["verdict"].strip() in VERDICTS})
    a, b = answers
    ids = sorted(set(a) & set(b))
    if not ids:
        return []
    n = len(ids)
    agree = sum(a[i] == b[i] for i in ids) / n
    ca, cb = Counter(a[i] for i in ids), Counter(b[i] for i in ids)
    chance = sum(ca[v] * cb[v] for v in VERDICTS) / (n * n)
    kappa = (agree - chance) / (1 - chance) if chance < 1 else 1.0
    split = Counter((a[i], b[i]) for i in ids if a[i] != b[i])
    return ["", f"A second blind judge (B) on the same {n} findings: "
            + " / ".join(f"{cb[v]} {v}" for v in VERDICTS)
            + f"; the judges agree on {agree:.0%} (Cohen's kappa {kappa:.2f})"
            + ("; where they split (A -> B): "
               + ", ".join(f"{x} -> {y} {k}" for (x, y), k in split.most_common()) if split else "")
            + "."]


def target_lines(entry: dict, counts: dict[str, Counter]) -> list[str]:
    """The issue's bar, rule by rule (those with at least MIN_FINDINGS findings)."""
    out = []
    for rule, (n, _) in sorted(entry["strata"].items()):
        c = counts[rule]
        judged_n = sum(c.values())
        if n < MIN_FINDINGS or not judged_n:
            continue
        met = c["true"] / judged_n >= TARGET_TRUE and c["fp"] / judged_n <= TARGET_FP
        out.append(f"{rule} {'meets' if met else 'misses'} the bar")
    if not out:
        return []
    return [f"The bar (true >= {TARGET_TRUE:.0%}, fp <= {TARGET_FP:.0%} of the judged, per rule "
            f"with >= {MIN_FINDINGS} findings): " + "; ".join(out) + "."]


def report() -> None:
    saved = json.loads(FINDINGS.read_text("utf-8")) if FINDINGS.exists() else {"rounds": []}
    judged = realworld.load_csv(JUDGEMENTS, key)
    peer_judged = realworld.load_csv(PEER_JUDGEMENTS, peer_key)
    draws = load_draws()
    drawn = {r["project"]: r["round"] for r in draws}
    lines = [
        "# First contact: leaklint on projects it has never been run on",
        "",
        f"- machine: {compare.machine()}",
        f"- `python benchmarks/{Path(__file__).name}`: the process is in its docstring and in "
        "`realworld/README.md` (\"First contact\"); judged by the same rubric as the tuned "
        "corpus (`realworld/README.md`, \"How a finding is judged\")",
        f"- draws: `{DRAWS.relative_to(HERE.parent)}`; findings: "
        f"`{FINDINGS.relative_to(HERE.parent)}`; verdicts: `{JUDGEMENTS.relative_to(HERE.parent)}` "
        f"and `{PEER_JUDGEMENTS.relative_to(HERE.parent)}`",
        "",
        "Precision here is measured on code leaklint had not been run on before the round, by the "
        "engine as it was before any change made for the round; a project drawn once is out of "
        "the pool. Shares are of the judged findings, with Wilson's 95% interval.",
        "",
    ]
    for entry in saved["rounds"]:
        lines += round_report(entry, judged, peer_judged) + [""]
    lines += ["## The pool", "", "| project | version | kind | drawn in round |",
              "|---|---|---|---|"]
    lines += [f"| {name} | {version} | {kind} | {drawn.get(name, '')} |" for name, version, kind in POOL]
    lines += ["", f"{len(undrawn(draws))} of {len(POOL)} not drawn yet.", ""]
    compare.write_report(lines, REPORT)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--draw", type=int, metavar="N", help="run a new round on N fresh projects")
    parser.add_argument("--seed", type=int, help="the round's seed (recorded; default: 20 + the round)")
    parser.add_argument("--engine", help="a folder holding the leaklint package to measure")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--packet", type=Path, help="write the judges' packet here")
    parser.add_argument("--pool", action="store_true", help="list the projects not drawn yet")
    parser.add_argument("--record", nargs=2, type=Path, metavar=("PACKET", "VERDICTS"),
                        help="file a blind judge's id,verdict,reason answers to a packet")
    options = parser.parse_args()
    if options.record:
        record(*options.record)
    if options.pool:
        left = undrawn(load_draws())
        print("\n".join(f"{n}=={VERSIONS[n]}" for n in left))
        print(f"{len(left)} of {len(POOL)} not drawn", file=sys.stderr)
        return 0
    if options.draw:
        seed = options.seed
        if seed is None:
            seed = 20 + max((int(r["round"]) for r in load_draws()), default=0) + 1
        run_round(options.draw, seed, options.engine, options.jobs, options.packet)
    report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
