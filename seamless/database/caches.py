"""Buffer info, syntactic/semantic code checksums and expressions of ResultDB.

Storage formats are the reference's: buffer info as pretty JSON (sorted
keys, indent 2), merged over what was there; expression paths as Python's
``json.dumps`` of the path.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Iterable

from ..checksum_class import Checksum
from . import validation
from .validation import checksum_hex

if TYPE_CHECKING:  # pragma: no cover
    from .connection import Connections


class CacheRecords:
    """Mixin of ResultDB: buffer_info, semantic <-> syntactic, expression."""

    _db: "Connections"

    # ---- buffer info --------------------------------------------------------

    def get_buffer_info(self, checksum: Any) -> dict[str, Any] | None:
        """What is known about a buffer (length, JSON-ness, ...), or None."""
        row = self._db.get().execute(
            'SELECT "buffer_info" FROM "buffer_info" WHERE "checksum" = ?', (checksum_hex(checksum),)
        ).fetchone()
        return None if row is None else json.loads(row[0])

    def set_buffer_info(self, checksum: Any, info: dict[str, Any]) -> dict[str, Any]:
        """Merge info over the stored buffer info; return the result."""
        key = checksum_hex(checksum)
        value = validation.buffer_info(info)
        with self._db.write() as con:
            row = con.execute('SELECT "buffer_info" FROM "buffer_info" WHERE "checksum" = ?', (key,)).fetchone()
            merged = {**json.loads(row[0]), **value} if row else value
            con.execute(
                'INSERT OR REPLACE INTO "buffer_info" VALUES (?, ?)',
                # json.dumps: a row the reference stored may hold Infinity,
                # and it must not stop what is added to it now
                (key, json.dumps(merged, sort_keys=True, indent=2)),
            )
        return merged

    # ---- syntactic <-> semantic code checksums ----------------------------

    def set_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str,
                                  syntactic: Iterable[Any]) -> None:
        """Record that code with these syntactic checksums has this semantic one."""
        key = checksum_hex(semantic, "semantic")
        cell = validation.subcelltype(celltype, "celltype")
        sub = validation.subcelltype(subcelltype, "subcelltype")
        rows = [(checksum_hex(s, "syntactic"), cell, sub, key) for s in syntactic]
        with self._db.write() as con:
            con.executemany('INSERT OR IGNORE INTO "syntactic_to_semantic" VALUES (?, ?, ?, ?)', rows)

    def get_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        """Syntactic checksums of a semantic one (empty if none)."""
        rows = self._db.get().execute(
            'SELECT "syntactic" FROM "syntactic_to_semantic" WHERE "semantic" = ? AND "celltype" = ? '
            'AND "subcelltype" = ?',
            (checksum_hex(semantic, "semantic"), validation.subcelltype(celltype, "celltype"),
             validation.subcelltype(subcelltype, "subcelltype")),
        )
        return [Checksum(r[0]) for r in rows]

    def get_syntactic_to_semantic(self, syntactic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        """Semantic checksums of a syntactic one (empty if none)."""
        rows = self._db.get().execute(
            'SELECT "semantic" FROM "syntactic_to_semantic" WHERE "syntactic" = ? AND "celltype" = ? '
            'AND "subcelltype" = ?',
            (checksum_hex(syntactic, "syntactic"), validation.subcelltype(celltype, "celltype"),
             validation.subcelltype(subcelltype, "subcelltype")),
        )
        return [Checksum(r[0]) for r in rows]

    # ---- expressions --------------------------------------------------------

    def set_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str,
                       result: Any) -> None:
        """Record the result of evaluating (checksum, path, celltype -> target)."""
        key = checksum_hex(checksum)
        text = validation.expression_key(path, celltype, target_celltype)
        res = checksum_hex(result, "result")
        with self._db.write() as con:
            con.execute(
                'INSERT OR REPLACE INTO "expression" ("input_checksum", "path", "celltype", '
                '"target_celltype", "result") VALUES (?, ?, ?, ?, ?)',
                (key, text, celltype, target_celltype, res),
            )

    def get_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str) -> Checksum | None:
        """The recorded result of an expression, or None."""
        text = validation.expression_key(path, celltype, target_celltype)
        row = self._db.get().execute(
            'SELECT "result" FROM "expression" WHERE "input_checksum" = ? AND "path" = ? '
            'AND "celltype" = ? AND "target_celltype" = ?',
            (checksum_hex(checksum), text, celltype, target_celltype),
        ).fetchone()
        return None if row is None else Checksum(row[0])

    def get_rev_expression(self, result: Any) -> list[dict[str, Any]]:
        """Expressions with this result: {"checksum", "path", "celltype",
        "target_celltype", "result"} each."""
        rows = self._db.get().execute(
            'SELECT "input_checksum", "path", "celltype", "target_celltype", "result" FROM "expression" '
            'WHERE "result" = ?',
            (checksum_hex(result, "result"),),
        )
        return [{"checksum": c, "path": json.loads(p), "celltype": ct, "target_celltype": t, "result": r}
                for c, p, ct, t, r in rows]
