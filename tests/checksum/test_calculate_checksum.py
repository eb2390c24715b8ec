"""calculate_checksum and friends: the reference's names, zero-copy inputs,
files, batches, and the other hash algorithms."""

from __future__ import annotations

import hashlib
import mmap
import os

import blake3
import numpy as np
import pytest

from seamless.checksum import calculate_checksum as module
from seamless.checksum.algorithms import hash_bytes, hash_file, new_hasher
from seamless.checksum.calculate_checksum import (
    TRIVIAL_CHECKSUMS,
    calculate_checksum,
    calculate_checksums,
    calculate_dict_checksum,
    calculate_file_checksum,
    calculate_file_checksums,
)
from seamless.exceptions import UnsupportedAlgorithmError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_reference_names():
    """The module path and names the reference's users import."""
    assert module.__name__ == "seamless.checksum.calculate_checksum"
    assert calculate_checksum(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_inputs_without_copies(tmp_path):
    """bytes, str, memoryview, numpy arrays and mmaps are all hashed."""
    arr = np.arange(1000, dtype=np.float64)
    assert calculate_checksum(arr) == sha(arr.tobytes())
    assert calculate_checksum(memoryview(b"abc")) == sha(b"abc") == calculate_checksum("abc")
    assert calculate_checksum(arr[::2]) == sha(arr[::2].tobytes())
    path = tmp_path / "m"
    path.write_bytes(b"mapped content")
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        assert calculate_checksum(m) == sha(b"mapped content")


@pytest.mark.parametrize("bad", [5, None, {"a": 1}])
def test_bad_content(bad):
    """Content that is neither bytes-like nor str is a TypeError naming it."""
    with pytest.raises(TypeError, match=type(bad).__name__):
        calculate_checksum(bad)


def test_files(tmp_path):
    """File checksums stream the file; /dev/stdout and /dev/stderr give None."""
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100_000)
    assert calculate_file_checksum(path) == sha(b"x" * 100_000)
    assert calculate_file_checksum("/dev/stdout") is None
    with pytest.raises(FileNotFoundError):
        calculate_file_checksum(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        calculate_file_checksum(tmp_path)
    other = tmp_path / "g"
    other.write_bytes(b"y")
    assert calculate_file_checksums([path, other]) == [sha(b"x" * 100_000), sha(b"y")]


def test_batches():
    """calculate_checksums returns hex strings in order, str items included."""
    items = [b"a", "b", bytearray(b"c"), b""]
    assert calculate_checksums(items) == [sha(b"a"), sha(b"b"), sha(b"c"), sha(b"")]
    assert calculate_checksums(iter([b"a"])) == [sha(b"a")]
    with pytest.raises(TypeError, match="int"):
        calculate_checksums([b"a", 3])


def test_dict_checksum_and_trivial():
    """calculate_dict_checksum is the plain checksum; trivial buffers are known."""
    assert calculate_dict_checksum({}) == sha(b"{}\n")
    assert set(TRIVIAL_CHECKSUMS.values()) == {b"", b"{}", b"{}\n", b"[]", b"[]\n"}


class TestAlgorithms:
    def test_sha3(self, tmp_path):
        """sha3-256 is hashlib's, in memory and from files."""
        assert calculate_checksum(b"abc", algorithm="sha3-256") == hashlib.sha3_256(b"abc").hexdigest()
        path = tmp_path / "f"
        path.write_bytes(b"abc")
        assert calculate_file_checksum(path, algorithm="sha3-256") == hashlib.sha3_256(b"abc").hexdigest()

    def test_blake3(self, tmp_path):
        """blake3 is the blake3 package's, one-shot, streaming, files and batches."""
        data = os.urandom(3 << 20)
        expected = blake3.blake3(data).hexdigest()
        assert hash_bytes(data, "blake3").hex() == expected
        hasher = new_hasher("blake3")
        hasher.update(data[:1000])
        hasher.update(data[1000:])
        assert hasher.hexdigest() == expected
        path = tmp_path / "f"
        path.write_bytes(data)
        assert hash_file(path, "blake3") == (bytes.fromhex(expected), len(data))
        assert calculate_checksums([data, b"x"], algorithm="blake3")[0] == expected
        with pytest.raises(IsADirectoryError):
            hash_file(tmp_path, "blake3")

    def test_unknown(self):
        """An unknown algorithm names the supported ones."""
        with pytest.raises(UnsupportedAlgorithmError, match="blake3"):
            calculate_checksum(b"x", algorithm="md5")
