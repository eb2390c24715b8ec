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
        self.huge = tmp_path / "huge.bin"  # sparse: costs no disk
        with open(self.huge, "wb") as f:
            f.truncate(256 << 20)
        r.add("GET", "/huge", self.huge_file)
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

    def huge_file(self, request: Request) -> Response:
        fd = os.open(self.huge, os.O_RDONLY)
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
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:  # the server answered, then dropped us
                return out
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
        try:
            assert s.recv(1000) == b""  # closed by the server...
        except ConnectionResetError:
            pass  # ... or reset
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


# ---- regressions found in review ---------------------------------------------------

def test_answers_stay_in_order_after_a_streamed_body(server):
    """A chunked upload (streamed, async handler) pipelined with a GET:
    the upload's answer comes first."""
    body = b"hello world"
    request = (b"PUT /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
               + b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n")
    answer = raw_exchange(server.port, request)
    first, second = answer.split(b"HTTP/1.1 ")[1:3]
    assert hashlib.sha256(body).hexdigest().encode() in first and second.endswith(b"hello")


def test_streamed_upload_after_a_paused_backlog(server):
    """Reading paused behind a slow request must resume for the streamed
    upload that follows it."""
    data = os.urandom(3 << 20)
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s:
        s.sendall(b"GET /slow HTTP/1.1\r\n\r\n" + b"PUT /upload HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(data))
        sender = threading.Thread(target=s.sendall, args=(data,))
        sender.start()
        answer = b""
        while answer.count(b"HTTP/1.1 200") < 2:
            answer += s.recv(65536)
        sender.join(10)
    assert hashlib.sha256(data).hexdigest().encode() in answer


def test_no_spurious_408_after_an_async_request_with_a_body(server, monkeypatch):
    monkeypatch.setattr(connection_module, "HEAD_TIMEOUT", 0.5)
    conn = client(server)
    conn.request("PUT", "/upload", body=b"x" * 50)
    assert conn.getresponse().read().endswith(b" 50")
    time.sleep(2.0)
    conn.request("GET", "/hello")
    assert conn.getresponse().read() == b"hello"


def test_tiny_chunks_on_a_buffered_route(server):
    body = b"".join(b"1\r\nz\r\n" for _ in range(900)) + b"0\r\n\r\n"
    answer = raw_exchange(server.port, b"PUT /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                          b"Connection: close\r\n\r\n" + body)
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"900")
    too_big = b"".join(b"1\r\nz\r\n" for _ in range(1001)) + b"0\r\n\r\n"
    answer = raw_exchange(server.port, b"PUT /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + too_big)
    assert answer.startswith(b"HTTP/1.1 413")


def test_malformed_chunk_in_a_streamed_upload_is_400(server):
    answer = raw_exchange(server.port, b"PUT /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    assert answer.startswith(b"HTTP/1.1 400")


def test_half_closed_client_gets_its_answer(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"GET /slow HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.count(b"HTTP/1.1 200") == 2 and answer.endswith(b"hello")


def test_client_that_stops_reading_is_dropped(server, monkeypatch):
    monkeypatch.setattr(connection_module, "WRITE_TIMEOUT", 1.0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /chunks HTTP/1.1\r\n\r\n" * 2000)  # answers pile up unread
        time.sleep(4)
        s.settimeout(10)
        total = 0
        try:
            while chunk := s.recv(1 << 20):
                total += len(chunk)
        except ConnectionResetError:
            pass
    assert total < 2000 * 5000  # cut off, not all served


def test_sendfile_to_a_client_that_stops_reading(server, monkeypatch):
    from seamless.server.http import streams

    monkeypatch.setattr(streams, "STALL_SECONDS", 0.5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /huge HTTP/1.1\r\n\r\n")
        time.sleep(3)
        got, deadline = 0, time.monotonic() + 20
        try:
            while time.monotonic() < deadline and (chunk := s.recv(1 << 20)):
                got += len(chunk)
        except ConnectionResetError:
            pass
    assert got < 64 << 20
    conn = client(server)
    conn.request("GET", "/hello")
    assert conn.getresponse().read() == b"hello"


def test_stream_longer_than_announced_is_cut(server):
    async def liar(request):
        async def pieces():
            yield b"x" * 100
        return Response(200, StreamBody(pieces(), 10))

    server.router.add("GET", "/liar", liar)
    answer = raw_exchange(server.port, b"GET /liar HTTP/1.1\r\n\r\nGET /hello HTTP/1.1\r\n\r\n")
    assert b"Content-Length: 10" in answer and b"x" * 11 not in answer and b"hello" not in answer


def test_100_continue_only_when_the_body_is_wanted(server):
    # HTTP/1.0 clients never get it.
    with socket.create_connection(("127.0.0.1", server.port), timeout=2) as s:
        s.sendall(b"PUT /upload HTTP/1.0\r\nContent-Length: 500\r\nExpect: 100-continue\r\n\r\n")
        s.settimeout(1)
        with pytest.raises(TimeoutError):
            s.recv(100)
    # A streaming handler that refuses without reading: no 100, just the answer.
    answer = raw_exchange(server.port, b"PUT /refuse HTTP/1.1\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
