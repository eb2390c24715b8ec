"""Outside writers' lock files (seamless.hashserver.locks): which files
count, when a lock is stale, and a real server's GET waiting for one."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time

import pytest

from seamless.hashserver.locks import OutsideLocks
from server_process import ServerProcess

CS = "ab" * 32


@pytest.mark.parametrize("prefix_layout, folder", [(True, "ab"), (False, "")])
def test_which_files_lock_a_buffer(tmp_path, prefix_layout, folder):
    locks = OutsideLocks(str(tmp_path), prefix_layout, timeout=60)
    where = tmp_path / folder if folder else tmp_path
    assert locks.paths(CS) == [str(where / ".LOCK"), str(where / (CS + ".LOCK"))]
    assert not locks.held(CS)  # no lock, no folder
    where.mkdir(exist_ok=True)
    for name in (".LOCK", CS + ".LOCK"):
        (where / name).touch()
        assert locks.held(CS)
        # another buffer: locked too by the folder's lock, where it goes to the same folder
        assert locks.held("cd" * 32) == (name == ".LOCK" and not prefix_layout)
        (where / name).unlink()
    if prefix_layout:  # the main folder's .LOCK does not count in the prefix layout
        (tmp_path / ".LOCK").touch()
        assert not locks.held(CS)


def test_a_stale_lock_is_ignored(tmp_path):
    locks = OutsideLocks(str(tmp_path), False, timeout=5)
    lock = tmp_path / (CS + ".LOCK")
    lock.touch()
    assert locks.held(CS)
    old = time.time() - 6
    os.utime(lock, (old, old))
    assert not locks.held(CS)
    started = time.monotonic()
    assert asyncio.run(locks.wait(CS)) is False and time.monotonic() - started < 0.5


def test_wait_ends_with_the_timeout(tmp_path):
    locks = OutsideLocks(str(tmp_path), False, timeout=0.6, poll=0.02)
    (tmp_path / ".LOCK").touch()
    started = time.monotonic()
    assert asyncio.run(locks.wait(CS)) is True  # never released
    assert 0.55 < time.monotonic() - started < 5


def test_wait_ends_with_the_lock(tmp_path):
    locks = OutsideLocks(str(tmp_path), False, timeout=30, poll=0.02)
    lock = tmp_path / ".LOCK"
    lock.touch()
    threading.Timer(0.3, lock.unlink).start()
    started = time.monotonic()
    assert asyncio.run(locks.wait(CS)) is True
    assert 0.25 < time.monotonic() - started < 10


@pytest.fixture
def server(tmp_path):
    with ServerProcess("hashserver", [str(tmp_path / "buffers"), "--writable", "--lock-timeout", "3"],
                       tmp_path) as srv:
        srv.directory = tmp_path / "buffers"
        yield srv


def lock_buffer(server, data: bytes):
    """An outside writer's start: the buffer's checksum, its shard folder,
    and its own lock file, created."""
    cs = hashlib.sha256(data).hexdigest()
    shard = server.directory / cs[:2]
    shard.mkdir(exist_ok=True)
    lock = shard / (cs + ".LOCK")
    lock.touch()
    return cs, shard, lock


def test_get_waits_for_an_outside_writer(server):
    """An outside writer locks, writes the buffer in place, then unlocks: a
    GET in between gets the buffer, not a 404."""
    data = os.urandom(3000)
    cs, shard, lock = lock_buffer(server, data)

    def writer():
        time.sleep(0.5)
        (shard / cs).write_bytes(data)
        lock.unlink()

    thread = threading.Thread(target=writer)
    thread.start()
    assert server.request("GET", f"/{cs}") == (200, data)  # asked before the file existed
    thread.join()


def test_a_file_being_written_is_not_served_half_written(server):
    """The writer locks and writes in place: a GET meanwhile waits for the
    lock to go, then serves the whole file; a complete file under a lock is
    served at once."""
    data = os.urandom(200_000)
    cs, shard, lock = lock_buffer(server, data)
    (shard / cs).write_bytes(data[:1000])

    def writer():
        time.sleep(0.5)
        (shard / cs).write_bytes(data)
        time.sleep(0.2)
        lock.unlink()

    thread = threading.Thread(target=writer)
    thread.start()
    started = time.monotonic()
    assert server.request("GET", f"/{cs}") == (200, data)
    assert time.monotonic() - started > 0.6  # it waited for the lock, not for the whole file
    thread.join()
    lock.touch()  # the file is whole: served although a lock is there
    started = time.monotonic()
    assert server.request("GET", f"/{cs}") == (200, data)
    assert time.monotonic() - started < 2


def test_a_lock_delays_a_404_by_the_lock_timeout_at_most(server):
    shard = server.directory / CS[:2]
    shard.mkdir(exist_ok=True)
    (shard / ".LOCK").touch()  # a folder lock, never released
    started = time.monotonic()
    assert server.request("GET", f"/{CS}")[0] == 404
    assert 2.8 < time.monotonic() - started < 10
    (shard / ".LOCK").unlink()
    started = time.monotonic()
    assert server.request("GET", f"/{CS}")[0] == 404  # no lock: at once
    assert time.monotonic() - started < 1
