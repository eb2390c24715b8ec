"""Threads that run ResultDB calls for the database server's event loop.

SQLite calls never run in the event loop: a read can wait on the disk, a
write on another process's lock or on a sync. Each Worker is one thread
with a queue. The requests of one turn of the event loop are queued as one
job list; the thread takes everything that is queued at once, runs it, and
hands all the answers back to the loop in one callback, so a burst of
concurrent requests costs one thread wake-up, not one per request.

The writer runs each burst inside one transaction (group commit): every
write is its own savepoint (all-or-nothing by itself), and one COMMIT makes
the burst durable. If that COMMIT fails, the burst is replayed one write per
transaction, so one bad write never takes the others down with it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from typing import Any, Callable

LOGGER = logging.getLogger("seamless.database")
#: Most requests taken together (one transaction for the writer).
MAX_BURST = 512
_STOP = object()

Job = tuple[Callable[[Any], Any], "asyncio.Future[Any]"]


class Worker:
    """One thread running jobs fn(db) -> value for an event loop."""

    def __init__(self, db: Any, name: str, grouped: bool):
        self.db = db
        self.grouped = grouped
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[Job] = []  # submitted in this turn of the loop
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[Any], Any]) -> "asyncio.Future[Any]":
        """Queue fn(db); the future gets its value or its exception.

        Jobs submitted during one turn of the event loop (the requests that
        arrived together) are handed to the thread together, at the end of
        the turn: one wake-up for all of them.
        """
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._pending:
            loop.call_soon(self._hand_over)
        self._pending.append((fn, future))
        return future

    def _hand_over(self) -> None:
        jobs, self._pending = self._pending, []
        self._queue.put(jobs)

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        self._queue.put(_STOP)
        self._thread.join()

    # ---- the thread ----------------------------------------------------------

    def _main(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs = list(first)
            stop = False
            while len(jobs) < MAX_BURST:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                jobs.extend(more)
            outcomes = self._run_grouped(jobs) if self.grouped and len(jobs) > 1 else self._run_each(jobs)
            self._deliver(jobs, outcomes)
            if stop:
                return

    def _run_each(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        outcomes = []
        for fn, _ in jobs:
            try:
                outcomes.append((True, fn(self.db)))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting request
                outcomes.append((False, exc))
        return outcomes

    def _run_grouped(self, jobs: list[Job]) -> list[tuple[bool, Any]]:
        try:
            with self.db.group():
                outcomes = self._run_each(jobs)
        except Exception:  # noqa: BLE001 - the COMMIT failed: replay one by one
            LOGGER.warning("group commit of %d writes failed; writing them one by one", len(jobs),
                           exc_info=True)
            outcomes = self._run_each(jobs)
        return outcomes

    def _deliver(self, jobs: list[Job], outcomes: list[tuple[bool, Any]]) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(_settle, [future for _, future in jobs], outcomes)
        except RuntimeError:  # the loop closed meanwhile
            pass


def _settle(futures: list["asyncio.Future[Any]"], outcomes: list[tuple[bool, Any]]) -> None:
    for future, (ok, value) in zip(futures, outcomes):
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
