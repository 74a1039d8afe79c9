"""What the fuzzing feeds leaklint and what it checks, shared by the bounded property test
(tests/test_robustness.py, in CI) and the long run (tests/fuzz/run.py).

Inputs come from ``random.Random`` instances, so a long run can name the seed of every
input it found a problem with, and the property test can hand hypothesis the choices
(``st.randoms()``):

- ``resource_module``: valid-looking modules built from the statements leaklint cares
  about (acquisitions, releases, hand-overs, ``with``, ``try``/``finally``, loops, early
  returns, classes that own resources, ``async``), so the analysis and the fixes run deep;
- ``mutate``: a fixture of ``fixtures/`` with lines deleted, duplicated, swapped,
  re-indented, characters swapped or inserted, or cut short;
- hypothesmith's ``from_grammar()`` (in the test and the long run): any valid Python.

``problems`` is the oracle: check_source must never report an internal error, the fixes
must never raise, every fixed file must parse and compile, and fixing it again must change
nothing.
"""

from __future__ import annotations

import ast
import random
import warnings
from pathlib import Path

import libcst as cst

from leaklint.config import Config
from leaklint.core import check_source
from leaklint.fixes import fix_source

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted(
    p for p in (ROOT / "fixtures").rglob("*.py") if ".leaklint_cache" not in p.parts
)

HEADER = (
    "import aiohttp\nimport contextlib\nimport json\nimport socket\nimport sqlite3\nimport subprocess\n"
    "import tempfile\nimport threading\nimport zipfile\nfrom urllib.request import urlopen\n\n"
    "lock = threading.Lock()\n\n"
)
NAMES = ("f", "g", "conn", "sock")
ACQUIRE = (
    "{v} = open(p)",
    "{v} = open(p, 'rb')",
    "{v} = socket.socket()",
    "{v} = sqlite3.connect(p)",
    "{v} = subprocess.Popen(['true'])",
    "{v} = tempfile.NamedTemporaryFile()",
    "{v} = urlopen(p)",
    "{v} = zipfile.ZipFile(p)",
    "{v} = helper(p)",
    "{v} = Owner(p)",
)
USE = (
    "{v}.read()",
    "data = {v}.read()",
    "{v}.write(data)",
    "print({v})",
    "consume({v})",
    "json.load({v})",
    "{v}.execute('select 1')",
    "x = {v}.name if {v} else None",
)
RELEASE = ("{v}.close()", "{v}.close()", "{v}.terminate()", "{v}.wait()", "del {v}", "{v} = None")
HAND_OVER = (
    "self.{v} = {v}",
    "items.append({v})",
    "stack.enter_context({v})",
    "stack.callback({v}.close)",
    "{v} = contextlib.closing({v})",
)
SIMPLE = (
    "pass",
    "x = 1",
    "data = open(p).read()",
    "lock.acquire()",
    "lock.release()",
    "raise ValueError(p)",
    "consume(p)",
    "x = [open(q) for q in p]",
)
#: Shapes a fix exists for (LL100/LL101/LL102/LL110; LL201/LL203 in async def), so the
#: fixes run on many of the modules: each a list of lines, relative indents in spaces.
FIXABLE = (
    ("{v} = open(p)", "data = {v}.read()", "{v}.close()"),
    ("{v} = open(p)", "{v}.write(data)", "x = len(data)", "{v}.close()"),
    ("data = open(p).read()",),
    ("data = json.load(open(p))",),
    ("with sqlite3.connect(p) as conn:", "    conn.execute('select 1')"),
)
ASYNC_FIXABLE = (
    ("with aiohttp.ClientSession() as session:", "    data = await session.get(p)"),
    ("session = aiohttp.ClientSession()", "try:", "    data = await session.get(p)",
     "finally:", "    session.close()"),
)
WITH_ITEMS = (
    "open(p) as {v}",
    "sqlite3.connect(p) as {v}",
    "socket.socket() as {v}",
    "contextlib.closing(urlopen(p)) as {v}",
    "lock",
    "contextlib.ExitStack() as stack",
)


class _Writer:
    """Statements into indented lines, with what the place allows (loops, functions)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lines: list[str] = []

    def pick(self, options: tuple[str, ...]) -> str:
        return self.rng.choice(options).format(v=self.rng.choice(NAMES))

    def block(self, indent: int, depth: int, *, loop: bool, function: bool, is_async: bool) -> None:
        for _ in range(self.rng.randint(1, 3)):
            self.statement(indent, depth, loop=loop, function=function, is_async=is_async)

    def statement(self, indent: int, depth: int, *, loop: bool, function: bool, is_async: bool) -> None:
        pad = "    " * indent
        rng = self.rng
        kinds = ["acquire", "use", "release", "simple", "fixable", "fixable"]
        if function:
            kinds += ["return", "hand_over"]
        if loop:
            kinds += ["break"]
        if is_async:
            kinds += ["await"]
        if depth > 0:
            kinds += ["if", "try", "with", "for", "while", "def"]
        kind = rng.choice(kinds)
        child = {"loop": loop, "function": function, "is_async": is_async}
        if kind == "acquire":
            self.lines.append(pad + self.pick(ACQUIRE))
        elif kind == "use":
            self.lines.append(pad + self.pick(USE))
        elif kind == "fixable":
            shape = rng.choice(FIXABLE + (ASYNC_FIXABLE if is_async else ()))
            v = rng.choice(NAMES)
            self.lines.extend(pad + line.format(v=v) for line in shape)
        elif kind == "release":
            self.lines.append(pad + self.pick(RELEASE))
        elif kind == "simple":
            self.lines.append(pad + self.pick(SIMPLE))
        elif kind == "hand_over":
            self.lines.append(pad + self.pick(HAND_OVER))
        elif kind == "return":
            value = rng.choice(("", " None", " " + rng.choice(NAMES), " open(p)", " data"))
            self.lines.append(pad + "return" + value)
        elif kind == "break":
            self.lines.append(pad + rng.choice(("break", "continue")))
        elif kind == "await":
            self.lines.append(pad + self.pick((
                "await {v}.aclose()", "{v}.aclose()", "{v} = await make(p)",
                "await {v}.__aenter__()", "await {v}.__aexit__(None, None, None)",
            )))
        elif kind == "if":
            self.lines.append(pad + rng.choice(("if p:", "if {v} is not None:".format(v=rng.choice(NAMES)), "if not data:")))
            self.block(indent + 1, depth - 1, **child)
            if rng.random() < 0.5:
                self.lines.append(pad + "else:")
                self.block(indent + 1, depth - 1, **child)
        elif kind == "try":
            self.lines.append(pad + "try:")
            self.block(indent + 1, depth - 1, **child)
            shape = rng.choice(("except", "finally", "both"))
            if shape in ("except", "both"):
                self.lines.append(pad + rng.choice(("except OSError:", "except Exception as err:", "except:")))
                self.block(indent + 1, depth - 1, **child)
            if shape in ("finally", "both"):
                self.lines.append(pad + "finally:")
                self.block(indent + 1, depth - 1, **child)
        elif kind == "with":
            prefix = "async with" if is_async and rng.random() < 0.5 else "with"
            self.lines.append(f"{pad}{prefix} {self.pick(WITH_ITEMS)}:")
            self.block(indent + 1, depth - 1, **child)
        elif kind in ("for", "while"):
            self.lines.append(pad + ("for q in p:" if kind == "for" else "while p:"))
            self.block(indent + 1, depth - 1, loop=True, function=function, is_async=is_async)
        else:  # a nested function: a closure over what the outer one holds
            is_async = rng.random() < 0.3
            self.lines.append(pad + ("async def" if is_async else "def") + " inner(p):")
            self.block(indent + 1, depth - 1, loop=False, function=True, is_async=is_async)


def resource_module(rng: random.Random) -> str:
    """A module of functions and classes that acquire, use, release and hand on resources."""
    writer = _Writer(rng)
    for number in range(rng.randint(1, 3)):
        shape = rng.choice(("def", "def", "async def", "class", "contextmanager", "module"))
        if shape == "class":
            writer.lines.append(f"class Owner{number}:")
            for method in rng.sample(("__init__", "close", "__enter__", "__exit__", "read"), 3):
                args = "self, *exc" if method == "__exit__" else "self, p=None"
                writer.lines.append(f"    def {method}({args}):")
                writer.block(2, 2, loop=False, function=True, is_async=False)
        elif shape == "module":
            writer.block(0, 2, loop=False, function=False, is_async=False)
        else:
            if shape == "contextmanager":
                writer.lines.append("@contextlib.contextmanager")
                writer.lines.append(f"def managed{number}(p):")
                writer.block(1, 2, loop=False, function=True, is_async=False)
                writer.lines.append("    yield " + rng.choice(NAMES))
                writer.block(1, 1, loop=False, function=True, is_async=False)
            else:
                writer.lines.append(f"{shape} function{number}(p, self=None, items=(), stack=None, data=b''):")
                writer.block(1, 2, loop=False, function=True, is_async=shape == "async def")
        writer.lines.append("")
    return HEADER + "\n".join(writer.lines) + "\n"


def mutate(text: bytes, rng: random.Random) -> bytes:
    """``text`` with one to five random edits: lines deleted, duplicated, swapped, indented
    or dedented; two characters swapped; a character inserted; the end cut off."""
    lines = text.splitlines(keepends=True) or [b"\n"]
    for _ in range(rng.randint(1, 5)):
        i = rng.randrange(len(lines))
        edit = rng.choice(("delete", "duplicate", "swap lines", "indent", "dedent", "swap chars", "insert", "truncate"))
        if edit == "delete" and len(lines) > 1:
            del lines[i]
        elif edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "swap lines" and i + 1 < len(lines):
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif edit == "indent":
            lines[i] = b"    " + lines[i]
        elif edit == "dedent":
            lines[i] = lines[i][4:] if lines[i].startswith(b"    ") else lines[i].lstrip()
        elif edit == "swap chars" and len(lines[i]) > 2:
            j = rng.randrange(len(lines[i]) - 2)
            line = bytearray(lines[i])
            line[j], line[j + 1] = line[j + 1], line[j]
            lines[i] = bytes(line)
        elif edit == "insert":
            j = rng.randrange(len(lines[i]) + 1)
            char = rng.choice(b"()[]{}:;,.=+-*/'\"#\\ \t\nxy0@")
            lines[i] = lines[i][:j] + bytes([char]) + lines[i][j:]
        elif edit == "truncate":
            lines = lines[: i + 1]
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
    return b"".join(lines)


def mutated_fixture(rng: random.Random) -> tuple[str, bytes]:
    path = rng.choice(FIXTURES)
    return path.relative_to(ROOT).as_posix(), mutate(path.read_bytes(), rng)


def problems(source: bytes, path: str = "fuzzed.py", config: Config | None = None) -> list[str]:
    """What is wrong with leaklint on ``source`` (empty: nothing). Never raises."""
    config = config or Config()
    found = []
    try:
        result = check_source(source, path, config)
    except BaseException as err:  # the contract says it cannot; say so if it does
        return [f"check_source raised {type(err).__name__}: {err}"]
    if result.internal_error:
        found.append("check_source: " + result.internal_error.strip().splitlines()[-1])
        return found
    for unsafe in (False, True):
        try:
            outcome = fix_source(source, path, config, unsafe=unsafe, first=result)
        except BaseException as err:
            found.append(f"fix_source(unsafe={unsafe}) raised {type(err).__name__}: {err}")
            continue
        if outcome.internal_error:
            found.append(f"fix (unsafe={unsafe}): " + outcome.internal_error.strip().splitlines()[-1])
            continue
        if outcome.error and "does not compile as it is" not in outcome.error:
            found.append(f"fix (unsafe={unsafe}): {outcome.error}")
        if outcome.fixed is None:
            continue
        try:
            cst.parse_module(outcome.fixed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarnings of the input itself
                ast.parse(outcome.fixed)
        except Exception as err:  # noqa: BLE001
            found.append(f"fix (unsafe={unsafe}) does not parse: {type(err).__name__}: {err}")
            continue
        again = fix_source(outcome.fixed, path, config, unsafe=unsafe)
        if again.fixed is not None:
            found.append(f"fix (unsafe={unsafe}) is not idempotent: a second run changes it again")
    return found
