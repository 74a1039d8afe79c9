"""LL140 lock-not-released."""

from __future__ import annotations

from leaklint.rules.base import PathRule

RULE = PathRule(
    code="LL140",
    name="lock-not-released",
    summary="lock.acquire() without release() on every path (or with).",
    leak_kinds=(),
    bad_example='''\
import threading

LOCK = threading.Lock()


def bump(counter):
    LOCK.acquire()
    counter.value += 1  # if this raises, the lock is never released
    LOCK.release()
''',
    good_example='''\
import threading

LOCK = threading.Lock()


def bump(counter):
    with LOCK:
        counter.value += 1
''',
    docs='''\
## What it does
Reports `lock.acquire()` without a `release()` of the same lock on every path, the
exception path included, in a function that creates the lock or releases it somewhere (a
function that only acquires a shared lock, like logging's `_acquireLock()`, pairs with
another that releases it; a semaphore used as a signal is acquired and released in
different places). Locks are recognised by what they were made by: `threading.Lock`,
`RLock`, `Semaphore`, `BoundedSemaphore`, `Condition`, `multiprocessing.Lock`/`RLock`/
`Semaphore`, `asyncio.Lock`/`Semaphore` (with `await lock.acquire()`), bound in the
function, at module level or on `self`. A non-blocking acquire
(`acquire(blocking=False)`, `acquire(timeout=...)`) only holds the lock where its result
was true: `if lock.acquire(blocking=False):` and `ok = lock.acquire(timeout=1)` /
`if not ok: return` are understood. A semaphore's permit that no release of that semaphore
follows in the function (`await sem.acquire(); return True`) is taken and kept on purpose,
given back by whoever the function hands it to (registry key `permits`). As for LL101, only a statement that can raise opens the
exception path (see LL101's "statements that cannot raise").

## Why is this bad?
A lock that is never released deadlocks the next thread (or task) that wants it, usually
far from the bug and only after an unrelated error.

{examples}
## Fix safety
A fix rewrites `acquire()` ... `release()` in one block to `with lock:` (`async with` for
`await lock.acquire()`). Safe when the release is the last use of the lock in the block;
unsafe when a path leaves the block (a `return`) while holding the lock on purpose.
''',
)
