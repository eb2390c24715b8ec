"""The ceilings of compare_servers.py: the programs that time the machine
without our servers must do what their rows say, or the rows mean nothing."""

from __future__ import annotations

import os
import sqlite3
import sys
from contextlib import closing

import pytest

import c_tools
import compare_servers
import http_load
from seamless.database.front import sqlite_library
from seamless.database.store import ResultDB

HERE = os.path.dirname(os.path.abspath(__file__))
# These tests check programs, not timings: the benchmark fixture (autouse here) stays unused.
pytestmark = pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")


def built(name: str) -> str:
    """The program, which must build wherever there is a compiler."""
    if c_tools.compiler() is None:
        pytest.skip("no C compiler")
    binary = c_tools.program(name)
    assert binary is not None, f"benchmarks/{name}.c does not build"
    return binary


def test_the_fixed_server_answers_every_request_at_once():
    binary = built("fixed_server")
    server = compare_servers.HelperServer([binary])
    try:
        requests = [http_load.json_request("GET", "/", {"type": "transformation", "checksum": "0" * 64}),
                    http_load.build_request("PUT", "/x", os.urandom(100_000)),
                    http_load.build_request("GET", "/healthcheck")] * 50
        for concurrency in (1, 8):
            result = http_load.run(server.url, requests, concurrency)
            assert result.statuses == {200: 150} and result.count == 150
        status, body = http_load.one(server.url, requests[0])
        assert status == 200 and len(body) == 66  # a checksum's answer, as the database gives it
    finally:
        server.stop()


def test_the_bare_sendfile_loop_sends_the_whole_file(tmp_path):
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    server = compare_servers.HelperServer([sys.executable, os.path.join(HERE, "sendfile_server.py"), str(path)])
    try:
        for _ in range(2):  # a connection each
            assert http_load.one(server.url, http_load.build_request("GET", "/anything")) == (200, data)
    finally:
        server.stop()


def test_the_sqlite_loop_stores_records_as_the_server_does(tmp_path):
    path = str(tmp_path / "seamless.db")
    ResultDB(path).close()
    built("sqlite_loop")
    if sqlite_library() is None:
        pytest.skip("Python's SQLite is not a shared library of its own")
    rate = compare_servers.sqlite_loop(path, 300)
    assert rate is not None and rate > 0
    compare_servers.sqlite_loop(path, 200)  # new records each run, as the benchmark's rounds need
    with closing(sqlite3.connect(path)) as con:
        pairs = con.execute('SELECT "checksum", "result" FROM "transformation"').fetchall()
        reverse = con.execute('SELECT "checksum", "result" FROM "rev_transformation"').fetchall()
    assert len(pairs) == 500 and len({c for c, _ in pairs}) == 500
    assert sorted(reverse) == sorted(pairs)
    with ResultDB(path, readonly=True) as db:
        assert all(db.get_transformation(c).hex() == r for c, r in pairs[:20])
        assert db.integrity_check() == "ok"


def test_the_round_trips_beside_sqlite_run_while_it_commits(tmp_path):
    path = str(tmp_path / "seamless.db")
    ResultDB(path).close()
    fixed = built("fixed_server")
    built("sqlite_loop")
    if sqlite_library() is None:
        pytest.skip("Python's SQLite is not a shared library of its own")
    server = compare_servers.HelperServer([fixed])
    try:
        requests = [http_load.json_request("PUT", "/", {"type": "transformation", "checksum": "0" * 64,
                                                        "value": "1" * 64})] * 200
        rate = compare_servers.round_trips_beside_sqlite(server.url, requests, path)
    finally:
        server.stop()
    assert rate is not None and rate > 0
    # The loop committed beside the requests, and being stopped mid-commit left the file sound.
    with ResultDB(path, readonly=True) as db:
        assert db.integrity_check() == "ok"
    with closing(sqlite3.connect(path)) as con:
        assert con.execute('SELECT count(*) FROM "transformation"').fetchone()[0] > 0


def test_the_direct_write_leaves_nothing(tmp_path):
    seconds = compare_servers._direct_write_seconds(str(tmp_path), 8 * 1024 * 1024)
    assert seconds is None or seconds > 0
    assert os.listdir(tmp_path) == []
