"""Worker processes with a watchdog per file, that die with their parent.

``concurrent.futures`` cannot stop one task: a file whose analysis runs away (libcst's
native parser on a 10 MB list literal needs about 8 GB, then aborts the process) took the
whole run with it. Here the parent sends each worker a batch of files and knows which one
it is on (the first of its batch not yet answered), so it can

- stop a file that runs past the time budget, or whose worker grows past the memory budget
  (its resident size, read from ``/proc`` every ``_POLL`` seconds), by killing that worker;
- turn a worker's death (a native abort, the kernel's OOM killer) into one failure for the
  file it was on;

and in each case give that file ``failed(target, why)`` (an LL900 line), start a new worker
and send it the rest of the batch. Each worker also has ``RLIMIT_AS`` set (its size when it
started plus twice the budget) as a backstop the polling cannot miss.

Workers die with their parent: on Linux the kernel sends them SIGKILL when it dies
(``PR_SET_PDEATHSIG``); elsewhere (and as a second guard) a thread in each worker sees its
parent change and exits. They ignore SIGINT (a Ctrl-C reaches the whole process group; the
parent decides), and the parent kills them on every way out of ``run``, an exception, a
KeyboardInterrupt or the SystemExit its SIGTERM handler raises included.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

#: How often the parent reads each worker's resident size, and a worker its parent's pid.
_POLL = 0.1
#: A worker's exit codes: its file raised MemoryError (under ``RLIMIT_AS``); its file's
#: result does not pickle or the function raised, so the parent does that file itself (as
#: it would without workers: the same result, or the same internal error).
_OUT_OF_MEMORY, _IN_THE_PARENT = 105, 106
#: Workers that die before answering anything, in a row, before the rest is done in-process.
_START_FAILURES = 3


@dataclass(frozen=True, slots=True)
class Budget:
    """How long one file may take (seconds) and how much a worker may grow while analysing
    it (MB); 0 is no limit."""

    seconds: float = 0
    megabytes: int = 0


class PoolUnavailable(Exception):
    """No worker process could be started (or kept alive) here: do the work in-process."""


def run(
    function: Callable[..., list],
    items: Sequence[object],
    batches: list[list[int]],
    jobs: int,
    shared: tuple,
    budget: Budget,
    failed: Callable[[object, str], object],
    done: Callable[[int], None] | None = None,
) -> list:
    """``function([item], *shared)[0]`` for every item, in ``jobs`` workers, the items sent
    in ``batches`` (lists of indexes, in the order given); one result per item in their order.
    An item stopped by the budget or whose worker died is ``failed(item, why)``. ``done(n)``
    is told as results come in. ``PoolUnavailable`` (with nothing done twice) when workers
    cannot be had; what was finished is kept in the exception's ``args[0]``."""
    results: list = [_PENDING] * len(items)
    if multiprocessing.current_process().daemon:
        # a daemonic process (a worker of flake8 -j, of a multiprocessing.Pool) may not start
        # children: the caller does the work in-process
        raise PoolUnavailable(results)
    queue = deque(batches)
    workers: list[_Worker] = []
    context = _context()
    dead_in_a_row = 0
    try:
        while queue or any(worker.todo for worker in workers):
            workers = [w for w in workers if w.alive]
            while len(workers) < jobs and queue:
                workers.append(_Worker(context, function, shared, budget))
            for worker in workers:
                if not worker.todo and queue:
                    worker.send(queue.popleft(), items)
            busy = [w for w in workers if w.todo]
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy], _timeout(busy, budget)
            )
            now = time.monotonic()
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    answered = worker.receive(results)
                    if answered:
                        dead_in_a_row = 0
                        if done is not None:
                            done(answered)
                    if worker.alive:
                        continue
                    if not worker.answered:
                        dead_in_a_row += 1
                        if dead_in_a_row >= _START_FAILURES:
                            raise PoolUnavailable(results)
                    if not worker.todo:
                        continue
                    if worker.process.exitcode == _IN_THE_PARENT:
                        index = worker.todo.pop(0)
                        results[index] = function([items[index]], *shared)[0]
                        if done is not None:
                            done(1)
                        if worker.todo:
                            queue.appendleft(worker.todo)
                        worker.todo = []
                        continue
                    why = worker.death(budget)
                else:
                    why = worker.over_budget(now, budget)
                    if why is None:
                        continue
                    worker.stop()
                index, rest = worker.todo[0], worker.todo[1:]
                worker.todo = []
                results[index] = failed(items[index], why)
                if done is not None:
                    done(1)
                if rest:
                    queue.appendleft(rest)
    except (OSError, EOFError) as err:
        raise PoolUnavailable(results) from err
    finally:
        for worker in workers:
            worker.stop()
    return results


_PENDING = object()


def pending(value: object) -> bool:
    """Is this entry of a ``PoolUnavailable``'s results still to be done?"""
    return value is _PENDING


def _context() -> multiprocessing.context.BaseContext:
    """fork where there is one: a worker starts in milliseconds, with what the parent has
    imported and computed (the project's summaries) already in place, nothing pickled."""
    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return multiprocessing.get_context()


def _timeout(busy: list[_Worker], budget: Budget) -> float | None:
    waits = []
    if budget.megabytes and _rss(os.getpid()) is not None:
        waits.append(_POLL)
    if budget.seconds:
        now = time.monotonic()
        waits += [max(0.0, w.since + budget.seconds - now) for w in busy]
    return min(waits) if waits else None


class _Worker:
    def __init__(self, context, function, shared, budget: Budget) -> None:  # type: ignore[no-untyped-def]
        ours, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(theirs, ours, function, shared, budget.megabytes, os.getpid()),
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.conn: Connection = ours
        self.todo: list[int] = []  # indexes sent, not answered; the first is being analysed
        self.since = time.monotonic()  # when it started on ``todo[0]``
        self.answered = 0
        self.alive = True
        self.base = _rss(self.process.pid) or 0  # its size before any file

    def send(self, batch: list[int], items: Sequence[object]) -> None:
        self.conn.send([(index, items[index]) for index in batch])
        self.todo = list(batch)
        self.since = time.monotonic()

    def receive(self, results: list) -> int:
        """Take every answer waiting; how many. A worker that is gone is marked so."""
        count = 0
        try:
            while self.todo and self.conn.poll():
                index, value = self.conn.recv()
                results[index] = value
                self.todo.remove(index)
                self.since = time.monotonic()
                count += 1
        except (EOFError, OSError):
            self.alive = False
        if self.alive and not self.process.is_alive():
            self.alive = False
        if not self.alive:
            self.process.join()
        self.answered += count
        return count

    def over_budget(self, now: float, budget: Budget) -> str | None:
        if budget.seconds and now - self.since > budget.seconds:
            return f"analysis stopped after {budget.seconds:g} s (analysis-timeout in [tool.leaklint])"
        if budget.megabytes:
            size = _rss(self.process.pid)
            if size is not None and size - self.base > budget.megabytes * 2**20:
                return _memory_stop(budget)
        return None

    def death(self, budget: Budget) -> str:
        code = self.process.exitcode
        if code == _OUT_OF_MEMORY:
            return _memory_stop(budget)
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            how = f"killed by {name}"
        else:
            how = f"exited with code {code}"
        return f"analysis stopped: the process analysing it was {how} (out of memory?)"

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self.alive = False


def _memory_stop(budget: Budget) -> str:
    return f"analysis stopped at {budget.megabytes:g} MB (max-memory-mb in [tool.leaklint])"


def _rss(pid: int) -> int | None:
    """The resident size of a process in bytes, where ``/proc`` says (else None)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


# --- in the worker --------------------------------------------------------------------------


def _serve(conn, parents_end, function, shared, megabytes: int, parent: int) -> None:  # type: ignore[no-untyped-def]
    parents_end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler
    _die_with(parent)
    if megabytes:
        _limit_address_space(2 * megabytes * 2**20)
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        for index, item in batch:
            try:
                conn.send((index, function([item], *shared)[0]))
            except MemoryError:
                os._exit(_OUT_OF_MEMORY)
            except Exception:  # noqa: BLE001 - not picklable, or our bug: see _IN_THE_PARENT
                os._exit(_IN_THE_PARENT)


def _die_with(parent: int) -> None:
    """Exit when ``parent`` does: the kernel's parent-death signal where there is one, and a
    thread that watches the parent's pid everywhere."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # it died before the signal was asked for
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_POLL * 5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _limit_address_space(extra: int) -> None:
    try:
        import resource

        with open("/proc/self/statm", "rb") as statm:
            size = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = size + extra
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or limit < soft:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError, IndexError):
        pass
