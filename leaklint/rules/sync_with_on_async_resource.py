"""LL201 sync-with-on-async-resource."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from leaklint.rules.base import LineOf, Rule, release_advice

if TYPE_CHECKING:  # libcst and the analysis load only when a file is analysed
    from leaklint.analysis.leaks import Leak


@dataclass(frozen=True, slots=True)
class SyncWithOnAsyncResource(Rule):
    def message(self, leak: Leak, line_of: LineOf) -> str:
        resource = leak.resource
        if resource.with_releases:
            advice = "use `async with`"
        else:  # no async context manager either
            advice = f"bind it and {release_advice(leak, with_block=False)}"
        return (
            f"`with {resource.display[:-2]}(...)` on an async {resource.kind}: "
            f"it fails at run time or never closes; {advice}"
        )


RULE = SyncWithOnAsyncResource(
    code="LL201",
    name="sync-with-on-async-resource",
    summary="A plain `with` on an async-only context manager.",
    leak_kinds=('sync-with-async',),
    bad_example='''\
import aiohttp


async def fetch(url):
    with aiohttp.ClientSession() as session:
        return await session.get(url)
''',
    good_example='''\
import aiohttp


async def fetch(url):
    async with aiohttp.ClientSession() as session:
        return await session.get(url)
''',
    docs='''\
## What it does
Reports `with X(...)` (not `async with`) where `X` makes an async resource of the
registry (`aiohttp.ClientSession`, `httpx.AsyncClient`, `aiofiles.open`, ...).

## Why is this bad?
Depending on the library, the block fails at run time (`TypeError: ... does not support the
context manager protocol`) or silently never closes the resource.

{examples}
## Fix safety
`leaklint check --fix` turns a one-item `with` into `async with` inside `async def`: safe.
''',
)
