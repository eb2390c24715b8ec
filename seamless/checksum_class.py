"""Checksum: the identity of a buffer (SHA-256, 32 bytes, shown as hex)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Union

from .exceptions import CacheMissError, InvalidChecksumError, describe

if TYPE_CHECKING:  # pragma: no cover
    from .caching.buffer_cache import TempRef

_HEX = frozenset("0123456789abcdefABCDEF")


def _from_hex(text: str) -> bytes:
    if len(text) != 64:
        raise InvalidChecksumError(
            f"a checksum is 64 hexadecimal characters; got {len(text)} in {describe(text)}"
        )
    if not _HEX.issuperset(text):
        raise InvalidChecksumError(f"a checksum is hexadecimal; got {describe(text)}")
    return bytes.fromhex(text)


class Checksum:
    """A SHA-256 checksum.

    Constructed from 64 hex characters (either case), 32 raw bytes, or
    another Checksum. ``str()`` and ``hex()`` give lowercase hex. Equality
    compares the bytes, and also accepts hex strings and raw bytes; compared
    with a bool, a checksum is true.

    Raises:
        TypeError: None or an unsupported type.
        InvalidChecksumError: wrong length or non-hex text (a ValueError).
    """

    __slots__ = ("_value",)

    def __init__(self, checksum: Union["Checksum", str, bytes]):
        if checksum is None:
            raise TypeError("Checksum cannot be constructed from None")
        if isinstance(checksum, Checksum):
            self._value: bytes = checksum._value
        elif isinstance(checksum, str):
            self._value = _from_hex(checksum)
        elif isinstance(checksum, (bytes, bytearray, memoryview)):
            raw = bytes(checksum)
            if len(raw) != 32:
                raise InvalidChecksumError(
                    f"a raw checksum is 32 bytes; got {len(raw)}: {describe(raw)}"
                )
            self._value = raw
        else:
            raise TypeError(
                f"a Checksum is made from a hex str, 32 bytes or a Checksum, "
                f"not {type(checksum).__name__}"
            )

    # ---- forms ---------------------------------------------------------

    def bytes(self) -> bytes:
        """The checksum as 32 raw bytes."""
        return self._value

    def hex(self) -> str:
        """The checksum as 64 lowercase hex characters."""
        return self._value.hex()

    def __str__(self) -> str:
        return self._value.hex()

    def __repr__(self) -> str:
        # As the reference: the repr of the hex string.
        return repr(self._value.hex())

    def __hash__(self) -> int:
        return hash(self._value)

    # ---- comparisons ---------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Checksum):
            return self._value == other._value
        if isinstance(other, bool):
            return other  # a checksum is truthy
        if isinstance(other, str):
            return len(other) == 64 and self._value.hex() == other.lower()
        if isinstance(other, (bytes, bytearray)):
            return self._value == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def _key(self, other: object) -> tuple[Any, Any]:
        if isinstance(other, Checksum):
            return self._value, other._value
        if isinstance(other, str):
            return self._value.hex(), other
        if isinstance(other, bytes):
            return self._value, other
        raise TypeError(f"cannot order a Checksum and a {type(other).__name__}")

    def __lt__(self, other: object) -> bool:
        a, b = self._key(other)
        return bool(a < b)

    def __gt__(self, other: object) -> bool:
        a, b = self._key(other)
        return bool(a > b)

    def __le__(self, other: object) -> bool:
        a, b = self._key(other)
        return bool(a <= b)

    def __ge__(self, other: object) -> bool:
        a, b = self._key(other)
        return bool(a >= b)

    # ---- .CHECKSUM sidecar files ---------------------------------------

    @staticmethod
    def _sidecar_name(filename: str | os.PathLike[str]) -> str:
        name = os.fspath(filename)
        return name if name.endswith(".CHECKSUM") else name + ".CHECKSUM"

    def save(self, filename: str | os.PathLike[str]) -> None:
        """Write the hex and a newline to filename (+ ".CHECKSUM" unless present)."""
        with open(self._sidecar_name(filename), "w", encoding="ascii") as f:
            f.write(self.hex() + "\n")

    @classmethod
    def load(cls, filename: str | os.PathLike[str]) -> "Checksum":
        """Read a checksum from filename (+ ".CHECKSUM" unless present).

        Raises:
            FileNotFoundError: no such file.
            InvalidChecksumError: the file does not hold exactly one checksum
                ("File does not contain a SHA-256 checksum", a ValueError).
        """
        with open(cls._sidecar_name(filename), "rb") as f:
            text = f.read(100).decode("ascii", errors="replace").rstrip()
        try:
            return cls(text)
        except (TypeError, ValueError):
            raise InvalidChecksumError("File does not contain a SHA-256 checksum") from None

    # ---- resolution ----------------------------------------------------

    def resolve(self, celltype: str | None = None) -> Any:
        """The buffer with this checksum, or its value if celltype is given.

        Looks in the trivial checksums, the in-process buffer cache and the
        configured buffer sources, in that order.

        Raises:
            CacheMissError: no buffer is known (a LookupError).
        """
        from .caching.resolve import resolve_buffer

        buf = resolve_buffer(self)
        if buf is None:
            raise CacheMissError(self)
        return buf if celltype is None else buf.get_value(celltype)

    async def resolution(self, celltype: str | None = None) -> Any:
        """Asynchronous resolve(); the lookup runs in a worker thread."""
        import asyncio  # here, not at the top: it would double the import time of seamless

        return await asyncio.to_thread(self.resolve, celltype)

    def fingertip_sync(self, celltype: str | None = None) -> Any:
        """Like resolve(), but a buffer that no store has is recomputed from
        the transformation that produced it (found through the result
        database's reverse lookup), recursively, once seamless.transformer
        is imported. CacheMissError if that fails too."""
        from .caching.resolve import fingertip_buffer

        buf = fingertip_buffer(self)
        return buf if celltype is None else buf.get_value(celltype)

    async def fingertip(self, celltype: str | None = None) -> Any:
        """fingertip_sync() in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.fingertip_sync, celltype)

    def incref(self, *, scratch: bool = False) -> None:
        """Keep the buffer of this checksum in the in-process cache."""
        from .caching.buffer_cache import get_buffer_cache

        get_buffer_cache().incref(self, scratch=scratch)

    def decref(self) -> None:
        """Release one incref()."""
        from .caching.buffer_cache import get_buffer_cache

        get_buffer_cache().decref(self)

    def tempref(self, interest: float = 128.0, fade_factor: float = 2.0,
                fade_interval: float = 2.0, scratch: bool = False) -> "TempRef":
        """Keep the buffer cached for a while (see BufferCache.tempref)."""
        from .caching.buffer_cache import get_buffer_cache

        return get_buffer_cache().tempref(
            self, interest=interest, fade_factor=fade_factor,
            fade_interval=fade_interval, scratch=scratch,
        )

    def find(self, verbose: bool = False) -> list[Any] | None:
        """Not supported (the reference disables FAIR lookups too)."""
        raise NotImplementedError("Checksum.find: FAIR lookup is not supported")


def as_checksum(value: Union[Checksum, str, bytes]) -> Checksum:
    """value as a Checksum, without a copy when it already is one."""
    return value if isinstance(value, Checksum) else Checksum(value)

