"""The exceptions of seamless.

Every exception raised on purpose derives from SeamlessError and also from
the builtin that describes the failure, so callers can catch either:
``except ValueError`` works for a malformed checksum as it does elsewhere in
Python, and ``except SeamlessError`` catches everything of ours. Messages name
the offending value (truncated when long).
"""

from __future__ import annotations

__all__ = [
    "SeamlessError",
    "InvalidChecksumError",
    "ChecksumMismatchError",
    "CacheMissError",
    "CelltypeError",
    "SerializationError",
    "DeserializationError",
    "UnsupportedAlgorithmError",
    "FileChangedError",
    "NativeError",
    "ConflictError",
    "RecordNotFoundError",
    "ReadOnlyStoreError",
    "MalformedRecordError",
    "DatabaseUnavailableError",
    "describe",
]


class SeamlessError(Exception):
    """Base class of all seamless exceptions; args[0] is the message."""


class InvalidChecksumError(SeamlessError, ValueError):
    """A value is not a checksum: wrong length, not hex, wrong type of content.

    args[0] is the message, which quotes the offending value.
    """


class ChecksumMismatchError(SeamlessError, ValueError):
    """Data does not have the checksum it was announced with."""


class CacheMissError(SeamlessError, LookupError):
    """No buffer is known for a checksum. args[0] is the Checksum."""


class CelltypeError(SeamlessError, TypeError):
    """A celltype name that seamless does not know."""


class SerializationError(SeamlessError, TypeError, ValueError):
    """A value cannot be serialized with the requested celltype.

    Both a TypeError (the reference raises TypeError for unsupported types)
    and a ValueError (for values of the right type that do not fit, such as
    "abc" for celltype int).
    """


class DeserializationError(SeamlessError, ValueError):
    """A buffer cannot be parsed as the requested celltype."""


class UnsupportedAlgorithmError(SeamlessError, ValueError):
    """A hash algorithm name that is unknown, or unavailable on this backend."""


class FileChangedError(SeamlessError, OSError):
    """A file changed size while it was being read."""


class ConflictError(SeamlessError, ValueError):
    """A record contradicts what is stored (HTTP 409 in the servers): a
    different result for a transformation, a different execution record,
    or an entry marked irreproducible."""


class RecordNotFoundError(SeamlessError, LookupError):
    """An operation needs a stored record that is not there."""


class MalformedRecordError(SeamlessError, ValueError):
    """A record or request that does not have the required shape (HTTP 400)."""


class ReadOnlyStoreError(SeamlessError, PermissionError):
    """A write to a store (a buffer folder or a result database) opened
    read-only."""


class DatabaseUnavailableError(SeamlessError, OSError):
    """A database file that cannot be opened (missing folder, no permission,
    read-only file system, not a database)."""


class NativeError(SeamlessError, RuntimeError):
    """An unexpected status from the native core; ``code`` holds it."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def describe(value: object, limit: int = 80) -> str:
    """A short repr of value for error messages (long values are elided)."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 25] + "..." + text[-20:]
    return text
