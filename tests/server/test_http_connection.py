"""The HTTP layer on a real loopback socket: keep-alive, pipelining, chunked
and streamed bodies, 100-continue, sendfile, limits, slow and vanishing
clients. The server runs in a thread with its own event loop."""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import os
import socket
import threading
import time

import pytest

from seamless.server.http import FileBody, HttpApp, Request, Response, StreamBody, text
from seamless.server.http import connection as connection_module
from server_process import ThreadedServer


class EchoApp(HttpApp):
    def __init__(self, tmp_path):
        super().__init__()
        self.uploads: list[tuple[str, int]] = []
        self.failed_uploads: list[str] = []
        self.big = tmp_path / "big.bin"
        self.big.write_bytes(os.urandom(5 << 20))
        r = self.router
        r.add("GET", "/hello", lambda req: text("hello"))
        r.add("PUT", "/small", lambda req: text(str(len(req.body))), max_body=1000)
        r.add("PUT", "/upload", self.upload, streaming=True, max_body=100)
        r.add("PUT", "/refuse", self.refuse, streaming=True, max_body=0)
        r.add("GET", "/big", self.big_file)
        r.add("GET", "/chunks", self.chunks)
        r.add("GET", "/slow", self.slow)
        r.add("GET", "/boom", self.boom)

    async def upload(self, request: Request) -> Response:
        hasher, size = hashlib.sha256(), 0
        if request.body is not None:
            hasher.update(request.body)
            size = len(request.body)
        else:
            try:
                async for piece in request.stream:
                    hasher.update(piece)
                    size += len(piece)
                    await asyncio.sleep(0)
            except ConnectionError:
                self.failed_uploads.append(request.path)
                raise
        self.uploads.append((hasher.hexdigest(), size))
        return text(f"{hasher.hexdigest()} {size}")

    def refuse(self, request: Request) -> Response:
        return text("no", 400)

    def big_file(self, request: Request) -> Response:
        fd = os.open(self.big, os.O_RDONLY)
        return Response(200, FileBody(fd, 0, os.fstat(fd).st_size))

    def chunks(self, request: Request) -> Response:
        async def pieces():
            for i in range(5):
                yield b"%d" % i * 1000
        return Response(200, StreamBody(pieces()))

    async def slow(self, request: Request) -> Response:
        await asyncio.sleep(0.3)
        return text("slow")

    def boom(self, request: Request) -> Response:
        raise RuntimeError("handler bug")


@pytest.fixture
def server(tmp_path):
    app = EchoApp(tmp_path)
    with ThreadedServer(app) as threaded:
        app.port = threaded.port
        yield app


def raw_exchange(port, data: bytes, read_until_close=True, timeout=10) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if not read_until_close:
            return s.recv(65536)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def client(server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)


def test_keep_alive_many_requests(server):
    conn = client(server)
    for _ in range(100):
        conn.request("GET", "/hello")
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"hello")
        assert response.getheader("Date")


def test_pipelining_answers_in_order(server):
    requests = b"".join([
        b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /small HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
        b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
    ])
    answer = raw_exchange(server.port, requests)
    bodies = [part.split(b"\r\n\r\n", 1)[1].split(b"HTTP/1.1")[0] for part in answer.split(b"HTTP/1.1 ")[1:]]
    assert bodies == [b"slow", b"hello", b"3", b"hello"]


def test_streamed_upload_content_length(server):
    data = os.urandom(7 << 20)
    conn = client(server)
    conn.request("PUT", "/upload", body=data)
    response = conn.getresponse()
    assert response.read().decode() == f"{hashlib.sha256(data).hexdigest()} {len(data)}"


def test_chunked_upload(server):
    data = os.urandom(3 << 20)
    conn = client(server)
    conn.request("PUT", "/upload", body=iter([data[:1000], data[1000:2 << 20], data[2 << 20:]]),
                 encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
    assert conn.getresponse().read().decode() == f"{hashlib.sha256(data).hexdigest()} {len(data)}"
    conn.request("GET", "/hello")  # the connection is still in sync
    assert conn.getresponse().read() == b"hello"


def test_expect_100_continue(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"PUT /upload HTTP/1.1\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(b"x" * 500)
        assert b"200 OK" in s.recv(1000)


def test_small_body_limit_is_413(server):
    answer = raw_exchange(server.port, b"PUT /small HTTP/1.1\r\nContent-Length: 5000\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 413")


def test_answer_before_body_closes_connection(server):
    answer = raw_exchange(server.port, b"PUT /refuse HTTP/1.1\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
    assert answer.startswith(b"HTTP/1.1 400") and b"Connection: close" in answer


def test_sendfile(server):
    conn = client(server)
    conn.request("GET", "/big")
    response = conn.getresponse()
    assert response.read() == server.big.read_bytes()
    conn.request("HEAD", "/big")
    response = conn.getresponse()
    assert response.getheader("Content-Length") == str(5 << 20) and response.read() == b""
    conn.request("GET", "/hello")
    assert conn.getresponse().read() == b"hello"


def test_chunked_response(server):
    conn = client(server)
    conn.request("GET", "/chunks")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"".join(b"%d" % i * 1000 for i in range(5))


def test_errors_and_limits(server):
    assert raw_exchange(server.port, b"GET /nowhere HTTP/1.1\r\n\r\n", False).startswith(b"HTTP/1.1 404")
    assert raw_exchange(server.port, b"POST /hello HTTP/1.1\r\n\r\n", False).startswith(b"HTTP/1.1 405")
    assert raw_exchange(server.port, b"GET /boom HTTP/1.1\r\n\r\n", False).startswith(b"HTTP/1.1 500")
    huge = b"GET /hello HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n"
    assert raw_exchange(server.port, huge).startswith(b"HTTP/1.1 431")
    assert raw_exchange(server.port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    smuggle = b"PUT /small HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\nabc"
    assert raw_exchange(server.port, smuggle).startswith(b"HTTP/1.1 400")
    conn = client(server)  # still serving
    conn.request("GET", "/hello")
    assert conn.getresponse().read() == b"hello"


def test_disconnect_mid_upload_reaches_the_handler(server):
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(b"PUT /upload HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 200000)
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while not server.failed_uploads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.failed_uploads == ["/upload"]
    assert not server.uploads


def test_slow_head_is_timed_out(server, monkeypatch):
    monkeypatch.setattr(connection_module, "HEAD_TIMEOUT", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /hel")
        other = client(server)  # others are served meanwhile
        other.request("GET", "/hello")
        assert other.getresponse().read() == b"hello"
        answer = b""
        while chunk := s.recv(1000):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408")


def test_stalled_body_is_dropped(server, monkeypatch):
    monkeypatch.setattr(connection_module, "BODY_TIMEOUT", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"PUT /upload HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + b"x" * 200)
        assert s.recv(1000) == b""  # closed by the server
    deadline = time.monotonic() + 5
    while not server.failed_uploads and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.failed_uploads == ["/upload"]


def test_slow_client_trickling_a_body_is_served(server):
    data = os.urandom(20000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"PUT /upload HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(data))
        for i in range(0, len(data), 2000):
            s.sendall(data[i:i + 2000])
            time.sleep(0.05)
        assert hashlib.sha256(data).hexdigest().encode() in s.recv(1000)


def test_upload_memory_is_bounded(server):
    """A client that sends faster than the handler reads is paused."""
    from seamless.server.http.streams import HIGH_WATER

    seen = []

    async def lazy(request):
        await asyncio.sleep(0.5)  # let the client push as much as it can
        seen.append(request.stream._size)
        size = 0
        async for piece in request.stream:
            size += len(piece)
        return text(str(size))

    server.router.add("PUT", "/lazy", lazy, streaming=True, max_body=0)
    data = b"y" * (64 << 20)
    conn = client(server)
    conn.request("PUT", "/lazy", body=data)
    assert conn.getresponse().read() == str(len(data)).encode()
    assert seen[0] <= HIGH_WATER + (4 << 20)  # one socket read beyond the mark at most


def test_many_concurrent_clients(server):
    results = []

    def one():
        conn = client(server)
        for _ in range(10):
            conn.request("GET", "/hello")
            results.append(conn.getresponse().read())

    threads = [threading.Thread(target=one) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [b"hello"] * 1000
