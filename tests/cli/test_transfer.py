"""seamless.cli.transfer.upload with a real embedded store: only what the
store lacks is stored, and a copy truncated by a power loss (simulated by
truncating the stored file) is stored again."""

from __future__ import annotations

import os

from seamless import Buffer
from seamless.cli.transfer import upload
from seamless.remote.facade import LocalBuffers
from seamless.hashserver import BufferStore


def test_a_truncated_copy_is_stored_again(tmp_path):
    data = os.urandom(300_000)
    source = tmp_path / "input.dat"
    source.write_bytes(data)
    checksum = Buffer(data).get_checksum()
    buffers = LocalBuffers(BufferStore(tmp_path / "store", durability="none"))
    assert upload(buffers, {checksum: str(source)}, source_kept=True) == (1, len(data))
    assert upload(buffers, {checksum: str(source)}, source_kept=True) == (0, 0)  # present and whole
    stored = buffers.store.get_path(checksum)
    os.chmod(stored, 0o644)
    with open(stored, "r+b") as f:  # what a power loss can leave of an unsynced copy: a prefix
        f.truncate(4096)
    assert upload(buffers, {checksum: str(source)}, source_kept=True) == (1, len(data))
    with open(stored, "rb") as f:
        assert f.read() == data
