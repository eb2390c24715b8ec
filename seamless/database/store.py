"""ResultDB: the result database (``seamless.db``) through the stdlib sqlite3.

It maps transformation checksums to result checksums, with the reverse
lookup used for fingertipping, and keeps the reference's other record types
(execution records, irreproducible results, buffer info, syntactic/semantic
code checksums, expressions, bucket probes). No HTTP here: the database
server wraps this class, and local processes use it directly.

Where the reference is defective, ResultDB does the right thing:

* a different result for a known transformation is a ConflictError, not a
  silent overwrite (``overwrite=True`` replaces it and its reverse row);
* reverse rows are never duplicated, and a stale one is removed with the
  result it pointed to;
* a transformation marked irreproducible is not cached again by a plain
  ``set_transformation`` either (ConflictError);
* malformed input raises MalformedRecordError / InvalidChecksumError;
* the file is in WAL mode with ``synchronous=NORMAL`` (or ``FULL``), so a
  committed write survives a process crash (NORMAL) or a power loss (FULL),
  and read-only mode works.

Durability of NORMAL in WAL mode: every commit survives kill -9; after a
power loss the last commits before the loss may be missing, but the file is
never corrupt. FULL syncs at every commit.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Iterable, Sequence

from ..checksum_class import Checksum
from ..exceptions import ConflictError, DatabaseUnavailableError
from . import schema
from .caches import CacheRecords
from .connection import Connections, Synchronous
from .records import ExecutionRecords
from .sql import ADD_REVERSE, INSERT_IF_REPRODUCIBLE
from .validation import checksum_hex, checksum_hexes

#: Lookups are made in chunks of this many parameters (SQLite's limit is 999+).
CHUNK = 500


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _rows_in(con: sqlite3.Connection, query: str, keys: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    """The rows of query (whose ``IN ({marks})`` takes the keys) for the
    distinct keys, one statement per CHUNK of them."""
    for chunk in _chunks(list(dict.fromkeys(keys))):
        yield from con.execute(query.format(marks=",".join("?" * len(chunk))), chunk)


class ResultDB(ExecutionRecords, CacheRecords):
    """A seamless.db file, for many threads and processes at once.

    Args:
        path: the SQLite file (created, with its tables, when writable).
        readonly: open for reading only (the file must exist).
        synchronous: "NORMAL" (default) or "FULL" (see the module doc).
        timeout: seconds to wait for another writer's lock.

    Checksums are accepted as Checksum objects, hex strings or 32 bytes;
    lookups return Checksum objects (or None when nothing is stored).

    Raises:
        FileNotFoundError: readonly and the file does not exist.
        SchemaError: a file that cannot be used or upgraded.
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False,
                 synchronous: Synchronous = "NORMAL", timeout: float = 30.0):
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', not {synchronous!r}")
        self.path = os.path.abspath(os.fspath(path))
        self.readonly = readonly
        self.synchronous = synchronous
        if readonly and not os.path.exists(self.path):
            raise FileNotFoundError(2, "database file does not exist", self.path)
        self._db = Connections(self.path, readonly=readonly, synchronous=synchronous, timeout=timeout)
        try:
            con = self._db.get()
            if readonly:
                schema.check_readable(con)
            else:
                schema.migrate(con, self._db.begin_immediate)
        except sqlite3.OperationalError as exc:
            self._db.close()
            mode = "reading" if readonly else "writing"
            raise DatabaseUnavailableError(f"cannot open database {self.path!r} for {mode}: {exc}") from None

    def __repr__(self) -> str:
        return f"ResultDB({self.path!r}{', readonly' if self.readonly else ''})"

    def check_writable(self) -> None:
        """Raise ReadOnlyStoreError if opened read-only (every write does
        this first; callers may ask before they validate anything)."""
        self._db.check_writable()

    def group(self) -> Any:
        """A context in which this thread's writes share one transaction
        (group commit); each write stays all-or-nothing by itself."""
        return self._db.group()

    def note_writes(self, changes: int) -> None:
        """Rows that another connection of this process (the database
        server's native front) committed to the file: they count for the
        checkpoint thread as this object's own commits do."""
        self._db.committed(changes)

    def close(self) -> None:
        """Close every connection; the object cannot be used afterwards."""
        self._db.close()

    def __enter__(self) -> "ResultDB":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- transformations -------------------------------------------------

    def get_transformation(self, tf: Any) -> Checksum | None:
        """The result of a transformation, or None."""
        row = self._db.get().execute(
            'SELECT "result" FROM "transformation" WHERE "checksum" = ?', (checksum_hex(tf),)
        ).fetchone()
        return None if row is None else Checksum(row[0])

    def get_transformations(self, tfs: Sequence[Any]) -> list[Checksum | None]:
        """Results of many transformations (None where unknown), in order."""
        keys = checksum_hexes(list(tfs))
        found = self._results_of(keys)
        return [Checksum(found[k]) if k in found else None for k in keys]

    def _results_of(self, keys: Sequence[str], con: sqlite3.Connection | None = None) -> dict[str, str]:
        return dict(_rows_in(con or self._db.get(),
                             'SELECT "checksum", "result" FROM "transformation" WHERE "checksum" IN ({marks})', keys))

    @staticmethod
    def _any_irreproducible(con: sqlite3.Connection) -> bool:
        return con.execute('SELECT 1 FROM "irreproducible_transformation" LIMIT 1').fetchone() is not None

    def _irreproducible_among(self, con: sqlite3.Connection, keys: Sequence[str]) -> set[str]:
        if not self._any_irreproducible(con):
            return set()  # the usual case: nothing to look up
        return {r[0] for r in _rows_in(
            con, 'SELECT DISTINCT "checksum" FROM "irreproducible_transformation" WHERE "checksum" IN ({marks})', keys)}

    @staticmethod
    def _reverse_rows_among(con: sqlite3.Connection, results: Sequence[str]) -> set[tuple[str, str]]:
        """The (result, tf) reverse rows stored for these results: one indexed
        lookup per chunk instead of one NOT EXISTS probe per inserted row."""
        return set(_rows_in(
            con, 'SELECT "result", "checksum" FROM "rev_transformation" WHERE "result" IN ({marks})', results))

    def set_transformation(self, tf: Any, result: Any, *, overwrite: bool = False) -> bool:
        """Record tf -> result and its reverse lookup; True if it was new.

        Raises:
            ConflictError: tf has another result (unless overwrite=True), or
                is marked irreproducible.
        """
        key, res = checksum_hex(tf), checksum_hex(result, "result")
        with self._db.write() as con:
            # The common case in two statements: a new, reproducible result.
            inserted = con.execute(INSERT_IF_REPRODUCIBLE, (key, res, key)).rowcount == 1
            if inserted:
                con.execute(ADD_REVERSE, (res, key, res, key))
        if inserted:
            return True
        return self.set_transformations([(key, res)], overwrite=overwrite) == 1

    def set_transformations(self, pairs: Iterable[tuple[Any, Any]], *, overwrite: bool = False) -> int:
        """Record many tf -> result pairs in one transaction; return how many
        were new. All or nothing: a conflict anywhere writes nothing.

        Raises:
            ConflictError: listing every transformation in conflict.
        """
        pairs = list(pairs)
        keys = checksum_hexes([tf for tf, _ in pairs])
        items = list(zip(keys, checksum_hexes([r for _, r in pairs], "result")))
        if not items:
            return 0
        with self._db.write() as con:
            wanted = dict(items)
            if len(wanted) == len(items) and self._insert_if_all_new(con, wanted):
                self._add_reverse_rows(con, list(wanted.items()))
                return len(wanted)
            existing = self._results_of(keys, con)
            self._check_conflicts(items, existing, self._irreproducible_among(con, keys), overwrite)
            new = [(tf, r) for tf, r in wanted.items() if tf not in existing]
            changed = [(tf, r, existing[tf]) for tf, r in wanted.items() if existing.get(tf, r) != r]
            con.executemany('INSERT INTO "transformation" VALUES (?, ?)', new)
            con.executemany('UPDATE "transformation" SET "result" = ? WHERE "checksum" = ?',
                            [(r, tf) for tf, r, _ in changed])
            con.executemany('DELETE FROM "rev_transformation" WHERE "result" = ? AND "checksum" = ?',
                            [(old, tf) for tf, _, old in changed])
            self._add_reverse_rows(con, new + [(tf, r) for tf, r, _ in changed])
        return len(new)

    def _insert_if_all_new(self, con: sqlite3.Connection, wanted: dict[str, str]) -> bool:
        """The common batch, in one statement: every transformation new and
        none marked irreproducible. Inserts them all and returns True, or
        inserts nothing and returns False (the caller then looks closer)."""
        if self._any_irreproducible(con):
            return False
        con.execute("SAVEPOINT all_new")
        before = con.total_changes
        con.executemany('INSERT INTO "transformation" VALUES (?, ?) ON CONFLICT DO NOTHING', wanted.items())
        all_new = con.total_changes - before == len(wanted)
        if not all_new:
            con.execute("ROLLBACK TO all_new")
        con.execute("RELEASE all_new")
        return all_new

    def _add_reverse_rows(self, con: sqlite3.Connection, written: list[tuple[str, str]]) -> None:
        """Reverse rows for (tf, result) pairs, skipping those already stored
        (the reference appends duplicates; we never do)."""
        stored = self._reverse_rows_among(con, [r for _, r in written])
        con.executemany('INSERT INTO "rev_transformation" ("result", "checksum") VALUES (?, ?)',
                        [(r, tf) for tf, r in written if (r, tf) not in stored])

    @staticmethod
    def _check_conflicts(items: list[tuple[str, str]], existing: dict[str, str],
                         marked: set[str], overwrite: bool) -> None:
        problems = []
        seen: dict[str, str] = {}
        for tf, result in items:
            if tf in marked:
                problems.append(f"{tf} is marked irreproducible")
            elif not overwrite and existing.get(tf, result) != result:
                problems.append(f"{tf} already has result {existing[tf]}, not {result}")
            elif seen.setdefault(tf, result) != result:
                problems.append(f"{tf} is given two results in one batch")
        if problems:
            raise ConflictError("transformation conflict: " + "; ".join(problems[:20]))

    def get_rev_transformations(self, result: Any) -> list[Checksum]:
        """Transformations known to have produced result (for fingertipping)."""
        rows = self._db.get().execute(
            'SELECT DISTINCT "checksum" FROM "rev_transformation" WHERE "result" = ? ORDER BY "id"',
            (checksum_hex(result, "result"),),
        )
        return [Checksum(r[0]) for r in rows]

    def delete_transformation(self, tf: Any) -> bool:
        """Forget a transformation's result (and its reverse row); True if known."""
        key = checksum_hex(tf)
        with self._db.write() as con:
            row = con.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?', (key,)).fetchone()
            if row is None:
                return False
            con.execute('DELETE FROM "transformation" WHERE "checksum" = ?', (key,))
            con.execute('DELETE FROM "rev_transformation" WHERE "result" = ? AND "checksum" = ?', (row[0], key))
        return True

    # ---- maintenance -------------------------------------------------------

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` ("ok" when healthy)."""
        return "\n".join(r[0] for r in self._db.get().execute("PRAGMA integrity_check"))

    def counts(self) -> dict[str, int]:
        """Number of rows per table."""
        con = self._db.get()
        return {t: con.execute(f'SELECT COUNT(*) FROM "{t}"').fetchone()[0] for t in schema.TABLES}

    def referenced_checksums(self) -> set[str]:
        """Every buffer checksum the database refers to (transformations,
        results, expression inputs and results, record sub-buffers...);
        buffers outside this set are unreferenced (for garbage collection)."""
        queries = [
            'SELECT "checksum" FROM "transformation"', 'SELECT "result" FROM "transformation"',
            'SELECT "result" FROM "meta_data"', 'SELECT "result" FROM "irreproducible_transformation"',
            'SELECT "checksum" FROM "irreproducible_transformation"',
            'SELECT "input_checksum" FROM "expression"', 'SELECT "result" FROM "expression"',
            'SELECT "syntactic" FROM "syntactic_to_semantic"', 'SELECT "semantic" FROM "syntactic_to_semantic"',
            'SELECT "bucket_checksum" FROM "bucket_probe"',
        ]
        found: set[str] = set()
        with self._db.read() as con:
            for query in queries:
                found.update(r[0] for r in con.execute(query))
            for table in ("meta_data", "irreproducible_transformation"):
                for (text,) in con.execute(f'SELECT "metadata" FROM "{table}"'):
                    found.update(_record_checksums(text))
        return found


def _record_checksums(text: str) -> list[str]:
    """Checksums named by an execution record's checksum_fields."""
    import json

    try:
        record = json.loads(text)
    except ValueError:
        return []
    if not isinstance(record, dict):
        return []
    fields = record.get("checksum_fields") or []
    values = [record.get(f) for f in fields if isinstance(f, str)]
    return [v for v in values if isinstance(v, str) and len(v) == 64]
