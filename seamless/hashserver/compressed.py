"""Compressed uploads: a buffer that arrives gzip- or zstd-compressed.

The reference hashserver (1.1.0) accepts ``Content-Encoding: gzip|zstd`` on
a PUT: the checksum in the URL is that of the *decompressed* bytes, and the
compressed bytes are kept as ``<cs>.gz`` / ``<cs>.zst`` next to where
``<cs>`` would be, with a ``<cs>.BUFFERLENGTH`` sidecar holding the
decompressed length (decimal, no newline). Folders written this way are
shared with the reference, so the same names are used here.

The compressed bytes are written to a temporary file while a decompressor
feeds the hash, in bounded memory; the file is published only if the
decompressed bytes hash to the expected checksum. Corrupt compressed data
raises InvalidCompressedPayload and leaves nothing behind.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

from .. import _native
from ..checksum_class import Checksum
from ..exceptions import ChecksumMismatchError, SeamlessError
from . import layout as _layout
from .tempfiles import TMP_DIR, temp_prefix

#: Content-Encoding names (lower case) -> stored suffix.
ENCODINGS = {"gzip": ".gz", "x-gzip": ".gz", "zstd": ".zst", "x-zstd": ".zst"}


class InvalidCompressedPayload(SeamlessError, ValueError):
    """The body is not valid data in its Content-Encoding."""


def suffix_for(content_encoding: str | None) -> str | None:
    """The stored suffix for a Content-Encoding header, or None when the body
    is to be stored as sent (no header, identity, or an encoding the
    reference also ignores, such as br or deflate)."""
    if not content_encoding:
        return None
    return ENCODINGS.get(content_encoding.strip().lower())


class _Gunzip:
    errors: tuple[type[Exception], ...] = (zlib.error,)

    def __init__(self) -> None:
        self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, piece: bytes) -> bytes:
        if self._z.eof:
            if piece:
                raise InvalidCompressedPayload("data after the end of the gzip stream")
            return b""
        return self._z.decompress(piece)

    def end(self) -> bytes:
        if not self._z.eof:
            raise InvalidCompressedPayload("truncated gzip stream")
        return self._z.flush()


class _Unzstd:
    def __init__(self) -> None:
        try:
            import zstandard
        except ImportError:  # pragma: no cover - a declared dependency
            raise InvalidCompressedPayload("zstd uploads need the 'zstandard' package on the server") from None
        self.errors = (zstandard.ZstdError,)
        self._z = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, piece: bytes) -> bytes:
        return self._z.decompress(piece)

    def end(self) -> bytes:
        if not self._z.eof:
            raise InvalidCompressedPayload("truncated zstd stream")
        return b""


class CompressedUpload:
    """Receives the compressed bytes of one buffer (see the module doc).

    ``feed(piece)``... ``finish()`` -> True if a new file was published,
    False if the compressed form was already stored; ``close()`` abandons.
    """

    def __init__(self, store: Any, checksum: Checksum, suffix: str):
        self._store = store
        self.checksum = checksum
        self.suffix = suffix
        self._decompressor = _Gunzip() if suffix == ".gz" else _Unzstd()
        self._hasher = _native.Hasher(store.hash_algorithm)
        self._length = 0
        tmp_dir = os.path.join(store.directory, TMP_DIR)
        self._tmp = os.path.join(tmp_dir, f"{temp_prefix()}{checksum.hex()}{suffix}.{id(self):x}")
        self._file: Any = open(self._tmp, "xb")

    def feed(self, piece: bytes) -> None:
        self._file.write(piece)
        try:
            plain = self._decompressor.feed(piece)
        except self._decompressor.errors as exc:
            raise InvalidCompressedPayload(f"invalid compressed data: {exc}") from None
        self._hasher.update(plain)
        self._length += len(plain)

    def finish(self) -> bool:
        try:
            tail = self._decompressor.end()
        except self._decompressor.errors as exc:
            raise InvalidCompressedPayload(f"invalid compressed data: {exc}") from None
        self._hasher.update(tail)
        self._length += len(tail)
        if self._hasher.digest() != self.checksum.bytes():
            raise ChecksumMismatchError(
                f"the decompressed body hashes to {self._hasher.hexdigest()}, not {self.checksum.hex()}")
        durable = self._store.durability == "fsync"
        if durable:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()
        final = os.path.join(self._store.directory,
                             _layout.relative_path(self.checksum, self._store.layout)) + self.suffix
        os.makedirs(os.path.dirname(final), exist_ok=True)
        created = _publish_no_replace(self._tmp, final)
        _write_length_sidecar(os.path.join(self._store.directory,
                                           _layout.relative_path(self.checksum, self._store.layout)),
                              self._length, durable)
        if durable:
            _fsync_dir(os.path.dirname(final))
        return created

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
        try:
            os.unlink(self._tmp)
        except FileNotFoundError:
            pass


def _publish_no_replace(tmp: str, final: str) -> bool:
    """Give tmp the name final unless final exists (then drop tmp); the
    published file is read-only (0444), as the reference's buffers."""
    os.chmod(tmp, 0o444)
    try:
        os.link(tmp, final)
    except FileExistsError:
        os.unlink(tmp)
        return False
    except OSError:  # no hard links on this file system: rename if still absent
        if os.path.exists(final):
            os.unlink(tmp)
            return False
        os.replace(tmp, final)
        return True
    os.unlink(tmp)
    return True


def _write_length_sidecar(base: str, length: int, durable: bool) -> None:
    path = base + _layout.LENGTH_SUFFIX
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(str(length))
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
