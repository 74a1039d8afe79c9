"""LL200 async-resource-not-released."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL200",
    name="async-resource-not-released",
    summary="An async resource without async with / an awaited close on every path.",
    leak_kinds=(),
    bad_example='''\
import aiohttp


async def fetch(url):
    session = aiohttp.ClientSession()
    async with session.get(url) as response:  # if this raises, the session leaks
        text = await response.text()
    await session.close()
    return text
''',
    good_example='''\
import aiohttp


async def fetch(url):
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as response:
            return await response.text()
''',
    docs='''\
## What it does
Reports an async resource that is not released on every path of an `async def`, where
every `await` is a point at which an exception or a cancellation can leave:
`aiohttp.ClientSession` and `TCPConnector`, `httpx.AsyncClient`, `asyncpg.connect` and
`create_pool`, `aiosqlite.connect`, `aiofiles.open`, `anyio.open_file`, the writer of
`asyncio.open_connection`, `asyncio.start_server`, `asyncio.create_subprocess_exec/_shell`,
`redis.asyncio.Redis`, `websockets.connect`. Released by `async with`, an awaited
`close()`/`aclose()` (`wait()` for a process), `AsyncExitStack.enter_async_context`,
`contextlib.aclosing`. An async generator that holds one across `yield` leaks it when its
consumer stops early.

## Why is this bad?
A server handles many requests concurrently; a client session or connection leaked on
each cancelled request exhausts sockets and connection limits. aiohttp warns
"Unclosed client session" only when the garbage collector gets there.

{examples}
## Fix safety
A fix puts the release at the end of the block that acquires it: `async with` where the
object is an async context manager that only closes, else `try/finally` with
`await x.aclose()`. Safe when nothing outside the block uses the name and nothing made from
it leaves the block; otherwise offered as unsafe, with the reason in `--show-fixes`.
''',
)
