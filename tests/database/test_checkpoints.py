"""WAL checkpoints on a thread of their own, not inside a commit."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time

from seamless.database import ResultDB, checkpoints


def _records(db: ResultDB, count: int) -> None:
    for _ in range(count):
        db.set_transformation(os.urandom(32).hex(), os.urandom(32).hex())


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("checkpoints ")]


def _wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _log_state(db: ResultDB) -> tuple[int, int]:
    """(frames in the log, frames copied back), as SQLite reports them (a
    PASSIVE checkpoint of nothing new copies nothing)."""
    busy, last, copied = db._db.get().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0
    return last, copied


def test_the_thread_copies_the_log_back_while_writers_go_on(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_CHANGES", 200)
    path = tmp_path / "seamless.db"
    with ResultDB(path) as db:
        size = os.path.getsize(path)
        _records(db, 99)  # two rows each: 198 changes
        time.sleep(5 * checkpoints.INTERVAL)
        assert db._db._checkpoints.count == 0 and os.path.getsize(path) == size
        _records(db, 1)
        assert _wait_for(lambda: db._db._checkpoints.count == 1)
        assert os.path.getsize(path) > size  # the pages are in the database file now
        last, copied = _log_state(db)
        assert copied == last > 0  # nothing was left for the check above to copy
        assert db.integrity_check() == "ok"


def test_batches_count_their_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "CHECKPOINT_CHANGES", 200)
    with ResultDB(tmp_path / "seamless.db") as db:
        db.set_transformations([(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(100)])
        assert _wait_for(lambda: db._db._checkpoints.count == 1)


def test_without_writes_no_thread_and_no_checkpoint(tmp_path):
    path = tmp_path / "seamless.db"
    before = len(_checkpoint_threads())
    with ResultDB(path) as db:
        _records(db, 1)
    with ResultDB(path) as db:
        db.get_transformation("aa" * 32)
        assert len(_checkpoint_threads()) == before and db._db._checkpoints.count == 0
    with ResultDB(path, readonly=True) as db:
        db.get_transformation("aa" * 32)
        assert db._db._checkpoints is None


def test_close_and_dropping_end_the_thread(tmp_path):
    before = len(_checkpoint_threads())
    db = ResultDB(tmp_path / "closed.db")
    _records(db, 1)
    assert len(_checkpoint_threads()) == before + 1
    db.close()
    assert len(_checkpoint_threads()) == before
    assert not os.path.exists(tmp_path / "closed.db-wal")  # the last connection removed the log
    db = ResultDB(tmp_path / "dropped.db")
    _records(db, 1)
    del db
    gc.collect()
    assert _wait_for(lambda: len(_checkpoint_threads()) == before, 5.0)


def test_a_failing_checkpoint_is_left_to_later(tmp_path, monkeypatch):
    """A checkpoint that cannot run (here: its connection cannot be opened,
    as when the file is locked) does not end the thread; the next round of
    changes tries again, and the writers' own checkpoint remains meanwhile."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_CHANGES", 20)
    with ResultDB(tmp_path / "seamless.db") as db:
        checkpointer = db._db._checkpoints
        real_connect, failures = checkpointer._connect, []

        def locked_once():
            if not failures:
                failures.append(1)
                raise sqlite3.OperationalError("database is locked")
            return real_connect()

        checkpointer._connect = locked_once
        _records(db, 10)
        assert _wait_for(lambda: failures)
        _records(db, 10)
        assert _wait_for(lambda: checkpointer.count > 0)
