"""The in-process buffer cache and buffer sources."""

from __future__ import annotations

import gc
import hashlib

from seamless import Buffer, Checksum
from seamless.caching.buffer_cache import BufferCache
from seamless.caching.resolve import register_source, resolve_buffer, unregister_source


def test_weak_strong_and_temporary_refs():
    """Weak entries vanish with the buffer; increfs and temprefs keep it."""
    cache = BufferCache(tempref_budget=10)
    buf = Buffer(b"0123456789")
    cs = buf.get_checksum()
    cache.register(cs, buf)
    cache.incref(cs)
    cache.tempref(cs)
    del buf
    gc.collect()
    assert cache.get(cs) is not None
    cache.decref(cs)
    assert cache.get(cs) is not None  # still temp-referenced
    other = Buffer(b"abcdefghij")
    cache.tempref(other.get_checksum(), other)  # exceeds the budget: evicts the first
    del other
    gc.collect()
    assert cache.get(cs) is None


def test_sources_are_asked_after_the_cache():
    """A registered source provides missing buffers, which are then cached."""
    content = b"only the source has this"
    cs = Checksum(hashlib.sha256(content).digest())
    calls = []

    def source(checksum):
        calls.append(checksum)
        return Buffer(content) if checksum == cs else None

    register_source(source)
    try:
        assert resolve_buffer(Checksum("34" * 32)) is None
        found = resolve_buffer(cs)
        assert found.content == content
        assert resolve_buffer(cs) is found  # cached now: the source is not asked again
    finally:
        unregister_source(source)
    assert calls == [Checksum("34" * 32), cs]
