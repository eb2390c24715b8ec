"""The schema of ``seamless.db`` and its migrations.

The tables, columns and indexes are those the reference seamless-database
(2.1.0) creates, statement for statement, so that a file written by either
implementation opens in the other. We add one table of our own,
``_seamless_migrations``, which the reference ignores, to record which
migrations have run. Nothing we add constrains the reference's own writes
(for example, duplicate reverse rows are avoided by our code rather than by a
unique index, which would make the reference fail).

Migrations are ordered functions ``(connection) -> None``; each runs in the
transaction that records it. Version 1 is the reference's schema. A file
from before version 1 is one of: empty (new), a reference 2.x file (no
migrations table), or a legacy file whose ``meta_data`` table has only
(checksum, metadata).
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Callable

from ..exceptions import SeamlessError

#: The schema version this code writes.
SCHEMA_VERSION = 2

TABLES = {
    "transformation": 'CREATE TABLE "transformation" ("checksum" CHAR(64) NOT NULL PRIMARY KEY, "result" CHAR(64) NOT NULL)',
    "rev_transformation": 'CREATE TABLE "rev_transformation" ("id" INTEGER NOT NULL PRIMARY KEY, "result" CHAR(64) NOT NULL, "checksum" CHAR(64) NOT NULL)',
    "buffer_info": 'CREATE TABLE "buffer_info" ("checksum" CHAR(64) NOT NULL PRIMARY KEY, "buffer_info" TEXT NOT NULL)',
    "syntactic_to_semantic": 'CREATE TABLE "syntactic_to_semantic" ("syntactic" CHAR(64) NOT NULL, "celltype" TEXT NOT NULL, "subcelltype" TEXT NOT NULL, "semantic" CHAR(64) NOT NULL, PRIMARY KEY ("syntactic", "celltype", "subcelltype", "semantic"))',
    "expression": 'CREATE TABLE "expression" ("input_checksum" CHAR(64) NOT NULL, "path" VARCHAR(100) NOT NULL, "celltype" VARCHAR(20) NOT NULL, "target_celltype" VARCHAR(20) NOT NULL, "validator" CHAR(64), "validator_language" VARCHAR(20), "result" CHAR(64) NOT NULL, PRIMARY KEY ("input_checksum", "path", "celltype", "target_celltype"))',
    "meta_data": 'CREATE TABLE "meta_data" ("checksum" CHAR(64) NOT NULL PRIMARY KEY, "result" CHAR(64) NOT NULL, "metadata" TEXT NOT NULL)',
    "bucket_probe": 'CREATE TABLE "bucket_probe" ("bucket_kind" VARCHAR(20) NOT NULL, "label" TEXT NOT NULL, "bucket_checksum" CHAR(64) NOT NULL, "captured_at" TEXT NOT NULL, "freshness_tokens" TEXT NOT NULL, PRIMARY KEY ("bucket_kind", "label"))',
    "irreproducible_transformation": 'CREATE TABLE "irreproducible_transformation" ("id" INTEGER NOT NULL PRIMARY KEY, "result" CHAR(64) NOT NULL, "checksum" CHAR(64) NOT NULL, "metadata" TEXT NOT NULL)',
}

INDEXES = {
    "transformation_result": 'CREATE INDEX "transformation_result" ON "transformation" ("result")',
    "rev_transformation_result": 'CREATE INDEX "rev_transformation_result" ON "rev_transformation" ("result")',
    "syntactic_to_semantic_syntactic": 'CREATE INDEX "syntactic_to_semantic_syntactic" ON "syntactic_to_semantic" ("syntactic")',
    "syntactic_to_semantic_semantic": 'CREATE INDEX "syntactic_to_semantic_semantic" ON "syntactic_to_semantic" ("semantic")',
    "expression_result": 'CREATE INDEX "expression_result" ON "expression" ("result")',
    "meta_data_result": 'CREATE INDEX "meta_data_result" ON "meta_data" ("result")',
    "bucket_probe_bucket_checksum": 'CREATE INDEX "bucket_probe_bucket_checksum" ON "bucket_probe" ("bucket_checksum")',
    "irreproducible_transformation_result": 'CREATE INDEX "irreproducible_transformation_result" ON "irreproducible_transformation" ("result")',
    "irreproducible_transformation_checksum": 'CREATE INDEX "irreproducible_transformation_checksum" ON "irreproducible_transformation" ("checksum")',
}

MIGRATIONS_TABLE = (
    'CREATE TABLE IF NOT EXISTS "_seamless_migrations" ('
    '"version" INTEGER NOT NULL PRIMARY KEY, "applied_at" TEXT NOT NULL, "description" TEXT NOT NULL)'
)


class SchemaError(SeamlessError, RuntimeError):
    """A database file whose schema cannot be used or upgraded."""


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in con.execute(f'PRAGMA table_info("{table}")')]


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _indexes(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def _upgrade_legacy_metadata(con: sqlite3.Connection) -> None:
    """Turn a legacy meta_data(checksum, metadata) into the current table.

    The reference recreates an empty legacy table and refuses a non-empty
    one. Here the rows are kept: a row whose result is known (from the
    transformation table, or from a ``result_checksum`` in the record) moves
    to the new table; the others go to ``legacy_meta_data`` untouched.
    """
    rows = con.execute('SELECT "checksum", "metadata" FROM "meta_data"').fetchall()
    con.execute('ALTER TABLE "meta_data" RENAME TO "legacy_meta_data"')
    con.execute(TABLES["meta_data"])
    known = "transformation" in _tables(con)  # a file of the legacy table alone has no results yet
    for checksum, metadata in rows:
        found = con.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?',
                            (checksum,)).fetchone() if known else None
        result = found[0] if found else None
        if result is None:
            try:
                result = json.loads(metadata).get("result_checksum")
            except (ValueError, AttributeError):
                result = None
        if isinstance(result, str) and len(result) == 64:
            con.execute('INSERT INTO "meta_data" VALUES (?, ?, ?)', (checksum, result, metadata))
            con.execute('DELETE FROM "legacy_meta_data" WHERE "checksum" = ?', (checksum,))
    if not con.execute('SELECT 1 FROM "legacy_meta_data" LIMIT 1').fetchone():
        con.execute('DROP TABLE "legacy_meta_data"')


def _migration_1(con: sqlite3.Connection) -> None:
    """The reference's schema (creating what is missing)."""
    tables = _tables(con)
    if "meta_data" in tables:
        columns = set(_columns(con, "meta_data"))
        if columns == {"checksum", "metadata"}:
            _upgrade_legacy_metadata(con)
        elif columns != {"checksum", "result", "metadata"}:
            raise SchemaError(f"unsupported schema for table 'meta_data': columns {sorted(columns)}")
    tables = _tables(con)
    for name, ddl in TABLES.items():
        if name not in tables:
            con.execute(ddl)
    indexes = _indexes(con)
    for name, ddl in INDEXES.items():
        if name not in indexes:
            con.execute(ddl)


def _migration_2(con: sqlite3.Connection) -> None:
    """Remove the duplicate reverse rows that the reference piles up."""
    con.execute(
        'DELETE FROM "rev_transformation" WHERE "id" NOT IN '
        '(SELECT MIN("id") FROM "rev_transformation" GROUP BY "result", "checksum")'
    )


#: (version, description, function), in order.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "reference seamless-database 2.1.0 schema", _migration_1),
    (2, "deduplicate reverse transformation rows", _migration_2),
]


def current_version(con: sqlite3.Connection) -> int:
    """The highest migration recorded in the file (0 if none)."""
    if "_seamless_migrations" not in _tables(con):
        return 0
    row = con.execute('SELECT MAX("version") FROM "_seamless_migrations"').fetchone()
    return int(row[0] or 0)


def migrate(con: sqlite3.Connection, begin: Callable[[sqlite3.Connection], None] | None = None) -> list[int]:
    """Bring the file up to SCHEMA_VERSION; return the versions applied.

    Each migration runs in its own IMMEDIATE transaction, so concurrent
    openers serialize and a crash leaves the file at a recorded version.

    Raises:
        SchemaError: the file is newer than this code, or cannot be upgraded.
    """
    applied = []
    for version, description, function in MIGRATIONS:
        if begin is None:
            con.execute("BEGIN IMMEDIATE")
        else:
            begin(con)
        try:
            con.execute(MIGRATIONS_TABLE)
            found = current_version(con)
            if found > SCHEMA_VERSION:
                raise SchemaError(
                    f"the database has schema version {found}, newer than this "
                    f"seamless ({SCHEMA_VERSION}); upgrade seamless"
                )
            if found < version:
                function(con)
                con.execute(
                    'INSERT INTO "_seamless_migrations" VALUES (?, ?, ?)',
                    (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), description),
                )
                applied.append(version)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return applied


def check_readable(con: sqlite3.Connection) -> None:
    """For read-only opens: the tables we read must be there.

    Raises:
        SchemaError: a file that is not a seamless database (or is empty).
    """
    missing = set(TABLES) - _tables(con)
    if missing:
        raise SchemaError(f"not a seamless database (missing tables: {', '.join(sorted(missing))})")
    if current_version(con) > SCHEMA_VERSION:
        raise SchemaError("the database has a newer schema version than this seamless; upgrade seamless")
