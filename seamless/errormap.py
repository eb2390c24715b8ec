"""The one place where errors become exit codes and HTTP statuses.

Command-line tools and servers ask this module instead of deciding on their
own, so that the same failure reads the same everywhere.
"""

from __future__ import annotations

import sys

from .exceptions import (
    CacheMissError,
    CelltypeError,
    ChecksumMismatchError,
    ConflictError,
    InvalidChecksumError,
    MalformedRecordError,
    RecordNotFoundError,
    SeamlessError,
    SerializationError,
    UnsupportedAlgorithmError,
)

EXIT_OK = 0
EXIT_FAILURE = 1  # the operation failed, or found problems (e.g. corrupt buffers)
EXIT_USAGE = 2  # bad command line or bad input, nothing was done

# (exception class, exit code, HTTP status), most specific first.
_TABLE: list[tuple[type[BaseException], int, int]] = [
    (InvalidChecksumError, EXIT_USAGE, 400),
    (MalformedRecordError, EXIT_USAGE, 400),
    (ChecksumMismatchError, EXIT_FAILURE, 400),
    (SerializationError, EXIT_USAGE, 400),
    (CelltypeError, EXIT_USAGE, 400),
    (UnsupportedAlgorithmError, EXIT_USAGE, 400),
    (ConflictError, EXIT_FAILURE, 409),
    (CacheMissError, EXIT_FAILURE, 404),
    (RecordNotFoundError, EXIT_FAILURE, 404),
    (PermissionError, EXIT_FAILURE, 403),
    (FileNotFoundError, EXIT_FAILURE, 404),
    (OSError, EXIT_FAILURE, 500),
    (SeamlessError, EXIT_FAILURE, 500),
]


def _table() -> list[tuple[type[BaseException], int, int]]:
    """_TABLE, plus sqlite3.Error once sqlite3 is loaded (an exception of
    a module that was never imported cannot occur, and importing sqlite3
    here would slow down every command that never uses it)."""
    sqlite3 = sys.modules.get("sqlite3")
    if sqlite3 is None:
        return _TABLE
    return _TABLE[:-1] + [(sqlite3.Error, EXIT_FAILURE, 500), _TABLE[-1]]


def exit_code(exc: BaseException) -> int:
    """The process exit code for an error that ends a command."""
    for kind, code, _ in _table():
        if isinstance(exc, kind):
            return code
    return EXIT_FAILURE


def http_status(exc: BaseException) -> int:
    """The HTTP status for an error that ends a request."""
    for kind, _, status in _table():
        if isinstance(exc, kind):
            return status
    return 500


def is_expected(exc: BaseException) -> bool:
    """True for errors that deserve a one-line message, not a traceback."""
    return any(isinstance(exc, kind) for kind, _, _ in _table())


def public_message(exc: BaseException) -> str:
    """An error's message for a client of a server: the operating system's
    reason alone for an OSError of our files (its file name is a path of
    the server's machine, which a client has no business seeing); our own
    errors' messages, which never carry such paths, as they are."""
    if isinstance(exc, OSError) and not isinstance(exc, SeamlessError):
        return exc.strerror or type(exc).__name__
    return str(exc)
