"""LL140: acquire() ... release() in one block becomes `with lock:`."""

import asyncio
import threading

LOCK = threading.Lock()


def bump(counter):
    with LOCK:  # the lock's own with does acquire/release
        counter.append(len(counter) // counter[0])


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def bump(self, step):
        with self._lock:
            self.value += int(step)


async def put(queue, lock: asyncio.Lock):
    async with lock:
        await queue.put(1)
