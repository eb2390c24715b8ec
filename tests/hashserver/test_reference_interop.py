"""Buffer folders are interchangeable with the reference hashserver: it
serves folders we wrote, and we read folders it wrote."""

from __future__ import annotations

import hashlib
import os

import pytest

from reference_servers import ReferenceServer
from seamless.hashserver import BufferStore

pytestmark = pytest.mark.reference


@pytest.mark.parametrize("layout", ["prefix", "flat"])
def test_reference_serves_our_folder(tmp_path, layout):
    """Every buffer we store is served by the reference hashserver."""
    store = BufferStore(tmp_path / "buffers", layout)
    payloads = [os.urandom(n) for n in (0, 10, 100_000, 3 << 20)]
    checksums = [store.put(p).hex() for p in payloads]
    server = ReferenceServer("hashserver", [str(tmp_path / "buffers"), "--layout", layout], str(tmp_path))
    try:
        for cs, payload in zip(checksums, payloads):
            assert server.request("GET", f"/{cs}") == (200, payload)
        status, body = server.request("GET", "/has", checksums + ["00" * 32])
        assert status == 200 and body == b"[" + b",".join([b"true"] * 4) + b",false]"
    finally:
        server.stop()


def test_we_read_what_the_reference_wrote(tmp_path):
    """Buffers PUT into the reference hashserver are read and verified by
    BufferStore, and both can write the folder at the same time."""
    folder = tmp_path / "buffers"
    folder.mkdir()
    server = ReferenceServer("hashserver", [str(folder), "--writable"], str(tmp_path))
    try:
        payloads = [os.urandom(n) for n in (1, 5000, 2 << 20)]
        for p in payloads:
            assert server.request("PUT", f"/{hashlib.sha256(p).hexdigest()}", raw=p)[0] == 200
        store = BufferStore(folder)
        for p in payloads:
            assert store.get(hashlib.sha256(p).hexdigest(), verify=True) == p
        ours = store.put(b"written by us while the reference serves")
        assert server.request("GET", f"/{ours.hex()}")[0] == 200
        assert store.verify().ok and store.verify().checked == 4
    finally:
        server.stop()
