"""Which large files a hashserver found to match their names (verified.py),
and that its own uploads are among them without a second hashing."""

from __future__ import annotations

import hashlib
import os

import pytest

from seamless.hashserver.app import SMALL_FILE, HashserverApp
from seamless.hashserver.store import BufferStore
from seamless.hashserver.verified import VerifiedFiles
from server_process import ThreadedServer


def test_a_version_is_known_until_the_file_changes(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"one")
    verified = VerifiedFiles()
    before = os.stat(path)
    assert before not in verified
    verified.add(before)
    assert os.stat(path) in verified
    path.write_bytes(b"two")  # same size, new change time
    assert os.stat(path) not in verified


def test_the_least_recently_served_are_forgotten_first(tmp_path):
    verified = VerifiedFiles(capacity=2)
    infos = []
    for name in "abc":
        (tmp_path / name).write_bytes(name.encode())
        infos.append(os.stat(tmp_path / name))
    verified.add(infos[0])
    verified.add(infos[1])
    assert infos[0] in verified  # served again: now the most recent
    verified.add(infos[2])
    assert len(verified) == 2 and infos[1] not in verified and infos[0] in verified and infos[2] in verified


@pytest.mark.parametrize("durability", ["none", "fsync"])  # written in the event loop, or in a thread
def test_the_servers_own_large_uploads_are_known_at_once(tmp_path, durability):
    store = BufferStore(str(tmp_path / "b"), "prefix", "sha-256", durability, writable=True)
    app = HashserverApp(store, writable=True)
    large, streamed, small = os.urandom(SMALL_FILE + 1), os.urandom(3 << 20), os.urandom(1000)
    with ThreadedServer(app) as srv:
        for data in (large, streamed, small):
            cs = hashlib.sha256(data).hexdigest()
            assert srv.request("PUT", f"/{cs}", raw=data) == (200, b"OK")
            known = os.stat(tmp_path / "b" / cs[:2] / cs) in app.verified  # before any GET
            assert known == (data is not small)
            assert srv.request("GET", f"/{cs}") == (200, data)
    assert len(app.verified) == 2  # small files are hashed as they are read, never remembered
