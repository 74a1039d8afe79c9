"""LL140: acquire() ... release() in one block becomes `with lock:`."""

import asyncio
import threading

LOCK = threading.Lock()


def bump(counter):
    LOCK.acquire()  # the lock's own with does acquire/release
    counter.append(len(counter) // counter[0])
    LOCK.release()


class Counter:
    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def bump(self, step):
        self._lock.acquire()
        self.value += int(step)
        self._lock.release()


async def put(queue, lock: asyncio.Lock):
    await lock.acquire()
    await queue.put(1)
    lock.release()
