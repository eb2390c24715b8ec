"""seamless.db files are interchangeable with the reference seamless-database."""

from __future__ import annotations

import json

import pytest

from reference_servers import ReferenceServer
from seamless import Checksum
from seamless.database import ResultDB

pytestmark = pytest.mark.reference

TF, TF2, R1 = "aa" * 32, "ab" * 32, "bb" * 32


def record(tf, result):
    return {"schema_version": 1, "tf_checksum": tf, "result_checksum": result, "wall_time_seconds": 0.5}


def test_reference_reads_our_file(tmp_path):
    """The reference server answers from a file we wrote (in WAL mode)."""
    path = tmp_path / "seamless.db"
    with ResultDB(path) as db:
        db.set_transformation(TF, R1)
        db.set_metadata(TF2, R1, record(TF2, R1))
        db.set_buffer_info(R1, {"length": 5})
    server = ReferenceServer("seamless-database", [str(path), "--writable"], str(tmp_path))
    try:
        assert server.request("GET", "/", {"type": "transformation", "checksum": TF}) == (200, R1.encode())
        status, body = server.request("GET", "/", {"type": "rev_transformations", "checksum": R1})
        assert status == 200 and sorted(json.loads(body)) == sorted([TF, TF2])
        status, body = server.request("GET", "/", {"type": "metadata", "checksum": TF2})
        assert status == 200 and json.loads(body) == record(TF2, R1)
        status, body = server.request("GET", "/", {"type": "buffer_info", "checksum": R1})
        assert json.loads(body) == {"length": 5}
    finally:
        server.stop()


def test_we_read_the_references_file(tmp_path):
    """A file the reference wrote (with its duplicate reverse rows) opens here."""
    path = tmp_path / "seamless.db"
    server = ReferenceServer("seamless-database", [str(path), "--writable"], str(tmp_path))
    try:
        for _ in range(3):  # the reference appends a reverse row each time
            assert server.request("PUT", "/", {"type": "transformation", "checksum": TF, "value": R1})[0] == 200
        put = {"type": "metadata", "checksum": TF2, "result": R1, "value": record(TF2, R1)}
        assert server.request("PUT", "/", put)[0] == 200
        with ResultDB(path) as db:  # both at once: the reference still serves
            assert db.get_transformation(TF) == Checksum(R1)
            assert db.get_rev_transformations(R1) == [Checksum(TF), Checksum(TF2)]
            assert db.get_metadata(TF2) == record(TF2, R1)
            db.set_transformation("cc" * 32, R1)
        status, body = server.request("GET", "/", {"type": "transformation", "checksum": "cc" * 32})
        assert (status, body) == (200, R1.encode())
    finally:
        server.stop()
