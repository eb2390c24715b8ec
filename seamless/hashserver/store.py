"""BufferStore: a folder of immutable buffers, each a file named by its checksum.

No HTTP here: the hashserver wraps this class, and local processes use it
directly. The folder is compatible with the reference hashserver in both
directions (same layouts, marker, compressed forms and sidecars).

Writes (``put``, ``put_file``, ``put_many``) go through the native core,
which hashes while it writes a temporary file in ``DIR/.tmp``, checks the
checksum, and renames the file into place, so a reader never sees a partial
or wrong file at a final path. Concurrent writers of the same checksum
(threads, processes, several stores on one folder) all succeed and leave one
correct file: the first rename wins and the others find the file present. A
failed write never removes a final file.

Durability (``durability=``) says what survives a crash:

* ``"fsync"`` (default): before a put returns, the file's data and its
  directory entry are on stable storage. After a power loss every
  acknowledged buffer is there and correct.
* ``"batch"``: puts return once the file is in place, unsynced; ``flush()``,
  ``put_many()`` and a background flusher (every ``flush_interval``
  seconds) make everything written so far durable with one file-system
  sync. A kill -9 loses nothing acknowledged; a power loss may lose the
  buffers written since the last flush (``verify()`` quarantines any that a
  file system left truncated).
* ``"none"``: never syncs; the operating system writes back when it likes.
  Survives kill -9, not power loss.

In every mode a crash leaves no partial file at a final path while the
machine stays up; leftover temporary files are cleaned up when a store next
opens the folder.

Large buffers (DIRECT_IO_MIN and more) are written around the page cache
(direct I/O, where the file system allows it) when ``direct_io`` is on,
which is the default in "fsync" mode: there the bytes must reach the device
before the put returns anyway, and direct I/O sends them there while they
are hashed instead of after, without first filling a gigabyte of fresh page
cache. The price is that a read soon after comes from the device. See
docs/STORAGE.md and docs/PERFORMANCE.md for the measured trade-off.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Literal, Sequence, Union

from .. import _native
from ..checksum_class import Checksum
from ..exceptions import CacheMissError, ChecksumMismatchError, ReadOnlyStoreError
from . import layout as _layout
from .layout import Layout, as_checksum, relative_path
from .tempfiles import TMP_DIR, clean_leftovers, temp_prefix

Durability = Literal["fsync", "batch", "none"]
DURABILITIES = ("fsync", "batch", "none")
ChecksumLike = Union[Checksum, str, bytes]
QUARANTINE_DIR = ".quarantine"
#: Uploads of at least this many bytes bypass the page cache (direct I/O).
DIRECT_IO_MIN = 64 << 20
#: put_many in "fsync" mode syncs up to this many folders one by one, and
#: the file system once for more.
SYNC_FOLDERS_MAX = 8
#: The pieces in which put_file reads a file when it writes with direct I/O
#: or reports progress.
PUT_CHUNK = 4 << 20


@dataclass(frozen=True)
class PutResult:
    """What a put did: the checksum, the size, and whether it wrote a file
    (``created``) or found it already there."""

    checksum: Checksum
    size: int
    created: bool


@dataclass
class VerifyReport:
    """Outcome of ``BufferStore.verify``."""

    checked: int = 0
    bytes: int = 0
    corrupt: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    #: (path, reason) of corrupt files that could not be moved away.
    not_quarantined: list[tuple[str, str]] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    temp_files_removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.corrupt and not self.unreadable


@dataclass
class StoreStats:
    """Counts and sizes of a store (``BufferStore.stats``): stored files
    (a buffer kept both plain and compressed counts twice), their bytes on
    disk, how many are compressed forms, and (files, bytes) per shard."""

    count: int = 0
    bytes: int = 0
    compressed: int = 0
    shards: dict[str, tuple[int, int]] = field(default_factory=dict)


class BufferStore:
    """A content-addressed buffer folder.

    Args:
        directory: the folder (created when writable and missing).
        layout: "prefix" (``ab/abcd...``, the default) or "flat".
        hash_algorithm: "sha-256" (default), or "sha3-256" for folders of
            hashservers that used the old default.
        durability: "fsync", "batch" or "none" (see the module doc).
        extra_dirs: read-only folders searched after this one, each in the
            layout its marker declares.
        writable: False opens the folder read-only (nothing is created).
        flush_interval: seconds between background flushes in "batch" mode.
        direct_io: write large buffers (``put`` of DIRECT_IO_MIN bytes or
            more, ``put_file`` of such a file unless ``cache`` says
            otherwise, ``writer()`` with such a size hint) with direct I/O:
            they bypass the page cache, which keeps a machine's cache for
            other work and writes at device speed, in parallel with the
            hash; but a buffer read back soon after comes from the disk.
            None (the default) means on in "fsync" mode, off otherwise.

    Checksums are accepted as Checksum objects or hex strings and validated
    before any file is touched.

    Raises:
        FileNotFoundError, NotADirectoryError: a missing or wrong folder.
        LayoutError: a prefix-marked folder opened as flat.
    """

    def __init__(self, directory: str | os.PathLike[str], layout: Layout = "prefix",
                 hash_algorithm: str = "sha-256", durability: Durability = "fsync", *,
                 extra_dirs: Sequence[str | os.PathLike[str]] = (), writable: bool = True,
                 flush_interval: float = 1.0, direct_io: bool | None = None):
        if durability not in DURABILITIES:
            raise ValueError(f"durability must be one of {', '.join(DURABILITIES)}, not {durability!r}")
        if hash_algorithm not in ("sha-256", "sha3-256"):
            raise ValueError(f"hash_algorithm must be 'sha-256' or 'sha3-256', not {hash_algorithm!r}")
        self.directory = os.path.abspath(os.fspath(directory))
        self.layout: Layout = layout
        self.hash_algorithm = hash_algorithm
        self.durability: Durability = durability
        self.writable = writable
        self.direct_io = durability == "fsync" if direct_io is None else direct_io
        self._open_folder()
        self.extra = [
            BufferStore(d, _layout.detect_layout(os.fspath(d)), hash_algorithm, writable=False)
            for d in extra_dirs
        ]
        sync = {"fsync": _native._args.SYNC_DATA | _native._args.SYNC_DIR}.get(durability, 0)
        # One descriptor of the folder for all writes and stats (closed by close()).
        self._root_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self._config = _native.StoreConfig(self.directory, temp_prefix(), layout, self._root_fd,
                                           hash_algorithm, sync)
        self._batch = _BatchFlusher(self.directory, flush_interval) if durability == "batch" else None

    def _open_folder(self) -> None:
        if not os.path.exists(self.directory):
            if not self.writable:
                raise FileNotFoundError(2, "buffer folder does not exist", self.directory)
            os.makedirs(self.directory, exist_ok=True)
        if not os.path.isdir(self.directory):
            raise NotADirectoryError(20, "buffer folder is not a directory", self.directory)
        _layout.check_layout(self.directory, self.layout)
        if self.writable:
            if self.layout == "prefix":
                _layout.write_marker(self.directory)
            os.makedirs(os.path.join(self.directory, TMP_DIR), exist_ok=True)
            clean_leftovers(self.directory)

    def __repr__(self) -> str:
        mode = "rw" if self.writable else "ro"
        return f"BufferStore({self.directory!r}, layout={self.layout!r}, {self.durability}, {mode})"

    # ---- writing -------------------------------------------------------

    def _writable(self) -> None:
        if not self.writable:
            raise ReadOnlyStoreError(f"buffer store {self.directory!r} is read-only")

    def _finish(self, digest: bytes, size: int, outcome: int) -> PutResult:
        if self._batch is not None and outcome != _native._args.PUT_EXISTED:
            self._batch.written()
        return PutResult(Checksum(digest), size, outcome != _native._args.PUT_EXISTED)

    @staticmethod
    def _expected(checksum: ChecksumLike | None) -> bytes | None:
        return None if checksum is None else as_checksum(checksum).bytes()

    def write(self, data: Any, checksum: ChecksumLike | None = None) -> PutResult:
        """Store a bytes-like object (bytes, memoryview, numpy array...).

        With checksum, the data must hash to it (ChecksumMismatchError
        otherwise, and nothing is stored).
        """
        self._writable()
        from ..buffer_class import Buffer

        if isinstance(data, Buffer):  # its known checksum is verified on the way
            checksum = checksum if checksum is not None else data._checksum
            data = data.content
        expected = self._expected(checksum)
        config = self._config
        if self.direct_io and _native._args.nbytes(data) >= DIRECT_IO_MIN:
            config = dataclasses.replace(config, direct=True)
        return self._finish(*_native.store_put(config, data, expected))

    def put(self, data: Any, checksum: ChecksumLike | None = None) -> Checksum:
        """Store a bytes-like object without copying it; return its checksum."""
        return self.write(data, checksum).checksum

    def put_file(self, path: str | os.PathLike[str], checksum: ChecksumLike | None = None, *,
                 cache: bool | None = None, progress: Callable[[int, int], None] | None = None) -> Checksum:
        """Store the content of a file of any size, streamed in bounded memory
        (hashed and copied in one pass), as durably as the store says.

        ``cache=False`` is for a copy of a file that its owner keeps (an
        input of seamless-run): a large file (DIRECT_IO_MIN or more) is
        then written around the page cache (direct I/O, where the file
        system allows it), so that the copy neither doubles the cache's use
        for the same bytes nor waits for fresh cache pages; its data is on
        the device when the write returns, so the fsync that follows costs
        next to nothing. See PERFORMANCE.md for what that saves, and what a
        later read of the copy costs. ``cache=True`` writes through the
        page cache; None (the default) follows the store's ``direct_io``.

        ``progress(done, total)`` is called as the bytes go in (for a file
        of several chunks; a smaller one is stored in one native call) and
        once at the end.
        """
        self._writable()
        expected = self._expected(checksum)
        size = os.path.getsize(path)
        direct = (self.direct_io if cache is None else not cache) and size >= DIRECT_IO_MIN
        if progress is not None and size > PUT_CHUNK:
            result = self._put_file_in_chunks(path, expected, direct, size, progress)
        else:  # one native call: read and write on a helper thread while this one hashes
            config = dataclasses.replace(self._config, direct=True) if direct else self._config
            result = self._finish(*_native.store_put_file(config, path, expected)).checksum
        if progress is not None:
            progress(size, size)
        return result

    def _put_file_in_chunks(self, path: str | os.PathLike[str], expected: bytes | None, direct: bool, size: int,
                            progress: Callable[[int, int], None] | None) -> Checksum:
        upload = Upload(self, _native.StoreWriter(self._config, expected, direct=direct))
        chunk = bytearray(PUT_CHUNK)
        view = memoryview(chunk)
        done = 0
        try:
            with open(path, "rb", buffering=0) as f:
                while count := f.readinto(chunk):
                    upload.feed(view[:count])
                    done += count
                    if progress is not None:
                        progress(done, size)
            return upload.finish().checksum
        finally:
            upload.close()

    def write_stream(self, fd: int, length: int, checksum: ChecksumLike | None = None, *,
                     prefix: bytes = b"", stall: float = 60.0, min_rate: int = 0) -> PutResult:
        """Store a buffer that arrives on a socket or pipe (a large upload):
        ``prefix`` (what was already received) and then exactly
        ``length - len(prefix)`` bytes read from fd, which may be
        non-blocking. The native core reads into its own blocks on a helper
        thread (which also writes them) while this thread hashes: no copy
        through Python. Direct I/O as for ``writer()``.

        Raises:
            ConnectionResetError: fd ended before length bytes.
            TimeoutError: nothing arrived for ``stall`` seconds, or fewer
                than ``min_rate`` bytes/s over that long.
            ChecksumMismatchError: the bytes do not hash to checksum.
        In every case nothing is stored and no temporary file is left.
        """
        self._writable()
        config = self._config
        if self.direct_io and length >= DIRECT_IO_MIN:
            config = dataclasses.replace(config, direct=True)
        return self._finish(*_native.store_put_stream(config, fd, length, prefix, self._expected(checksum),
                                                      stall, min_rate))

    def writer(self, checksum: ChecksumLike | None = None, size_hint: int = 0) -> "Upload":
        """A writer for a buffer that arrives in pieces (an upload):
        ``feed(piece)``... then ``finish()`` -> PutResult, or ``close()`` to
        abandon it without leaving a file. With checksum, the bytes must hash
        to it (ChecksumMismatchError at finish otherwise). With
        ``direct_io=True``, an upload announced as large (size_hint >=
        DIRECT_IO_MIN) is written with direct I/O where the file system
        allows it."""
        self._writable()
        direct = self.direct_io and size_hint >= DIRECT_IO_MIN
        return Upload(self, _native.StoreWriter(self._config, self._expected(checksum), direct=direct))

    def compressed_writer(self, checksum: ChecksumLike, content_encoding: str) -> Any:
        """A writer for a buffer that arrives compressed (gzip or zstd): the
        compressed bytes are kept as ``<cs>.gz``/``<cs>.zst`` with a length
        sidecar, the reference's layout; checksum is that of the
        decompressed bytes. See seamless.hashserver.compressed."""
        from .compressed import CompressedUpload, suffix_for

        self._writable()
        suffix = suffix_for(content_encoding)
        if suffix is None:
            raise ValueError(f"not a compressed encoding: {content_encoding!r}")
        return CompressedUpload(self, as_checksum(checksum), suffix)

    def put_many(self, buffers: Iterable[Any]) -> list[Checksum]:
        """Store many buffers with one sync for the group. In "fsync" mode
        each file's data is synced before it is published, and then the
        folders that got new entries are synced once each (a few of them,
        as for a transformation's result: not the whole file system, which
        would also wait for every unrelated unsynced write, such as a large
        file that the user just wrote) or, when there are many, the file
        system once (each folder's fsync flushes the device); in "batch"
        mode, one flush()."""
        self._writable()
        config = self._config
        if self.durability == "fsync":
            config = dataclasses.replace(config, sync=_native._args.SYNC_DATA)
        results = [Checksum(_native.store_put(config, b)[0]) for b in buffers]
        if self.durability == "fsync":
            folders = {os.path.dirname(self._path(cs)) for cs in results}
            if len(folders) <= SYNC_FOLDERS_MAX:
                self._sync_folders(folders)
            else:  # one file-system sync costs less than a device flush per folder
                self.flush()
        elif self.durability == "batch":
            self.flush()
        return results

    def _sync_folders(self, folders: set[str]) -> None:
        """fsync these folders of the store and the store's own folder (a
        shard folder may be new)."""
        for folder in sorted(folders | {str(self.directory)}):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def flush(self) -> None:
        """Make every buffer written so far durable (one file-system sync)."""
        _native.store_sync(self.directory)
        if self._batch is not None:
            self._batch.flushed()

    def close(self) -> None:
        """Flush (in "batch" mode), stop the background flusher, release the
        folder's descriptor. The store cannot be used afterwards."""
        if self._batch is not None:
            self._batch.stop()
            self.flush()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1
            self._config = dataclasses.replace(self._config, root_fd=-1)

    def __del__(self) -> None:
        fd = getattr(self, "_root_fd", -1)
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> "BufferStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def delete(self, checksum: ChecksumLike) -> bool:
        """Remove a buffer (all its stored forms); False if it was absent."""
        self._writable()
        base = os.path.join(self.directory, relative_path(as_checksum(checksum), self.layout))
        removed = False
        for suffix in ("",) + _layout.COMPRESSED_SUFFIXES:
            try:
                os.unlink(base + suffix)
                removed = True
            except FileNotFoundError:
                pass
        try:
            os.unlink(base + _layout.LENGTH_SUFFIX)
        except FileNotFoundError:
            pass
        return removed

    def link_in(self, path: str | os.PathLike[str], checksum: ChecksumLike, *, symbolic: bool = False) -> bool:
        """Make an existing file the buffer of checksum by a hard link (or a
        symbolic one) instead of a copy: no bytes are written, and the file
        must never change afterwards (seamless-upload --hardlink/--symlink).
        The caller hashed it. False if the buffer was there already."""
        self._writable()
        final = self._path(as_checksum(checksum))
        if os.path.lexists(final):
            return False
        os.makedirs(os.path.dirname(final), exist_ok=True)
        try:
            if symbolic:
                os.symlink(os.path.abspath(path), final)
            else:
                os.link(path, final)
        except FileExistsError:
            return False
        return True

    # ---- reading -------------------------------------------------------

    def _path(self, checksum: Checksum) -> str:
        return os.path.join(self.directory, relative_path(checksum, self.layout))

    def get_path(self, checksum: ChecksumLike) -> str | None:
        """The path of the buffer's uncompressed file, here or in an extra
        folder; None if there is none."""
        cs = as_checksum(checksum)
        path = self._path(cs)
        if os.path.isfile(path):
            return path
        for extra in self.extra:
            found = extra.get_path(cs)
            if found is not None:
                return found
        return None

    def _compressed(self, checksum: Checksum) -> tuple[str, str] | None:
        base = self._path(checksum)
        for suffix in _layout.COMPRESSED_SUFFIXES:
            if os.path.isfile(base + suffix):
                return base + suffix, suffix
        return None

    def open(self, checksum: ChecksumLike) -> IO[bytes]:
        """A binary file object with the buffer's bytes (decompressed if the
        folder holds only a compressed form).

        Raises:
            CacheMissError: the buffer is not stored (a LookupError).
        """
        return self._open(as_checksum(checksum))[0]

    def _open(self, cs: Checksum) -> tuple[IO[bytes], bool]:
        """(file object, whether it is a plain file written by a store)."""
        try:
            return open(self._path(cs), "rb"), True
        except (FileNotFoundError, IsADirectoryError):
            pass
        for extra in self.extra:
            try:
                return extra._open(cs)
            except CacheMissError:
                continue
        compressed = self._compressed(cs)
        if compressed is not None:
            from ..checksum.compression import open_decompressed

            return open_decompressed(*compressed), False  # type: ignore[return-value]
        raise CacheMissError(cs)

    def get(self, checksum: ChecksumLike, *, verify: bool = False) -> bytes:
        """The buffer's bytes.

        Files written by a store are verified when they are written (and by
        ``verify()`` at rest); verify=True re-hashes them on this read too.
        Compressed forms are always verified after decompression.

        Raises:
            CacheMissError: not stored. ChecksumMismatchError: the content
                does not match (with verify=True, or for compressed forms).
        """
        cs = as_checksum(checksum)
        stream, plain = self._open(cs)
        with stream:
            data = stream.read()
        if verify or not plain:
            actual = _native.hash(data, self.hash_algorithm)
            if actual != cs.bytes():
                raise ChecksumMismatchError(
                    f"stored buffer {cs} has checksum {actual.hex()}; run verify() on {self.directory!r}"
                )
        return data

    def __contains__(self, checksum: object) -> bool:
        return self.has([checksum])[0]  # type: ignore[list-item]

    def _batch_sizes(self, checksums: Sequence[ChecksumLike]) -> tuple[list[ChecksumLike], list[int]]:
        """The checksums (validated) and their sizes from one native stat
        batch: >= 0 for a plain file, STAT_COMPRESSED, or -1."""
        keys = list(checksums)
        if all(type(c) is str and len(c) == 64 for c in keys):
            try:  # the usual case: hex strings, checked all at once
                digests = bytes.fromhex("".join(keys))
            except ValueError:
                digests = b""
            if len(digests) == 32 * len(keys):
                return keys, _native.store_stat(self._config, digests)
        cs = [as_checksum(c) for c in keys]
        return cs, _native.store_stat(self._config, b"".join(c.bytes() for c in cs))  # type: ignore[return-value]

    def has(self, checksums: Union[ChecksumLike, Sequence[ChecksumLike]]) -> Any:
        """Which buffers are stored (here, compressed, or in an extra folder).

        A list of checksums gives a list of booleans (one stat each, in C);
        a single checksum gives one boolean.
        """
        if isinstance(checksums, (Checksum, str, bytes)):
            return self.has([checksums])[0]
        keys, sizes = self._batch_sizes(checksums)
        found = [size >= 0 or size == _native._args.STAT_COMPRESSED for size in sizes]
        missing = [i for i, present in enumerate(found) if not present] if self.extra else []
        for extra in self.extra:
            if not missing:
                break
            still_missing = []
            for i, present in zip(missing, extra.has([keys[i] for i in missing])):
                if present:
                    found[i] = True
                else:
                    still_missing.append(i)
            missing = still_missing
        return found

    def lengths(self, checksums: Union[ChecksumLike, Sequence[ChecksumLike]]) -> Any:
        """Sizes of the buffers (decompressed), None where not stored.

        Unlike the reference's ``/buffer-length``, an empty buffer (0) and a
        missing one (None) are told apart.
        """
        if isinstance(checksums, (Checksum, str, bytes)):
            return self.lengths([checksums])[0]
        keys, sizes = self._batch_sizes(checksums)
        absent = -1 if not self.extra else None  # -1: nowhere else to look
        return [size if size >= 0 else None if size == absent else self._length_elsewhere(as_checksum(c))
                for c, size in zip(keys, sizes)]

    def _length_elsewhere(self, checksum: Checksum) -> int | None:
        compressed = self._compressed(checksum)
        if compressed is not None:
            try:
                with open(self._path(checksum) + _layout.LENGTH_SUFFIX, "rb") as f:
                    return int(f.read().strip())
            except (FileNotFoundError, ValueError):
                with self.open(checksum) as stream:
                    return sum(len(b) for b in iter(lambda: stream.read(1 << 20), b""))
        for extra in self.extra:
            size = extra.lengths([checksum])[0]
            if size is not None:
                return size
        return None

    # ---- enumeration, integrity and statistics -----------------------------

    def _files(self) -> Iterator[tuple[str, str]]:
        """(name, path) of every buffer-like file of this folder."""
        folders = [self.directory]
        if self.layout == "prefix":
            folders = [
                e.path for e in os.scandir(self.directory)
                if len(e.name) == 2 and e.is_dir(follow_symlinks=False)
            ]
        for folder in folders:
            for entry in os.scandir(folder):
                if entry.is_file(follow_symlinks=False):
                    yield entry.name, entry.path

    def _buffer_files(self) -> Iterator[tuple[str, str, str]]:
        """(checksum hex, suffix: "" or a compressed one, path) of every stored
        form of a buffer; not length sidecars, nor others' files (an upload's
        .tmp, a download's .part, a .LOCK)."""
        for name, path in self._files():
            base, suffix = name[:64], name[64:]
            if _layout.is_checksum_name(base) and (suffix == "" or suffix in _layout.COMPRESSED_SUFFIXES):
                yield base, suffix, path

    def __iter__(self) -> Iterator[Checksum]:
        """Every stored checksum of this folder (not of the extra folders)."""
        seen: set[str] = set()
        for base, _, _ in self._buffer_files():
            if base not in seen:
                seen.add(base)
                yield Checksum(base)

    def modified(self) -> dict[str, float]:
        """checksum hex -> when its newest stored form was last written
        (seconds since the epoch), for every buffer of this folder."""
        times: dict[str, float] = {}
        for base, _, path in self._buffer_files():
            try:
                when = os.lstat(path).st_mtime
            except FileNotFoundError:
                continue
            times[base] = max(when, times.get(base, when))
        return times

    def stats(self) -> StoreStats:
        """Number of buffers, bytes on disk, and the same per shard folder."""
        result = StoreStats()
        for base, suffix, path in self._buffer_files():
            compressed = suffix != ""
            size = os.lstat(path).st_size
            shard = base[:2] if self.layout == "prefix" else ""
            count, total = result.shards.get(shard, (0, 0))
            result.shards[shard] = (count + 1, total + size)
            result.count += 1
            result.bytes += size
            result.compressed += compressed
        return result

    def verify(self, *, quarantine: bool = True, progress: Any = None, batch: int = 256) -> VerifyReport:
        """Re-hash every buffer, plain or compressed (decompressed first);
        report (and by default move to ``DIR/.quarantine``) every file whose
        content does not match its name. A compressed file that does not
        decompress is corrupt too. A corrupt file that cannot be moved (a
        folder this user may not change) is reported, and the rest is still
        checked.

        progress, if given, is called as progress(checked, total_bytes) after
        each group of files. Plain files are hashed in parallel in the native
        core.
        """
        report = VerifyReport()
        if self.writable:
            report.temp_files_removed = clean_leftovers(self.directory, shards=True)
        files, compressed = [], []
        for base, suffix, path in self._buffer_files():
            if suffix:
                compressed.append((base, suffix, path))
            else:
                files.append((base, path))
        for start in range(0, len(files), batch):
            group = files[start : start + batch]
            for (name, path), (digest, size) in zip(group, self._hash_group(group, report)):
                if digest is not None:
                    self._judge(report, name, path, digest.hex(), size, quarantine)
            if progress is not None:
                progress(report.checked, report.bytes)
        for name, suffix, path in compressed:
            judged = self._hash_compressed(path, suffix, report)
            if judged is not None:
                self._judge(report, name, path, *judged, quarantine)
                if progress is not None:
                    progress(report.checked, report.bytes)
        return report

    def _judge(self, report: VerifyReport, name: str, path: str, digest: str | None, size: int,
               quarantine: bool) -> None:
        """Count one hashed file; a corrupt one is reported and moved away."""
        report.checked += 1
        report.bytes += size
        if digest == name:
            return
        report.corrupt.append(path)
        if quarantine and self.writable:
            try:
                report.quarantined.append(self._quarantine(path))
            except OSError as exc:
                report.not_quarantined.append((path, exc.strerror or str(exc)))

    def _hash_compressed(self, path: str, suffix: str, report: VerifyReport) -> tuple[str | None, int] | None:
        """(hex digest or None if it does not decompress, decompressed size),
        or None when the file cannot be read."""
        from ..checksum.compression import damaged_data_errors, open_decompressed

        hasher = _native.Hasher(self.hash_algorithm)
        size = 0
        try:
            with open_decompressed(path, suffix) as stream:
                for piece in iter(lambda: stream.read(1 << 20), b""):
                    hasher.update(piece)
                    size += len(piece)
        except ImportError:  # a .zst file, and no zstandard to read it
            report.unreadable.append(path)
            return None
        except damaged_data_errors():
            return None, size
        except OSError:
            report.unreadable.append(path)
            return None
        return hasher.hexdigest(), size

    def _hash_group(self, group: list[tuple[str, str]], report: VerifyReport) -> list[Any]:
        try:
            return _native.hash_files([p for _, p in group], self.hash_algorithm)
        except OSError:
            results = []
            for _, path in group:  # find the unreadable one(s)
                try:
                    results.append(_native.hash_file(path, self.hash_algorithm))
                except OSError:
                    report.unreadable.append(path)
                    results.append((None, 0))
            return results

    def _quarantine(self, path: str) -> str:
        folder = os.path.join(self.directory, QUARANTINE_DIR)
        os.makedirs(folder, exist_ok=True)
        target = os.path.join(folder, f"{os.path.basename(path)}.{time.time_ns()}")
        os.replace(path, target)
        base = next((path[: -len(s)] for s in _layout.COMPRESSED_SUFFIXES if path.endswith(s)), None)
        if base is not None and not any(os.path.exists(base + s) for s in ("",) + _layout.COMPRESSED_SUFFIXES):
            try:  # the length of a buffer no longer here
                os.unlink(base + _layout.LENGTH_SUFFIX)
            except OSError:  # harmless if left: a length is read only beside a compressed form
                pass
        return target

    # ---- import / export -------------------------------------------------

    def import_folder(self, source: str | os.PathLike[str], progress: Any = None) -> int:
        """Copy every buffer of another buffer folder (any layout) into this
        one, verifying each; return how many were new."""
        self._writable()
        other = BufferStore(source, _layout.detect_layout(os.fspath(source)),
                            self.hash_algorithm, writable=False)
        new = 0
        for i, cs in enumerate(other):
            path = other.get_path(cs)
            if path is not None:
                new += self._finish(*_native.store_put_file(self._config, path, cs.bytes())).created
            else:
                new += self.write(other.get(cs), cs).created
            if progress is not None:
                progress(i + 1)
        return new

    def export_folder(self, target: str | os.PathLike[str], layout: Layout = "prefix",
                      progress: Any = None) -> int:
        """Copy every buffer of this store into another buffer folder (created
        if missing) in the given layout; return how many were new there."""
        destination = BufferStore(target, layout, self.hash_algorithm, durability=self.durability)
        return destination.import_folder(self.directory, progress=progress)


class Upload:
    """A buffer arriving in pieces (see BufferStore.writer)."""

    def __init__(self, store: BufferStore, native: Any):
        self._store = store
        self._native = native

    def feed(self, piece: Any) -> None:
        """Hash and write one piece."""
        self._native.feed(piece)

    def finish(self) -> PutResult:
        """Verify, sync as the store's durability says, and publish."""
        return self._store._finish(*self._native.finish())

    def close(self) -> None:
        """Abandon the upload if it is not finished (no file is left)."""
        self._native.close()


class _BatchFlusher:
    """Background flusher of "batch" durability: one sync per interval, only
    when something was written since the last one."""

    def __init__(self, directory: str, interval: float):
        self._directory = directory
        self._interval = interval
        self._dirty = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="seamless-store-flush", daemon=True)
        self._thread.start()

    def written(self) -> None:
        self._dirty.set()

    def flushed(self) -> None:
        self._dirty.clear()

    def stop(self) -> None:
        self._stopped.set()
        self._dirty.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._dirty.wait()
            if self._stopped.wait(self._interval):
                return
            self._dirty.clear()
            try:
                _native.store_sync(self._directory)
            except OSError:
                self._dirty.set()  # try again at the next interval
