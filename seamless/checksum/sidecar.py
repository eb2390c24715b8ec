"""``.CHECKSUM`` sidecar files (spec: identity.md, ".CHECKSUM sidecar files").

The sidecar of ``X`` is ``X.CHECKSUM``, except that compression suffixes are
stripped first (``x.npy.zst`` -> ``x.npy.CHECKSUM``) and that a directory
``D/`` or its index ``D.INDEX`` has ``D.CHECKSUM``. A sidecar holds 64 hex
characters and a newline. This module's reader is the tolerant one of the
command-line tools: surrounding whitespace and ``#`` comment lines are
allowed. ``Checksum.load`` is the strict one.
"""

from __future__ import annotations

import os
import tempfile
import threading

from ..checksum_class import Checksum
from .compression import strip_compression_suffix

SUFFIX = ".CHECKSUM"


def sidecar_path(path: str | os.PathLike[str]) -> str:
    """The name of the sidecar of path."""
    name = os.fspath(path)
    if name.endswith(SUFFIX):
        return name
    name = name.rstrip("/") or "/"
    if name.endswith(".INDEX"):
        name = name[: -len(".INDEX")]
    name, _ = strip_compression_suffix(name)
    return name + SUFFIX


def parse_sidecar_text(text: str) -> Checksum | None:
    """The checksum in sidecar text, or None if there is none (CLI rules)."""
    lines = [line.strip() for line in text.strip().splitlines()]
    kept = "\n".join(line for line in lines if line and not line.startswith("#"))
    try:
        return Checksum(kept.strip())
    except (TypeError, ValueError):
        return None


def read_sidecar(path: str | os.PathLike[str]) -> Checksum | None:
    """The checksum in the sidecar of path (or path itself if it is one),
    None if the sidecar is missing or holds no valid checksum."""
    try:
        with open(sidecar_path(path), "rb") as f:
            data = f.read(64 * 1024)
    except FileNotFoundError:
        return None
    return parse_sidecar_text(data.decode("utf-8", errors="replace"))


_UMASK: list[int] = []
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask, read once (reading it means setting it, which
    must not race with other threads creating files)."""
    with _UMASK_LOCK:
        if not _UMASK:
            mask = os.umask(0o022)
            os.umask(mask)
            _UMASK.append(mask)
        return _UMASK[0]


def atomic_write(path: str, data: bytes) -> None:
    """Write data to path through a temporary file and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # as open() would create it, not mkstemp's 0600
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_sidecar(path: str | os.PathLike[str], checksum: Checksum | str) -> str:
    """Write the sidecar of path (atomically); return the sidecar's name."""
    target = sidecar_path(path)
    atomic_write(target, (Checksum(checksum).hex() + "\n").encode())
    return target
