"""LL201: a plain with on an async-only context manager, inside async def."""

import aiohttp


async def fetch(url):
    # the session
    with aiohttp.ClientSession() as session:  # keep this comment
        return await session.get(url)


def not_async(url):
    with aiohttp.ClientSession() as session:
        return session
