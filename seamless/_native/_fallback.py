"""The pure-Python twin of the native backend (hashlib, xxhash, threads).

Same functions, signatures, results and exceptions as ``_binding``; the
tests run every case against both. hashlib releases the GIL while it hashes
large updates, so the thread pools here do run in parallel.
"""

from __future__ import annotations

import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import xxhash

from . import _args
from ._errors import file_changed, raise_for

DIGEST_SIZE = 32
FINGERPRINT_SIZE = 16
#: Must equal SEAMLESS_FINGERPRINT_CHUNK of the C header.
FINGERPRINT_CHUNK = 16 * 1024 * 1024
_READ_BLOCK = 1 << 20
_HASHLIB_NAMES = {"sha-256": "sha256", "sha3-256": "sha3_256"}


def _hashlib_new(algorithm: object) -> Any:
    return hashlib.new(_HASHLIB_NAMES[_args.algorithm_name(algorithm)])


def cpu_count() -> int:
    """Number of online processors."""
    return max(1, min(os.cpu_count() or 1, 64))


def sha256_kernels() -> tuple[str, ...]:
    """Names of the SHA-256 kernels available: only hashlib's."""
    return ("hashlib",)


def sha256_kernel() -> str:
    """Name of the SHA-256 kernel in use."""
    return "hashlib"


def set_sha256_kernel(name: str) -> None:
    """Accept only "hashlib", the single kernel of this backend."""
    if name != "hashlib":
        raise_for(3, f"SHA-256 kernel {name!r} is not available on this CPU")


def hash(data: Any, algorithm: str = "sha-256") -> bytes:  # noqa: A001
    """Digest of a bytes-like object."""
    h = _hashlib_new(algorithm)
    h.update(_args.contiguous(data))
    return h.digest()


class Hasher:
    """Streaming digest over hashlib (which locks internally)."""

    __slots__ = ("_h", "name")
    digest_size = DIGEST_SIZE

    def __init__(self, algorithm: str = "sha-256", data: Any = None):
        self.name = _args.algorithm_name(algorithm)
        self._h = _hashlib_new(self.name)
        if data is not None:
            self.update(data)

    def update(self, data: Any) -> None:
        """Feed a bytes-like object."""
        self._h.update(_args.contiguous(data))

    def digest(self) -> bytes:
        """Digest of everything fed so far; the hasher stays usable."""
        return self._h.digest()

    def hexdigest(self) -> str:
        """digest() as lowercase hex."""
        return self._h.hexdigest()

    def copy(self) -> "Hasher":
        """An independent hasher with the same state."""
        clone = Hasher.__new__(Hasher)
        clone.name = self.name
        clone._h = self._h.copy()
        return clone


def hash_batch(
    buffers: Sequence[Any], algorithm: str = "sha-256", threads: int = 0, *, hex: bool = False
) -> Any:
    """Digests of many buffers, in order: concatenated (32 bytes each), or a
    list of hex strings with hex=True."""
    name = _HASHLIB_NAMES[_args.algorithm_name(algorithm)]
    _args.threads(threads)
    new = getattr(hashlib, name)
    if hex:
        return [new(_args.contiguous(b)).hexdigest() for b in buffers]
    return b"".join([new(_args.contiguous(b)).digest() for b in buffers])


def hex_digests(digests: Any) -> list[str]:
    """Split concatenated 32-byte digests into lowercase hex strings."""
    raw = bytes(_args.contiguous(digests))
    if len(raw) % DIGEST_SIZE:
        raise ValueError(f"digests length {len(raw)} is not a multiple of 32")
    h = raw.hex()
    return [h[i : i + 64] for i in range(0, len(h), 64)]


def _open(path: Any) -> Any:
    # Python's own errors (FileNotFoundError, IsADirectoryError, ...) are the
    # ones the native backend reproduces from errno.
    return open(_args.path(path), "rb", buffering=0)


def _read_blocks(f: Any, buf: bytearray) -> Any:
    view = memoryview(buf)
    while True:
        n = f.readinto(buf)
        if not n:
            return
        yield view[:n]


def hash_file(path: Any, algorithm: str = "sha-256") -> tuple[bytes, int]:
    """(digest, size) of a file."""
    h = _hashlib_new(algorithm)
    size = 0
    with _open(path) as f:
        for block in _read_blocks(f, bytearray(_READ_BLOCK)):
            h.update(block)
            size += len(block)
    return h.digest(), size


def _pool_map(fn: Any, items: list[Any], threads: int) -> list[Any]:
    workers = threads or min(cpu_count(), len(items))
    if workers <= 1 or len(items) <= 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def hash_files(
    paths: Sequence[Any], algorithm: str = "sha-256", threads: int = 0
) -> list[tuple[bytes, int]]:
    """(digest, size) of many files, in order; raises the first failure."""
    name = _args.algorithm_name(algorithm)
    nthreads = _args.threads(threads)
    items = [_args.path(p) for p in paths]

    def one(p: Any) -> Any:
        try:
            return hash_file(p, name)
        except OSError as exc:
            return exc

    results = _pool_map(one, items, nthreads)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _combine(chunk_digests: list[bytes]) -> bytes:
    return xxhash.xxh3_128(b"".join(chunk_digests)).digest()


def fingerprint(data: Any, threads: int = 0) -> bytes:
    """16-byte content fingerprint: XXH3-128 of the chunks' XXH3-128s."""
    _args.threads(threads)
    view = memoryview(_args.contiguous(data)).cast("B")
    chunks = [
        xxhash.xxh3_128(view[i : i + FINGERPRINT_CHUNK]).digest()
        for i in range(0, len(view), FINGERPRINT_CHUNK)
    ]
    return _combine(chunks)


def fingerprint_file(path: Any, threads: int = 0) -> tuple[bytes, int]:
    """(fingerprint, size) of a file: its first st_size bytes, as the native
    core reads them; a file that ends early raises FileChangedError."""
    _args.threads(threads)
    original = _args.path(path)
    chunks = []
    with _open(original) as f:
        st = os.fstat(f.fileno())
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        buf = bytearray(min(_READ_BLOCK, FINGERPRINT_CHUNK))
        for start in range(0, size, FINGERPRINT_CHUNK):
            h = xxhash.xxh3_128()
            remaining = min(FINGERPRINT_CHUNK, size - start)
            while remaining:
                n = f.readinto(memoryview(buf)[: min(len(buf), remaining)])
                if not n:
                    raise file_changed(original)
                h.update(memoryview(buf)[:n])
                remaining -= n
            chunks.append(h.digest())
    return _combine(chunks), size
