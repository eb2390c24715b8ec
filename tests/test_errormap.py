"""The one mapping of errors to exit codes, HTTP statuses and client messages."""

from __future__ import annotations

import errno
import os
import sqlite3

from seamless import errormap
from seamless.exceptions import ChecksumMismatchError, ReadOnlyStoreError


def test_statuses_and_exit_codes():
    assert errormap.http_status(ChecksumMismatchError("x")) == 400
    assert errormap.http_status(ReadOnlyStoreError("x")) == 403
    assert errormap.http_status(sqlite3.OperationalError("x")) == 500
    assert errormap.exit_code(ValueError("x")) == errormap.EXIT_FAILURE
    assert errormap.is_expected(FileNotFoundError()) and not errormap.is_expected(KeyError())


def test_public_messages_hold_no_server_paths():
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/srv/buffers/ab/abcd")
    assert errormap.public_message(denied) == "Permission denied"
    assert errormap.public_message(OSError("no reason given")) == "OSError"
    ours = ReadOnlyStoreError("the database is open for reading only")  # our messages are kept
    assert errormap.public_message(ours) == "the database is open for reading only"
