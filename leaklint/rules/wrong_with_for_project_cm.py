"""LL164 wrong-with-for-project-cm."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class WrongWithForProjectCm(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        short = (leak.var or "it").rsplit(".", 1)[-1]
        if leak.other == "sync":
            return (
                f"`{short}` only supports `async with`, so a plain `with` fails at run time: "
                f"use `async with`"
            )
        return (
            f"`{short}` only supports a plain `with`, so `async with` fails at run time: "
            f"use `with`"
        )


RULE = WrongWithForProjectCm(
    code="LL164",
    name="wrong-with-for-project-cm",
    summary="A project context manager used in the kind of with it does not support (async-only in with, or the reverse).",
    leak_kinds=('wrong-with',),
    bad_example='''\
import contextlib


@contextlib.asynccontextmanager
async def connected(host):
    yield host


def use(host):
    with connected(host) as c:
        return c
''',
    good_example='''\
import contextlib


@contextlib.asynccontextmanager
async def connected(host):
    yield host


async def use(host):
    async with connected(host) as c:
        return c
''',
    docs='''\
## What it does
Reports `with X(...)` where `X` is a class of the checked code (with its project bases) that
only has `__aenter__`/`__aexit__`, or an `@asynccontextmanager` function; and `async with X(...)`
where `X` only supports the plain protocol. The project's own counterpart of LL201.

## Why is this bad?
The block raises `TypeError` (or `AttributeError: __enter__`) the first time it runs,
usually on a path the tests do not cover.

{examples}
## Fix safety
No automatic fix yet; inside `async def`, `with` → `async with` is safe.
''',
)
