"""SQLite connections of a ResultDB: one per thread, WAL, short transactions.

Many processes may use one database file at once (a server and in-process
clients). Every connection therefore has a busy timeout, and every write is
a short ``BEGIN IMMEDIATE`` transaction: it takes the write lock up front, so
two writers queue instead of failing on a lock upgrade, and no update is
lost. Reads run in autocommit mode (each statement sees a consistent
snapshot); batched reads run in one read transaction. Checkpoints run on a
thread of their own (see checkpoints.py), not inside a commit.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import threading
import time
import weakref
from typing import Callable, Iterator, Literal

from ..exceptions import ReadOnlyStoreError
from .checkpoints import SAFETY_FRAMES, Checkpointer

Synchronous = Literal["NORMAL", "FULL"]
#: SQLite's page cache of a connection: 8,000 KiB (a negative cache_size counts KiB), see settings().
CACHE_KIB = -8000
#: The most of the file a connection reads through a memory map (SQLite caps it at its build's limit).
MMAP_BYTES = 1 << 31


def _open(path: str, readonly: bool, synchronous: Synchronous, timeout: float) -> sqlite3.Connection:
    """A connection with this module's settings."""
    if readonly:
        uri = f"file:{os.path.abspath(path)}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)
    else:
        con = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        _retry_while_locked(lambda: con.execute("PRAGMA journal_mode=WAL"), timeout)
    for statement in settings(synchronous):
        con.execute(statement)
    return con


def settings(synchronous: Synchronous) -> list[str]:
    """The PRAGMAs of every connection to a seamless.db, this module's and
    the native front's (which runs them as they are given to it).

    * Reads go through a memory map (up to SQLite's own limit, 2 GiB on a
      default build), so the page cache holds little more than the pages
      of the WAL and of the transaction at hand.
    * The page cache is therefore small, and must be: a transaction that
      split a B-tree page ends with a walk over SQLite's whole page cache
      (the split renumbers pages through a temporary number far beyond the
      end of the file, and the cache is then cut back to the file's size).
      With 64 MB of cache on a 430 MB seamless.db that walk took a fifth of
      a single-record commit; with 8 MB the front stored 49-59% more
      records per second (docs/PERFORMANCE.md).
    * Checkpoints (each with an fsync) are the checkpoint thread's; a writer
      runs one only if that falls behind (SAFETY_FRAMES).
    """
    return [f"PRAGMA synchronous={synchronous}", f"PRAGMA cache_size={CACHE_KIB}",
            f"PRAGMA mmap_size={MMAP_BYTES}", f"PRAGMA wal_autocheckpoint={SAFETY_FRAMES}"]


def _retry_while_locked(action: "Callable[[], object]", timeout: float) -> None:
    """Run action, retrying while another process holds the lock.

    SQLite's busy handler does not cover every case (switching a new file to
    WAL while another process does the same returns "database is locked" at
    once), so this waits up to the timeout itself.
    """
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


class Connections:
    """Per-thread connections to one database file."""

    def __init__(self, path: str, *, readonly: bool, synchronous: Synchronous, timeout: float):
        self.path = path
        self.readonly = readonly
        self.synchronous = synchronous
        self.timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        self._connect = functools.partial(_open, path, readonly, synchronous, timeout)
        self._checkpoints = None if readonly else Checkpointer(path, self._connect)
        if self._checkpoints is not None:  # a store dropped without close() ends its thread too
            weakref.finalize(self, self._checkpoints.stop, join=False)

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        con = getattr(self._local, "con", None)
        if con is None:
            if self._closed:
                raise sqlite3.ProgrammingError(f"database {self.path!r} is closed")
            con = self._connect()
            self._local.con = con
            with self._lock:
                self._all.append(con)
        return con

    def begin_immediate(self, con: sqlite3.Connection) -> None:
        """Start a write transaction, waiting for other writers."""
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            _retry_while_locked(lambda: con.execute("BEGIN IMMEDIATE"), self.timeout)

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on error.

        Inside a group() it is a savepoint of the group's transaction: its
        changes are undone on error, the others' are kept.
        """
        self.check_writable()
        con = self.get()
        if con.in_transaction:
            con.execute("SAVEPOINT w")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK TO w")
                con.execute("RELEASE w")
                raise
            con.execute("RELEASE w")
            return
        start = con.total_changes
        self.begin_immediate(con)
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        self.committed(con.total_changes - start)

    def committed(self, changes: int) -> None:
        """Rows changed by a commit of this process (for the checkpoint thread)."""
        if self._checkpoints is not None:
            self._checkpoints.wrote(changes)

    @contextlib.contextmanager
    def group(self) -> Iterator[sqlite3.Connection]:
        """One transaction around many writes of this thread (group commit):
        each write() inside is a savepoint, and one COMMIT ends them all.
        Nothing is committed if the group's body raises."""
        self.check_writable()
        con = self.get()
        if con.in_transaction:  # already in a group: join it
            yield con
            return
        start = con.total_changes
        self.begin_immediate(con)
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        self.committed(con.total_changes - start)

    def check_writable(self) -> None:
        """Raise ReadOnlyStoreError if the file is open for reading only."""
        if self.readonly:
            raise ReadOnlyStoreError(f"the database {self.path} is open for reading only")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (one consistent snapshot for several queries)."""
        con = self.get()
        if con.in_transaction:  # inside a write or a group: already consistent
            yield con
            return
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("COMMIT")

    def close(self) -> None:
        """Close every connection (of every thread)."""
        if self._checkpoints is not None:
            self._checkpoints.stop()
        with self._lock:
            self._closed = True
            for con in self._all:
                con.close()
            self._all.clear()
        self._local = threading.local()
