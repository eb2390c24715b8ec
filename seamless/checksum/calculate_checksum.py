"""Checksums as lowercase hex strings: of bytes, files and batches.

The names and behaviour of ``calculate_checksum`` and
``calculate_file_checksum`` are those of the reference; the batch functions
are ours. All of them hash in the native core with the GIL released, and
take bytes-like objects (bytes, bytearray, memoryview, numpy arrays, mmap)
without copying them. A ``str`` is hashed as its UTF-8 encoding.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from ..exceptions import describe
from .algorithms import DEFAULT_ALGORITHM, hash_batch, hash_bytes, hash_file, hash_files
from .jsonfmt import plain_json

#: Files that are never hashed (as in the reference): None is returned.
UNHASHABLE_FILES = ("/dev/stdout", "/dev/stderr")


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return content.encode("utf-8")
    try:
        memoryview(content)
    except TypeError:
        raise TypeError(
            f"cannot checksum {type(content).__name__}: a bytes-like object or str "
            f"is required ({describe(content)})"
        ) from None
    return content


def calculate_checksum(content: Any, *, algorithm: str = DEFAULT_ALGORITHM) -> str:
    """The checksum of content (bytes-like or str), as 64 hex characters.

    Raises:
        TypeError: content is neither bytes-like nor str.
    """
    return hash_bytes(_content(content), algorithm).hex()


def calculate_checksums(
    buffers: Iterable[Any], *, algorithm: str = DEFAULT_ALGORITHM, threads: int = 0
) -> list[str]:
    """Checksums of many buffers in one call, in order.

    Work is spread over threads (``threads=0``: automatic); on x86-64 with
    SHA extensions two buffers are hashed at once per core.
    """
    items = buffers if isinstance(buffers, (list, tuple)) else list(buffers)
    try:
        return hash_batch(items, algorithm, threads, hex=True)
    except TypeError:
        # str items (or a bad item, which _content names in its error)
        return hash_batch([_content(b) for b in items], algorithm, threads, hex=True)


def calculate_file_checksum(filename: Any, *, algorithm: str = DEFAULT_ALGORITHM) -> str | None:
    """The checksum of a file's content, streamed by the native core.

    Returns None for /dev/stdout and /dev/stderr (as the reference does).

    Raises:
        FileNotFoundError, IsADirectoryError, PermissionError: as open() would.
    """
    if os.fspath(filename) in UNHASHABLE_FILES:
        return None
    return hash_file(filename, algorithm)[0].hex()


def calculate_file_checksums(
    filenames: Iterable[Any], *, algorithm: str = DEFAULT_ALGORITHM, threads: int = 0
) -> list[str]:
    """Checksums of many files, hashed in parallel, in order.

    Raises:
        OSError: for the first file (in order) that cannot be read.
    """
    return [d.hex() for d, _ in hash_files(list(filenames), algorithm, threads)]


def calculate_dict_checksum(d: Any) -> str:
    """The checksum of d as a ``plain`` value (PLAIN-JSON + newline)."""
    return calculate_checksum(plain_json(d) + b"\n")


#: Buffers whose checksums every implementation resolves without storage.
TRIVIAL_CHECKSUMS = {
    calculate_checksum(b): b for b in (b"", b"{}", b"{}\n", b"[]", b"[]\n")
}
