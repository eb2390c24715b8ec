"""Compressed files: the canonical checksum is that of the decompressed bytes.

``.gz`` is read with the standard library; ``.zst`` needs the optional
``zstandard`` package (an error says so when it is missing).
"""

from __future__ import annotations

import os
from typing import IO, Any

COMPRESSION_SUFFIXES = (".zst", ".gz")


def strip_compression_suffix(name: str) -> tuple[str, str | None]:
    """(name without .zst/.gz, the suffix or None)."""
    for suffix in COMPRESSION_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)], suffix
    return name, None


def open_decompressed(path: str | os.PathLike[str], suffix: str) -> IO[bytes]:
    """A binary file object yielding the decompressed content of path.

    Raises:
        ImportError: a .zst file without the zstandard package installed.
        ValueError: an unknown suffix.
    """
    if suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    if suffix == ".zst":
        try:
            import zstandard
        except ImportError:
            raise ImportError(
                f"reading {os.fspath(path)!r} needs the 'zstandard' package "
                "(pip install zstandard)"
            ) from None
        raw = open(path, "rb")
        return _ClosingReader(zstandard.ZstdDecompressor().stream_reader(raw), raw)
    raise ValueError(f"unknown compression suffix {suffix!r}")


def damaged_data_errors() -> tuple[type[BaseException], ...]:
    """What reading an open_decompressed stream raises when the file is not
    valid compressed data (truncated, damaged, not gzip or zstd at all), as
    opposed to a file that cannot be read."""
    import gzip
    import zlib

    errors: tuple[type[BaseException], ...] = (gzip.BadGzipFile, EOFError, zlib.error)
    try:
        import zstandard
    except ImportError:
        return errors
    return errors + (zstandard.ZstdError,)


def compress_file(source: str | os.PathLike[str], target: str | os.PathLike[str], suffix: str) -> None:
    """Write the content of source compressed (``.gz`` or ``.zst``) to
    target, streamed. The twin of open_decompressed."""
    import shutil

    with open(source, "rb") as f:
        if suffix == ".gz":
            import gzip

            with gzip.open(target, "wb") as sink:
                shutil.copyfileobj(f, sink, 1 << 20)
        elif suffix == ".zst":
            import zstandard

            with open(target, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as sink:
                shutil.copyfileobj(f, sink, 1 << 20)
        else:
            raise ValueError(f"unknown compression suffix {suffix!r}")


class _ClosingReader:
    """A stream reader that also closes the underlying file."""

    def __init__(self, reader: Any, raw: IO[bytes]):
        self._reader = reader
        self._raw = raw

    def read(self, size: int = -1) -> bytes:
        return bytes(self._reader.read(size))

    def close(self) -> None:
        self._reader.close()
        self._raw.close()

    def __enter__(self) -> "_ClosingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def decompressed_checksum(path: str | os.PathLike[str], suffix: str, algorithm: str = "sha-256") -> str:
    """Checksum of the decompressed content of path, streamed in 1 MiB blocks."""
    from .algorithms import new_hasher

    hasher = new_hasher(algorithm)
    with open_decompressed(path, suffix) as f:
        while True:
            block = f.read(1 << 20)
            if not block:
                break
            hasher.update(block)
    return hasher.hexdigest()
