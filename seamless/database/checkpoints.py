"""WAL checkpoints off the commit path.

In WAL mode every commit appends pages to the write-ahead log, and a
checkpoint copies them back into the database file (syncing both). SQLite
runs it inside the commit that crosses ``wal_autocheckpoint``: that commit
then waits tens of milliseconds, and on this kind of disk the checkpoints
take about a third of a stream of single-record commits.

Here a daemon thread of the process checkpoints instead, on its own
connection, while the writers go on: a PASSIVE checkpoint (it never blocks
a writer or a reader) once this process's commits have changed
CHECKPOINT_CHANGES rows since the last one (about 6,000 frames of log for
single-record commits, fewer for batches). The writers keep SQLite's own
automatic checkpoint, at SAFETY_FRAMES: under steady writes the background
checkpoint never quite catches up with the end of the log, so the log only
starts over when a writer's own checkpoint finds almost everything copied
already (a short pause), and if the thread falls behind the writers do the
work as SQLite always does.

The thread never opens the ``-wal`` or ``-shm`` files itself: closing any
descriptor of a file drops every POSIX lock that the process holds on it,
SQLite's included, and another process could then reset a log that is in
use.

Durability does not change: with ``synchronous=NORMAL`` a commit is safe
from a crash of the process at once and from a power loss after the next
checkpoint or log sync, whichever thread runs it; ``FULL`` syncs each
commit.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from typing import Callable

log = logging.getLogger(__name__)

#: Rows changed by this process's commits before the thread copies the log back.
CHECKPOINT_CHANGES = 2_000
#: The writers' own automatic checkpoint (SQLite's wal_autocheckpoint), in frames.
SAFETY_FRAMES = 20_000
#: Seconds between looks at the count, while this process writes.
INTERVAL = 0.05


class Checkpointer:
    """The checkpoint thread of one database file in this process, started
    by the first write (and again in a forked child)."""

    def __init__(self, path: str, connect: Callable[[], sqlite3.Connection], interval: float = INTERVAL):
        self.path = path
        self._connect = connect
        self._interval = interval
        self._changes = 0  # since the last checkpoint (a count for a heuristic: races do no harm)
        self._pid = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        #: Checkpoints run by the thread (for tests and statistics).
        self.count = 0

    def wrote(self, changes: int) -> None:
        """A commit of this process that changed this many rows."""
        self._changes += changes
        if self._pid != os.getpid():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid() or self._stop.is_set():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name=f"checkpoints {os.path.basename(self.path)}",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        con = None
        try:
            while not self._stop.wait(self._interval):
                if self._changes < CHECKPOINT_CHANGES:
                    continue
                self._changes = 0
                try:
                    if con is None:
                        con = self._connect()
                    con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.count += 1
                except sqlite3.Error as exc:  # locked or gone: again later; the writers' own remains
                    log.debug("background checkpoint of %s: %s", self.path, exc)
        finally:
            if con is not None:
                con.close()

    def stop(self, join: bool = True) -> None:
        """End the thread (after the checkpoint it may be running; join=False
        does not wait for that)."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if join and thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join()
