"""The pure-Python twin of the native backend (hashlib, xxhash, threads).

Same functions, signatures, results and exceptions as ``_binding``; the
tests run every case against both. hashlib releases the GIL while it hashes
large updates, so the thread pools here do run in parallel.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import os
import select
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import xxhash

from . import _args
from ._errors import STREAM_ERRNOS, file_changed, raise_for, stream_error

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


# ---- content-addressed store writes -----------------------------------------

_temp_counter = itertools.count()


def _relative(config: _args.StoreConfig, digest: bytes) -> str:
    name = digest.hex()
    return os.path.join(name[:2], name) if config.layout == "prefix" else name


def _present(path: str, size: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _Stream:
    """A stream source: prefix, then bytes read from fd, length in all."""

    def __init__(self, fd: int, length: int, prefix: bytes, stall_ms: int, min_rate: int):
        self.fd, self.length, self.prefix = fd, length, prefix
        self.stall, self.min_rate = stall_ms / 1000, min_rate

    def blocks(self) -> Any:
        """The bytes, waiting (poll) on a non-blocking fd; an early end is
        ECONNRESET, a stall or a trickle ETIMEDOUT (as stream.c)."""
        if self.prefix:
            yield self.prefix
        remaining = self.length - len(self.prefix)
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        window_start, window_bytes = time.monotonic(), 0
        while remaining:
            try:
                block = os.read(self.fd, min(remaining, _READ_BLOCK))
            except BlockingIOError:
                if not poller.poll(self.stall * 1000 if self.stall else None):
                    raise OSError(errno.ETIMEDOUT, "stalled") from None
                block = None
            if block == b"":
                raise OSError(errno.ECONNRESET, "ended early")
            if block:
                remaining -= len(block)
                window_bytes += len(block)
                yield block
            now = time.monotonic()
            if self.stall and now - window_start > self.stall:
                if window_bytes < self.min_rate * self.stall:
                    raise OSError(errno.ETIMEDOUT, "too slow")
                window_start, window_bytes = now, 0


def _blocks(data: Any) -> Any:
    """(length, iterator of blocks) of an in-memory, file or stream source."""
    if isinstance(data, _Stream):
        return data.length, data.blocks()
    if isinstance(data, tuple):  # ("file", fd)
        fd = data[1]
        size = os.fstat(fd).st_size
        return size, iter(lambda: os.read(fd, _READ_BLOCK), b"")
    view = memoryview(_args.contiguous(data)).cast("B")
    stable = type(data) is bytes
    return len(view), (
        (view[i : i + _READ_BLOCK] if stable else bytes(view[i : i + _READ_BLOCK]))
        for i in range(0, len(view), _READ_BLOCK)
    )


def _store_source(config: _args.StoreConfig, source: Any, expected: bytes | None) -> tuple[bytes, int, int]:
    root = config.root
    size, blocks = _blocks(source)
    if expected is not None and _present(os.path.join(root, _relative(config, expected)), size):
        h = _hashlib_new(config.algorithm)
        total = 0
        for block in blocks:
            h.update(block)
            total += len(block)
        if h.digest() != expected:
            from ._errors import mismatch

            mismatch(expected, h.digest())
        return h.digest(), total, _args.PUT_EXISTED
    ns = time.time_ns()
    tmp = os.path.join(root, ".tmp", f"{config.tmp_prefix}{next(_temp_counter)}-{ns}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        h = _hashlib_new(config.algorithm)
        total = 0
        try:
            for block in blocks:
                h.update(block)
                view = memoryview(block)
                while view:
                    view = view[os.write(fd, view):]
                total += len(block)
            digest = h.digest()
            if expected is not None and digest != expected:
                from ._errors import mismatch

                mismatch(expected, digest)
            try:
                os.fchmod(fd, config.file_mode)
            except OSError:
                pass
            if config.sync & _args.SYNC_DATA:
                os.fsync(fd)
        finally:
            os.close(fd)
        outcome = _publish(config, tmp, _relative(config, digest), total)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return digest, total, outcome


def _publish(config: _args.StoreConfig, tmp: str, rel: str, size: int) -> int:
    root = config.root
    if config.layout == "prefix":
        shard = os.path.join(root, rel[:2])
        try:
            os.mkdir(shard, 0o775)
        except FileExistsError:
            pass
        else:
            try:
                os.chmod(shard, config.dir_mode)
            except OSError:
                pass
            if config.sync & _args.SYNC_DIR:
                _fsync_dir(root)
    final = os.path.join(root, rel)
    if _present(final, size):
        os.unlink(tmp)
        return _args.PUT_EXISTED
    replacing = os.path.lexists(final)
    os.rename(tmp, final)
    if config.sync & _args.SYNC_DIR:
        _fsync_dir(os.path.dirname(final))
    return _args.PUT_REPLACED if replacing else _args.PUT_CREATED


def _as_store_error(config: _args.StoreConfig, exc: OSError) -> OSError:
    from ._errors import os_error

    return os_error(exc.errno or 0, config.root)


def store_put(config: _args.StoreConfig, data: Any, expected: bytes | None = None) -> tuple[bytes, int, int]:
    """Write data into the store: (digest, size, outcome PUT_*)."""
    _args.contiguous(data)
    exp = None if expected is None else _args.digest(expected, "expected")
    try:
        return _store_source(config, data, exp)
    except OSError as exc:
        raise _as_store_error(config, exc) from None


def store_put_file(config: _args.StoreConfig, path: Any, expected: bytes | None = None) -> tuple[bytes, int, int]:
    """Stream a file into the store: (digest, size, outcome PUT_*)."""
    exp = None if expected is None else _args.digest(expected, "expected")
    with _open(path) as f:
        try:
            return _store_source(config, ("file", f.fileno()), exp)
        except OSError as exc:
            raise _as_store_error(config, exc) from None


def store_put_stream(config: _args.StoreConfig, fd: int, length: int, prefix: bytes = b"",
                     expected: bytes | None = None, stall: float = 60.0,
                     min_rate: int = 0) -> tuple[bytes, int, int]:
    """Write a body arriving on a socket or pipe into the store (see the
    native binding): (digest, size, outcome PUT_*)."""
    fd, length, stall_ms, min_rate = _args.stream_args(fd, length, prefix, stall, min_rate)
    exp = None if expected is None else _args.digest(expected, "expected")
    try:
        return _store_source(config, _Stream(fd, length, prefix, stall_ms, min_rate), exp)
    except OSError as exc:
        if exc.errno in STREAM_ERRNOS:
            raise stream_error(exc.errno) from None
        raise _as_store_error(config, exc) from None


def store_stat(config: _args.StoreConfig, digests: bytes) -> list[int]:
    """Sizes of the files of concatenated 32-byte digests; STAT_COMPRESSED
    where only a .zst/.gz form exists, -1 where absent."""
    sizes = []
    for i in range(0, len(digests) - len(digests) % DIGEST_SIZE, DIGEST_SIZE):
        path = os.path.join(config.root, _relative(config, digests[i : i + DIGEST_SIZE]))
        sizes.append(_regular_size(path))
        if sizes[-1] < 0 and any(_regular_size(path + s) >= 0 for s in (".zst", ".gz")):
            sizes[-1] = _args.STAT_COMPRESSED
    return sizes


def _regular_size(path: str) -> int:
    try:
        st = os.stat(path)
    except OSError:
        return -1
    return st.st_size if stat.S_ISREG(st.st_mode) else -1


def store_sync(root: Any) -> None:
    """Flush the file system that holds root to stable storage."""
    path = _args.path(root)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if hasattr(os, "syncfs"):
            os.syncfs(fd)  # pragma: no cover - Python 3.12+ on Linux
        else:
            os.sync()
    finally:
        os.close(fd)


class StoreWriter:
    """An upload into the store, fed piece by piece (twin of the C writer)."""

    def __init__(self, config: _args.StoreConfig, expected: bytes | None = None, direct: bool = False):
        self._config = config
        self._expected = None if expected is None else _args.digest(expected, "expected")
        self.direct = False  # a performance detail of the C writer; same files either way
        self._tmp = os.path.join(config.root, ".tmp", f"{config.tmp_prefix}{next(_temp_counter)}-{time.time_ns()}")
        try:
            self._fd: int | None = os.open(
                self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), config.file_mode
            )
        except OSError as exc:
            raise _as_store_error(config, exc) from None
        self._hasher = _hashlib_new(config.algorithm)
        self._size = 0

    def feed(self, data: Any) -> None:
        """Hash and write one piece."""
        view = memoryview(_args.contiguous(data)).cast("B")
        if self._fd is None:
            raise ValueError("this store writer is closed")
        self._hasher.update(view)
        try:
            while view:
                view = view[os.write(self._fd, view):]
        except OSError as exc:
            raise _as_store_error(self._config, exc) from None
        self._size += len(memoryview(_args.contiguous(data)).cast("B"))

    def finish(self) -> tuple[bytes, int, int]:
        """Verify, sync and publish: (digest, size, outcome PUT_*)."""
        if self._fd is None:
            raise ValueError("this store writer is closed")
        try:
            digest = self._hasher.digest()
            if self._expected is not None and digest != self._expected:
                from ._errors import mismatch

                mismatch(self._expected, digest)
            try:
                if self._config.sync & _args.SYNC_DATA:
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None
                outcome = _publish(self._config, self._tmp, _relative(self._config, digest), self._size)
            except OSError as exc:
                raise _as_store_error(self._config, exc) from None
            self._tmp = ""
            return digest, self._size, outcome
        finally:
            self.close()

    def close(self) -> None:
        """Release the writer (removing its temp file if not published)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._tmp:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = ""

    def __del__(self) -> None:
        self.close()
