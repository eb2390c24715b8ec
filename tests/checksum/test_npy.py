"""The npy writer equals np.save, and hands out views instead of copies."""

from __future__ import annotations

import io

import numpy as np
import pytest

from seamless.checksum.mixed.npy import npy_bytes, npy_parts, parse_npy
from seamless.exceptions import DeserializationError, SerializationError


def _np_save(value):
    stream = io.BytesIO()
    np.save(stream, value, allow_pickle=False)
    return stream.getvalue()


STRUCT = np.dtype([("a", "i1"), ("b", "<f8"), ("c", "<i4", (2,))], align=True)
CASES = {
    "c-order": np.arange(24, dtype=np.int32).reshape(2, 3, 4),
    "fortran": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "strided": np.arange(20)[::3],
    "0-d": np.array(3.5),
    "empty": np.zeros((0, 3)),
    "struct": np.zeros(3, STRUCT),
    "bytes": np.array([b"ab", b"c"]),
    "void": np.zeros(1, STRUCT)[0],
    "large-header": np.zeros((1,) * 30),
}


@pytest.mark.parametrize("value", CASES.values(), ids=CASES.keys())
def test_equals_np_save(value):
    """Header and data are byte-identical to np.save, in every memory order."""
    assert npy_bytes(value) == _np_save(value)


def test_views_not_copies():
    """C- and Fortran-ordered arrays are returned as views of their memory."""
    for arr in (CASES["c-order"], CASES["fortran"]):
        _, data = npy_parts(arr)
        assert np.shares_memory(np.asarray(data), arr)


def test_object_arrays_refused():
    """Arrays of Python objects would need pickle, which is refused."""
    with pytest.raises(SerializationError, match="pickle"):
        npy_parts(np.array([{}, 1], dtype=object))


def test_parse_round_trip_and_errors():
    """parse_npy reads np.save output; garbage is a DeserializationError."""
    arr = CASES["fortran"]
    assert np.array_equal(parse_npy(_np_save(arr)), arr)
    with pytest.raises(DeserializationError):
        parse_npy(b"\x93NUMPY\x01\x00\x10\x00{'descr': zzz}")
