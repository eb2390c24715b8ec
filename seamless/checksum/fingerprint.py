"""A file-checksum cache that cannot return a stale checksum.

Re-hashing a large input file on every run is the single largest cost of a
cached command. This cache remembers, per file path and algorithm, the
file's size, mtime, inode, its *content fingerprint* (XXH3-128 over 16 MiB
chunks, computed in parallel by the native core at memory speed) and its
checksum. A lookup with the default ``verify="content"``:

1. stats the file; a different size is a miss;
2. fingerprints the whole content and compares it with the stored one; only
   an identical fingerprint is a hit.

So a hit always means "the bytes are the ones that were hashed", whatever
happened to the timestamps (files touched, restored with their old mtime,
rewritten within one timestamp tick). The check costs a few percent of
SHA-256 on a page-cached file. XXH3 is not a cryptographic hash: the
guarantee holds against accidents, not against someone who crafts
collisions and can already write your files.

``verify="stat"`` trusts an unchanged (size, mtime, ctime, inode, device)
and skips the fingerprint, except for entries recorded while the file was
still being modified (its mtime within two seconds of recording, the "racy"
case that git also guards against): those are always verified by content.

A miss hashes the file once and fingerprints the same bytes in the same pass,
so the stored pair is always consistent. Entries live in memory or in a
SQLite file (WAL mode) that several processes can share.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Literal

from .. import _native
from .algorithms import DEFAULT_ALGORITHM, algorithm_name, hash_file, new_hasher

Verify = Literal["content", "stat"]
#: An entry whose file changed this recently (seconds) before recording is
#: verified by content even with verify="stat".
RACY_WINDOW_NS = 2_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS file_checksums (
    path TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    device INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    fingerprint BLOB NOT NULL,
    checksum TEXT NOT NULL,
    PRIMARY KEY (path, algorithm)
)
"""


@dataclass(frozen=True)
class Entry:
    """What the cache knows about one file."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int
    recorded_ns: int
    fingerprint: bytes
    checksum: str

    def same_stat(self, st: os.stat_result) -> bool:
        return (self.size, self.mtime_ns, self.ctime_ns, self.inode, self.device) == (
            st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev,
        )

    @property
    def racy(self) -> bool:
        return self.recorded_ns - max(self.mtime_ns, self.ctime_ns) < RACY_WINDOW_NS


def default_cache_path() -> str:
    """``$SEAMLESS_FINGERPRINT_CACHE``, else ``$XDG_CACHE_HOME/seamless/file-checksums.sqlite``."""
    explicit = os.environ.get("SEAMLESS_FINGERPRINT_CACHE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "seamless", "file-checksums.sqlite")


class FileChecksumCache:
    """Checksums of files, reused while their content is unchanged.

    Args:
        path: a SQLite file to persist entries in (created with its folder),
            or None for a cache that lives in this process only.
        verify: "content" (default, never stale) or "stat" (see module doc).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, verify: Verify = "content"):
        if verify not in ("content", "stat"):
            raise ValueError(f"verify must be 'content' or 'stat', not {verify!r}")
        self.verify = verify
        self.path = None if path is None else os.fspath(path)
        self._lock = threading.Lock()
        self._memory: dict[tuple[str, str], Entry] = {}
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()
        #: counters, for tests and for reporting
        self.hits = 0
        self.misses = 0

    def close(self) -> None:
        """Close the database (the cache keeps working in memory)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "FileChecksumCache":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- storage -------------------------------------------------------

    def _load(self, key: tuple[str, str]) -> Entry | None:
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None or self._db is None:
                return entry
            row = self._db.execute(
                "SELECT size, mtime_ns, ctime_ns, inode, device, recorded_ns, fingerprint, checksum"
                " FROM file_checksums WHERE path = ? AND algorithm = ?",
                key,
            ).fetchone()
        return None if row is None else Entry(*row[:6], bytes(row[6]), row[7])

    def _store(self, key: tuple[str, str], entry: Entry) -> None:
        with self._lock:
            self._memory[key] = entry
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO file_checksums VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (*key, entry.size, entry.mtime_ns, entry.ctime_ns, entry.inode,
                     entry.device, entry.recorded_ns, entry.fingerprint, entry.checksum),
                )
                self._db.commit()

    # ---- lookups -------------------------------------------------------

    def checksum(self, filename: str | os.PathLike[str], algorithm: str = DEFAULT_ALGORITHM, *,
                 hasher: Any = None, progress: Callable[[int, int], None] | None = None) -> str:
        """The checksum (hex) of a file, from the cache when its content is
        unchanged, else by hashing it (and remembering the result).

        hasher(path) -> hex, if given, does the hashing of a miss instead
        (e.g. a store's put_file, which hashes while it copies); the file is
        then fingerprinted separately, and the result is remembered only if
        the file's size, mtime, ctime and inode did not change meanwhile.
        progress(done, total) is called as a miss is hashed (not with
        hasher, which reports its own).

        Raises:
            FileNotFoundError, IsADirectoryError, PermissionError: as open().
        """
        name = algorithm_name(algorithm)
        path = os.path.abspath(_native._args.path(filename))
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(21, os.strerror(21), path)
        if not stat.S_ISREG(st.st_mode):
            # Pipes and devices have no stable identity: always hash.
            return hash_file(path, name)[0].hex()
        key = (path, name)
        entry = self._load(key)
        if entry is not None and entry.size == st.st_size:
            if self.verify == "stat" and entry.same_stat(st) and not entry.racy:
                self.hits += 1
                return entry.checksum
            fingerprint, size = _native.fingerprint_file(path)
            if size == entry.size and fingerprint == entry.fingerprint:
                self.hits += 1
                if not entry.same_stat(st):
                    self._store(key, _entry(st, fingerprint, entry.checksum))
                return entry.checksum
        self.misses += 1
        if hasher is not None:
            checksum = hasher(path)
            fingerprint, size = _native.fingerprint_file(path)
            after = os.stat(path)
            unchanged = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino) == \
                (after.st_size, after.st_mtime_ns, after.st_ctime_ns, after.st_ino)
            if unchanged and size == after.st_size:
                self._store(key, _entry(after, fingerprint, checksum))
            return checksum
        checksum, fingerprint, size, after = hash_and_fingerprint(path, name, progress)
        if size == after.st_size:  # else it changed while read: do not keep
            self._store(key, _entry(after, fingerprint, checksum))
        return checksum


def _entry(st: os.stat_result, fingerprint: bytes, checksum: str) -> Entry:
    return Entry(
        size=st.st_size, mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns,
        inode=st.st_ino, device=st.st_dev, recorded_ns=time.time_ns(),
        fingerprint=fingerprint, checksum=checksum,
    )


def hash_and_fingerprint(path: str, algorithm: str,
                          progress: Callable[[int, int], None] | None = None) -> tuple[str, bytes, int, Any]:
    """(checksum, fingerprint, bytes read, stat after reading) from one read.

    Both digests come from the same bytes, so a file modified while it is
    read can never leave a checksum paired with another content's
    fingerprint.
    """
    import xxhash

    hasher = new_hasher(algorithm)
    chunk_digests = []
    total = 0
    chunk = bytearray(_native.FINGERPRINT_CHUNK)
    view = memoryview(chunk)
    with open(path, "rb", buffering=0) as f:
        expected = os.fstat(f.fileno()).st_size
        while True:
            filled = 0
            while filled < len(chunk):
                n = f.readinto(view[filled:])
                if not n:
                    break
                filled += n
            if filled == 0:
                break
            total += filled
            hasher.update(view[:filled])
            chunk_digests.append(xxhash.xxh3_128(view[:filled]).digest())
            if progress is not None:
                progress(total, max(expected, total))
            if filled < len(chunk):
                break
        after = os.fstat(f.fileno())
    fingerprint = xxhash.xxh3_128(b"".join(chunk_digests)).digest()
    return hasher.hexdigest(), fingerprint, total, after
