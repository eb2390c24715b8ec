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


def test_comparison_smoke(tmp_path, capsys):
    if not os.environ.get("SEAMLESS_REFERENCE_PYTHON"):
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to compare with the reference")
    assert compare_servers.main(["--quick", "--rounds", "1", "--large", "16", "--dir", str(tmp_path)]) == 0
    assert "| 1 KiB GET, sequential |" in capsys.readouterr().out
