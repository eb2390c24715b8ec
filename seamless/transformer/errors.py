"""Errors of transformations."""

from __future__ import annotations

from ..exceptions import SeamlessError


class TransformationError(SeamlessError, RuntimeError):
    """A transformation failed (the message is the captured traceback text
    or the command's exit status and output), or has no result yet.

    For a failed bash command, ``returncode``, ``stdout`` and ``stderr``
    hold what the command gave."""

    returncode: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
