"""Client behaviour that needs a scripted server: batching, retries of
transient failures only, download verification, decoding, progress."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import aiohttp
import pytest
import zstandard

from seamless.exceptions import ChecksumMismatchError, ConflictError, MalformedRecordError, ReadOnlyStoreError
from seamless.hashserver.app import HashserverApp
from seamless.hashserver.store import BufferStore
from seamless.remote import AsyncBufferClient, AsyncDatabaseClient, BufferClient, DatabaseClient, Policy, RemoteError
from seamless.server.http import HttpApp, Response, text
from server_process import ServerProcess, ThreadedServer

FAST_RETRIES = Policy(backoff=0.01)


class CountingHashserver(HashserverApp):
    """Our hashserver, counting the requests it gets per (method, route)."""

    def __init__(self, directory):
        super().__init__(BufferStore(directory, durability="none"), writable=True)
        self.calls: dict[tuple[str, str], int] = {}

    def call(self, request, route):
        key = (request.method, route.pattern)
        self.calls[key] = self.calls.get(key, 0) + 1
        return super().call(request, route)


class Scripted(HttpApp):
    """A hashserver or database server that answers every request from a
    list of canned responses, in turn (the last one from then on)."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)
        self.count = 0
        self.router.add("GET", "/{checksum}", self.next)
        self.router.add("PUT", "/{checksum}", self.next)
        self.router.add("GET", "/has", self.next)
        self.router.add("GET", "/", self.next)  # the database protocol
        self.router.add("PUT", "/", self.next)

    def next(self, request):
        self.count += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def test_put_many_asks_first_and_sends_only_what_is_missing(tmp_path):
    app = CountingHashserver(tmp_path / "b")
    data = [os.urandom(1000 + i) for i in range(40)]
    for d in data[:25]:
        app.store.put(d)
    with ThreadedServer(app) as srv, BufferClient(srv.url) as client:
        client.put_many(data)
        assert app.calls[("GET", "/has-now")] == 1
        assert app.calls[("PUT", "/{checksum}")] == 15
        client.put_many(data)
        assert app.calls[("GET", "/has-now")] == 2 and app.calls[("PUT", "/{checksum}")] == 15


def test_has_is_batched(tmp_path):
    app = CountingHashserver(tmp_path / "b")
    with ThreadedServer(app) as srv, BufferClient(srv.url) as client:
        keys = [os.urandom(32).hex() for _ in range(25_000)]
        assert client.has(keys) == [False] * 25_000
        assert app.calls[("GET", "/has")] == 3  # 10,000 per request


def test_transient_failures_are_retried(tmp_path):
    data = b"finally"
    cs = hashlib.sha256(data).hexdigest()
    app = Scripted([text("busy", 503), text("bad gateway", 502), Response(200, data)])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        assert client.get(cs) == data
        assert app.count == 3


def test_client_errors_are_not_retried():
    app = Scripted([text("nope", 400)])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match="HTTP 400"):
            client.get("ab" * 32)
        assert app.count == 1
    app = Scripted([text("bug", 500)])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match="HTTP 500"):
            client.put(b"x")
        assert app.count == 1


def test_retries_give_up():
    app = Scripted([text("busy", 503)])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        what = f"GET {srv.url}/{'ab' * 32}: HTTP 503: busy"
        with pytest.raises(RemoteError, match=f"{what} .after {FAST_RETRIES.attempts} attempts"):
            client.get("ab" * 32)
        assert app.count == FAST_RETRIES.attempts


def test_unreachable_server_is_retried_then_reported():
    """A RemoteError that names the server, for every client and operation."""
    url = "http://127.0.0.1:9"
    with BufferClient(url, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match=f"GET {url}/{'ab' * 32}: Cannot connect") as caught:
            client.get("ab" * 32)
        assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
        with pytest.raises(RemoteError, match=f"GET {url}/has-now: Cannot connect"):
            client.put_many([b"x"])
        assert client.healthcheck() is False
    with DatabaseClient(url, policy=FAST_RETRIES) as db:
        with pytest.raises(RemoteError, match=f"GET {url}/ .transformation.: Cannot connect"):
            db.get_transformation("ab" * 32)
        assert db.healthcheck() is False


def test_a_server_that_never_answers_is_a_remote_error():
    """Timeouts too: the client gives up with a RemoteError, not the HTTP
    library's or asyncio's own exception."""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the kernel does), never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        policy = Policy(base=0.3, stall=0.3, attempts=2, backoff=0.01)
        with BufferClient(url, policy=policy) as client:
            with pytest.raises(RemoteError, match="timed out .after 2 attempts"):
                client.has(["ab" * 32])


def test_a_lying_server_is_caught():
    data = b"the truth"
    app = Scripted([Response(200, b"a lie!!!!")])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        with pytest.raises(ChecksumMismatchError):
            client.get(hashlib.sha256(data).hexdigest())
        assert app.count == 2  # asked once more, in case it was the transfer


@pytest.mark.parametrize("encoding, pack", [
    ("gzip", gzip.compress), ("zstd", lambda d: zstandard.ZstdCompressor().compress(d))])
def test_compressed_answers_are_decoded(encoding, pack):
    data = os.urandom(1000) * 50
    app = Scripted([Response(200, pack(data), {"Content-Encoding": encoding})])
    with ThreadedServer(app) as srv, BufferClient(srv.url) as client:
        assert client.get(hashlib.sha256(data).hexdigest()) == data


def test_progress_and_streaming(tmp_path):
    app = CountingHashserver(tmp_path / "b")
    data = os.urandom((5 << 20) + 7)
    with ThreadedServer(app) as srv, BufferClient(srv.url) as client:
        up, down = [], []
        cs = client.put(data, progress=lambda done, total: up.append((done, total)))
        assert up[-1] == (len(data), len(data)) and len(up) >= 5
        assert client.get(cs, progress=lambda done, total: down.append((done, total))) == data
        assert down[-1] == (len(data), len(data))


def test_timeouts_scale_with_size():
    policy = Policy()
    small, big = policy.timeout(0), policy.timeout(10 << 30)
    assert small.total == policy.base and big.total > 10_000
    assert small.sock_read == big.sock_read == policy.stall
    assert policy.download_timeout().total is None  # set by the answer's size instead


class Trickle:
    """A raw HTTP server on loopback that answers every GET with a head
    announcing `size` bytes, then sends them `piece` bytes at a time with a
    pause between pieces (a slow link that never stalls)."""

    def __init__(self, data: bytes, piece: int, pause: float, chunked: bool = False):
        self.data, self.piece, self.pause, self.chunked = data, piece, pause, chunked
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            try:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                length = "Transfer-Encoding: chunked" if self.chunked else f"Content-Length: {len(self.data)}"
                conn.sendall(f"HTTP/1.1 200 OK\r\n{length}\r\n\r\n".encode())
                for start in range(0, len(self.data), self.piece):
                    if self.stopping.is_set():
                        return
                    piece = self.data[start:start + self.piece]
                    conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if self.chunked else piece)
                    time.sleep(self.pause)
                if self.chunked:
                    conn.sendall(b"0\r\n\r\n")
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.listener.close()


@pytest.mark.parametrize("chunked", [False, True])
def test_a_slow_download_is_held_to_its_size(chunked):
    """200 KiB at about 20 KiB/s, never stalling: with a minimum rate of
    100 KiB/s the download gives up after about base + 2 s, with or
    without a Content-Length, where the stall limit alone would wait for
    all of it."""
    data = os.urandom(200 << 10)
    policy = Policy(base=0.5, min_rate=100 << 10, stall=30, attempts=1)
    with Trickle(data, 2 << 10, 0.1, chunked) as srv, BufferClient(srv.url, policy=policy) as client:
        started = time.monotonic()
        with pytest.raises(RemoteError, match="timed out: the download took more than"):
            client.get(hashlib.sha256(data).hexdigest())
        assert time.monotonic() - started < 6


def test_a_download_within_its_time_completes():
    data = os.urandom(64 << 10)
    policy = Policy(base=5, min_rate=100 << 10, attempts=1)  # 5.6 s allowed, about 0.3 s needed
    with Trickle(data, 8 << 10, 0.03) as srv, BufferClient(srv.url, policy=policy) as client:
        assert client.get(hashlib.sha256(data).hexdigest()) == data


def test_async_client_concurrent_use(tmp_path):
    app = CountingHashserver(tmp_path / "b")
    with ThreadedServer(app) as srv:
        async def main():
            async with AsyncBufferClient(srv.url, concurrency=4) as client:
                data = [os.urandom(2000) for _ in range(100)]
                checksums = await asyncio.gather(*(client.put(d) for d in data))
                got = await asyncio.gather(*(client.get(c) for c in checksums))
                assert got == data

        asyncio.run(main())


def test_database_client_batches_and_conflicts(tmp_path):
    with ServerProcess("seamless-database", [str(tmp_path / "s.db"), "--writable"], tmp_path) as db, \
            DatabaseClient(db.url) as client:
        pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(12_000)]  # three batches
        assert client.set_transformations(pairs) == [None] * len(pairs)
        assert [c.hex() for c in client.get_transformations([tf for tf, _ in pairs])] == [r for _, r in pairs]
        with pytest.raises(ConflictError):
            client.set_transformation(pairs[0][0], os.urandom(32).hex())
        status, answer = client.request("GET", {"type": "protocol"})
        assert (status, json.loads(answer)) == (200, ["seamless", "database", "2.2"])


class Gauge(HttpApp):
    """Answers GET /{checksum} with `data` and a database GET / with
    `result`, each after a short pause, counting the requests in flight at
    once and the client connections they came on (by the peer's port)."""

    def __init__(self, data: bytes = b"", result: str = ""):
        super().__init__()
        self.data, self.result = data, result
        self.in_flight = self.most = self.count = 0
        self.peers: set = set()
        self.router.add("GET", "/{checksum}", lambda request: self._answer(request, self.data))
        self.router.add("GET", "/", lambda request: self._answer(request, self.result.encode()))

    async def _answer(self, request, body: bytes):
        self.peers.add(request.peer)
        self.count += 1
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.02)
        self.in_flight -= 1
        return Response(200, body)


def test_buffer_client_pools_connections_and_bounds_concurrency():
    data = b"pooled"
    app = Gauge(data=data)
    cs = hashlib.sha256(data).hexdigest()
    with ThreadedServer(app) as srv:
        async def main():
            async with AsyncBufferClient(srv.url, concurrency=3) as client:
                for _ in range(2):  # the second round reuses the first round's connections
                    assert await asyncio.gather(*(client.get(cs) for _ in range(30))) == [data] * 30

        asyncio.run(main())
    assert app.count == 60 and app.most == 3  # all three slots used, never a fourth
    assert len(app.peers) == 3  # keep-alive: 60 requests on three connections


def test_database_client_pools_connections_and_bounds_concurrency():
    result = "cd" * 32
    app = Gauge(result=result)
    with ThreadedServer(app) as srv:
        async def main():
            async with AsyncDatabaseClient(srv.url, concurrency=4) as client:
                for _ in range(2):
                    got = await asyncio.gather(*(client.get_transformation("ab" * 32) for _ in range(40)))
                    assert [c.hex() for c in got] == [result] * 40

        asyncio.run(main())
    assert app.count == 80 and app.most == 4
    assert len(app.peers) == 4


def test_database_client_retries_transient_failures_only():
    result = "cd" * 32
    app = Scripted([text("busy", 503), text("bad gateway", 502), text("gone", 504), text(result, 200)])
    with ThreadedServer(app) as srv, DatabaseClient(srv.url, policy=FAST_RETRIES) as client:
        assert client.get_transformation("ab" * 32).hex() == result
        assert app.count == 4
    for answer, error in [(text("ERROR: Malformed request", 400), MalformedRecordError),
                          (text("ERROR: Database server is read-only", 405), ReadOnlyStoreError),
                          (text("Internal Server Error", 500), RemoteError)]:
        app = Scripted([answer])
        with ThreadedServer(app) as srv, DatabaseClient(srv.url, policy=FAST_RETRIES) as client:
            with pytest.raises(error):
                client.set_transformation("ab" * 32, "cd" * 32)
            assert app.count == 1, answer.status
    app = Scripted([text("busy", 503)])
    with ThreadedServer(app) as srv, DatabaseClient(srv.url, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match=f"HTTP 503: busy .after {FAST_RETRIES.attempts} attempts"):
            client.get_transformation("ab" * 32)
        assert app.count == FAST_RETRIES.attempts


class WithoutHasNow(CountingHashserver):
    """Our hashserver as an older one, which has no /has-now."""

    def has_now(self, request):
        return Response(404, b'{"detail":"Not Found"}', content_type="application/json")


def test_put_many_uploads_a_promised_buffer_to_a_server_without_has_now(tmp_path):
    """There /has counts promises: a promised buffer must still be sent."""
    app = WithoutHasNow(tmp_path / "b")
    data = [os.urandom(100) for _ in range(5)]
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        client.promise(hashlib.sha256(data[0]).hexdigest())
        client.put_many(data)
        assert app.calls[("PUT", "/{checksum}")] == 5
        assert [client.get(hashlib.sha256(d).hexdigest()) for d in data] == data


def test_an_answer_of_the_wrong_length_is_an_error():
    app = Scripted([Response(200, b"[]", content_type="application/json")])
    with ThreadedServer(app) as srv, BufferClient(srv.url, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match="not a list of 2 values"):
            client.has(["ab" * 32, "cd" * 32])


class Hasty:
    """A raw server that answers every PUT with 201 as soon as its head has
    arrived, without reading the body (as the reference does for a buffer
    it has), and keeps the connection open."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(65536)
            conn.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        self.listener.close()
        for conn in self.connections:
            conn.close()


def test_upload_progress_ends_at_the_total_when_the_server_answers_early(tmp_path):
    size = 40 << 20
    data = os.urandom(size)
    (tmp_path / "f").write_bytes(data)
    server = Hasty()
    try:
        with BufferClient(server.url, policy=Policy(attempts=1)) as client:
            for upload in (lambda p: client.put(data, progress=p), lambda p: client.put_file(tmp_path / "f", progress=p)):
                calls: list = []
                upload(lambda done, total, calls=calls: calls.append((done, total)))
                assert calls[-1] == (size, size)
    finally:
        server.close()


class SlowPuts(HttpApp):
    """Nothing is stored (/has-now: all false); the first PUT fails at once,
    the others take 0.3 s each. Counts the PUTs that arrive."""

    def __init__(self):
        super().__init__()
        self.puts = 0
        self.router.add("GET", "/has-now", lambda request: Response(
            200, json.dumps([False] * len(json.loads(request.body))).encode(), content_type="application/json"))
        self.router.add("PUT", "/{checksum}", self.put)

    async def put(self, request):
        self.puts += 1
        if self.puts == 1:
            return text("bug", 500)
        await asyncio.sleep(0.3)
        return Response(200, b"OK")


def test_a_failed_put_many_stops_its_other_uploads():
    app = SlowPuts()
    with ThreadedServer(app) as srv, BufferClient(srv.url, concurrency=4, policy=FAST_RETRIES) as client:
        with pytest.raises(RemoteError, match="HTTP 500"):
            client.put_many([os.urandom(10) for _ in range(40)])
        # Up to four were on their way when the first failed (one may reach the
        # server just after); were the rest not cancelled, more would have begun
        # within a second, each of the others taking 0.3 s.
        time.sleep(1.0)
        assert app.puts <= 4


def test_two_downloads_to_one_path_at_once(tmp_path):
    app = CountingHashserver(tmp_path / "b")
    data = os.urandom(300_000)
    target = tmp_path / "out"
    with ThreadedServer(app) as srv:
        async def main():
            async with AsyncBufferClient(srv.url) as client:
                cs = await client.put(data)
                await asyncio.gather(client.get_to_file(cs, target), client.get_to_file(cs, target))

        asyncio.run(main())
    assert target.read_bytes() == data and sorted(os.listdir(tmp_path)) == ["b", "out"]


def test_ctrl_c_stops_a_blocking_download_and_leaves_no_partial_file(tmp_path):
    data = os.urandom(400 << 10)
    target = tmp_path / "out"
    with Trickle(data, 4 << 10, 0.05) as srv, BufferClient(srv.url) as client:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))  # a real Ctrl-C
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                client.get_to_file(hashlib.sha256(data).hexdigest(), target)
        finally:
            timer.cancel()
    assert os.listdir(tmp_path) == []


def test_an_empty_batch_teaches_the_client_nothing_about_the_server():
    """Against a server without batch requests, a later batch still falls back."""
    result = "cd" * 32
    app = Scripted([text("ERROR: Malformed request", 400), text(result, 200)])
    with ThreadedServer(app) as srv, DatabaseClient(srv.url, policy=FAST_RETRIES) as client:
        assert client.set_transformations([]) == [] and client.get_transformations([]) == []
        assert app.count == 0
        assert [c.hex() for c in client.get_transformations(["ab" * 32])] == [result]


TWO_LOOPS = """
import asyncio, sys, threading
from seamless.remote import AsyncBufferClient, AsyncDatabaseClient
buffers, results = AsyncBufferClient(sys.argv[1]), AsyncDatabaseClient(sys.argv[2])
cs = asyncio.run(buffers.put(b"abc"))
for _ in range(3):  # each asyncio.run is a new event loop
    print(asyncio.run(buffers.get(cs)), asyncio.run(results.get_transformation(cs)))
failed = []

def in_a_thread():  # two loops at once, each in its own thread
    async def many():
        for _ in range(100):
            if await buffers.get(cs) != b"abc" or await results.get_transformation(cs) is not None:
                failed.append("wrong answer")
    try:
        asyncio.run(many())
    except Exception as exc:
        failed.append(repr(exc))

threads = [threading.Thread(target=in_a_thread) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("failed:", failed)
asyncio.run(buffers.close())
asyncio.run(results.close())
"""


def test_an_async_client_serves_one_event_loop_after_another(tmp_path):
    """It keeps a session for each loop, closed as that loop shuts down: no
    "Event loop is closed" (one loop after another), no "Session is closed"
    (two at once, in two threads), and nothing left unclosed to complain
    about."""
    with ServerProcess("hashserver", [str(tmp_path / "b"), "--writable"], tmp_path) as hs, \
            ServerProcess("seamless-database", [str(tmp_path / "s.db"), "--writable"], tmp_path) as db:
        run = subprocess.run([sys.executable, "-W", "default", "-X", "dev", "-c", TWO_LOOPS, hs.url, db.url],
                             capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["b'abc' None"] * 3 + ["failed: []"]
    assert run.stderr == ""
