"""Interop in both directions: the reference's seamless-remote clients
against our servers, and our clients against the reference's servers."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from reference_servers import REFERENCE_PYTHON, ReferenceServer
from seamless.remote import BufferClient, DatabaseClient
from server_process import ServerProcess

pytestmark = pytest.mark.reference
SCRIPT = Path(__file__).parents[1] / "reference" / "remote_clients.py"


def test_reference_clients_against_our_servers(tmp_path):
    if not REFERENCE_PYTHON:
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to the interpreter of a virtualenv with the reference")
    with ServerProcess("hashserver", [str(tmp_path / "buffers"), "--writable"], tmp_path) as hs, \
            ServerProcess("seamless-database", [str(tmp_path / "seamless.db"), "--writable"], tmp_path) as db:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run([REFERENCE_PYTHON, str(SCRIPT), hs.url, db.url], capture_output=True,
                              text=True, timeout=300, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["write"] == [True, True, True] and out["rewrite"] is True
    assert out["lengths"] == [True, True, True, False]  # booleans, read as lengths by that client
    assert out["length_one"] is True
    assert out["get_ok"] == [True, True, True]
    assert out["promised_length"] is True and out["promised_get"] == "promised"
    assert out["tf_missing"] is None
    assert out["tf"] == "bb" * 32 and out["rev"] == ["aa" * 32]
    assert out["record_set"] is None and out["record"]["tf_checksum"] == "cc" * 32
    assert out["record_conflict"] is False  # matched on the 409 text
    assert out["probe"] == {"bucket_kind": "node", "label": "n1", "bucket_checksum": "dd" * 32,
                            "captured_at": "2026-11-24T00:00:00Z", "freshness_tokens": {"a": 1}}
    assert out["undo"] is True and out["tf_after_undo"] is None
    assert out["irreproducible"] == [{"checksum": "aa" * 32, "result": "bb" * 32, "metadata": ""}]


def test_our_clients_against_reference_servers(tmp_path):
    (tmp_path / "buffers").mkdir()
    hs = ReferenceServer("hashserver", [str(tmp_path / "buffers"), "--writable"], str(tmp_path))
    db = ReferenceServer("seamless-database", [str(tmp_path / "seamless.db"), "--writable"], str(tmp_path))
    try:
        with BufferClient(hs.url) as buffers:
            payloads = [b"x", os.urandom(10_000), os.urandom(5 << 20)]
            checksums = buffers.put_many(payloads)
            assert buffers.has(checksums + ["00" * 32]) == [True, True, True, False]
            assert buffers.lengths(checksums) == [1, 10_000, 5 << 20]
            assert [buffers.get(c) for c in checksums] == payloads
            path = tmp_path / "big.bin"
            path.write_bytes(os.urandom(3 << 20))
            cs = buffers.put_file(path)
            buffers.get_to_file(cs, tmp_path / "copy.bin")
            assert (tmp_path / "copy.bin").read_bytes() == path.read_bytes()
            assert buffers.put_many(payloads) == checksums  # all present: nothing sent
        with DatabaseClient(db.url) as results:
            pairs = [(f"{i:064x}", f"{i + 1000:064x}") for i in range(1, 200)]
            assert results.set_transformations(pairs) == [None] * len(pairs)  # falls back to singles
            assert results.get_transformations([tf for tf, _ in pairs]) == [r for _, r in pairs]
            assert results.get_transformation("ff" * 32) is None
            assert results.get_rev_transformations(pairs[0][1]) == [pairs[0][0]]
            record = {"schema_version": 1, "tf_checksum": "ee" * 32, "result_checksum": "bb" * 32}
            results.set_metadata("ee" * 32, "bb" * 32, record)
            assert results.get_metadata("ee" * 32) == record
            results.set_irreproducible("ee" * 32, "bb" * 32)
            assert results.get_irreproducible("ee" * 32)[0]["metadata"] == record
    finally:
        hs.stop()
        db.stop()


def test_one_folder_and_one_database_served_by_both(tmp_path):
    """Both implementations serve the same buffer folder and seamless.db at
    the same time; what is written through one is read through the other."""
    folder, database = tmp_path / "buffers", tmp_path / "seamless.db"
    with ServerProcess("hashserver", [str(folder), "--writable"], tmp_path) as our_hs, \
            ServerProcess("seamless-database", [str(database), "--writable"], tmp_path) as our_db:
        ref_hs = ReferenceServer("hashserver", [str(folder), "--writable"], str(tmp_path))
        ref_db = ReferenceServer("seamless-database", [str(database), "--writable"], str(tmp_path))
        try:
            with BufferClient(our_hs.url) as ours, BufferClient(ref_hs.url) as theirs:
                mine = ours.put_many([os.urandom(5000), os.urandom(2 << 20)])
                their = theirs.put_many([os.urandom(7000), os.urandom(3 << 20)])
                assert theirs.has(mine) == [True, True] and ours.has(their) == [True, True]
                assert [len(theirs.get(c)) for c in mine] == [5000, 2 << 20]
                assert [len(ours.get(c)) for c in their] == [7000, 3 << 20]
            with DatabaseClient(our_db.url) as ours, DatabaseClient(ref_db.url) as theirs:
                for writer, reader, n in ((ours, theirs, 1), (theirs, ours, 2)):
                    exchange_every_record_kind(writer, reader, n)
        finally:
            ref_hs.stop()
            ref_db.stop()


def exchange_every_record_kind(writer, reader, n: int) -> None:
    """Write one record of every kind through one server and read it through
    the other (both serve the same seamless.db)."""
    tf, res = f"a{n}" * 32, f"b{n}" * 32
    writer.set_transformation(tf, res)
    assert reader.get_transformation(tf) == res
    assert reader.get_rev_transformations(res) == [tf]

    record = {"schema_version": 1, "tf_checksum": tf, "result_checksum": res, "wall_time_seconds": 1.5 + n}
    writer.set_metadata(tf, res, record)
    assert reader.get_metadata(tf) == record

    info = {"length": 100 + n, "is_utf8": True}
    writer.set_buffer_info(f"c{n}" * 32, info)
    assert reader.get_buffer_info(f"c{n}" * 32) == info

    writer.set_expression(f"d{n}" * 32, ["x", n], "mixed", "int", f"e{n}" * 32)
    assert reader.get_expression(f"d{n}" * 32, ["x", n], "mixed", "int") == f"e{n}" * 32
    assert [r["checksum"] for r in reader.get_rev_expression(f"e{n}" * 32)] == [f"d{n}" * 32]

    syntactic = [f"f{n}" * 32, f"0{n}" * 32]
    writer.set_semantic_to_syntactic(f"9{n}" * 32, "python", "transformer", syntactic)
    assert sorted(reader.get_semantic_to_syntactic(f"9{n}" * 32, "python", "transformer")) == sorted(syntactic)
    assert reader.get_syntactic_to_semantic(syntactic[0], "python", "transformer") == [f"9{n}" * 32]

    label = f"label-{n}"
    writer.set_bucket_probe("node", label, f"8{n}" * 32, {"token": n}, "2026-12-07T00:00:00Z")
    probe = reader.get_bucket_probe("node", label)
    assert probe["bucket_checksum"] == f"8{n}" * 32 and probe["freshness_tokens"] == {"token": n}

    odd, odd_res = f"7{n}" * 32, f"6{n}" * 32
    writer.set_transformation(odd, odd_res)
    writer.set_irreproducible(odd, odd_res)
    assert reader.get_transformation(odd) is None
    assert [(r["checksum"], r["result"]) for r in reader.get_irreproducible(odd)] == [(odd, odd_res)]
