"""Buffer: raw and serialized construction, checksum, values, files."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from seamless import Buffer, Checksum
from seamless.exceptions import CelltypeError, SerializationError


def test_raw_bytes_and_bytes_like():
    """Buffer(raw) keeps the bytes; bytearray and memoryview are copied in."""
    assert Buffer(b"abc").content == b"abc"
    assert Buffer(bytearray(b"abc")).content == b"abc" == Buffer(memoryview(b"abc")).content
    assert Buffer(Buffer(b"abc")).content == b"abc"


@pytest.mark.parametrize("raw", [5, "text", None, [1], {"a": 1}])
def test_raw_must_be_bytes(raw):
    """A non-bytes raw value is a TypeError that suggests a celltype."""
    with pytest.raises(TypeError, match="celltype"):
        Buffer(raw)


def test_not_from_checksum():
    """A Checksum is not a value: the error points to resolve()."""
    with pytest.raises(TypeError, match="resolve"):
        Buffer(Checksum("ab" * 32))


def test_unknown_celltype():
    """An unknown celltype is a CelltypeError (TypeError) listing the known ones."""
    with pytest.raises(CelltypeError, match="plain") as info:
        Buffer(1, "json")
    assert isinstance(info.value, TypeError) and "'json'" in str(info.value)


def test_checksum_is_lazy_and_memoized():
    """get_checksum computes once; .checksum needs it computed."""
    buf = Buffer(b"hello\n")
    with pytest.raises(AttributeError, match="get_checksum"):
        buf.checksum
    cs = buf.get_checksum()
    assert cs.hex() == hashlib.sha256(b"hello\n").hexdigest()
    assert buf.get_checksum() is cs is buf.checksum


def test_trusted_checksum_and_verify():
    """checksum= is trusted as in the reference; verify() tells the truth."""
    good = Buffer(b"x", checksum=hashlib.sha256(b"x").hexdigest())
    bad = Buffer(b"x", checksum="00" * 32)
    assert good.verify() and not bad.verify()


def test_values_round_trip():
    """get_value reads back what a celltype wrote."""
    assert Buffer({"a": [1, 2.5]}, "plain").get_value("plain") == {"a": [1, 2.5]}
    assert Buffer("x\n\n", "text").get_value("text") == "x"
    assert Buffer(3, "int").get_value("int") == 3
    arr = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert np.array_equal(Buffer(arr, "binary").get_value("binary"), arr)
    assert Buffer(b"raw", "bytes").get_value("bytes") == b"raw"


def test_deep_celltypes_are_plain():
    """deepcell, deepfolder, folder and module serialize as plain."""
    value = {"b": "x", "a": 1}
    plain = Buffer(value, "plain").content
    for celltype in ("deepcell", "deepfolder", "folder", "module"):
        assert Buffer(value, celltype).content == plain


def test_save_and_load(tmp_path):
    """save writes the content; load reads it back."""
    Buffer(b"stored").save(tmp_path / "f")
    assert (tmp_path / "f").read_bytes() == b"stored"
    assert Buffer.load(tmp_path / "f").content == b"stored"


def test_dunders():
    """len, eq, hash and repr behave like the reference's."""
    a, b = Buffer(b"abc"), Buffer(b"abc")
    assert len(a) == 3 and a == b and a == b"abc" and hash(a) == hash(b"abc")
    assert a != Buffer(b"abd")
    assert repr(a) == "Seamless Buffer, length 3"
    a.get_checksum()
    assert repr(a).startswith("Seamless Buffer, checksum ba7816bf")


def test_serialization_errors_are_typed():
    """A value that does not fit its celltype raises SerializationError."""
    with pytest.raises(SerializationError):
        Buffer("abc", "int")
    with pytest.raises(SerializationError):
        Buffer({1: 2}, "plain")
    with pytest.raises(SerializationError):
        Buffer(object(), "mixed")


def test_write_without_store_is_false():
    """With no store configured, write() reports that nothing was written."""
    import asyncio

    assert asyncio.run(Buffer(b"x").write()) is False
