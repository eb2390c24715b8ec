"""Hash algorithms behind one interface: SHA-256, SHA3-256 and BLAKE3.

* ``sha-256`` is the default and the compatibility contract: every checksum
  exchanged with other Seamless installations uses it.
* ``sha3-256`` reads buffer folders written by hashservers that used the old
  sha3-256 default.
* ``blake3`` (through the ``blake3`` package, multi-threaded for large
  inputs) is several times faster, for stores that never need to
  interoperate. Its checksums are *not* Seamless checksums.

SHA-256 and SHA3-256 run in the native core (or its fallback); BLAKE3 runs
in the blake3 package, which releases the GIL too.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

from .. import _native
from ..exceptions import UnsupportedAlgorithmError, describe

DEFAULT_ALGORITHM = "sha-256"
ALGORITHMS = ("sha-256", "sha3-256", "blake3")
#: blake3 uses all cores only for inputs at least this large.
_BLAKE3_THREADED = 1 << 20


def algorithm_name(name: object) -> str:
    """The canonical name of an algorithm.

    Raises:
        UnsupportedAlgorithmError: an unknown name (a ValueError).
    """
    if isinstance(name, str) and name.lower() in ("blake3", "blake-3"):
        return "blake3"
    try:
        return _native._args.algorithm_name(name)
    except UnsupportedAlgorithmError:
        raise UnsupportedAlgorithmError(
            f"unsupported hash algorithm {describe(name)}; supported: {', '.join(ALGORITHMS)}"
        ) from None


def _blake3(data: Any = b"") -> Any:
    import blake3

    view = memoryview(_native._args.contiguous(data))
    threads = blake3.blake3.AUTO if view.nbytes >= _BLAKE3_THREADED else 1
    return blake3.blake3(view, max_threads=threads)


def hash_bytes(data: Any, algorithm: str = DEFAULT_ALGORITHM) -> bytes:
    """Digest (32 bytes) of a bytes-like object."""
    name = algorithm_name(algorithm)
    if name == "blake3":
        return bytes(_blake3(data).digest())
    return _native.hash(data, name)


class _Blake3Hasher:
    __slots__ = ("_h", "name")
    digest_size = 32

    def __init__(self) -> None:
        import blake3

        self._h = blake3.blake3()
        self.name = "blake3"

    def update(self, data: Any) -> None:
        self._h.update(_native._args.contiguous(data))

    def digest(self) -> bytes:
        return bytes(self._h.digest())

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())


def new_hasher(algorithm: str = DEFAULT_ALGORITHM) -> Any:
    """A streaming hasher (update/digest/hexdigest) for the algorithm."""
    name = algorithm_name(algorithm)
    if name == "blake3":
        return _Blake3Hasher()
    return _native.Hasher(name)


def hash_file(path: Any, algorithm: str = DEFAULT_ALGORITHM) -> tuple[bytes, int]:
    """(digest, size) of a file, read without passing through Python."""
    name = algorithm_name(algorithm)
    if name != "blake3":
        return _native.hash_file(path, name)
    import blake3

    original = _native._args.path(path)
    size = os.stat(original).st_size
    if os.path.isdir(original):
        raise IsADirectoryError(21, os.strerror(21), original)
    h = blake3.blake3(max_threads=blake3.blake3.AUTO)
    h.update_mmap(original)
    return bytes(h.digest()), size


def hash_batch(
    buffers: Sequence[Any], algorithm: str = DEFAULT_ALGORITHM, threads: int = 0, *, hex: bool = False
) -> Any:
    """Digests of many buffers: concatenated bytes, or hex strings."""
    name = algorithm_name(algorithm)
    if name != "blake3":
        return _native.hash_batch(buffers, name, threads, hex=hex)
    digests = [hash_bytes(b, name) for b in buffers]
    return [d.hex() for d in digests] if hex else b"".join(digests)


def hash_files(
    paths: Sequence[Any], algorithm: str = DEFAULT_ALGORITHM, threads: int = 0
) -> list[tuple[bytes, int]]:
    """(digest, size) of many files, in order, hashed in parallel."""
    name = algorithm_name(algorithm)
    if name != "blake3":
        return _native.hash_files(paths, name, threads)
    return [hash_file(p, name) for p in paths]
