"""Status codes of the native core and the exceptions they become.

This table is the one place where a C status turns into a Python exception;
the fallback backend raises the same types through the same helpers.
"""

from __future__ import annotations

import errno
import os
from typing import Callable, NoReturn

from ..exceptions import (
    ChecksumMismatchError,
    FileChangedError,
    NativeError,
    UnsupportedAlgorithmError,
)

# Mirrors csrc/seamless_native.h; test_native checks them against the library.
OK = 0
ERR_NOMEM = 1
ERR_ARGUMENT = 2
ERR_ALGORITHM = 3
ERR_OS = 4
ERR_CHANGED = 5
ERR_MISMATCH = 6


def os_error(errno: int, path: str | bytes | None) -> OSError:
    """The OSError subclass Python itself raises for errno on path."""
    return OSError(errno, os.strerror(errno), path)


#: Errors of a stream source (a client's socket), not of the store's files.
STREAM_ERRNOS = frozenset({errno.ECONNRESET, errno.ETIMEDOUT, errno.EPIPE, errno.ENOTCONN})


def stream_error(code: int) -> OSError:
    """The error for a stream that ended early (ConnectionResetError) or
    stalled (TimeoutError), without the store folder as its filename."""
    reason = {errno.ECONNRESET: "the stream ended before its announced length",
              errno.ETIMEDOUT: "the stream stalled or arrived too slowly"}.get(code, os.strerror(code))
    return OSError(code, reason)


def file_changed(path: str | bytes | None) -> FileChangedError:
    """The error for a file that changed size while it was read."""
    err = FileChangedError(f"file changed while being read: {path!r}")
    err.filename = path
    return err


_TABLE: dict[int, Callable[[str, str | bytes | None, int, str], BaseException]] = {
    ERR_NOMEM: lambda msg, path, errno, detail: MemoryError(f"native core: {msg}"),
    ERR_ARGUMENT: lambda msg, path, errno, detail: NativeError(
        f"native core rejected an argument: {msg}", ERR_ARGUMENT
    ),
    ERR_ALGORITHM: lambda msg, path, errno, detail: UnsupportedAlgorithmError(msg),
    ERR_OS: lambda msg, path, errno, detail: os_error(errno, path),
    ERR_CHANGED: lambda msg, path, errno, detail: file_changed(path),
    ERR_MISMATCH: lambda msg, path, errno, detail: ChecksumMismatchError(
        f"{msg}: {detail}" if detail else msg
    ),
}


def raise_for(
    code: int, message: str, path: str | bytes | None = None, errno: int = 0, detail: str = ""
) -> NoReturn:
    """Raise the exception for a non-zero status code (detail: extra context)."""
    factory = _TABLE.get(code)
    if factory is None:
        raise NativeError(f"native core: {message} (status {code})", code)
    raise factory(message, path, errno, detail)


def mismatch(expected: bytes, actual: bytes) -> NoReturn:
    """Raise ChecksumMismatchError for data that hashes to actual, not expected."""
    raise_for(ERR_MISMATCH, "checksum mismatch", detail=f"expected {expected.hex()}, got {actual.hex()}")
