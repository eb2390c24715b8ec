"""The errors of the clients (apart from the shared ones of
seamless.exceptions), importable without the HTTP stack."""

from __future__ import annotations

from ..exceptions import ReadOnlyStoreError, SeamlessError


class RemoteError(SeamlessError, OSError):
    """A server answered with an error that is not the caller's fault
    (after the retries), or cannot be reached."""


class ReadOnlyServerError(ReadOnlyStoreError):
    """A write to a server that does not accept writes (a ReadOnlyStoreError,
    as the same write to a read-only local store)."""
