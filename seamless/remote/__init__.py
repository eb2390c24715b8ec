"""Clients of the hashserver and the database server, and the facade that
the rest of the system uses to reach the stores (in process or over HTTP).

* ``open_buffers`` / ``open_results`` (facade.py): the one way in;
* ``AsyncBufferClient`` / ``AsyncDatabaseClient``: the HTTP clients;
* ``BufferClient`` / ``DatabaseClient``: the same, blocking.
"""

from .buffers import AsyncBufferClient, ReadOnlyServerError, RemoteError
from .database import AsyncDatabaseClient
from .facade import (Buffers, LocalBuffers, LocalResults, RemoteBuffers, RemoteResults, Results,
                     open_buffers, open_results)
from .policy import Policy
from .sync import BufferClient, DatabaseClient

__all__ = [
    "AsyncBufferClient", "AsyncDatabaseClient", "BufferClient", "Buffers", "DatabaseClient",
    "LocalBuffers", "LocalResults", "Policy", "ReadOnlyServerError", "RemoteBuffers", "RemoteError",
    "RemoteResults", "Results", "open_buffers", "open_results",
]
