"""The native backend: thin wrappers over the cffi extension.

Each wrapper checks its arguments (``_args``), makes one C call with the GIL
released (cffi's API mode releases it around every call), and turns a
non-zero status into an exception (``_errors``). Importing this module raises
ImportError when the extension is not built or is stale.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

from . import _args
from ._errors import STREAM_ERRNOS, raise_for, stream_error
from ._seamless_native import ffi, lib  # ImportError when not built

_EXPECTED_ABI = 3
if lib.seamless_abi_version() != _EXPECTED_ABI:  # pragma: no cover
    raise ImportError(
        f"the seamless native core has ABI {lib.seamless_abi_version()}, "
        f"this package expects {_EXPECTED_ABI}: rebuild it (pip install .)"
    )

KERNELS = {lib.SEAMLESS_KERNEL_PORTABLE: "portable", lib.SEAMLESS_KERNEL_SHANI: "sha-ni"}
_KERNEL_IDS = {name: kid for kid, name in KERNELS.items()}
DIGEST_SIZE = lib.SEAMLESS_DIGEST_SIZE
FINGERPRINT_SIZE = lib.SEAMLESS_FINGERPRINT_SIZE
FINGERPRINT_CHUNK = lib.SEAMLESS_FINGERPRINT_CHUNK


def _check(rc: int, path: Any = None, errno: int = 0) -> None:
    if rc:
        message = ffi.string(lib.seamless_strerror(rc)).decode()
        raise_for(rc, message, path, errno)


def _algorithm_id(algorithm: object) -> int:
    return _args.ALGORITHMS[_args.algorithm_name(algorithm)]


def _cbuffer(data: Any) -> Any:
    return ffi.from_buffer("uint8_t[]", _args.contiguous(data))


def cpu_count() -> int:
    """Number of online processors, as the native core sees it."""
    return int(lib.seamless_cpu_count())


def sha256_kernels() -> tuple[str, ...]:
    """Names of the SHA-256 kernels this CPU can run."""
    mask = lib.seamless_sha256_kernels_available()
    return tuple(name for kid, name in sorted(KERNELS.items()) if mask & (1 << kid))


def sha256_kernel() -> str:
    """Name of the SHA-256 kernel in use."""
    return KERNELS[lib.seamless_sha256_kernel()]


def set_sha256_kernel(name: str) -> None:
    """Force a SHA-256 kernel for this process (tests and benchmarks).

    Raises:
        UnsupportedAlgorithmError: unknown kernel, or one this CPU lacks.
    """
    kid = _KERNEL_IDS.get(name)
    if kid is None:
        raise_for(lib.SEAMLESS_ERR_ALGORITHM, f"unknown SHA-256 kernel {name!r}")
    rc = lib.seamless_set_sha256_kernel(kid)
    if rc:
        raise_for(rc, f"SHA-256 kernel {name!r} is not available on this CPU")


def hash(data: Any, algorithm: str = "sha-256") -> bytes:  # noqa: A001
    """Digest of a bytes-like object (no copy of contiguous buffers)."""
    alg = _algorithm_id(algorithm)
    buf = _cbuffer(data)
    out = ffi.new("uint8_t[32]")
    _check(lib.seamless_hash(alg, buf, len(buf), out))
    return ffi.buffer(out)[:]


class Hasher:
    """Streaming digest, like a hashlib object (update/digest/copy).

    A lock serializes calls on one hasher, because the C call runs without
    the GIL; distinct hashers run in parallel.
    """

    __slots__ = ("_state", "_lock", "name")
    digest_size = DIGEST_SIZE

    def __init__(self, algorithm: str = "sha-256", data: Any = None):
        self.name = _args.algorithm_name(algorithm)
        self._lock = threading.Lock()
        self._state = self._new_state(_args.ALGORITHMS[self.name])
        if data is not None:
            self.update(data)

    @staticmethod
    def _new_state(alg: int) -> Any:
        holder = ffi.new("seamless_hasher **")
        _check(lib.seamless_hasher_new(alg, holder))
        return ffi.gc(holder[0], lib.seamless_hasher_free)

    def update(self, data: Any) -> None:
        """Feed a bytes-like object."""
        buf = _cbuffer(data)
        with self._lock:
            _check(lib.seamless_hasher_update(self._state, buf, len(buf)))

    def digest(self) -> bytes:
        """Digest of everything fed so far; the hasher stays usable."""
        out = ffi.new("uint8_t[32]")
        with self._lock:
            _check(lib.seamless_hasher_digest(self._state, out))
        return ffi.buffer(out)[:]

    def hexdigest(self) -> str:
        """digest() as lowercase hex."""
        return self.digest().hex()

    def copy(self) -> "Hasher":
        """An independent hasher with the same state."""
        clone = Hasher.__new__(Hasher)
        clone.name = self.name
        clone._lock = threading.Lock()
        holder = ffi.new("seamless_hasher **")
        with self._lock:
            _check(lib.seamless_hasher_copy(self._state, holder))
        clone._state = ffi.gc(holder[0], lib.seamless_hasher_free)
        return clone


def _hash_bytes_tuple(items: tuple[Any, ...], alg: int, nthreads: int, out: Any,
                      hex_list: list[Any] | None) -> bool:
    """Hash a tuple of exact bytes objects in C; False if an item is not bytes.

    The C glue reads the objects in place, so no per-item Python work is done,
    and fills hex_list (if given) with the hex strings. ``items`` and
    ``hex_list`` stay referenced here for the whole call.
    """
    bad = ffi.new("size_t *")
    target = ffi.NULL if hex_list is None else ffi.cast("void *", id(hex_list))
    rc = lib.seamless_hash_bytes_tuple(alg, ffi.cast("void *", id(items)), out, nthreads, bad, target)
    if rc == lib.SEAMLESS_ERR_ARGUMENT:
        return False
    _check(rc)
    return True


def _hash_buffers(items: Sequence[Any], alg: int, nthreads: int, out: Any) -> None:
    """Hash any bytes-like objects through one pointer per buffer."""
    cbufs = [_cbuffer(b) for b in items]
    pointers = ffi.new("const uint8_t *[]", cbufs)
    lengths = ffi.new("size_t[]", [len(c) for c in cbufs])
    _check(lib.seamless_hash_batch(alg, pointers, lengths, len(cbufs), out, nthreads))


# Output arrays are written in full by C: skip zeroing them.
_new_uninitialized = ffi.new_allocator(should_clear_after_alloc=False)


def _hex_list(cdigests: Any, count: int) -> list[str]:
    # The strings are made in C (under the GIL) without an intermediate buffer.
    result: list[Any] = [None] * count
    _check(lib.seamless_hex_list(cdigests, count, ffi.cast("void *", id(result))))
    return result


def hash_batch(
    buffers: Sequence[Any], algorithm: str = "sha-256", threads: int = 0, *, hex: bool = False
) -> Any:
    """Digests of many buffers, in order: concatenated (32 bytes each), or a
    list of hex strings with hex=True.

    threads=0 picks a count from the amount of work; 1 stays on this thread.
    """
    alg = _algorithm_id(algorithm)
    nthreads = _args.threads(threads)
    items = buffers if type(buffers) is tuple else tuple(buffers)
    if not items:
        return [] if hex else b""
    out = _new_uninitialized("uint8_t[]", DIGEST_SIZE * len(items))
    strings: list[Any] | None = [None] * len(items) if hex else None
    if _hash_bytes_tuple(items, alg, nthreads, out, strings):
        return strings if hex else ffi.buffer(out)[:]
    _hash_buffers(items, alg, nthreads, out)
    return _hex_list(out, len(items)) if hex else ffi.buffer(out)[:]


def hex_digests(digests: Any) -> list[str]:
    """Split concatenated 32-byte digests into lowercase hex strings."""
    cdigests = _cbuffer(digests)
    count = len(cdigests) // DIGEST_SIZE
    if count * DIGEST_SIZE != len(cdigests):
        raise ValueError(f"digests length {len(cdigests)} is not a multiple of 32")
    return _hex_list(cdigests, count) if count else []


def _cpath(path: Any) -> tuple[Any, bytes]:
    original = _args.path(path)
    return original, os.fsencode(original)


def hash_file(path: Any, algorithm: str = "sha-256") -> tuple[bytes, int]:
    """(digest, size) of a file read by the native core."""
    alg = _algorithm_id(algorithm)
    original, cpath = _cpath(path)
    out = ffi.new("uint8_t[32]")
    size = ffi.new("uint64_t *")
    err = ffi.new("int *")
    _check(lib.seamless_hash_file(alg, cpath, out, size, err), original, err[0])
    return ffi.buffer(out)[:], int(size[0])


def hash_files(
    paths: Sequence[Any], algorithm: str = "sha-256", threads: int = 0
) -> list[tuple[bytes, int]]:
    """(digest, size) of many files, hashed in parallel, in order.

    Raises the error of the first file (in input order) that failed.
    """
    alg = _algorithm_id(algorithm)
    nthreads = _args.threads(threads)
    pairs = [_cpath(p) for p in paths]
    count = len(pairs)
    if count == 0:
        return []
    cstrings = [ffi.new("char[]", c) for _, c in pairs]
    cpaths = ffi.new("const char *[]", cstrings)
    digests = ffi.new("uint8_t[]", DIGEST_SIZE * count)
    sizes = ffi.new("uint64_t[]", count)
    statuses = ffi.new("int[]", count)
    errnos = ffi.new("int[]", count)
    _check(lib.seamless_hash_files(alg, cpaths, count, digests, sizes, statuses, errnos, nthreads))
    raw = ffi.buffer(digests)[:]
    for i, (original, _) in enumerate(pairs):
        _check(statuses[i], original, errnos[i])
    return [(raw[DIGEST_SIZE * i : DIGEST_SIZE * (i + 1)], int(sizes[i])) for i in range(count)]


def fingerprint(data: Any, threads: int = 0) -> bytes:
    """16-byte content fingerprint (chunked XXH3-128, see the C header)."""
    nthreads = _args.threads(threads)
    buf = _cbuffer(data)
    out = ffi.new("uint8_t[16]")
    _check(lib.seamless_fingerprint(buf, len(buf), out, nthreads))
    return ffi.buffer(out)[:]


def fingerprint_file(path: Any, threads: int = 0) -> tuple[bytes, int]:
    """(fingerprint, size) of a file read by the native core."""
    nthreads = _args.threads(threads)
    original, cpath = _cpath(path)
    out = ffi.new("uint8_t[16]")
    size = ffi.new("uint64_t *")
    err = ffi.new("int *")
    _check(lib.seamless_fingerprint_file(cpath, out, size, err, nthreads), original, err[0])
    return ffi.buffer(out)[:], int(size[0])


# ---- content-addressed store writes -----------------------------------------

_configs: dict[_args.StoreConfig, tuple[Any, list[Any]]] = {}


def _cconfig(config: _args.StoreConfig) -> Any:
    """The C struct of a StoreConfig (cached, with its strings kept alive)."""
    cached = _configs.get(config)
    if cached is None:
        root = ffi.new("char[]", os.fsencode(config.root))
        prefix = ffi.new("char[]", os.fsencode(config.tmp_prefix))
        struct = ffi.new("seamless_store_config *", {
            "root": root, "tmp_prefix": prefix, "root_fd": config.root_fd,
            "layout": _args.LAYOUTS[config.layout],
            "algorithm": _algorithm_id(config.algorithm), "sync": config.sync,
            "file_mode": config.file_mode, "dir_mode": config.dir_mode, "direct": int(config.direct),
        })
        if len(_configs) > 64:
            _configs.clear()
        cached = _configs[config] = (struct, [root, prefix])
    return cached[0]


def _put_result(rc: int, config: _args.StoreConfig, expected: bytes | None, digest: Any,
                size: Any, outcome: Any, err: Any, path: Any = None) -> tuple[bytes, int, int]:
    actual = ffi.buffer(digest)[:]
    if rc == lib.SEAMLESS_ERR_MISMATCH and expected is not None:
        from ._errors import mismatch

        mismatch(expected, actual)
    _check(rc, path if path is not None else config.root, err[0])
    return actual, int(size[0]), int(outcome[0])


def store_put(config: _args.StoreConfig, data: Any, expected: bytes | None = None) -> tuple[bytes, int, int]:
    """Write data into the store: (digest, size, outcome PUT_*).

    Raises:
        ChecksumMismatchError: data does not hash to expected.
        OSError: the file system refused (with the store folder as filename).
    """
    stable = type(data) is bytes  # the only buffers nobody can change meanwhile
    buf = _cbuffer(data)
    exp = ffi.NULL if expected is None else ffi.from_buffer(_args.digest(expected, "expected"))
    digest, size = ffi.new("uint8_t[32]"), ffi.new("uint64_t *")
    outcome, err = ffi.new("int *"), ffi.new("int *")
    rc = lib.seamless_store_put(_cconfig(config), buf, len(buf), int(stable), exp, digest, size, outcome, err)
    return _put_result(rc, config, expected, digest, size, outcome, err)


def store_put_file(config: _args.StoreConfig, path: Any, expected: bytes | None = None) -> tuple[bytes, int, int]:
    """Stream a file into the store: (digest, size, outcome PUT_*).

    Raises:
        FileNotFoundError, IsADirectoryError: for the source file.
        ChecksumMismatchError, OSError: as store_put.
    """
    original, cpath = _cpath(path)
    exp = ffi.NULL if expected is None else ffi.from_buffer(_args.digest(expected, "expected"))
    digest, size = ffi.new("uint8_t[32]"), ffi.new("uint64_t *")
    outcome, err = ffi.new("int *"), ffi.new("int *")
    rc = lib.seamless_store_put_file(_cconfig(config), cpath, exp, digest, size, outcome, err)
    if rc == lib.SEAMLESS_ERR_OS and not os.path.isfile(original):
        _check(rc, original, err[0])  # the source is at fault, not the store
    return _put_result(rc, config, expected, digest, size, outcome, err)


def store_put_stream(config: _args.StoreConfig, fd: int, length: int, prefix: bytes = b"",
                     expected: bytes | None = None, stall: float = 60.0,
                     min_rate: int = 0) -> tuple[bytes, int, int]:
    """Write a body arriving on a socket or pipe into the store: prefix (bytes
    already received), then exactly length - len(prefix) bytes read from fd,
    which may be non-blocking. (digest, size, outcome PUT_*).

    Raises:
        ConnectionResetError: fd ended early. TimeoutError: nothing arrived
            for stall seconds, or fewer than min_rate bytes/s over that long.
        ChecksumMismatchError, OSError: as store_put.
    """
    fd, length, stall_ms, min_rate = _args.stream_args(fd, length, prefix, stall, min_rate)
    exp = ffi.NULL if expected is None else ffi.from_buffer(_args.digest(expected, "expected"))
    digest, size = ffi.new("uint8_t[32]"), ffi.new("uint64_t *")
    outcome, err = ffi.new("int *"), ffi.new("int *")
    rc = lib.seamless_store_put_stream(_cconfig(config), ffi.from_buffer(prefix), len(prefix), fd, length,
                                       stall_ms, min_rate, exp, digest, size, outcome, err)
    if rc == lib.SEAMLESS_ERR_OS and err[0] in STREAM_ERRNOS:
        raise stream_error(err[0])
    return _put_result(rc, config, expected, digest, size, outcome, err)


def store_stat(config: _args.StoreConfig, digests: bytes) -> list[int]:
    """Sizes of the files of concatenated 32-byte digests; -1 where absent."""
    count = len(digests) // DIGEST_SIZE
    sizes = ffi.new("int64_t[]", max(count, 1))
    _check(lib.seamless_store_stat(_cconfig(config), ffi.from_buffer(digests), count, sizes))
    return list(ffi.unpack(sizes, count)) if count else []


def store_sync(root: Any) -> None:
    """Flush the file system that holds root to stable storage."""
    original, croot = _cpath(root)
    err = ffi.new("int *")
    _check(lib.seamless_store_sync(croot, err), original, err[0])


class StoreWriter:
    """An upload into the store, fed piece by piece (see the C header).

    ``close()`` (or garbage collection) of an unfinished writer removes its
    temporary file. Not for concurrent use.
    """

    def __init__(self, config: _args.StoreConfig, expected: bytes | None = None, direct: bool = False):
        self._config = config
        self._expected = None if expected is None else _args.digest(expected, "expected")
        holder, err = ffi.new("seamless_store_writer **"), ffi.new("int *")
        exp = ffi.NULL if self._expected is None else ffi.from_buffer(self._expected)
        _check(lib.seamless_store_writer_new(_cconfig(config), exp, holder, err), config.root, err[0])
        self._writer = ffi.gc(holder[0], lib.seamless_store_writer_free)
        #: Whether the bulk goes out with direct I/O (asked for, and allowed here).
        self.direct = direct and lib.seamless_store_writer_direct(self._writer, err) == lib.SEAMLESS_OK

    def feed(self, data: Any) -> None:
        """Hash and write one piece."""
        buf = _cbuffer(data)
        err = ffi.new("int *")
        _check(lib.seamless_store_writer_feed(self._live(), buf, len(buf), err), self._config.root, err[0])

    def finish(self) -> tuple[bytes, int, int]:
        """Verify, sync and publish: (digest, size, outcome PUT_*)."""
        digest, size = ffi.new("uint8_t[32]"), ffi.new("uint64_t *")
        outcome, err = ffi.new("int *"), ffi.new("int *")
        rc = lib.seamless_store_writer_finish(self._live(), digest, size, outcome, err)
        try:
            return _put_result(rc, self._config, self._expected, digest, size, outcome, err)
        finally:
            self.close()

    def _live(self) -> Any:
        if self._writer is None:
            raise ValueError("this store writer is closed")
        return self._writer

    def close(self) -> None:
        """Release the writer (removing its temp file if not published)."""
        if self._writer is not None:
            ffi.release(self._writer)  # runs seamless_store_writer_free now
            self._writer = None
