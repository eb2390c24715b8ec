"""Where buffers come from and go to, beyond the in-process cache.

A *source* is any callable ``checksum -> Buffer | None`` (an embedded store,
a remote hashserver client...); a *writer* is an async callable
``buffer -> bool`` that stores a buffer. Layers that provide storage register
them here; ``resolve_buffer`` asks trivial buffers, the cache and then the
sources in registration order, and ``write_buffer`` calls every writer.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Awaitable, Callable, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from ..buffer_class import Buffer
    from ..checksum_class import Checksum

BufferSource = Callable[["Checksum"], "Buffer | None"]
BufferWriter = Callable[["Buffer"], Awaitable[bool]]
T = TypeVar("T")


class _Registry(Generic[T]):
    """A thread-safe, ordered set of callables."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._lock = threading.Lock()

    def add(self, item: T) -> None:
        with self._lock:
            if item not in self._items:
                self._items.append(item)

    def remove(self, item: T) -> None:
        with self._lock:
            if item in self._items:
                self._items.remove(item)

    def snapshot(self) -> list[T]:
        with self._lock:
            return list(self._items)


_sources: _Registry[BufferSource] = _Registry()
_writers: _Registry[BufferWriter] = _Registry()

register_source = _sources.add
unregister_source = _sources.remove
register_writer = _writers.add
unregister_writer = _writers.remove


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
    for source in _sources.snapshot():
        buf = source(checksum)
        if buf is not None:
            cache.register(checksum, buf)
            return buf
    return None


_fingertipper: Callable[["Checksum"], "Buffer"] | None = None


def register_fingertipper(function: Callable[["Checksum"], "Buffer"] | None) -> None:
    """The layer that can recompute buffers (seamless.transformer registers
    itself when imported): ``function(checksum) -> Buffer``, raising
    CacheMissError when it cannot."""
    global _fingertipper
    _fingertipper = function


def fingertip_buffer(checksum: "Checksum") -> "Buffer":
    """The buffer for checksum: resolved, else recomputed by the registered
    fingertipper. CacheMissError if neither works."""
    from ..exceptions import CacheMissError

    if _fingertipper is not None:
        return _fingertipper(checksum)
    buf = resolve_buffer(checksum)
    if buf is None:
        raise CacheMissError(f"{checksum}: not in any store (import seamless.transformer to recompute it "
                             "from the transformation that produced it)")
    return buf


async def write_buffer(buffer: "Buffer") -> bool:
    """Write buffer with every registered writer; False if there is none or
    any writer failed."""
    writers = _writers.snapshot()
    if not writers:
        return False
    results = [await writer(buffer) for writer in writers]
    return all(results)
