"""Buffer: the bytes of a value, with its checksum computed on demand."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .checksum_class import Checksum
from .exceptions import describe

if TYPE_CHECKING:  # pragma: no cover
    from .caching.buffer_cache import TempRef


class Buffer:
    """Immutable bytes plus a lazily computed (and memoized) checksum.

    ``Buffer(value, celltype)`` serializes value by the celltype's rules;
    ``Buffer(raw)`` takes bytes (or any bytes-like object) as they are.
    A ``checksum=`` argument is trusted without hashing, as in the
    reference; ``verify()`` checks it.

    Raises:
        TypeError: raw data that is not bytes-like, or a Checksum as value.
        CelltypeError, SerializationError: see seamless.checksum.serialize.
    """

    __slots__ = ("_checksum", "_content", "__weakref__")

    def __init__(self, value_or_buffer: Any, celltype: str | None = None, *,
                 checksum: Checksum | str | bytes | None = None):
        if isinstance(value_or_buffer, Buffer):
            value_or_buffer = value_or_buffer._content
        elif isinstance(value_or_buffer, Checksum):
            raise TypeError(
                "a Buffer is made from a value or bytes, not from a Checksum "
                "(use checksum.resolve() to get its buffer)"
            )
        if celltype is None:
            content = self._raw(value_or_buffer)
        else:
            from .checksum.serialize import serialize

            content = serialize(value_or_buffer, celltype)
        self._content: bytes = content
        self._checksum: Checksum | None = None
        if checksum:
            self._checksum = Checksum(checksum)
            self._register()

    @staticmethod
    def _raw(data: Any) -> bytes:
        if isinstance(data, bytes):
            return data
        if isinstance(data, (bytearray, memoryview)):
            return bytes(data)
        raise TypeError(
            "Buffer(raw) needs bytes (or give a celltype to serialize a value), "
            f"not {type(data).__name__}: {describe(data)}"
        )

    @classmethod
    async def from_async(cls, value: Any, celltype: str, *, use_cache: bool = True,
                         checksum: Checksum | None = None) -> "Buffer":
        """Buffer(value, celltype), for async code (serialization runs inline)."""
        return cls(value, celltype, checksum=checksum)

    # ---- content and checksum ----------------------------------------

    @property
    def content(self) -> bytes:
        """The bytes."""
        return self._content

    def __len__(self) -> int:
        return len(self._content)

    @property
    def checksum(self) -> Checksum:
        """The checksum, which must have been computed (see get_checksum)."""
        if self._checksum is None:
            raise AttributeError("Checksum has not yet been calculated, use .get_checksum()")
        return self._checksum

    def get_checksum(self) -> Checksum:
        """The checksum, computed on first use (SHA-256 in the native core)."""
        if self._checksum is None:
            from ._native import hash as native_hash

            self._checksum = Checksum(native_hash(self._content))
            self._register()
        return self._checksum

    async def get_checksum_async(self) -> Checksum:
        """get_checksum() for async code (large buffers hash in a thread)."""
        if self._checksum is None and len(self._content) > (1 << 20):
            import asyncio

            return await asyncio.to_thread(self.get_checksum)
        return self.get_checksum()

    def verify(self) -> bool:
        """True if the content really has the known (or trusted) checksum."""
        from ._native import hash as native_hash

        return self.get_checksum().bytes() == native_hash(self._content)

    def _register(self) -> None:
        from .caching.buffer_cache import get_buffer_cache

        assert self._checksum is not None
        get_buffer_cache().register(self._checksum, self)

    # ---- values ----------------------------------------------------------

    def get_value(self, celltype: str) -> Any:
        """The value held, read by the celltype's rules (see deserialize)."""
        from .checksum.deserialize import deserialize

        return deserialize(self._content, celltype)

    async def get_value_async(self, celltype: str, *, copy: bool = True) -> Any:
        """get_value() for async code."""
        return self.get_value(celltype)

    def decode(self) -> str:
        """The content as UTF-8 text."""
        return self._content.decode()

    # ---- files -----------------------------------------------------------

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write the content to filename."""
        with open(filename, "wb") as f:
            f.write(self._content)

    @classmethod
    def load(cls, filename: str | os.PathLike[str]) -> "Buffer":
        """A Buffer with the content of filename."""
        with open(filename, "rb") as f:
            return cls(f.read())

    # ---- the in-process cache ---------------------------------------------

    def incref(self) -> None:
        """Keep this buffer in the in-process cache until decref()."""
        from .caching.buffer_cache import get_buffer_cache

        get_buffer_cache().incref(self.get_checksum(), self)

    def decref(self) -> None:
        """Release one incref()."""
        self.get_checksum().decref()

    def tempref(self, interest: float = 128.0, fade_factor: float = 2.0,
                fade_interval: float = 2.0, scratch: bool = False) -> "TempRef":
        """Keep this buffer cached for a while."""
        from .caching.buffer_cache import get_buffer_cache

        return get_buffer_cache().tempref(
            self.get_checksum(), self, interest=interest, fade_factor=fade_factor,
            fade_interval=fade_interval, scratch=scratch,
        )

    async def write(self) -> bool:
        """Write the buffer to the configured buffer stores.

        Returns False when no store is configured (the in-memory default).
        """
        from .caching.resolve import write_buffer

        return await write_buffer(self)

    # ---- dunder ------------------------------------------------------------

    def __str__(self) -> str:
        return str(self._content)

    def __repr__(self) -> str:
        result = "Seamless Buffer"
        if self._checksum is not None:
            result += f", checksum {self._checksum}"
        return result + f", length {len(self._content)}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Buffer):
            if not isinstance(other, (bytes, bytearray, memoryview)):
                return NotImplemented
            other = Buffer(other)
        if self._checksum is not None and other._checksum is not None:
            return self._checksum == other._checksum
        return self._content == other._content

    def __hash__(self) -> int:
        return hash(self._content)
