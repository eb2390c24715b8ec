"""The settings of every connection to a seamless.db (connection.py)."""

from __future__ import annotations

import threading

from seamless.database.checkpoints import SAFETY_FRAMES
from seamless.database.connection import CACHE_KIB, settings
from seamless.database.store import ResultDB


def pragma(con, name: str) -> int:
    return con.execute(f"PRAGMA {name}").fetchone()[0]


def test_every_connection_runs_with_the_settings(tmp_path):
    """Writers, readers of other threads and read-only stores alike: a small
    page cache, reads through a memory map larger than the old 256 MiB, the
    writers' own checkpoint interval, and the durability asked for."""
    path = tmp_path / "seamless.db"
    seen = []  # (connection, its synchronous: 1 NORMAL, 2 FULL)
    with ResultDB(path, synchronous="FULL") as db:
        db.set_transformation("11" * 32, "22" * 32)
        seen.append((db._db.get(), 2))
        thread = threading.Thread(target=lambda: seen.append((db._db.get(), 2)))
        thread.start()
        thread.join()
        with ResultDB(path, readonly=True) as ro:
            assert ro.get_transformation("11" * 32).hex() == "22" * 32
            seen.append((ro._db.get(), 1))
            assert len({id(con) for con, _ in seen}) == 3
            for con, synchronous in seen:
                assert pragma(con, "cache_size") == CACHE_KIB
                assert pragma(con, "mmap_size") > 1 << 28
                assert pragma(con, "wal_autocheckpoint") == SAFETY_FRAMES
                assert pragma(con, "synchronous") == synchronous
                assert pragma(con, "journal_mode") == "wal"


def test_the_settings_follow_the_durability():
    assert "PRAGMA synchronous=NORMAL" in settings("NORMAL")
    assert "PRAGMA synchronous=FULL" in settings("FULL")
