"""Opening a seamless.db of every earlier version: reference files, legacy
files, and each of our own schema versions."""

from __future__ import annotations

import json
import sqlite3

import pytest

from seamless import Checksum
from seamless.database import SCHEMA_VERSION, ResultDB, SchemaError
from seamless.database import schema

TF, TF2, R1 = "aa" * 32, "ab" * 32, "bb" * 32


def _reference_file(path, *, legacy_metadata=False):
    """A file as the reference seamless-database creates it (no migrations
    table; journal mode delete)."""
    con = sqlite3.connect(path)
    for name, ddl in schema.TABLES.items():
        if name == "meta_data" and legacy_metadata:
            ddl = 'CREATE TABLE "meta_data" ("checksum" CHAR(64) NOT NULL PRIMARY KEY, "metadata" TEXT NOT NULL)'
        con.execute(ddl)
    for ddl in schema.INDEXES.values():
        if not (legacy_metadata and "meta_data" in ddl):
            con.execute(ddl)
    return con


def _versions(path):
    con = sqlite3.connect(path)
    return [r[0] for r in con.execute('SELECT "version" FROM "_seamless_migrations" ORDER BY 1')]


def test_reference_file_with_duplicate_reverse_rows(tmp_path):
    """A reference file is adopted as is; its duplicate reverse rows go."""
    path = tmp_path / "seamless.db"
    con = _reference_file(path)
    con.execute('INSERT INTO "transformation" VALUES (?, ?)', (TF, R1))
    con.executemany('INSERT INTO "rev_transformation" ("result", "checksum") VALUES (?, ?)', [(R1, TF)] * 3)
    con.commit()
    con.close()
    with ResultDB(path) as db:
        assert db.get_transformation(TF) == Checksum(R1)
        assert db.counts()["rev_transformation"] == 1
    assert _versions(path) == list(range(1, SCHEMA_VERSION + 1))


def test_empty_legacy_metadata_table(tmp_path):
    """An empty legacy meta_data(checksum, metadata) is recreated."""
    path = tmp_path / "seamless.db"
    _reference_file(path, legacy_metadata=True).close()
    with ResultDB(path) as db:
        assert db.set_metadata(TF, R1, {"schema_version": 1, "tf_checksum": TF, "result_checksum": R1})
    names = [r[1] for r in sqlite3.connect(path).execute('PRAGMA table_info("meta_data")')]
    assert names == ["checksum", "result", "metadata"]


def test_nonempty_legacy_metadata_is_kept(tmp_path):
    """Legacy records move over when their result is known; the others are
    kept in legacy_meta_data (the reference refuses to start instead)."""
    path = tmp_path / "seamless.db"
    con = _reference_file(path, legacy_metadata=True)
    con.execute('INSERT INTO "transformation" VALUES (?, ?)', (TF, R1))
    con.execute('INSERT INTO "meta_data" VALUES (?, ?)', (TF, json.dumps({"a": 1})))
    con.execute('INSERT INTO "meta_data" VALUES (?, ?)', (TF2, json.dumps({"b": 2})))
    con.commit()
    con.close()
    with ResultDB(path) as db:
        assert db.get_metadata(TF) == {"a": 1}
        assert db.get_metadata(TF2) is None
    kept = sqlite3.connect(path).execute('SELECT "checksum" FROM "legacy_meta_data"').fetchall()
    assert kept == [(TF2,)]


def test_a_file_with_only_a_legacy_metadata_table(tmp_path):
    """No transformation table yet: records with a result_checksum move over."""
    path = tmp_path / "seamless.db"
    con = sqlite3.connect(path)
    con.execute('CREATE TABLE "meta_data" ("checksum" CHAR(64) NOT NULL PRIMARY KEY, "metadata" TEXT NOT NULL)')
    con.execute('INSERT INTO "meta_data" VALUES (?, ?)', (TF, json.dumps({"result_checksum": R1})))
    con.execute('INSERT INTO "meta_data" VALUES (?, ?)', (TF2, json.dumps({"b": 2})))
    con.commit()
    con.close()
    with ResultDB(path) as db:
        assert db.get_metadata(TF) == {"result_checksum": R1}
        assert db.get_metadata(TF2) is None
    assert _versions(path) == list(range(1, SCHEMA_VERSION + 1))


def test_from_our_version_1(tmp_path):
    """A file at our schema version 1 gets the later migrations."""
    path = tmp_path / "seamless.db"
    con = sqlite3.connect(path, isolation_level=None)
    con.execute(schema.MIGRATIONS_TABLE)
    schema._migration_1(con)
    con.execute('INSERT INTO "_seamless_migrations" VALUES (1, "then", "v1")')
    con.execute('INSERT INTO "rev_transformation" ("result", "checksum") VALUES (?, ?)', (R1, TF))
    con.execute('INSERT INTO "rev_transformation" ("result", "checksum") VALUES (?, ?)', (R1, TF))
    con.close()
    with ResultDB(path) as db:
        assert db.get_rev_transformations(R1) == [Checksum(TF)]
        assert db.counts()["rev_transformation"] == 1
    assert _versions(path) == list(range(1, SCHEMA_VERSION + 1))


def test_newer_file_is_refused(tmp_path):
    """A file written by a newer seamless is not touched."""
    path = tmp_path / "seamless.db"
    ResultDB(path).close()
    sqlite3.connect(path).execute('INSERT INTO "_seamless_migrations" VALUES (99, "later", "future")').connection.commit()
    with pytest.raises(SchemaError, match="newer"):
        ResultDB(path)
    with pytest.raises(SchemaError, match="newer"):
        ResultDB(path, readonly=True)


def test_unrelated_files_are_refused(tmp_path):
    """A SQLite file that is not a seamless.db is refused read-only, and an
    unsupported meta_data table is refused read-write."""
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta_data (x INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(SchemaError, match="missing tables"):
        ResultDB(path, readonly=True)
    with pytest.raises(SchemaError, match="meta_data"):
        ResultDB(path)


def test_schema_matches_the_reference_ddl(tmp_path):
    """Our file has exactly the reference's tables and indexes (plus ours)."""
    path = tmp_path / "seamless.db"
    ResultDB(path).close()
    con = sqlite3.connect(path)
    sql = {n: s for n, s in con.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL")}
    for name, ddl in {**schema.TABLES, **schema.INDEXES}.items():
        assert sql[name] == ddl
    assert set(sql) == set(schema.TABLES) | set(schema.INDEXES) | {"_seamless_migrations"}
