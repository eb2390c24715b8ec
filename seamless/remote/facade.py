"""One way in to the stores, whether they are here or behind a server.

``open_buffers(url=..., directory=...)`` and ``open_results(url=...,
database=...)`` return objects with the same methods, the same answers and
the same exceptions, whichever way they reach the store:

* the in-process fast path, straight into a BufferStore or a ResultDB, when
  the store's folder or file is reachable from here (a local service, or a
  shared file system); nothing goes over the network;
* HTTP, through the pooled clients, otherwise.

The rest of the system talks only to these two interfaces.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..checksum_class import Checksum
from ..database.store import ResultDB
from ..exceptions import ConflictError, ReadOnlyStoreError
from ..hashserver import layout as _layout
from ..hashserver.store import BufferStore
from .errors import ReadOnlyServerError
from .partial import open_partial

if TYPE_CHECKING:  # pragma: no cover - the HTTP clients are imported when first used
    from .sync import BufferClient, DatabaseClient


def _checksum_list(checksums: Sequence[Any], what: str) -> list[Any]:
    """The checksums of a has()/lengths() call as a list; one checksum given
    alone (a str would otherwise be taken character by character) is a
    TypeError, the same in process and over HTTP."""
    if isinstance(checksums, (str, bytes, bytearray, Checksum)):
        raise TypeError(f"{what}() takes a sequence of checksums, not one {type(checksums).__name__}: "
                        "put it in a list")
    return list(checksums)


class Buffers:
    """The buffer operations every implementation offers."""

    #: "local" (in process) or "http".
    transport = ""

    def has(self, checksums: Sequence[Any]) -> list[bool]:
        raise NotImplementedError

    def lengths(self, checksums: Sequence[Any]) -> list[int | None]:
        raise NotImplementedError

    def get(self, checksum: Any) -> bytes:
        """The buffer, verified (CacheMissError if absent)."""
        raise NotImplementedError

    def get_to_file(self, checksum: Any, path: str | os.PathLike[str], progress: Any = None) -> None:
        raise NotImplementedError

    def put(self, data: Any, checksum: Any = None) -> Checksum:
        raise NotImplementedError

    def put_file(self, path: str | os.PathLike[str], progress: Any = None, *, source_kept: bool = False) -> Checksum:
        """Store a file's content. ``source_kept``: the caller keeps the file,
        so an embedded store need not keep the copy in the page cache
        (BufferStore.put_file cache=False; otherwise the store's own
        choice); a server decides that itself."""
        raise NotImplementedError

    def put_many(self, buffers: Iterable[Any]) -> list[Checksum]:
        raise NotImplementedError

    def promise(self, checksum: Any) -> None:
        """Announce an upload (readers of a server wait for it)."""

    def close(self) -> None:
        """Release connections or files."""

    def __enter__(self) -> "Buffers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBuffers(Buffers):
    """The fast path: a BufferStore in this process."""

    transport = "local"

    def __init__(self, store: BufferStore):
        self.store = store

    def __repr__(self) -> str:
        return f"LocalBuffers({self.store.directory!r})"

    def promise(self, checksum: Any) -> None:
        """Nothing to announce in process; checked as a server checks it."""
        _layout.as_checksum(checksum)
        if not self.store.writable:
            raise ReadOnlyStoreError(f"the buffer folder {self.store.directory} is open for reading only")

    def has(self, checksums: Sequence[Any]) -> list[bool]:
        keys = _checksum_list(checksums, "has")
        return self.store.has(keys) if keys else []

    def lengths(self, checksums: Sequence[Any]) -> list[int | None]:
        keys = _checksum_list(checksums, "lengths")
        return self.store.lengths(keys) if keys else []

    def get(self, checksum: Any) -> bytes:
        return self.store.get(checksum, verify=True)

    def get_to_file(self, checksum: Any, path: str | os.PathLike[str], progress: Any = None) -> None:
        from .. import _native

        target = os.fspath(path)
        total = self.store.lengths([checksum])[0] or 0
        with self.store.open(checksum) as source:
            fd, tmp = open_partial(target)
            try:
                with open(fd, "wb") as sink:
                    hasher = _native.Hasher(self.store.hash_algorithm)
                    done = 0
                    while piece := source.read(1 << 20):
                        hasher.update(piece)
                        sink.write(piece)
                        done += len(piece)
                        if progress is not None:
                            progress(done, total)
                if hasher.hexdigest() != Checksum(checksum).hex():
                    from ..exceptions import ChecksumMismatchError

                    raise ChecksumMismatchError(f"stored buffer {Checksum(checksum)} is corrupt")
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)

    def put(self, data: Any, checksum: Any = None) -> Checksum:
        return self.store.put(data, checksum)

    def put_file(self, path: str | os.PathLike[str], progress: Any = None, *, source_kept: bool = False) -> Checksum:
        return self.store.put_file(path, cache=False if source_kept else None, progress=progress)

    def put_many(self, buffers: Iterable[Any]) -> list[Checksum]:
        return self.store.put_many(buffers)

    def close(self) -> None:
        self.store.close()


class _ReadOnlyGuard:
    """Refuses writes before they leave the process when opened read-only
    (the server may well accept them)."""

    client: BufferClient | DatabaseClient
    writable: bool

    def _refuse_writes(self) -> None:
        if not self.writable:
            raise ReadOnlyServerError(f"{self.client.url} was opened read-only")


class RemoteBuffers(_ReadOnlyGuard, Buffers):
    """A hashserver over HTTP."""

    transport = "http"

    def __init__(self, client: BufferClient, writable: bool = True):
        self.client = client
        self.writable = writable

    def __repr__(self) -> str:
        return f"RemoteBuffers({self.client.url!r})"

    def has(self, checksums: Sequence[Any]) -> list[bool]:
        return self.client.has(_checksum_list(checksums, "has"), include_promised=False)

    def lengths(self, checksums: Sequence[Any]) -> list[int | None]:
        return self.client.lengths(_checksum_list(checksums, "lengths"))

    def get(self, checksum: Any) -> bytes:
        return self.client.get(checksum)

    def get_to_file(self, checksum: Any, path: str | os.PathLike[str], progress: Any = None) -> None:
        self.client.get_to_file(checksum, path, progress=progress)

    def put(self, data: Any, checksum: Any = None) -> Checksum:
        self._refuse_writes()
        return self.client.put(data, checksum)

    def put_file(self, path: str | os.PathLike[str], progress: Any = None, *, source_kept: bool = False) -> Checksum:
        self._refuse_writes()
        return self.client.put_file(path, progress=progress)

    def put_many(self, buffers: Iterable[Any]) -> list[Checksum]:
        self._refuse_writes()
        return self.client.put_many(buffers)

    def promise(self, checksum: Any) -> None:
        self._refuse_writes()
        self.client.promise(checksum)

    def close(self) -> None:
        self.client.close()


def is_buffer_folder(directory: str | os.PathLike[str]) -> bool:
    """A folder that a hashserver serves (it has the prefix marker, or is a
    flat folder of checksum-named files)."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return False
    if os.path.exists(os.path.join(directory, _layout.MARKER)):
        return True
    with os.scandir(directory) as entries:
        return any(_layout.is_checksum_name(e.name) for e in entries)


def open_buffers(url: str | None = None, directory: str | os.PathLike[str] | None = None, *,
                 writable: bool = True, durability: str = "fsync", **client_options: Any) -> Buffers:
    """Buffers of a hashserver: in process when directory is reachable from
    here, over HTTP at url otherwise.

    Raises:
        ValueError: neither is usable (no url, and no such folder).
    """
    if directory is not None and (is_buffer_folder(directory) or (writable and url is None)):
        layout = _layout.detect_layout(os.fspath(directory))
        return LocalBuffers(BufferStore(directory, layout, durability=durability,  # type: ignore[arg-type]
                                        writable=writable))
    if url is None:
        raise ValueError(f"no hashserver url, and {os.fspath(directory)!r} is not a buffer folder here"
                         if directory is not None else "open_buffers needs a url or a directory")
    from .sync import BufferClient

    return RemoteBuffers(BufferClient(url, **client_options), writable)


class Results:
    """The result-database operations every implementation offers."""

    transport = ""

    def get_transformation(self, tf: Any) -> Checksum | None:
        raise NotImplementedError

    def get_transformations(self, tfs: Sequence[Any]) -> list[Checksum | None]:
        raise NotImplementedError

    def set_transformation(self, tf: Any, result: Any) -> None:
        """Record tf -> result (ConflictError if tf has another result)."""
        raise NotImplementedError

    def set_transformations(self, pairs: Iterable[tuple[Any, Any]]) -> list[ConflictError | None]:
        """Record many pairs; per pair None or the ConflictError refusing it."""
        raise NotImplementedError

    def get_rev_transformations(self, result: Any) -> list[Checksum]:
        raise NotImplementedError

    def get_metadata(self, tf: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def set_metadata(self, tf: Any, result: Any, record: Any) -> None:
        raise NotImplementedError

    def set_irreproducible(self, tf: Any, result: Any) -> None:
        raise NotImplementedError

    def get_irreproducible(self, tf: Any, result: Any = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def get_buffer_info(self, checksum: Any) -> dict[str, Any] | None:
        raise NotImplementedError

    def set_buffer_info(self, checksum: Any, info: dict[str, Any]) -> None:
        raise NotImplementedError

    def get_bucket_probe(self, bucket_kind: str, label: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def set_bucket_probe(self, bucket_kind: str, label: str, bucket_checksum: Any,
                         freshness_tokens: Any, captured_at: str) -> None:
        raise NotImplementedError

    def get_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str) -> Checksum | None:
        """The recorded result of evaluating an expression, or None."""
        raise NotImplementedError

    def set_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str, result: Any) -> None:
        """Record the result of an expression (a new result replaces the old, as in the reference)."""
        raise NotImplementedError

    def get_rev_expression(self, result: Any) -> list[dict[str, Any]]:
        """The expressions with this result."""
        raise NotImplementedError

    def set_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str,
                                  syntactic: Iterable[Any]) -> None:
        """Record that code with these syntactic checksums has this semantic one."""
        raise NotImplementedError

    def get_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        """The syntactic checksums of a semantic one (empty if none)."""
        raise NotImplementedError

    def get_syntactic_to_semantic(self, syntactic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        """The semantic checksums of a syntactic one (empty if none)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections or files."""

    def __enter__(self) -> "Results":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalResults(Results):
    """The fast path: a ResultDB in this process."""

    transport = "local"

    def __init__(self, db: ResultDB):
        self.db = db

    def __repr__(self) -> str:
        return f"LocalResults({self.db.path!r})"

    def get_transformation(self, tf: Any) -> Checksum | None:
        return self.db.get_transformation(tf)

    def get_transformations(self, tfs: Sequence[Any]) -> list[Checksum | None]:
        return self.db.get_transformations(tfs)

    def set_transformation(self, tf: Any, result: Any) -> None:
        self.db.check_writable()
        self.db.set_transformation(tf, result)

    def set_transformations(self, pairs: Iterable[tuple[Any, Any]]) -> list[ConflictError | None]:
        self.db.check_writable()
        outcomes: list[ConflictError | None] = []
        with self.db.group():
            for tf, result in pairs:
                try:
                    self.db.set_transformation(tf, result)
                    outcomes.append(None)
                except ConflictError as exc:
                    outcomes.append(exc)
        return outcomes

    def get_rev_transformations(self, result: Any) -> list[Checksum]:
        return self.db.get_rev_transformations(result)

    def get_metadata(self, tf: Any) -> dict[str, Any] | None:
        return self.db.get_metadata(tf)

    def set_metadata(self, tf: Any, result: Any, record: Any) -> None:
        self.db.check_writable()
        self.db.set_metadata(tf, result, record)

    def set_irreproducible(self, tf: Any, result: Any) -> None:
        self.db.check_writable()
        self.db.set_irreproducible(tf, result)

    def get_irreproducible(self, tf: Any, result: Any = None) -> list[dict[str, Any]]:
        return self.db.get_irreproducible(tf, result)

    def get_buffer_info(self, checksum: Any) -> dict[str, Any] | None:
        return self.db.get_buffer_info(checksum)

    def set_buffer_info(self, checksum: Any, info: dict[str, Any]) -> None:
        self.db.check_writable()
        self.db.set_buffer_info(checksum, info)

    def get_bucket_probe(self, bucket_kind: str, label: str) -> dict[str, Any] | None:
        return self.db.get_bucket_probe(bucket_kind, label)

    def set_bucket_probe(self, bucket_kind: str, label: str, bucket_checksum: Any,
                         freshness_tokens: Any, captured_at: str) -> None:
        self.db.check_writable()
        self.db.set_bucket_probe(bucket_kind, label, bucket_checksum, freshness_tokens, captured_at)

    def get_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str) -> Checksum | None:
        return self.db.get_expression(checksum, path, celltype, target_celltype)

    def set_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str, result: Any) -> None:
        self.db.check_writable()
        self.db.set_expression(checksum, path, celltype, target_celltype, result)

    def get_rev_expression(self, result: Any) -> list[dict[str, Any]]:
        return self.db.get_rev_expression(result)

    def set_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str,
                                  syntactic: Iterable[Any]) -> None:
        self.db.check_writable()
        self.db.set_semantic_to_syntactic(semantic, celltype, subcelltype, syntactic)

    def get_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        return self.db.get_semantic_to_syntactic(semantic, celltype, subcelltype)

    def get_syntactic_to_semantic(self, syntactic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        return self.db.get_syntactic_to_semantic(syntactic, celltype, subcelltype)

    def close(self) -> None:
        self.db.close()


class RemoteResults(_ReadOnlyGuard, Results):
    """A database server over HTTP."""

    transport = "http"

    def __init__(self, client: DatabaseClient, writable: bool = True):
        self.client = client
        self.writable = writable

    def __repr__(self) -> str:
        return f"RemoteResults({self.client.url!r})"

    def get_transformation(self, tf: Any) -> Checksum | None:
        return self.client.get_transformation(tf)

    def get_transformations(self, tfs: Sequence[Any]) -> list[Checksum | None]:
        return self.client.get_transformations(tfs)

    def set_transformation(self, tf: Any, result: Any) -> None:
        self._refuse_writes()
        self.client.set_transformation(tf, result)

    def set_transformations(self, pairs: Iterable[tuple[Any, Any]]) -> list[ConflictError | None]:
        self._refuse_writes()
        return self.client.set_transformations(pairs)

    def get_rev_transformations(self, result: Any) -> list[Checksum]:
        return self.client.get_rev_transformations(result)

    def get_metadata(self, tf: Any) -> dict[str, Any] | None:
        return self.client.get_metadata(tf)

    def set_metadata(self, tf: Any, result: Any, record: Any) -> None:
        self._refuse_writes()
        self.client.set_metadata(tf, result, record)

    def set_irreproducible(self, tf: Any, result: Any) -> None:
        self._refuse_writes()
        self.client.set_irreproducible(tf, result)

    def get_irreproducible(self, tf: Any, result: Any = None) -> list[dict[str, Any]]:
        return self.client.get_irreproducible(tf, result)

    def get_buffer_info(self, checksum: Any) -> dict[str, Any] | None:
        return self.client.get_buffer_info(checksum)

    def set_buffer_info(self, checksum: Any, info: dict[str, Any]) -> None:
        self._refuse_writes()
        self.client.set_buffer_info(checksum, info)

    def get_bucket_probe(self, bucket_kind: str, label: str) -> dict[str, Any] | None:
        return self.client.get_bucket_probe(bucket_kind, label)

    def set_bucket_probe(self, bucket_kind: str, label: str, bucket_checksum: Any,
                         freshness_tokens: Any, captured_at: str) -> None:
        self._refuse_writes()
        self.client.set_bucket_probe(bucket_kind, label, bucket_checksum, freshness_tokens, captured_at)

    def get_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str) -> Checksum | None:
        return self.client.get_expression(checksum, path, celltype, target_celltype)

    def set_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str, result: Any) -> None:
        self._refuse_writes()
        self.client.set_expression(checksum, path, celltype, target_celltype, result)

    def get_rev_expression(self, result: Any) -> list[dict[str, Any]]:
        return self.client.get_rev_expression(result)

    def set_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str,
                                  syntactic: Iterable[Any]) -> None:
        self._refuse_writes()
        self.client.set_semantic_to_syntactic(semantic, celltype, subcelltype, syntactic)

    def get_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        return self.client.get_semantic_to_syntactic(semantic, celltype, subcelltype)

    def get_syntactic_to_semantic(self, syntactic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        return self.client.get_syntactic_to_semantic(syntactic, celltype, subcelltype)

    def close(self) -> None:
        self.client.close()


def open_results(url: str | None = None, database: str | os.PathLike[str] | None = None, *,
                 writable: bool = True, **client_options: Any) -> Results:
    """A result database: in process when the file is reachable from here
    (or is to be created, with no url), over HTTP at url otherwise.

    Raises:
        ValueError: neither is usable.
    """
    if database is not None and (os.path.isfile(database) or (writable and url is None)):
        return LocalResults(ResultDB(database, readonly=not writable))
    if url is None:
        raise ValueError(f"no database url, and {os.fspath(database)!r} is not a database file here"
                         if database is not None else "open_results needs a url or a database file")
    from .sync import DatabaseClient

    return RemoteResults(DatabaseClient(url, **client_options), writable)
