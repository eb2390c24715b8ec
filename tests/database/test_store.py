"""ResultDB: every record type, the reference's semantics and our fixes."""

from __future__ import annotations

import json
import os
import sqlite3
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamless import Checksum
from seamless.database import ResultDB
from seamless.exceptions import (
    ConflictError,
    InvalidChecksumError,
    MalformedRecordError,
    ReadOnlyStoreError,
    RecordNotFoundError,
)

TF, R1, R2 = "aa" * 32, "bb" * 32, "cc" * 32


@pytest.fixture
def db(tmp_path):
    with ResultDB(tmp_path / "seamless.db") as d:
        yield d


def record(tf=TF, result=R1, **extra):
    return {"schema_version": 1, "tf_checksum": tf, "result_checksum": result, **extra}


class TestTransformations:
    def test_round_trip_and_reverse(self, db):
        """set/get and the reverse lookup; repeating is a no-op."""
        assert db.set_transformation(TF, R1) is True
        assert db.set_transformation(Checksum(TF), R1.upper()) is False
        assert db.get_transformation(TF) == Checksum(R1)
        assert db.get_transformation(R2) is None
        assert db.get_rev_transformations(R1) == [Checksum(TF)]
        assert db.counts()["rev_transformation"] == 1

    def test_conflict_instead_of_overwrite(self, db):
        """A different result is a ConflictError; overwrite=True replaces it
        and moves the reverse row."""
        db.set_transformation(TF, R1)
        with pytest.raises(ConflictError, match="already has result"):
            db.set_transformation(TF, R2)
        assert db.get_transformation(TF) == Checksum(R1)
        db.set_transformation(TF, R2, overwrite=True)
        assert db.get_rev_transformations(R1) == [] and db.get_rev_transformations(R2) == [Checksum(TF)]

    def test_batches(self, db):
        """Batch sets are all-or-nothing; batch gets keep order and Nones."""
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(1200)]
        assert db.set_transformations(pairs) == 1200
        assert db.set_transformations(pairs[:10]) == 0
        keys = [tf for tf, _ in pairs] + [R2]
        assert db.get_transformations(keys) == [Checksum(r) for _, r in pairs] + [None]
        with pytest.raises(ConflictError):
            db.set_transformations([(R2, R1), (pairs[0][0], R1)])
        assert db.get_transformation(R2) is None  # nothing of the failed batch
        with pytest.raises(ConflictError, match="two results"):
            db.set_transformations([(R2, R1), (R2, TF)])

    def test_batch_partly_known_writes_only_the_new_ones(self, db):
        """A batch that is not all new (the one-statement path gives way)
        counts and writes only the new records, each reverse row once."""
        known = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(300)]
        fresh = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(300)]
        assert db.set_transformations(known) == 300
        assert db.set_transformations(known[::2] + fresh) == 300
        assert db.counts()["transformation"] == 600
        assert db.counts()["rev_transformation"] == 600
        assert db.get_transformations([tf for tf, _ in fresh]) == [Checksum(r) for _, r in fresh]

    def test_batch_with_a_repeated_pair_is_one_record(self, db):
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(5)]
        assert db.set_transformations(pairs + pairs[:1]) == 5
        assert db.counts()["rev_transformation"] == 5

    def test_batch_of_new_transformations_keeps_an_existing_reverse_row_single(self, db):
        """A reverse row left without its transformation (the reference's
        overwrites leave such rows) is not duplicated when the pair is set."""
        db.set_transformation(TF, R1)
        db.delete_transformation(TF)
        with sqlite3.connect(db.path) as con:
            con.execute('INSERT INTO "rev_transformation" ("result", "checksum") VALUES (?, ?)', (R1, TF))
        assert db.set_transformations([(TF, R1), (R2, R1)]) == 2
        assert db.get_rev_transformations(R1) == [Checksum(TF), Checksum(R2)]
        assert db.counts()["rev_transformation"] == 2

    def test_batch_with_an_irreproducible_transformation_writes_nothing(self, db):
        db.set_irreproducible(TF, R1)
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(10)]
        with pytest.raises(ConflictError, match="irreproducible"):
            db.set_transformations(pairs + [(TF, R1)])
        assert db.get_transformations([tf for tf, _ in pairs]) == [None] * 10
        assert db.set_transformations(pairs) == 10  # the others alone are fine

    @pytest.mark.parametrize("bad", ["zz" * 32, "\u00e9" * 64, "ab" * 31 + "a", "0" * 63 + " ", None])
    def test_malformed_checksums_in_a_batch(self, db, bad):
        """One malformed checksum among many lowercase hex strings (checked
        together first) is found and named, and nothing is written."""
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(100)]
        with pytest.raises((InvalidChecksumError, TypeError)):
            db.set_transformations(pairs[:50] + [(bad, R1)] + pairs[50:])
        with pytest.raises((InvalidChecksumError, TypeError), match="result"):
            db.set_transformations(pairs + [(TF, bad)])
        assert db.get_transformations([tf for tf, _ in pairs]) == [None] * 100

    def test_uppercase_checksums_in_a_batch_are_stored_lowercase(self, db):
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(10)]
        assert db.set_transformations([(tf.upper(), r) for tf, r in pairs]) == 10
        assert db.get_transformations([tf for tf, _ in pairs]) == [Checksum(r) for _, r in pairs]

    def test_delete(self, db):
        """delete_transformation forgets the result and its reverse row."""
        db.set_transformation(TF, R1)
        assert db.delete_transformation(TF) and not db.delete_transformation(TF)
        assert db.get_rev_transformations(R1) == []

    @pytest.mark.parametrize("bad", ["../x", "ab" * 31, "zz" * 32, None, 5, b"short"])
    def test_malformed_checksums(self, db, bad):
        """Malformed checksums are refused before any SQL runs."""
        with pytest.raises((InvalidChecksumError, TypeError)):
            db.set_transformation(bad, R1)
        with pytest.raises((InvalidChecksumError, TypeError)):
            db.get_transformation(bad)


class TestExecutionRecords:
    def test_metadata_creates_transformation(self, db):
        """An execution record also records the transformation (reference test)."""
        assert db.set_metadata(TF, R1, record(wall_time_seconds=1.5)) is True
        assert db.get_transformation(TF) == Checksum(R1)
        assert db.get_metadata(TF) == record(wall_time_seconds=1.5)
        assert db.get_rev_transformations(R1) == [Checksum(TF)]

    def test_idempotent_and_conflicts(self, db):
        """Identical re-puts are fine; a different body or result is a conflict."""
        db.set_metadata(TF, R1, record(x=1))
        assert db.set_metadata(TF, R1, json.dumps(record(x=1.0))) is False
        with pytest.raises(ConflictError, match="different metadata"):
            db.set_metadata(TF, R1, record(x=2))
        with pytest.raises(ConflictError, match="does not match"):
            db.set_metadata(TF, R2, record(result=R2))

    @pytest.mark.parametrize("body", [
        {"tf_checksum": TF, "result_checksum": R1},
        {"schema_version": True, "tf_checksum": TF, "result_checksum": R1},
        {"schema_version": 1, "tf_checksum": R2, "result_checksum": R1},
        {"schema_version": 1, "tf_checksum": TF, "result_checksum": R1, "checksum_fields": [""]},
        "not json", [1],
    ])
    def test_malformed_records(self, db, body):
        """Records with wrong identity fields are MalformedRecordErrors."""
        with pytest.raises(MalformedRecordError):
            db.set_metadata(TF, R1, body)


class TestIrreproducible:
    def test_moves_out_of_the_cache(self, db):
        """The reference's move: normal rows go, the record travels along,
        later records for the tf are refused, and so is a plain re-set."""
        db.set_metadata(TF, R1, record())
        db.set_irreproducible(TF, R1)
        counts = db.counts()
        assert counts["transformation"] == counts["meta_data"] == counts["rev_transformation"] == 0
        assert db.get_irreproducible(TF) == [{"checksum": TF, "result": R1, "metadata": record()}]
        with pytest.raises(ConflictError, match="irreproducible"):
            db.set_metadata(TF, R1, record())
        with pytest.raises(ConflictError, match="irreproducible"):
            db.set_transformation(TF, R1)

    def test_repeats_do_not_pile_up(self, db):
        """Repeating the move, or moving an unknown tf, keeps one row per result."""
        db.set_irreproducible(TF, R1)
        db.set_irreproducible(TF, R1)
        assert len(db.get_irreproducible(TF)) == 1 and db.get_irreproducible(TF)[0]["metadata"] == ""
        assert db.get_irreproducible(TF, R2) == []

    def test_wrong_result(self, db):
        """A cached tf with another result is a RecordNotFoundError (404)."""
        db.set_transformation(TF, R2)
        with pytest.raises(RecordNotFoundError):
            db.set_irreproducible(TF, R1)


class TestSmallerCaches:
    def test_buffer_info_merges(self, db):
        """Buffer info is merged over what is stored; bad types are refused."""
        db.set_buffer_info(R1, {"length": 5, "is_json": True, "custom": "kept"})
        assert db.set_buffer_info(R1, {"is_utf8": True})["length"] == 5
        assert db.get_buffer_info(R1) == {"length": 5, "is_json": True, "is_utf8": True, "custom": "kept"}
        for bad in ({"length": -1}, {"length": True}, {"is_json": 1}, {"str2text": "xyz"}, [1]):
            with pytest.raises((MalformedRecordError, InvalidChecksumError)):
                db.set_buffer_info(R1, bad)

    def test_buffer_info_with_infinity_from_the_reference_can_grow(self, db):
        """The reference stores {"x": Infinity} (Python's json): such a row
        still takes new keys, though NaN and Infinity are refused in them."""
        with sqlite3.connect(db.path) as con:
            con.execute('INSERT INTO "buffer_info" VALUES (?, ?)', (R2, '{"x": Infinity}'))
        assert db.set_buffer_info(R2, {"length": 5}) == {"x": float("inf"), "length": 5}
        assert db.get_buffer_info(R2) == {"x": float("inf"), "length": 5}
        with pytest.raises(MalformedRecordError, match="not JSON"):
            db.set_buffer_info(R2, {"y": float("nan")})

    def test_semantic_syntactic(self, db):
        """Both directions of the code-checksum map; duplicates ignored."""
        db.set_semantic_to_syntactic(R1, "python", "transformer", [TF, TF, R2])
        assert set(db.get_semantic_to_syntactic(R1, "python", "transformer")) == {Checksum(TF), Checksum(R2)}
        assert db.get_syntactic_to_semantic(TF, "python", "transformer") == [Checksum(R1)]
        assert db.get_syntactic_to_semantic(TF, "python", "reactor") == []
        with pytest.raises(MalformedRecordError):
            db.set_semantic_to_syntactic(R1, "python", None, [TF])

    def test_expressions(self, db):
        """Expressions are keyed by input, JSON path and celltypes."""
        db.set_expression(TF, ["a", 1], "mixed", "plain", R1)
        assert db.get_expression(TF, ["a", 1], "mixed", "plain") == Checksum(R1)
        assert db.get_expression(TF, ["a", 2], "mixed", "plain") is None
        assert db.get_rev_expression(R1) == [
            {"checksum": TF, "path": ["a", 1], "celltype": "mixed", "target_celltype": "plain", "result": R1}
        ]
        for args in ((["a"], "text", "plain"), ("x" * 100, "mixed", "plain"), ([], "c" * 21, "plain")):
            with pytest.raises(MalformedRecordError):
                db.set_expression(TF, *args, R1)

    def test_bucket_probes(self, db):
        """Bucket probes round-trip and overwrite per (kind, label)."""
        db.set_bucket_probe("node", "host1", R1, {"t": 1}, "2026-01-01")
        db.set_bucket_probe("node", "host1", R2, '{"t": 2}', "2026-01-02")
        assert db.get_bucket_probe("node", "host1") == {
            "bucket_kind": "node", "label": "host1", "bucket_checksum": R2,
            "captured_at": "2026-01-02", "freshness_tokens": {"t": 2},
        }
        assert db.counts()["bucket_probe"] == 1 and db.get_bucket_probe("node", "other") is None
        with pytest.raises(MalformedRecordError):
            db.set_bucket_probe("galaxy", "x", R1, {}, "now")


class TestFileAndProcesses:
    def test_wal_and_integrity(self, db):
        """The file is in WAL mode and passes SQLite's integrity check."""
        db.set_transformation(TF, R1)
        con = sqlite3.connect(db.path)
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.integrity_check() == "ok"

    def test_read_only(self, tmp_path):
        """Read-only mode reads (the reference's crashes) and refuses writes."""
        with ResultDB(tmp_path / "x.db") as rw:
            rw.set_transformation(TF, R1)
        with ResultDB(tmp_path / "x.db", readonly=True) as ro:
            assert ro.get_transformation(TF) == Checksum(R1)
            with pytest.raises(ReadOnlyStoreError, match="open for reading only"):
                ro.set_transformation(R2, R1)
            with pytest.raises(ReadOnlyStoreError):
                ro.set_transformations([(R2, R1)])  # a group of writes
        with pytest.raises(FileNotFoundError):
            ResultDB(tmp_path / "missing.db", readonly=True)

    def test_threads(self, db):
        """Threads with their own connections write and read concurrently."""
        errors = []

        def work(i):
            try:
                for j in range(100):
                    tf = f"{i:02x}{j:02x}" + "0" * 60
                    db.set_transformation(tf, R1)
                    assert db.get_transformation(tf) == Checksum(R1)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and db.counts()["transformation"] == 800

    def test_referenced_checksums(self, db):
        """Every checksum the records point to is reported (for gc)."""
        db.set_metadata(TF, R1, record(checksum_fields=["node"], node=R2))
        db.set_expression("dd" * 32, [], "plain", "text", "ee" * 32)
        assert {TF, R1, R2, "dd" * 32, "ee" * 32} <= db.referenced_checksums()

    def test_an_irreproducible_records_checksums_stay_referenced(self, db):
        """Its transformation and the record's sub-buffers too: gc must not
        remove what the record still describes."""
        db.set_transformation(TF, R1)
        db.set_metadata(TF, R1, record(checksum_fields=["node"], node=R2))
        db.set_irreproducible(TF, R1)
        assert db.counts()["transformation"] == 0
        assert {TF, R1, R2} <= db.referenced_checksums()


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.binary(min_size=32, max_size=32), st.binary(min_size=32, max_size=32), max_size=30))
def test_round_trip_property(tmp_path_factory, mapping):
    """Whatever is set is got back, singly and in batch."""
    with ResultDB(tmp_path_factory.mktemp("p") / "db") as db:
        db.set_transformations(mapping.items())
        keys = list(mapping)
        assert db.get_transformations(keys) == [Checksum(mapping[k]) for k in keys]
