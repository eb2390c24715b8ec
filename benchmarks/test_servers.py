"""Our servers over loopback, request by request (pytest-benchmark), and a
one-round smoke run of the side-by-side comparison with the reference
(compare_servers.py) when a reference virtualenv is named by
SEAMLESS_REFERENCE_PYTHON (skipped otherwise)."""

from __future__ import annotations

import hashlib
import os
import tempfile

import pytest

import compare_servers
import http_load
from seamless.server.launch import launch


@pytest.fixture(scope="module")
def hashserver():
    with tempfile.TemporaryDirectory() as root, \
            launch("hashserver", [os.path.join(root, "b"), "--writable", "--durability", "batch"]) as server:
        yield server


@pytest.fixture(scope="module")
def database():
    with tempfile.TemporaryDirectory() as root, \
            launch("seamless-database", [os.path.join(root, "s.db"), "--writable"]) as server:
        yield server


class Connection:
    """One keep-alive connection, one request per call."""

    def __init__(self, url):
        self.conn = http_load._Connection(*http_load._address(url))

    def __call__(self, request: bytes) -> int:
        self.conn.send(request)
        status, _ = self.conn.response()
        return status


def test_put_1kib(benchmark, hashserver):
    benchmark.group = "hashserver-1KiB"
    conn = Connection(hashserver.url)

    def put():
        data = os.urandom(1024)
        return conn(http_load.build_request("PUT", f"/{hashlib.sha256(data).hexdigest()}", data))

    assert benchmark(put) == 200


def test_get_1kib(benchmark, hashserver):
    benchmark.group = "hashserver-1KiB"
    data = os.urandom(1024)
    cs = hashlib.sha256(data).hexdigest()
    conn = Connection(hashserver.url)
    conn(http_load.build_request("PUT", f"/{cs}", data))
    assert benchmark(conn, http_load.build_request("GET", f"/{cs}")) == 200


def test_has_10k(benchmark, hashserver):
    benchmark.group = "hashserver-has"
    keys = [os.urandom(32).hex() for _ in range(10_000)]
    conn = Connection(hashserver.url)
    assert benchmark(conn, http_load.json_request("GET", "/has", keys)) == 200


def test_database_set_and_get(benchmark, database):
    benchmark.group = "database"
    conn = Connection(database.url)

    def set_and_get():
        tf, result = os.urandom(32).hex(), os.urandom(32).hex()
        conn(http_load.json_request("PUT", "/", {"type": "transformation", "checksum": tf, "value": result}))
        return conn(http_load.json_request("GET", "/", {"type": "transformation", "checksum": tf}))

    assert benchmark(set_and_get) == 200


@pytest.mark.parametrize("concurrency", [1, 8])
def test_the_c_load_client_counts_as_the_python_one(database, concurrency):
    """The load generator in C sees the same answers as the Python one
    (misses and hits, several connections), or is not there at all."""
    if http_load.native_client() is None:
        pytest.skip("no C compiler for the load client")
    pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(300)]
    puts = [http_load.json_request("PUT", "/", {"type": "transformation", "checksum": tf, "value": r})
            for tf, r in pairs[:200]]
    gets = [http_load.json_request("GET", "/", {"type": "transformation", "checksum": tf}) for tf, _ in pairs]
    assert http_load.run(database.url, puts, concurrency, native=True).statuses == {200: 200}
    for native in (True, False):
        result = http_load.run(database.url, gets, concurrency, native=native)
        assert result.statuses == {200: 200, 404: 100} and result.count == 300


def test_comparison_smoke(tmp_path, capsys):
    if not os.environ.get("SEAMLESS_REFERENCE_PYTHON"):
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to compare with the reference")
    assert compare_servers.main(["--quick", "--rounds", "1", "--large", "16", "--dir", str(tmp_path)]) == 0
    assert "| 1 KiB GET, sequential |" in capsys.readouterr().out
