"""The numpy ``.npy`` format, as ``np.save(..., allow_pickle=False)`` writes it.

The header is produced by numpy's own writer, so it is byte-identical to
``np.save`` for the installed numpy. The data part is returned as a view
whenever the array's memory already is in the order np.save writes (C order,
or Fortran order flagged in the header), so a large array can be hashed or
written without being copied.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ...exceptions import DeserializationError, SerializationError

MAGIC_NUMPY = b"\x93NUMPY"


class _HeaderCapture:
    """A write-only file that keeps the first write (numpy writes the whole
    header in one call) and then stops the writer."""

    class Done(Exception):
        pass

    def __init__(self) -> None:
        self.header = b""

    def write(self, data: bytes) -> int:
        self.header = bytes(data)
        raise self.Done


def npy_parts(value: Any) -> tuple[bytes, Any]:
    """(header, data) of the npy serialization of value.

    data is a buffer-protocol object (a view when possible); header + bytes
    of data equals what np.save writes.

    Raises:
        SerializationError: object arrays (they would need pickle).
    """
    arr = np.asanyarray(value)
    if arr.dtype.hasobject:
        raise SerializationError("Object arrays cannot be saved when allow_pickle=False")
    capture = _HeaderCapture()
    try:
        np.lib.format.write_array(capture, arr, allow_pickle=False)
    except _HeaderCapture.Done:
        pass
    if arr.flags.c_contiguous:
        data = arr
    elif arr.flags.f_contiguous:
        data = arr.T  # np.save writes the transposed (C-contiguous) memory
    else:
        data = np.ascontiguousarray(arr)
    return capture.header, _raw_view(data)


def _raw_view(arr: np.ndarray) -> Any:
    """The bytes of a contiguous array as a flat uint8 view (no copy)."""
    if arr.size == 0 or arr.itemsize == 0:
        return b""
    return arr.reshape(-1).view(np.uint8)


def npy_bytes(value: Any) -> bytes:
    """The complete npy serialization of value."""
    header, data = npy_parts(value)
    return header + bytes(memoryview(data))


def parse_npy(buffer: bytes) -> np.ndarray:
    """The array stored in an npy buffer, as a read-only view of it.

    Raises:
        DeserializationError: a malformed npy buffer.
    """
    stream = io.BytesIO(buffer)
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
        count = int(np.prod(shape, dtype=np.int64))
        arr = np.frombuffer(buffer, dtype=dtype, count=count, offset=stream.tell())
    except (ValueError, TypeError) as exc:
        raise DeserializationError(f"not a valid npy buffer: {exc}") from None
    return arr.reshape(shape, order="F" if fortran_order else "C")
