"""Finding the buffer of a checksum: trivial buffers, the cache, then sources.

A *source* is any callable ``checksum -> Buffer | None`` (an embedded store,
a remote hashserver client...). Layers that provide buffers register one;
``resolve_buffer`` asks them in registration order and caches what it finds.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Awaitable, Callable

if TYPE_CHECKING:  # pragma: no cover
    from ..buffer_class import Buffer
    from ..checksum_class import Checksum

BufferSource = Callable[["Checksum"], "Buffer | None"]

_sources: list[BufferSource] = []
_lock = threading.Lock()


def register_source(source: BufferSource) -> None:
    """Add a buffer source (idempotent)."""
    with _lock:
        if source not in _sources:
            _sources.append(source)


def unregister_source(source: BufferSource) -> None:
    """Remove a buffer source if present."""
    with _lock:
        if source in _sources:
            _sources.remove(source)


def resolve_buffer(checksum: "Checksum") -> "Buffer | None":
    """The buffer for checksum, or None when nobody has it."""
    from ..buffer_class import Buffer
    from ..checksum.calculate_checksum import TRIVIAL_CHECKSUMS
    from .buffer_cache import get_buffer_cache

    trivial = TRIVIAL_CHECKSUMS.get(checksum.hex())
    if trivial is not None:
        return Buffer(trivial, checksum=checksum)
    cache = get_buffer_cache()
    buf = cache.get(checksum)
    if buf is not None:
        return buf
    with _lock:
        sources = list(_sources)
    for source in sources:
        buf = source(checksum)
        if buf is not None:
            cache.register(checksum, buf)
            return buf
    return None


BufferWriter = Callable[["Buffer"], Awaitable[bool]]

_writers: list[BufferWriter] = []


def register_writer(writer: BufferWriter) -> None:
    """Add an async buffer writer (a store or remote client), idempotently."""
    with _lock:
        if writer not in _writers:
            _writers.append(writer)


def unregister_writer(writer: BufferWriter) -> None:
    """Remove a buffer writer if present."""
    with _lock:
        if writer in _writers:
            _writers.remove(writer)


async def write_buffer(buffer: "Buffer") -> bool:
    """Write buffer with every registered writer; False if there is none or
    any writer failed."""
    with _lock:
        writers = list(_writers)
    if not writers:
        return False
    results = [await writer(buffer) for writer in writers]
    return all(results)
