"""The in-process buffer cache: checksum -> Buffer.

Three kinds of entries, as in the reference:

* weak: every Buffer whose checksum was computed is findable for as long as
  something else keeps it alive;
* strong (``incref``/``decref``): kept until released;
* temporary (``tempref``): kept while the total size of temporary entries
  stays under a budget; the least recently refreshed go first.

It holds no I/O: writing buffers to stores is the job of the layers that
register themselves as sources (``seamless.caching.resolve``).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..buffer_class import Buffer
    from ..checksum_class import Checksum

#: Default budget of temporary references, in bytes.
TEMPREF_BUDGET = 512 * 1024 * 1024


class TempRef:
    """Handle of a temporary reference; ``release()`` drops it early."""

    __slots__ = ("_cache", "checksum")

    def __init__(self, cache: "BufferCache", checksum: "Checksum"):
        self._cache = cache
        self.checksum = checksum

    def release(self) -> None:
        self._cache._drop_temp(self.checksum)


class BufferCache:
    """Thread-safe checksum -> Buffer map with weak, strong and temporary refs."""

    def __init__(self, tempref_budget: int = TEMPREF_BUDGET):
        self._lock = threading.RLock()
        self._weak: "weakref.WeakValueDictionary[Checksum, Buffer]" = (
            weakref.WeakValueDictionary()
        )
        self._strong: dict[Checksum, list[Any]] = {}  # checksum -> [buffer, count]
        self._temp: "OrderedDict[Checksum, Buffer]" = OrderedDict()
        self._temp_bytes = 0
        self.tempref_budget = tempref_budget
        #: checksums whose buffers must not be written to persistent stores
        self.scratch: set[Checksum] = set()

    def register(self, checksum: "Checksum", buffer: "Buffer") -> None:
        """Make buffer findable while it is alive."""
        with self._lock:
            self._weak[checksum] = buffer

    def get(self, checksum: "Checksum") -> "Buffer | None":
        """The cached buffer, or None."""
        with self._lock:
            entry = self._strong.get(checksum)
            if entry is not None:
                return entry[0]
            buf = self._temp.get(checksum)
            if buf is not None:
                return buf
            return self._weak.get(checksum)

    def _require(self, checksum: "Checksum", buffer: "Buffer | None") -> "Buffer":
        from ..exceptions import CacheMissError

        buf = buffer if buffer is not None else self.get(checksum)
        if buf is None:
            raise CacheMissError(checksum)
        return buf

    def incref(self, checksum: "Checksum", buffer: "Buffer | None" = None,
               *, scratch: bool = False) -> None:
        """Hold the buffer until a matching decref().

        Raises:
            CacheMissError: no buffer given and none cached.
        """
        with self._lock:
            entry = self._strong.get(checksum)
            if entry is None:
                self._strong[checksum] = [self._require(checksum, buffer), 1]
            else:
                entry[1] += 1
            if scratch:
                self.scratch.add(checksum)

    def decref(self, checksum: "Checksum") -> None:
        """Release one incref(); unknown checksums are ignored."""
        with self._lock:
            entry = self._strong.get(checksum)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0:
                del self._strong[checksum]
                self._weak[checksum] = entry[0]

    def tempref(self, checksum: "Checksum", buffer: "Buffer | None" = None,
                *, interest: float = 128.0, fade_factor: float = 2.0,
                fade_interval: float = 2.0, scratch: bool = False) -> TempRef:
        """Keep the buffer while temporary entries fit the budget.

        interest, fade_factor and fade_interval are accepted for
        compatibility; eviction here is by size and recency.
        """
        with self._lock:
            buf = self._require(checksum, buffer)
            if checksum in self._temp:
                self._temp.move_to_end(checksum)
            else:
                self._temp[checksum] = buf
                self._temp_bytes += len(buf)
            if scratch:
                self.scratch.add(checksum)
            while self._temp_bytes > self.tempref_budget and len(self._temp) > 1:
                old, oldbuf = self._temp.popitem(last=False)
                self._temp_bytes -= len(oldbuf)
                self._weak[old] = oldbuf
            return TempRef(self, checksum)

    def _drop_temp(self, checksum: "Checksum") -> None:
        with self._lock:
            buf = self._temp.pop(checksum, None)
            if buf is not None:
                self._temp_bytes -= len(buf)
                self._weak[checksum] = buf


_cache = BufferCache()


def get_buffer_cache() -> BufferCache:
    """The process-wide buffer cache."""
    return _cache
