"""The database server under abuse: garbage and oversized requests, malformed
JSON, clients that vanish mid-body, 100 concurrent clients, slow clients,
conflicting writers, and a bounded load test. After each, the server still
serves, it logged no error, and the SQLite file holds exactly the rows the
successful writes made (and passes ``PRAGMA integrity_check``)."""

from __future__ import annotations

import concurrent.futures
import hashlib
import http.client
import json
import os
import random
import signal
import socket
import sqlite3
import threading
import time
from typing import Any

import pytest

from seamless.database.app import MAX_REQUEST
from seamless.server.http.parser import MAX_HEAD
from server_process import ServerProcess

#: Seconds of the load test (a few minutes in a full run; short by default).
LOAD_SECONDS = float(os.environ.get("SEAMLESS_LOAD_SECONDS", "20"))

def tf_checksum(*parts: Any) -> str:
    """A distinct, reproducible 64-hex checksum per tuple of parts."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


@pytest.fixture(params=["front", "python"])
def server(tmp_path, request):
    """The server with its native front (the default) and without it."""
    path = tmp_path / "seamless.db"
    no_front = ["--no-front"] if request.param == "python" else []
    with ServerProcess("seamless-database", [str(path), "--writable", *no_front], tmp_path) as srv:
        srv.path = path
        srv.log = lambda: srv.log_file.read_text(errors="replace")
        yield srv
        assert srv.process.poll() is None, "the server died"
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(30) == 0, srv.log()
        # No request may have failed inside the server (a 500 logs a traceback).
        assert "Traceback" not in srv.log() and " ERROR " not in srv.log(), srv.log()[-3000:]


# ---- helpers ------------------------------------------------------------------------

def raw(server, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes on a fresh connection; everything the server sends back
    until it closes (a reset after the answer is fine)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return out


def status_of(answer: bytes) -> int | None:
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer[9:12])


def healthy(server) -> bool:
    return server.request("GET", "/healthcheck", timeout=10) == (200, b"OK")


def call(conn: http.client.HTTPConnection, method: str, body: Any) -> tuple[int, str]:
    """One request on a keep-alive connection: (status, text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn.request(method, "/", body=data, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read().decode()


def connect(server, timeout: float = 60) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)


def db_get(server, body: Any) -> tuple[int, str]:
    status, data = server.request("GET", "/", raw=json.dumps(body).encode())
    return status, data.decode()


def db_put(server, body: Any) -> tuple[int, str]:
    status, data = server.request("PUT", "/", raw=json.dumps(body).encode())
    return status, data.decode()


def put_tf(tf: str, result: str) -> dict[str, str]:
    return {"type": "transformation", "checksum": tf, "value": result}


def get_tf(tf: str) -> dict[str, str]:
    return {"type": "transformation", "checksum": tf}


def metadata(tf: str, result: str) -> dict[str, Any]:
    return {"type": "metadata", "checksum": tf, "result": result,
            "value": {"schema_version": 1, "tf_checksum": tf, "result_checksum": result}}


def rows(path, query: str) -> list[tuple[Any, ...]]:
    """Rows of a query, read by a connection of our own (the server keeps
    its connections open; WAL lets us read alongside)."""
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def transformations(path) -> dict[str, str]:
    return dict(rows(path, 'SELECT "checksum", "result" FROM "transformation"'))


def assert_consistent(path, expected: dict[str, str], records: dict[str, str] | None = None) -> None:
    """The file holds exactly these transformations (and execution records),
    one reverse row each, and passes SQLite's own integrity check."""
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    assert transformations(path) == expected
    reverse = rows(path, 'SELECT "checksum", "result" FROM "rev_transformation"')
    assert len(reverse) == len(expected) and dict(reverse) == expected
    stored = dict(rows(path, 'SELECT "checksum", "result" FROM "meta_data"'))
    assert stored == (records or {})
    for (text,) in rows(path, 'SELECT "metadata" FROM "meta_data"'):
        record = json.loads(text)
        assert stored[record["tf_checksum"]] == record["result_checksum"]


# ---- 1. garbage and oversized requests ----------------------------------------------

def test_documented_limits():
    assert MAX_HEAD == 16 * 1024 and MAX_REQUEST == 64 << 20


GARBAGE = [
    # (bytes on the wire, the status of the answer)
    (b"\x00\x01\x02\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 505),
    (b"BREW / HTTP/1.1\r\n\r\n", 501),
    (b"get / HTTP/1.1\r\n\r\n", 400),
    (b"GET nowhere HTTP/1.1\r\n\r\n", 400),
    (b"GET /\x01 HTTP/1.1\r\n\r\n", 400),
    (b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n", 431),  # request line > 16 KiB
    (b"GET /healthcheck HTTP/1.1\r\nX-Big: " + b"b" * 100000 + b"\r\n\r\n", 431),
    (b"GET /healthcheck HTTP/1.1\r\nX-Big: " + b"b" * (MAX_HEAD + 10), 431),  # a head that never ends
    (b"GET /healthcheck HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", 431),
    (b"GET /healthcheck HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"GET /healthcheck HTTP/1.1\r\nX-A: 1\r\n folded\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: +19\r\n\r\n{\"type\":\"protocol\"}", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 19\r\nContent-Length: 20\r\n\r\n{\"type\":\"protocol\"}", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 19\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"13\r\n{\"type\":\"protocol\"}\r\n0\r\n\r\n", 400),
    (b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 5000 + b"\r\n", 400),
]


def test_garbage_and_oversized_requests(server):
    for junk, expected in GARBAGE:
        answer = raw(server, junk)
        assert status_of(answer) == expected, (junk[:80], answer[:200])
        assert b"Connection: close" in answer.partition(b"\r\n\r\n")[0]
        assert healthy(server), junk[:80]
    assert transformations(server.path) == {}


def test_head_size_limit_is_exact(server):
    """A head of exactly 16 KiB is served; one byte more is a 431."""
    start = b"GET /healthcheck HTTP/1.1\r\nConnection: close\r\nX-Big: "
    fits = start + b"b" * (MAX_HEAD - len(start))
    assert len(fits) == MAX_HEAD
    assert status_of(raw(server, fits + b"\r\n\r\n")) == 200
    assert status_of(raw(server, fits + b"b\r\n\r\n")) == 431
    assert healthy(server)


def test_a_broken_chunked_body_that_asked_to_continue(server):
    """Broken framing in the first piece of a body whose client asked for
    100-continue: the 400 arrives (no 100 after it), nothing fails inside."""
    answer = raw(server, b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"100 Continue" not in answer, answer[:200]
    assert healthy(server)


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_body_over_the_limit_is_refused_before_it_is_sent(server, method):
    """A Content-Length over 64 MiB is answered 413 at once: the client is
    not made to send the body (it sends 1 KiB and waits)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(f"{method} / HTTP/1.1\r\nContent-Length: {MAX_REQUEST + 1}\r\n\r\n".encode() + b"{" * 1024)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert status_of(answer) == 413, answer[:200]
    assert healthy(server)
    assert transformations(server.path) == {}


def test_chunked_body_over_the_limit_is_refused(server):
    """A chunked body has no length up front: it is cut off with a 413 once
    more than 64 MiB arrived."""
    piece = b"{" * (1 << 20)
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    answer = bytearray()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        def read():
            try:
                while data := s.recv(65536):
                    answer.extend(data)
            except OSError:
                pass
        reader = threading.Thread(target=read)
        reader.start()
        try:
            s.sendall(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range((MAX_REQUEST >> 20) + 16):
                s.sendall(chunk)
        except OSError:
            pass  # the server closed after its answer
        reader.join(20)
    assert status_of(bytes(answer)) == 413, bytes(answer[:200])
    assert healthy(server)


def test_body_of_exactly_the_limit_is_parsed(server):
    """64 MiB is still accepted (and here, being no JSON object, refused
    with a 400, not a 413); the server then serves normally."""
    body = b'"' + b"a" * (MAX_REQUEST - 2) + b'"'
    assert len(body) == MAX_REQUEST
    assert server.request("PUT", "/", raw=body) == (400, b"ERROR: Malformed request")
    assert healthy(server)
    tf, res = tf_checksum("limit"), tf_checksum("limit", "result")
    assert db_put(server, put_tf(tf, res)) == (200, "OK")
    assert db_get(server, get_tf(tf)) == (200, res)


# ---- 2. malformed JSON ------------------------------------------------------------------

TF, RES = tf_checksum("tf"), tf_checksum("result")
HUGE = 8 << 20

MALFORMED = [
    # invalid JSON
    b"", b" ", b"[", b"{", b"{]", b'{"type":', b'{"type":"transformation",}', b"nul", b"{'type': 'protocol'}",
    b'{"type":"protocol"} {"type":"protocol"}', b'{"type":"protocol"}\x00',
    # deeply nested
    b"[" * 100000 + b"]" * 100000,
    b'{"a":' * 100000 + b"1" + b"}" * 100000,
    b"[" * 100000,
    b'{"type":"transformation","checksum":' + b"[" * 100000 + b"]" * 100000 + b"}",
    # not an object
    b"null", b"true", b"42", b"-1.5e300", b'"transformation"', b"[]", b'[{"type":"protocol"}]',
    # invalid UTF-8 (raw bytes, not escapes)
    b"\xff\xfe", b"\xc3\x28", b"\x80" * 100, b'{"type":"\xff"}',
    b'{"type":"transformation","checksum":"\xed\xa0\x80"}',
    (b'{"type":"transformation","checksum":"%s\xff"}' % TF[:-1].encode()),
    # a malformed envelope
    b"{}", b'{"type":null}', b'{"type":42}', b'{"type":["transformation"]}', b'{"type":"nonsense"}',
    b'{"type":"Transformation","checksum":"%s"}' % TF.encode(),
    b'{"type":"transformation"}',
    b'{"type":"transformation","checksum":"%s"}' % TF[:-1].encode(),
    b'{"type":"transformation","checksum":"%sz"}' % TF[:-1].encode(),
    b'{"type":"transformation","checksum":true}',
    b'{"type":"transformation","checksum":42}',
    b'{"type":"transformation","checksum":1e400}',
    b'{"type":"transformation","checksum":NaN}',
    b'{"type":"transformation","checksum":' + b"9" * 5000 + b"}",
    b'{"type":"transformation","checksum":{"a":1}}',
    b'{"type":"transformation","checksum":"\\ud800"}',
    b'{"type":"transformations","checksums":"%s","value":"%s"}' % (TF.encode(), TF.encode()),
    b'{"type":"transformations","checksums":[[1,2]],"value":[[1,2]]}',
    b'{"type":"transformations","checksums":[null],"value":[["%s"]]}' % TF.encode(),
    # huge strings (8 MiB each)
    b'{"type":"' + b"t" * HUGE + b'"}',
    b'{"type":"transformation","checksum":"' + b"a" * HUGE + b'"}',
    b'{"' + b"k" * HUGE + b'":1}',
    b'{"type":"transformations","checksums":["' + b"a" * HUGE + b'"],"value":[["' + b"a" * HUGE + b'","x"]]}',
    b'"' + b"\\u0041" * (HUGE // 6) + b'"',
]


def test_malformed_json_bodies(server):
    conn = connect(server)
    for body in MALFORMED:
        for method in ("GET", "PUT"):
            status, text = call(conn, method, body)
            assert status == 400 and text.startswith("ERROR: Malformed"), (method, body[:80], status, text[:200])
            assert len(text) < 1000  # the answer does not echo a huge request
    conn.close()
    assert healthy(server)
    assert transformations(server.path) == {}


def test_malformed_values_write_nothing(server):
    """A well-formed envelope with a bad value is a 400 and writes nothing."""
    conn = connect(server)
    for value in [None, "", "zz", TF[:-1], TF + "0", 42, [RES], {"a": RES}, "a" * HUGE]:
        status, text = call(conn, "PUT", put_tf(TF, value))
        assert status == 400 and text.startswith("ERROR: Malformed"), (value, status, text)
    for body in [{"type": "transformation", "checksum": TF},
                 {"type": "transformations", "value": [[TF, RES], [TF]]},
                 {"type": "transformations", "value": [[TF, RES], [RES, "zz"]]},
                 {"type": "transformations", "value": [[TF, RES]] * 10001},
                 {"type": "metadata", "checksum": TF, "result": RES, "value": {"schema_version": 1}},
                 {"type": "metadata", "checksum": TF, "result": RES, "value": "[" * 100}]:
        status, text = call(conn, "PUT", body)
        assert status == 400 and text.startswith("ERROR: Malformed"), (status, text)
    assert call(conn, "GET", get_tf(TF)) == (404, "ERROR: Unknown key")
    conn.close()
    assert_consistent(server.path, {})


def test_lone_surrogates_are_not_server_errors(server):
    """Valid JSON, but strings that are not Unicode text: never a 500."""
    s = "\ud800"
    requests = [
        {"type": "semantic_to_syntactic", "checksum": TF, "celltype": s, "subcelltype": "x", "value": [RES]},
        {"type": "syntactic_to_semantic", "checksum": TF, "celltype": "python", "subcelltype": s, "value": [RES]},
        {"type": "expression", "checksum": TF, "celltype": s, "path": None, "target_celltype": "plain",
         "value": RES},
        {"type": "bucket_probe", "bucket_kind": "node", "label": s, "bucket_checksum": RES,
         "freshness_tokens": {}, "captured_at": "2024-01-01T00:00:00Z"},
    ]
    answers = []
    for body in requests:
        for method in ("GET", "PUT"):
            status, text = db_put(server, body) if method == "PUT" else db_get(server, body)
            answers.append((method, body["type"], status, text[:100]))
    assert healthy(server)
    assert [a for a in answers if a[2] >= 500] == []


def test_non_finite_numbers_in_a_record_are_not_server_errors(server):
    answers = []
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        tf = tf_checksum("nonfinite", literal)
        body = (b'{"type":"metadata","checksum":"%s","result":"%s","value":{"schema_version":1,'
                b'"tf_checksum":"%s","result_checksum":"%s","x":%s}}' % (tf.encode(), RES.encode(),
                                                                        tf.encode(), RES.encode(), literal))
        status, text = server.request("PUT", "/", raw=body)
        answers.append((literal, status, text[:100]))
    assert healthy(server)
    assert [a for a in answers if a[1] >= 500] == []


# ---- 3. clients that vanish mid-body ----------------------------------------------------

def test_disconnect_mid_body_writes_nothing(server):
    tf, res = tf_checksum("cut"), tf_checksum("cut", "result")
    single = json.dumps(put_tf(tf, res)).encode()
    batch = json.dumps({"type": "transformations",
                        "value": [[tf_checksum("cut", i), tf_checksum("cut", i, "r")] for i in range(2000)]
                        + [[tf, res]]}).encode()
    cuts = [
        (single, len(single) + 100, len(single)),  # the whole JSON, but a longer Content-Length
        (single, len(single), len(single) // 2),
        (single, len(single), 0),
        (batch, len(batch), len(batch) - 1),  # all but the last byte
        (batch, len(batch) * 4, len(batch)),
    ]
    for method in ("PUT", "GET"):
        for body, length, sent in cuts:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                s.sendall(f"{method} / HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode() + body[:sent])
                time.sleep(0.05)
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                # ... and one that says it is done sending (half-close): no answer, no write.
                s.sendall(f"{method} / HTTP/1.1\r\nContent-Length: {length}\r\n\r\n".encode() + body[:sent])
                s.shutdown(socket.SHUT_WR)
                assert s.recv(1000) == b""
            assert healthy(server)
    time.sleep(0.2)
    assert db_get(server, get_tf(tf)) == (404, "ERROR: Unknown key")
    assert_consistent(server.path, {})
    # ... and the same requests, sent whole, work afterwards.
    assert server.request("PUT", "/", raw=single) == (200, b"OK")
    status, text = server.request("PUT", "/", raw=batch)
    assert status == 200 and json.loads(text) == [None] * 2001
    assert db_get(server, get_tf(tf)) == (200, res)
    assert len(transformations(server.path)) == 2001


# ---- 4. 100 concurrent clients --------------------------------------------------------

def test_hundred_concurrent_clients(server):
    clients, rounds = 100, 5
    start = threading.Barrier(clients)

    def client(n):
        conn = connect(server)
        start.wait(30)
        answers = []
        for i in range(rounds):
            tf, res = tf_checksum("c", n, i), tf_checksum("c", n, i, "r")
            answers.append((call(conn, "PUT", put_tf(tf, res)), (200, "OK")))
            answers.append((call(conn, "GET", get_tf(tf)), (200, res)))
        # A batch lookup of this client's own results, and one unknown key.
        tfs = [tf_checksum("c", n, i) for i in range(rounds)] + [tf_checksum("unknown", n)]
        expected = [tf_checksum("c", n, i, "r") for i in range(rounds)] + [None]
        status, text = call(conn, "GET", {"type": "transformations", "checksums": tfs})
        answers.append(((status, json.loads(text) if status == 200 else text), (200, expected)))
        conn.close()
        return answers

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, range(clients)))
    wrong = [(got, want) for answers in results for got, want in answers if got != want]
    assert wrong == []
    expected = {tf_checksum("c", n, i): tf_checksum("c", n, i, "r") for n in range(clients) for i in range(rounds)}
    assert_consistent(server.path, expected)
    assert healthy(server)


# ---- 5. slow clients ------------------------------------------------------------------

def test_slow_clients_do_not_block_others(server):
    """A client trickling its head and one trickling its body (a write) are
    served in time, while others get answers at full speed."""
    slow_tf, slow_res = tf_checksum("slow"), tf_checksum("slow", "result")
    body = json.dumps(put_tf(slow_tf, slow_res)).encode()
    answers: dict[str, bytes] = {}

    def trickle_head():
        request = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            for byte in request:
                s.sendall(bytes([byte]))
                time.sleep(0.02)
            answers["head"] = s.recv(1000)

    def trickle_body():
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(f"PUT / HTTP/1.1\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            for i in range(0, len(body), 8):
                s.sendall(body[i:i + 8])
                time.sleep(0.05)
            answers["body"] = s.recv(1000)

    threads = [threading.Thread(target=trickle_head), threading.Thread(target=trickle_body)]
    for t in threads:
        t.start()
    conn = connect(server, timeout=10)
    latencies = []
    expected = {}
    n = 0
    while any(t.is_alive() for t in threads) or n < 20:
        tf, res = tf_checksum("fast", n), tf_checksum("fast", n, "r")
        started = time.monotonic()
        assert healthy(server)
        assert call(conn, "PUT", put_tf(tf, res)) == (200, "OK")
        assert call(conn, "GET", get_tf(tf)) == (200, res)
        latencies.append(time.monotonic() - started)
        expected[tf] = res
        n += 1
    conn.close()
    for t in threads:
        t.join(30)
    assert max(latencies) < 2.0, max(latencies)
    assert answers["head"].startswith(b"HTTP/1.1 200") and answers["head"].endswith(b"\r\n\r\nOK")
    assert answers["body"].startswith(b"HTTP/1.1 200") and answers["body"].endswith(b"\r\n\r\nOK")
    assert db_get(server, get_tf(slow_tf)) == (200, slow_res)
    expected[slow_tf] = slow_res
    assert_consistent(server.path, expected)


def test_many_idle_connections(server):
    sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    try:
        assert healthy(server)
        assert db_put(server, put_tf(TF, RES)) == (200, "OK")
        assert db_get(server, get_tf(TF)) == (200, RES)
    finally:
        for s in sockets:
            s.close()
    assert healthy(server)


# ---- 6. conflicts under concurrency ------------------------------------------------------

def race(server, clients: int, request_of) -> list[tuple[int, str]]:
    """Every client PUTs its request (request_of(n)) at the same moment, on
    a connection opened beforehand; their answers, in client order."""
    start = threading.Barrier(clients)

    def client(n):
        conn = connect(server)
        try:
            conn.connect()
            body = request_of(n)
            start.wait(30)
            return call(conn, "PUT", body)
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return list(pool.map(client, range(clients)))


def test_conflicting_writers(server):
    """Many clients write different results for one transformation at once:
    exactly one wins, all others get a 409, and the winner is what is read."""
    expected = {}
    for round_ in range(5):
        tf = tf_checksum("conflict", round_)
        results = [tf_checksum("conflict", round_, n) for n in range(40)]
        answers = race(server, 40, lambda n, tf=tf, results=results: put_tf(tf, results[n]))
        winners = [n for n, answer in enumerate(answers) if answer == (200, "OK")]
        assert len(winners) == 1, answers
        losers = [answer for answer in answers if answer != (200, "OK")]
        assert all(status == 409 and text.startswith("ERROR: ") for status, text in losers), losers
        winner = results[winners[0]]
        assert db_get(server, get_tf(tf)) == (200, winner)
        # The loser's value is refused later too; the winner's is accepted again.
        assert db_put(server, put_tf(tf, results[winners[0] - 1]))[0] == 409
        assert db_put(server, put_tf(tf, winner)) == (200, "OK")
        expected[tf] = winner
    assert_consistent(server.path, expected)


def test_conflicting_batch_writers(server):
    """Batches that share one transformation with different results: in
    each batch only that pair is refused; the batch's other pairs are stored."""
    shared = tf_checksum("shared")
    clients = 30

    def batch(n):
        return {"type": "transformations",
                "value": [[tf_checksum("own", n), tf_checksum("own", n, "r")],
                          [shared, tf_checksum("shared", n)],
                          [tf_checksum("own2", n), tf_checksum("own2", n, "r")]]}

    answers = race(server, clients, batch)
    assert all(status == 200 for status, _ in answers), answers
    outcomes = [json.loads(text) for _, text in answers]
    winners = [n for n, outcome in enumerate(outcomes) if outcome == [None, None, None]]
    assert len(winners) == 1, outcomes
    for n, outcome in enumerate(outcomes):
        if n != winners[0]:
            assert outcome[0] is None and outcome[2] is None, outcome
            assert outcome[1].startswith("ERROR: ") and shared in outcome[1], outcome
    expected = {tf_checksum(kind, n): tf_checksum(kind, n, "r") for kind in ("own", "own2") for n in range(clients)}
    expected[shared] = tf_checksum("shared", winners[0])
    assert db_get(server, get_tf(shared)) == (200, expected[shared])
    assert_consistent(server.path, expected)


def test_conflicting_execution_records(server):
    """Execution records for one transformation with different results:
    one is stored (with its transformation), the others are 409s."""
    tf = tf_checksum("record")
    results = [tf_checksum("record", n) for n in range(30)]
    answers = race(server, 30, lambda n: metadata(tf, results[n]))
    winners = [n for n, answer in enumerate(answers) if answer == (200, "OK")]
    assert len(winners) == 1, answers
    assert all(status == 409 and text.startswith("ERROR: ")
               for n, (status, text) in enumerate(answers) if n != winners[0]), answers
    winner = results[winners[0]]
    assert db_get(server, get_tf(tf)) == (200, winner)
    status, text = db_get(server, {"type": "metadata", "checksum": tf})
    assert status == 200 and json.loads(text)["result_checksum"] == winner
    assert_consistent(server.path, {tf: winner}, {tf: winner})


# ---- 7. load -------------------------------------------------------------------------------

@pytest.mark.slow
def test_load(server):
    """Mixed traffic from 8 client threads for LOAD_SECONDS: single and batch
    writes and lookups, execution records, and refused conflicting writes;
    zero unexpected answers and a consistent file at the end."""
    stop = time.monotonic() + LOAD_SECONDS
    errors: list[str] = []
    counts = [0] * 8
    lock = threading.Lock()
    expected: dict[str, str] = {}
    records: dict[str, str] = {}
    known: list[str] = []  # transformations whose write was answered

    def stored(pairs, with_record=False):
        with lock:
            for tf, res in pairs:
                expected[tf] = res
                known.append(tf)
                if with_record:
                    records[tf] = res

    def worker(n):
        rng = random.Random(n)
        conn = connect(server)

        def expect(got, want, what):
            if got != want:
                errors.append(f"{what}: {got!r:.300} != {want!r:.300}")

        while time.monotonic() < stop:
            action = rng.random()
            try:
                with lock:
                    sample = rng.sample(known, min(len(known), 100))
                if action < 0.25 or not sample:
                    tf, res = os.urandom(32).hex(), os.urandom(32).hex()
                    expect(call(conn, "PUT", put_tf(tf, res)), (200, "OK"), "PUT")
                    stored([(tf, res)])
                elif action < 0.45:
                    tf = sample[0]
                    expect(call(conn, "GET", get_tf(tf)), (200, expected[tf]), "GET")
                    expect(call(conn, "GET", get_tf(os.urandom(32).hex())), (404, "ERROR: Unknown key"), "GET unknown")
                elif action < 0.6:
                    pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(rng.randint(1, 200))]
                    repeats = [(tf, expected[tf]) for tf in sample[:5]]  # the same result again is fine
                    status, text = call(conn, "PUT", {"type": "transformations", "value": pairs + repeats})
                    expect((status, json.loads(text) if status == 200 else text),
                           (200, [None] * (len(pairs) + len(repeats))), "PUT batch")
                    stored(pairs)
                elif action < 0.75:
                    unknown = os.urandom(32).hex()
                    status, text = call(conn, "GET", {"type": "transformations", "checksums": sample + [unknown]})
                    expect((status, json.loads(text) if status == 200 else text),
                           (200, [expected[tf] for tf in sample] + [None]), "GET batch")
                elif action < 0.9:
                    tf, res = os.urandom(32).hex(), os.urandom(32).hex()
                    body = metadata(tf, res)
                    expect(call(conn, "PUT", body), (200, "OK"), "PUT metadata")
                    stored([(tf, res)], with_record=True)
                    status, text = call(conn, "GET", {"type": "metadata", "checksum": tf})
                    expect((status, json.loads(text) if status == 200 else text), (200, body["value"]),
                           "GET metadata")
                    expect(call(conn, "GET", get_tf(tf)), (200, res), "GET after metadata")
                else:
                    tf = sample[0]
                    status, text = call(conn, "PUT", put_tf(tf, os.urandom(32).hex()))
                    expect((status, text.startswith("ERROR: ")), (409, True), "PUT conflict")
                counts[n] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                errors.append(repr(exc))
                conn.close()
                conn = connect(server)
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) > 100 and min(counts) > 0, counts
    assert healthy(server)
    assert_consistent(server.path, expected, records)
