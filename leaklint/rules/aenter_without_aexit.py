"""LL202 aenter-without-aexit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, path_message

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class AenterWithoutAexit(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        enter = leak.resource.qualname
        leave = leak.resource.release[0]
        call = "await" if enter == "__aenter__" else "call"
        return path_message(
            leak, line_of, f"{call} {leak.var or 'it'}.{leave}(...) in a finally"
        ).replace(f"from {enter}()", f"entered by {enter}()")


RULE = AenterWithoutAexit(
    code="LL202",
    name="aenter-without-aexit",
    summary="__aenter__() (or __enter__()) called by hand without __aexit__ on every path.",
    leak_kinds=(),
    bad_example='''\
import aiohttp


async def start(url):
    session = aiohttp.ClientSession()
    await session.__aenter__()
    response = await session.get(url)  # if this raises, __aexit__ never runs
    await session.__aexit__(None, None, None)
    return response.status
''',
    good_example='''\
import contextlib

import aiohttp


async def start(url):
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())
        response = await session.get(url)
        return response.status
''',
    docs='''\
## What it does
Reports `await cm.__aenter__()` (or `cm.__enter__()`) called by hand without an awaited
`cm.__aexit__(...)` (or `cm.__exit__(...)`) on every path, in a function that creates the
context manager or exits it somewhere (a set-up method that enters and a tear-down that
exits are a pair across functions and are not reported).

## Why is this bad?
Entering by hand gives up what `async with` guarantees: when anything between the enter and
the exit raises, the exit never runs and what the context manager holds leaks.

{examples}
## Fix safety
No automatic fix.
''',
)
