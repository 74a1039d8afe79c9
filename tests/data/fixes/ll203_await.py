"""LL203: a clean-up coroutine called without await, inside async def."""

import aiohttp


async def fetch(url):
    session = aiohttp.ClientSession()
    try:
        return await session.get(url)
    finally:
        session.close()  # the coroutine was dropped


def not_async(writer):
    writer.close()
