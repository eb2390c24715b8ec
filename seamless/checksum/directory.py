"""Deep checksums of directories (spec: identity.md, "Directories").

A directory is named by the checksum of its *index buffer*: the PLAIN-JSON
of ``{relative path: checksum of the file}`` plus a newline. Every regular
file at every depth is included (hidden files and stray ``.CHECKSUM`` or
``.INDEX`` files too); symlinks to files are followed, symlinks to
directories are not descended, empty directories do not appear. Other
kinds of files (FIFOs, sockets, devices) are skipped, since reading them
could block forever.

With ``decompress=True`` (as seamless-upload and seamless-run do), ``.gz``
and ``.zst`` files are entered under their name without the suffix, with the
checksum of their decompressed content.
"""

from __future__ import annotations

import os
import stat
from typing import Any

from ..checksum_class import Checksum
from .algorithms import DEFAULT_ALGORITHM, hash_files
from .compression import decompressed_checksum, strip_compression_suffix
from .jsonfmt import plain_json


def list_files(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """(relative path with "/", full path) of every regular file under root.

    Raises:
        FileNotFoundError: root does not exist (or a dangling symlink).
        NotADirectoryError: root is not a directory.
    """
    top = os.fspath(root)
    if not os.path.isdir(top):
        if not os.path.exists(top):
            raise FileNotFoundError(2, os.strerror(2), top)
        raise NotADirectoryError(20, os.strerror(20), top)
    found = []
    for dirpath, _dirnames, filenames in os.walk(top, followlinks=False):
        for name in filenames:
            full = os.path.join(dirpath, name)
            if stat.S_ISREG(os.stat(full).st_mode):
                rel = os.path.relpath(full, top).replace(os.sep, "/")
                found.append((rel, full))
    found.sort()
    return found


def build_index(root: str | os.PathLike[str], *, decompress: bool = False,
                algorithm: str = DEFAULT_ALGORITHM, threads: int = 0) -> dict[str, str]:
    """The index of a directory: relative path -> checksum (hex).

    Files are hashed in parallel by the native core.

    Raises:
        ValueError: with decompress, two files that map to the same key
            (``x`` and ``x.gz``).
    """
    files = list_files(root)
    plain = []
    index: dict[str, str] = {}
    for rel, full in files:
        key, suffix = strip_compression_suffix(rel) if decompress else (rel, None)
        if suffix is None:
            plain.append((rel, full))
            continue
        if key in index:
            raise ValueError(f"{rel!r} and another file both map to index key {key!r}")
        index[key] = decompressed_checksum(full, suffix, algorithm)
    digests = hash_files([full for _, full in plain], algorithm, threads)
    for (rel, _), (digest, _) in zip(plain, digests):
        if rel in index:
            raise ValueError(f"{rel!r} and a compressed file both map to index key {rel!r}")
        index[rel] = digest.hex()
    return index


def index_paths(root: str | os.PathLike[str]) -> dict[str, str]:
    """Index key -> the file on disk, for an index built with decompress
    (``x`` -> ``root/x.gz``)."""
    return {strip_compression_suffix(rel)[0]: full for rel, full in list_files(root)}


def index_buffer(index: dict[str, Any]) -> bytes:
    """The buffer whose checksum names the directory."""
    return plain_json(index) + b"\n"


def directory_checksum(root: str | os.PathLike[str], **options: Any) -> str:
    """The deep checksum (hex) of a directory; options as for build_index."""
    from .calculate_checksum import calculate_checksum

    return calculate_checksum(index_buffer(build_index(root, **options)))


def write_index(root: str | os.PathLike[str], **options: Any) -> Checksum:
    """Write ``D.INDEX`` and ``D.CHECKSUM`` next to directory D; return the checksum.

    Both files are written to a temporary name and renamed, so a reader
    never sees a partial file.
    """
    from .calculate_checksum import calculate_checksum
    from .sidecar import atomic_write, sidecar_path

    top = os.fspath(root).rstrip("/") or "/"
    buffer = index_buffer(build_index(top, **options))
    checksum = Checksum(calculate_checksum(buffer))
    atomic_write(top + ".INDEX", buffer)
    atomic_write(sidecar_path(top), (checksum.hex() + "\n").encode())
    return checksum
