"""Clients of the hashserver and the database server, and the facade that
the rest of the system uses to reach the stores (in process or over HTTP).

* ``open_buffers`` / ``open_results`` (facade.py): the one way in;
* ``AsyncBufferClient`` / ``AsyncDatabaseClient``: the HTTP clients;
* ``BufferClient`` / ``DatabaseClient``: the same, blocking.

The HTTP clients (and aiohttp) are imported on first use: a process that
only uses the in-process path never loads them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ReadOnlyServerError, RemoteError
from .facade import (Buffers, LocalBuffers, LocalResults, RemoteBuffers, RemoteResults, Results,
                     open_buffers, open_results)

_LAZY = {"AsyncBufferClient": "buffers", "AsyncDatabaseClient": "database", "Policy": "policy",
         "BufferClient": "sync", "DatabaseClient": "sync"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncBufferClient", "AsyncDatabaseClient", "BufferClient", "Buffers", "DatabaseClient",
    "LocalBuffers", "LocalResults", "Policy", "ReadOnlyServerError", "RemoteBuffers", "RemoteError",
    "RemoteResults", "Results", "open_buffers", "open_results",
]
