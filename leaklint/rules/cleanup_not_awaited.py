"""LL203 cleanup-not-awaited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class CleanupNotAwaited(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        target = leak.var or "x"
        method = leak.other
        return (
            f"`{target}.{method}()` is a coroutine that is never awaited: nothing is released; "
            f"write `await {target}.{method}({'...' if method == '__aexit__' else ''})`"
        )


RULE = CleanupNotAwaited(
    code="LL203",
    name="cleanup-not-awaited",
    summary="A clean-up coroutine (aclose(), close() of an async resource, __aexit__(), wait_closed()) is called without await.",
    leak_kinds=('not-awaited',),
    bad_example='''\
import aiohttp


async def fetch(url):
    session = aiohttp.ClientSession()
    try:
        return await session.get(url)
    finally:
        session.close()  # a coroutine, dropped
''',
    good_example='''\
import aiohttp


async def fetch(url):
    session = aiohttp.ClientSession()
    try:
        return await session.get(url)
    finally:
        await session.close()
''',
    docs='''\
## What it does
Reports a call, as a statement and without `await`, to a clean-up coroutine: `x.aclose()`,
`cm.__aexit__(...)`, `writer.wait_closed()`, and `x.close()` where `x` holds an async
resource whose `close()` is a coroutine (`aiohttp.ClientSession`, `asyncpg` connections,
...). A coroutine passed on (`asyncio.create_task(x.aclose())`,
`loop.run_until_complete(session.close())`) is fine.

## Why is this bad?
Calling a coroutine function only creates the coroutine; without `await` nothing runs, the
resource stays open, and CPython prints "coroutine ... was never awaited" at some later
point.

{examples}
## Fix safety
`leaklint check --fix` adds the missing `await` inside `async def`: safe.
''',
)
