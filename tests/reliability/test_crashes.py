"""Real processes, real files: kill -9 at random moments, concurrent
writers, a full disk and a read-only folder. Afterwards every file at a final
path hashes to its name, every acknowledged buffer and record is there, and
SQLite's integrity check passes."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seamless import Checksum
from seamless.database import ResultDB
from seamless.exceptions import DatabaseUnavailableError
from seamless.hashserver import BufferStore

WORKER = Path(__file__).with_name("worker.py")
ITERATIONS = int(os.environ.get("SEAMLESS_CRASH_ITERATIONS", "12"))


def _start(tmp_path, durability, seed, count=None, log="ack.log"):
    args = [sys.executable, str(WORKER), str(tmp_path / "buffers"), str(tmp_path / "seamless.db"),
            str(tmp_path / log), durability, str(seed)]
    if count is not None:
        args.append(str(count))
    return subprocess.Popen(args, stderr=subprocess.PIPE)


def _acknowledged(path):
    buffers, records = set(), {}
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "B":
                buffers.add(parts[1])
            elif len(parts) == 3 and parts[0] == "T":
                records[parts[1]] = parts[2]
    return buffers, records


def _check_consistent(tmp_path, logs=("ack.log",)):
    store = BufferStore(tmp_path / "buffers")  # reopening cleans leftover temp files
    report = store.verify(quarantine=False)
    assert report.ok, report.corrupt
    assert os.listdir(tmp_path / "buffers" / ".tmp") == []
    with ResultDB(tmp_path / "seamless.db") as db:
        assert db.integrity_check() == "ok"
        for log in logs:
            buffers, records = _acknowledged(tmp_path / log)
            assert all(store.has(sorted(buffers)))
            keys = sorted(records)
            assert db.get_transformations(keys) == [Checksum(records[k]) for k in keys]
    return report.checked


@pytest.mark.slow
@pytest.mark.parametrize("durability", ["fsync", "none"])
def test_kill_9_many_times(tmp_path, durability):
    """SIGKILL in the middle of puts and transactions, over and over."""
    rng = random.Random(durability)
    total = 0
    for i in range(ITERATIONS):
        worker = _start(tmp_path, durability, seed=i)
        time.sleep(rng.uniform(0.05, 0.6))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        total = _check_consistent(tmp_path)
    assert total > 0  # the workers did get some work done


@pytest.mark.slow
def test_two_processes_at_once(tmp_path):
    """Two writers of the same and different buffers and records, together."""
    workers = [_start(tmp_path, "fsync", seed=s, count=60, log=f"ack{s}.log") for s in (1, 2)]
    for w in workers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err.decode()
    _check_consistent(tmp_path, logs=("ack1.log", "ack2.log"))


def _mount(*args):
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path):
    point = tmp_path / "disk"
    point.mkdir()
    if os.geteuid() != 0 or not _mount("-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield point
    subprocess.run(["umount", "-l", str(point)])


def test_full_disk(small_disk):
    """A full disk is a clear OSError; the store and database stay consistent."""
    store = BufferStore(small_disk / "buffers")
    kept = store.put(b"before the disk filled up")
    with pytest.raises(OSError) as info:
        store.put(os.urandom(8 << 20))
    assert info.value.errno == 28  # ENOSPC
    assert store.verify().ok and os.listdir(small_disk / "buffers" / ".tmp") == []
    assert store.get(kept) == b"before the disk filled up"
    db = ResultDB(small_disk / "seamless.db")
    import sqlite3

    with pytest.raises(sqlite3.OperationalError, match="full"):
        for _ in range(100):
            db.set_transformations([(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(2000)])
    assert db.integrity_check() == "ok"
    db.close()
    store.close()


def test_read_only_folder(tmp_path):
    """A folder mounted read-only: reads work, writes give EROFS, nothing changes."""
    source = tmp_path / "rw"
    BufferStore(source).put(b"readable")
    view = tmp_path / "ro"
    view.mkdir()
    if os.geteuid() != 0 or not _mount("--bind", str(source), str(view)):
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        assert _mount("-o", "remount,ro,bind", str(view))
        with BufferStore(view, writable=False) as ro:
            assert ro.get(hashlib.sha256(b"readable").hexdigest()) == b"readable"
        with BufferStore(view) as rw, pytest.raises(OSError) as info:
            rw.put(b"new")
        assert info.value.errno == 30  # EROFS
        with pytest.raises(DatabaseUnavailableError, match="for writing"):
            ResultDB(view / "seamless.db")
    finally:
        subprocess.run(["umount", "-l", str(view)])
    assert BufferStore(source).verify().checked == 1
