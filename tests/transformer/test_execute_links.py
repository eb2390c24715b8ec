"""The check of store files hard-linked into a bash workspace: small files
are hashed again, large ones compared by signature (inode, size, mtime,
ctime), with a changed signature decided by hashing."""

from __future__ import annotations

import os

import pytest

from seamless import Buffer
from seamless.transformer.errors import TransformationError
from seamless.transformer.execute import _Links


@pytest.fixture
def stored(tmp_path):
    data = os.urandom(_Links.SIGNATURE_MIN + 1)
    path = tmp_path / "store_file"
    path.write_bytes(data)
    os.chmod(path, 0o444)
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "transform.sh").write_text("")
    return path, workspace, Buffer(data).get_checksum()


def test_an_untouched_large_file_passes_without_being_read(stored, monkeypatch):
    path, workspace, checksum = stored
    links = _Links()
    assert links.add(str(path), str(workspace / "in.dat"), checksum)
    links.settle(str(workspace / "transform.sh"))
    import seamless._native as native

    monkeypatch.setattr(native, "hash_file", lambda *_: pytest.fail("hashed although unchanged"))
    links.check()


def test_another_link_only_costs_a_hash(stored):
    path, workspace, checksum = stored
    links = _Links()
    links.add(str(path), str(workspace / "in.dat"), checksum)
    links.settle(str(workspace / "transform.sh"))
    os.link(path, workspace / "another_jobs_link")  # moves the ctime, not the bytes
    links.check()
    assert path.exists()


@pytest.mark.parametrize("size", [100, _Links.SIGNATURE_MIN + 1])
def test_a_same_size_write_in_place_is_caught(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "store_file"
    path.write_bytes(data)
    links = _Links()
    links.add(str(path), str(tmp_path / "in.dat"), Buffer(data).get_checksum())
    (tmp_path / "transform.sh").write_text("")
    links.settle(str(tmp_path / "transform.sh"))
    with open(tmp_path / "in.dat", "r+b") as f:  # through the link, as a command would
        f.seek(size // 2)
        f.write(b"X" if data[size // 2:size // 2 + 1] != b"X" else b"Y")
    with pytest.raises(TransformationError, match="changed while the command ran"):
        links.check()
    assert not path.exists()  # the damaged copy left the store


def test_coarse_timestamps_mean_hashing(stored, monkeypatch):
    """A file system whose clock does not move past the signatures' ctime
    (whole-second timestamps) cannot prove a file unwritten: hash it."""
    import seamless.transformer.execute as execute

    path, workspace, checksum = stored
    links = _Links()
    links.add(str(path), str(workspace / "in.dat"), checksum)
    frozen = links.links[0][3][3]
    monkeypatch.setattr(execute, "_ctime_ns", lambda _path: frozen)  # the probe's ctime never moves on
    monkeypatch.setattr(_Links, "SETTLE_TIMEOUT", 0.01)
    links.settle(str(workspace / "transform.sh"))
    assert links.links[0][3] is None  # hashed after the command
    with open(workspace / "in.dat", "r+b") as f:
        f.write(b"damage")
    os.utime(path, ns=(frozen, path.stat().st_mtime_ns))  # as if within the same coarse step
    with pytest.raises(TransformationError, match="changed while the command ran"):
        links.check()
