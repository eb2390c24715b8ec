"""The file-checksum cache: fast hits, and never a stale checksum."""

from __future__ import annotations

import hashlib
import os

import pytest

from seamless.checksum.fingerprint import FileChecksumCache


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "input.dat"
    path.write_bytes(b"a" * 100_000)
    return path


@pytest.mark.parametrize("verify", ["content", "stat"])
def test_hit_after_miss(data_file, verify):
    """The second lookup of an unchanged file is a hit with the same checksum."""
    cache = FileChecksumCache(verify=verify)
    assert cache.checksum(data_file) == sha(b"a" * 100_000)
    assert cache.checksum(data_file) == sha(b"a" * 100_000)
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize("verify", ["content", "stat"])
def test_same_size_same_mtime_edit_is_seen(data_file, verify):
    """An edit that keeps size and mtime (restored with utime) is not missed."""
    cache = FileChecksumCache(verify=verify)
    cache.checksum(data_file)
    st = os.stat(data_file)
    data_file.write_bytes(b"b" + b"a" * 99_999)
    os.utime(data_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.checksum(data_file) == sha(b"b" + b"a" * 99_999)


def test_racy_entries_are_verified(data_file):
    """With verify="stat", an entry recorded right after a write is still
    checked by content (the file may change within the same mtime tick)."""
    cache = FileChecksumCache(verify="stat")
    cache.checksum(data_file)
    with open(data_file, "r+b") as f:  # same size; mtime may stay within the tick
        f.write(b"z")
    st = os.stat(data_file)
    os.utime(data_file, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.checksum(data_file) == sha(b"z" + b"a" * 99_999)


def test_touch_without_change_is_a_hit(data_file):
    """A touched but unchanged file is recognized by its content."""
    cache = FileChecksumCache()
    cache.checksum(data_file)
    os.utime(data_file, ns=(1, 1))
    cache.checksum(data_file)
    assert cache.hits == 1


def test_size_change_is_a_miss(data_file):
    """A file that changed size is hashed again."""
    cache = FileChecksumCache()
    cache.checksum(data_file)
    data_file.write_bytes(b"short")
    assert cache.checksum(data_file) == sha(b"short") and cache.misses == 2


def test_persistent_across_instances_and_algorithms(data_file, tmp_path):
    """A SQLite-backed cache is shared by later instances, per algorithm."""
    db = tmp_path / "cache" / "fp.sqlite"
    with FileChecksumCache(db) as first:
        first.checksum(data_file)
        first.checksum(data_file, "sha3-256")
    with FileChecksumCache(db) as second:
        assert second.checksum(data_file) == sha(b"a" * 100_000)
        assert second.checksum(data_file, "sha3-256") == hashlib.sha3_256(b"a" * 100_000).hexdigest()
        assert (second.hits, second.misses) == (2, 0)


def test_multi_chunk_file(tmp_path):
    """Files larger than one fingerprint chunk hit and stay correct."""
    path = tmp_path / "big"
    data = os.urandom(17 * 1024 * 1024)
    path.write_bytes(data)
    cache = FileChecksumCache()
    assert cache.checksum(path) == sha(data) == cache.checksum(path)
    position = 16 * 1024 * 1024 + 5  # in the second chunk
    changed = data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1 :]
    with open(path, "r+b") as f:
        f.seek(position)
        f.write(changed[position : position + 1])
    assert cache.checksum(path) == sha(changed)


def test_errors(tmp_path):
    """Missing files and directories raise as open() would; bad options too."""
    cache = FileChecksumCache()
    with pytest.raises(FileNotFoundError):
        cache.checksum(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        cache.checksum(tmp_path)
    with pytest.raises(ValueError, match="verify"):
        FileChecksumCache(verify="never")


def test_hashing_a_miss_reports_progress(tmp_path):
    from seamless._native import FINGERPRINT_CHUNK

    path = tmp_path / "big.dat"
    data = os.urandom(2 * FINGERPRINT_CHUNK + 7)
    path.write_bytes(data)
    cache = FileChecksumCache(tmp_path / "cache.db")
    reports = []
    assert cache.checksum(path, progress=lambda done, total: reports.append((done, total))) == \
        hashlib.sha256(data).hexdigest()
    assert reports == [(FINGERPRINT_CHUNK, len(data)), (2 * FINGERPRINT_CHUNK, len(data)), (len(data), len(data))]
    reports.clear()
    cache.checksum(path, progress=lambda done, total: reports.append((done, total)))
    assert reports == []  # remembered: nothing to hash, nothing to report
