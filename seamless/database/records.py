"""Execution records, irreproducible results and bucket probes of ResultDB.

Semantics follow the reference (protocol.md §3.4 and §3.7): one write-once
execution record per transformation; moving a transformation to the
irreproducible table removes its normal rows and keeps its record; bucket
probes are upserted per (kind, label). JSON columns hold compact JSON,
produced by SQLite's own ``json()`` as in the reference.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..exceptions import ConflictError, RecordNotFoundError
from . import validation
from .sql import ADD_REVERSE
from .validation import checksum_hex

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connections


def _same_json(a: str, b: str) -> bool:
    return json.loads(a) == json.loads(b)


class ExecutionRecords:
    """Mixin of ResultDB: metadata, irreproducible, bucket_probe."""

    _db: "Connections"

    # ---- execution records (the reference's "metadata") -------------------

    def get_metadata(self, tf: Any) -> dict[str, Any] | None:
        """The execution record of a transformation, or None."""
        row = self._db.get().execute(
            'SELECT "metadata" FROM "meta_data" WHERE "checksum" = ?', (checksum_hex(tf),)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def set_metadata(self, tf: Any, result: Any, record: Any) -> bool:
        """Store the execution record of tf -> result; also records the
        transformation. True if stored, False if the same record was there.

        Raises:
            MalformedRecordError: the record's identity fields do not match,
                or it holds NaN or Infinity.
            ConflictError: tf is irreproducible, has another result, or has
                a different record.
        """
        key, res = checksum_hex(tf), checksum_hex(result, "result")
        body = validation.json_text(validation.execution_record(key, res, record), "execution record")
        with self._db.write() as con:
            if con.execute('SELECT 1 FROM "irreproducible_transformation" WHERE "checksum" = ? LIMIT 1', (key,)).fetchone():
                raise ConflictError("Transformation already has irreproducible records")
            row = con.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?', (key,)).fetchone()
            if row is not None and row[0] != res:
                raise ConflictError("Transformation result does not match execution record result")
            stored = con.execute('SELECT "result", "metadata" FROM "meta_data" WHERE "checksum" = ?', (key,)).fetchone()
            if stored is not None and stored[0] != res:
                raise ConflictError("Execution record result does not match stored metadata result")
            if stored is not None and not _same_json(stored[1], body):
                raise ConflictError("Execution record already exists with different metadata")
            if row is None:
                con.execute('INSERT INTO "transformation" VALUES (?, ?)', (key, res))
            con.execute(ADD_REVERSE, (res, key, res, key))
            if stored is None:
                con.execute('INSERT INTO "meta_data" VALUES (?, ?, json(?))', (key, res, body))
        return stored is None

    # ---- irreproducible results -------------------------------------------

    def set_irreproducible(self, tf: Any, result: Any) -> None:
        """Move tf -> result out of the normal cache: its transformation,
        reverse and metadata rows go, and an irreproducible row (with the
        record) is added once; repeating the call is a no-op.

        Raises:
            RecordNotFoundError: tf is cached with a different result.
            ConflictError: tf's execution record has a different result.
        """
        key, res = checksum_hex(tf), checksum_hex(result, "result")
        with self._db.write() as con:
            row = con.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?', (key,)).fetchone()
            if row is not None and row[0] != res:
                raise RecordNotFoundError("Transformation does not have the irreproducible result")
            meta = con.execute('SELECT "result", "metadata" FROM "meta_data" WHERE "checksum" = ?', (key,)).fetchone()
            if meta is not None and meta[0] != res:
                raise ConflictError("Stored metadata result does not match irreproducible result")
            known = con.execute(
                'SELECT 1 FROM "irreproducible_transformation" WHERE "checksum" = ? AND "result" = ? LIMIT 1',
                (key, res),
            ).fetchone()
            if known is None:
                con.execute(
                    'INSERT INTO "irreproducible_transformation" ("result", "checksum", "metadata") VALUES (?, ?, json(?))',
                    (res, key, meta[1] if meta is not None else '""'),
                )
            con.execute('DELETE FROM "transformation" WHERE "checksum" = ?', (key,))
            con.execute('DELETE FROM "rev_transformation" WHERE "result" = ? AND "checksum" = ?', (res, key))
            con.execute('DELETE FROM "meta_data" WHERE "checksum" = ?', (key,))

    def get_irreproducible(self, tf: Any, result: Any = None) -> list[dict[str, Any]]:
        """The irreproducible entries of tf (optionally of one result), each
        {"checksum", "result", "metadata"} with the record or ""."""
        key = checksum_hex(tf)
        query = 'SELECT "checksum", "result", "metadata" FROM "irreproducible_transformation" WHERE "checksum" = ?'
        params: tuple[Any, ...] = (key,)
        if result is not None:
            query += ' AND "result" = ?'
            params += (checksum_hex(result, "result"),)
        rows = self._db.get().execute(query + ' ORDER BY "id"', params)
        return [{"checksum": c, "result": r, "metadata": json.loads(m)} for c, r, m in rows]

    # ---- bucket probes ------------------------------------------------------

    def set_bucket_probe(self, bucket_kind: str, label: str, bucket_checksum: Any,
                         freshness_tokens: Any, captured_at: str) -> None:
        """Store (or replace) the probe of one environment bucket."""
        validation.bucket_probe(bucket_kind, label, captured_at)
        tokens = validation.json_object(freshness_tokens, "freshness_tokens")
        checksum = checksum_hex(bucket_checksum, "bucket_checksum")
        with self._db.write() as con:
            con.execute(
                'INSERT OR REPLACE INTO "bucket_probe" VALUES (?, ?, ?, ?, json(?))',
                (bucket_kind, label, checksum, captured_at, validation.json_text(tokens, "freshness_tokens")),
            )

    def get_bucket_probe(self, bucket_kind: str, label: str) -> dict[str, Any] | None:
        """The stored probe {"bucket_kind", "label", "bucket_checksum",
        "captured_at", "freshness_tokens"}, or None."""
        validation.bucket_probe_key(bucket_kind, label)
        row = self._db.get().execute(
            'SELECT "bucket_checksum", "captured_at", "freshness_tokens" FROM "bucket_probe" '
            'WHERE "bucket_kind" = ? AND "label" = ?',
            (bucket_kind, label),
        ).fetchone()
        if row is None:
            return None
        return {"bucket_kind": bucket_kind, "label": label, "bucket_checksum": row[0],
                "captured_at": row[1], "freshness_tokens": json.loads(row[2])}


