"""Argument checks shared by both backends, so both raise the same errors.

Each backend calls these before doing any work; the messages name the
offending value, and the exception types are those documented in
seamless.exceptions (subclasses of the matching builtins).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..exceptions import UnsupportedAlgorithmError, describe

#: Algorithm names accepted by the native API, with their C identifiers.
ALGORITHMS = {"sha-256": 0, "sha3-256": 1}

_ALIASES = {"sha256": "sha-256", "sha3_256": "sha3-256", "sha3256": "sha3-256"}


def algorithm_name(name: object) -> str:
    """The canonical name of a hash algorithm ("sha-256" or "sha3-256").

    Raises:
        UnsupportedAlgorithmError: for any other name (a ValueError).
    """
    if isinstance(name, str):
        key = name.lower()
        key = _ALIASES.get(key, key)
        if key in ALGORITHMS:
            return key
    raise UnsupportedAlgorithmError(
        f"unsupported hash algorithm {describe(name)}; "
        f"supported: {', '.join(ALGORITHMS)}"
    )


def _memoryview(data: Any) -> memoryview:
    try:
        return memoryview(data)
    except TypeError:
        raise TypeError(
            f"a bytes-like object is required, not {type(data).__name__} "
            f"({describe(data)})"
        ) from None


def nbytes(data: Any) -> int:
    """The number of bytes in a bytes-like object (without copying it).

    Raises:
        TypeError: data does not support the buffer protocol.
    """
    return len(data) if isinstance(data, bytes) else _memoryview(data).nbytes


def contiguous(data: Any) -> Any:
    """An object exposing data's bytes as one C-contiguous buffer.

    bytes, bytearray, mmap and C-contiguous arrays pass through unchanged, so
    callers hash them without a copy; strided views are copied (in C order,
    as ``tobytes()`` would). A ``str`` is not accepted: encode it first.

    Raises:
        TypeError: data does not support the buffer protocol.
    """
    if isinstance(data, bytes):
        return data
    view = _memoryview(data)
    if view.c_contiguous:
        return data
    return view.tobytes()


def threads(value: object) -> int:
    """A thread count: 0 means automatic.

    Raises:
        TypeError: not an int. ValueError: negative.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"threads must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"threads must be >= 0, not {value}")
    return value


def path(value: object) -> str | bytes:
    """A filesystem path argument (str, bytes or os.PathLike).

    Raises:
        TypeError: anything else. ValueError: an embedded NUL (as open() does).
    """
    try:
        result = os.fspath(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"a path (str, bytes or os.PathLike) is required, not "
            f"{type(value).__name__} ({describe(value)})"
        ) from None
    if ("\0" if isinstance(result, str) else b"\0") in result:  # type: ignore[operator]
        raise ValueError(f"embedded null byte in path {describe(result)}")
    return result


#: Store layouts, with their C identifiers.
LAYOUTS = {"flat": 0, "prefix": 1}
SYNC_DATA = 1
SYNC_DIR = 2
PUT_CREATED = 1
PUT_EXISTED = 2
PUT_REPLACED = 3
#: store_stat: no plain file, only a compressed form (.zst/.gz) next to it.
STAT_COMPRESSED = -2


@dataclass(frozen=True)
class StoreConfig:
    """How a store writes: folder, temp-name prefix, layout, algorithm,
    sync flags (SYNC_DATA | SYNC_DIR), the modes of new files/folders, and
    whether to write around the page cache (the pure-Python twin does not:
    it only changes speed).

    The folder must contain a ``.tmp`` folder for temporary files.
    """

    root: str
    tmp_prefix: str
    layout: str = "prefix"
    root_fd: int = -1  # an open descriptor of root kept by the caller, or -1
    algorithm: str = "sha-256"
    sync: int = SYNC_DATA | SYNC_DIR
    file_mode: int = 0o444
    dir_mode: int = 0o3775
    direct: bool = False  # write with direct I/O where the file system allows it (bypassing the page cache)

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be 'prefix' or 'flat', not {self.layout!r}")
        algorithm_name(self.algorithm)


def digest(value: object, name: str = "checksum") -> bytes:
    """A 32-byte digest argument.

    Raises:
        TypeError: not bytes-like. ValueError: not 32 bytes.
    """
    raw = bytes(contiguous(value))
    if len(raw) != 32:
        raise ValueError(f"{name} must be 32 bytes, not {len(raw)}")
    return raw


def stream_args(fd: object, length: object, prefix: bytes, stall: float,
                min_rate: int) -> tuple[int, int, int, int]:
    """Checked (fd, length, stall in ms, min_rate) of a stream put.

    Raises:
        TypeError: fd or length not an int, prefix not bytes.
        ValueError: a negative fd, a length shorter than the prefix, a
            negative stall or rate.
    """
    if not isinstance(fd, int) or not isinstance(length, int) or isinstance(length, bool):
        raise TypeError("fd and length must be integers")
    if not isinstance(prefix, bytes):
        raise TypeError("prefix must be bytes")
    if fd < 0 or length < len(prefix) or stall < 0 or min_rate < 0:
        raise ValueError("stream put: need fd >= 0, length >= len(prefix), stall >= 0, min_rate >= 0")
    return fd, length, min(int(stall * 1000), 0x7FFFFFFF), min(int(min_rate), 0xFFFFFFFF)
