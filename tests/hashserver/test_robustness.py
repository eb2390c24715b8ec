"""The hashserver under abuse: malformed and oversized requests, clients that
vanish mid-upload, 100 concurrent clients, slow clients, and a bounded load
test. After each, the server still serves and the folder holds only whole,
correct buffers."""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import http.client
import os
import random
import socket
import threading
import time

import pytest

from seamless.hashserver import BufferStore
from seamless.server.http.parser import MAX_HEAD
from server_process import ServerProcess

#: Seconds of the load test (a few minutes in a full run; short by default).
LOAD_SECONDS = float(os.environ.get("SEAMLESS_LOAD_SECONDS", "20"))


@pytest.fixture
def server(tmp_path):
    with ServerProcess("hashserver", [str(tmp_path / "buffers"), "--writable"], tmp_path) as srv:
        srv.directory = tmp_path / "buffers"
        yield srv
        assert srv.process.poll() is None, "the server died"


def raw(server, data: bytes, timeout=10) -> bytes:
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


def healthy(server) -> bool:
    return server.request("GET", "/healthcheck") == (200, b"OK")


def leftovers(directory) -> list[str]:
    tmp = directory / ".tmp"
    return sorted(os.listdir(tmp)) if tmp.exists() else []


def assert_forgotten(server, cs: str) -> None:
    """Nothing is left of an upload whose client went away: no temporary
    file, and /has says false. The server learns of a disconnect a moment
    later (until then the upload is "in progress" for /has)."""
    def gone():
        return not leftovers(server.directory) and server.request("GET", "/has", [cs]) == (200, b"[false]")

    deadline = time.monotonic() + 5
    while not gone() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert leftovers(server.directory) == []
    assert server.request("GET", "/has", [cs]) == (200, b"[false]")


@pytest.mark.parametrize("junk, status", [
    (b"\x00\x01\x02\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 505),
    (b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n", 431),  # a head over 16 KiB, in its first line
    (b"GET /healthcheck HTTP/1.1\r\n" + b"X-Big: " + b"b" * 100000 + b"\r\n\r\n", 431),
    (b"PUT /" + b"ab" * 32 + b" HTTP/1.1\r\nContent-Length: x\r\n\r\n", 400),
    (b"PUT /" + b"ab" * 32 + b" HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
])
def test_garbage_and_oversized_requests(server, junk, status):
    answer = raw(server, junk)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:100]
    assert healthy(server)
    assert not leftovers(server.directory)


def test_a_broken_request_is_answered_before_the_connection_closes(server):
    """After the answer to a broken request the server closes its side and
    reads (and drops) what the client still sends, for a moment: the client
    reads the whole answer, and its further sending meets no reset."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /healthcheck HTTP/1.1\r\nX-Big: " + b"b" * (MAX_HEAD + 1000))  # the head never ends
        answer = b""
        while chunk := s.recv(65536):  # until the server's end of the answer
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:100]
        for _ in range(20):  # still read on the other side: no ConnectionResetError/BrokenPipeError
            s.sendall(b"b" * 10_000)
            time.sleep(0.01)
    assert healthy(server)


def test_malformed_json_bodies(server):
    for body in [b"[", b"{]", b"\xff\xfe", b"[" * 10000 + b"]" * 10000, b'["' + b"a" * 1000000 + b'"]']:
        status, _ = server.request("GET", "/has", raw=body, headers={"Content-Type": "application/json"})
        assert status == 400
    assert healthy(server)


@pytest.mark.parametrize("size", [8 << 20, 24 << 20])  # read by the event loop / straight from the socket
def test_disconnect_mid_upload_leaves_nothing(server, size):
    data = os.urandom(size)
    cs = hashlib.sha256(data).hexdigest()
    for sent in (0, 1000, 3 << 20, size - 1):  # in the head, the first piece, deep in, one byte short
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(f"PUT /{cs} HTTP/1.1\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data[:sent])
            time.sleep(0.3)
        assert_forgotten(server, cs)
        assert not (server.directory / cs[:2] / cs).exists()
    # ... and the same buffer uploads fine afterwards.
    assert server.request("PUT", f"/{cs}", raw=data) == (200, b"OK")
    assert server.request("GET", f"/{cs}") == (200, data)


def test_disconnect_mid_compressed_upload_leaves_nothing(server):
    """A gzip body cut off: no temp file, no stored buffer (neither the
    compressed file nor a plain one), and the upload works afterwards."""
    data = os.urandom(6 << 20)  # incompressible: the gzip body is as long
    cs = hashlib.sha256(data).hexdigest()
    packed = gzip.compress(data, 1)
    for sent in (0, 1000, len(packed) // 2, len(packed) - 1):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(f"PUT /{cs} HTTP/1.1\r\nContent-Encoding: gzip\r\n"
                      f"Content-Length: {len(packed)}\r\n\r\n".encode() + packed[:sent])
            time.sleep(0.3)
        assert_forgotten(server, cs)
        shard = server.directory / cs[:2]
        assert not (shard.exists() and list(shard.glob(cs + "*")))
    assert server.request("PUT", f"/{cs}", raw=packed, headers={"Content-Encoding": "gzip"}) == (200, b"OK")
    assert server.request("GET", f"/{cs}") == (200, data)


def test_disconnect_mid_download(server):
    data = os.urandom(32 << 20)
    cs = hashlib.sha256(data).hexdigest()
    server.request("PUT", f"/{cs}", raw=data)
    other = os.urandom(8 << 20)
    other_cs = hashlib.sha256(other).hexdigest()
    server.request("PUT", f"/{other_cs}", raw=other)
    # A transfer cut short must never spill into the next connection (which
    # may be given the same descriptor number at once).
    for _ in range(30):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(f"GET /{cs} HTTP/1.1\r\n\r\n".encode())
            s.recv(100000)
        assert server.request("GET", f"/{other_cs}") == (200, other)
    assert server.request("GET", f"/{cs}") == (200, data)


def test_hundred_concurrent_clients(server):
    payloads = [os.urandom(random.randint(0, 300000)) for _ in range(100)]

    def client(data):
        cs = hashlib.sha256(data).hexdigest()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("PUT", f"/{cs}", body=data)
        put = conn.getresponse()
        put.read()
        conn.request("GET", f"/{cs}")
        got = conn.getresponse()
        return put.status, got.status, got.read() == data

    with concurrent.futures.ThreadPoolExecutor(100) as pool:
        results = list(pool.map(client, payloads))
    assert all(put in (200, 201) and get == 200 and same for put, get, same in results)
    assert BufferStore(server.directory, writable=False).verify(quarantine=False).ok


def test_same_buffer_from_many_clients_at_once(server):
    data = os.urandom(2 << 20)
    cs = hashlib.sha256(data).hexdigest()

    def client(_):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        conn.request("PUT", f"/{cs}", body=data)
        return conn.getresponse().status

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(client, range(20)))
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 201}
    assert server.request("GET", f"/{cs}") == (200, data)


def test_slow_clients_do_not_block_others(server):
    """A client trickling its head and one trickling its body are served
    in time while others get answers at full speed."""
    data = os.urandom(50000)
    cs = hashlib.sha256(data).hexdigest()
    answers = {}

    def trickle_head():
        request = b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            for byte in request:
                s.sendall(bytes([byte]))
                time.sleep(0.02)
            answers["head"] = s.recv(1000)

    def trickle_body():
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(f"PUT /{cs} HTTP/1.1\r\nContent-Length: {len(data)}\r\n\r\n".encode())
            for i in range(0, len(data), 5000):
                s.sendall(data[i:i + 5000])
                time.sleep(0.1)
            answers["body"] = s.recv(1000)

    threads = [threading.Thread(target=trickle_head), threading.Thread(target=trickle_body)]
    for t in threads:
        t.start()
    started = time.monotonic()
    for _ in range(50):
        assert healthy(server)
    assert time.monotonic() - started < 5
    for t in threads:
        t.join(30)
    assert answers["head"].startswith(b"HTTP/1.1 200") and answers["body"].startswith(b"HTTP/1.1 200")


def test_large_upload_stalled_mid_body_does_not_block_others(server):
    """A large upload (read straight from the socket by a transfer thread)
    whose client stops halfway holds no one else up; when it goes away,
    nothing is left of it."""
    data = os.urandom(20 << 20)
    cs = hashlib.sha256(data).hexdigest()
    other = os.urandom(20 << 20)
    with socket.create_connection(("127.0.0.1", server.port)) as stalled:
        stalled.sendall(f"PUT /{cs} HTTP/1.1\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                        + data[: 10 << 20])
        time.sleep(0.3)
        assert server.request("PUT", f"/{hashlib.sha256(other).hexdigest()}", raw=other) == (200, b"OK")
        for _ in range(20):
            assert healthy(server)
    assert_forgotten(server, cs)


def test_many_idle_connections(server):
    sockets = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(300)]
    try:
        assert healthy(server)
    finally:
        for s in sockets:
            s.close()
    assert healthy(server)


@pytest.mark.slow
def test_load(server):
    """Mixed traffic from 8 client threads for LOAD_SECONDS: zero errors."""
    stop = time.monotonic() + LOAD_SECONDS
    errors: list[str] = []
    counts = [0] * 8
    known: list[str] = []

    def worker(n):
        rng = random.Random(n)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        while time.monotonic() < stop:
            action = rng.random()
            try:
                if action < 0.4 or not known:
                    data = os.urandom(rng.choice([0, 100, 1024, 50000, 2 << 20]))
                    cs = hashlib.sha256(data).hexdigest()
                    conn.request("PUT", f"/{cs}", body=data)
                    response = conn.getresponse()
                    response.read()
                    if response.status not in (200, 201):
                        errors.append(f"PUT {response.status}")
                    known.append(cs)
                elif action < 0.8:
                    cs = rng.choice(known)
                    conn.request("GET", f"/{cs}")
                    response = conn.getresponse()
                    body = response.read()
                    if response.status != 200 or hashlib.sha256(body).hexdigest() != cs:
                        errors.append(f"GET {response.status}")
                else:
                    batch = rng.sample(known, min(len(known), 100)) + [os.urandom(32).hex()]
                    conn.request("GET", "/has", body=str(batch).replace("'", '"'),
                                 headers={"Content-Type": "application/json"})
                    response = conn.getresponse()
                    if response.status != 200 or response.read() != b"[" + b"true," * (len(batch) - 1) + b"false]":
                        errors.append(f"HAS {response.status}")
                counts[n] += 1
            except Exception as exc:  # noqa: BLE001 - every failure is counted
                errors.append(repr(exc))
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(counts) > 100
    assert leftovers(server.directory) == []
    assert BufferStore(server.directory, writable=False).verify(quarantine=False).ok
