"""A small, fast HTTP/1.1 load generator for loopback benchmarks.

Both servers of a comparison are driven by this same client, so its own
cost is the same on both sides. It keeps connections alive, prebuilds the
request bytes and parses only what it needs (status line, Content-Length,
chunked bodies), so a single Python thread issues tens of thousands of
requests per second: a fast server is not hidden behind a slow client.

``run(url, requests, concurrency)`` sends every request of the list and
returns the wall time and the responses' status codes; with concurrency > 1
that many connections are kept busy at once from one thread (selectors).

Where a C compiler is found, ``run`` uses the same client written in C
(loadgen.c, built once into benchmarks/build/): it spends a few
microseconds per request where this one spends 20-30, which a server that
answers in less is otherwise measured against. ``native=False`` (or
SEAMLESS_LOAD_CLIENT=python) keeps the Python client.
"""

from __future__ import annotations

import json
import os
import selectors
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Iterable, Sequence
from urllib.parse import urlsplit

import c_tools


def build_request(method: str, path: str, body: bytes | None = None,
                  content_type: str | None = None, host: str = "127.0.0.1") -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
        if content_type:
            lines.append(f"Content-Type: {content_type}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    return head + (body or b"")


def json_request(method: str, path: str, value: object) -> bytes:
    return build_request(method, path, json.dumps(value).encode(), "application/json")


class _Connection:
    """One keep-alive connection and its response parser."""

    def __init__(self, host: str, port: int):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray()

    def send(self, request: bytes) -> None:
        self.sock.sendall(request)

    def _fill(self) -> None:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def response(self, head_only: bool = False) -> tuple[int, bytes]:
        """Block until one whole response is read; (status, body)."""
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                break
            self._fill()
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            lname = name.strip().lower()
            if lname == "content-length":
                length = int(value)
            elif lname == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if head_only:
            return status, b""
        if chunked:
            return status, self._chunked()
        while len(self.buffer) < length:
            self._fill()
        body = bytes(self.buffer[:length])
        del self.buffer[:length]
        return status, body

    def _chunked(self) -> bytes:
        out = bytearray()
        while True:
            while (end := self.buffer.find(b"\r\n")) < 0:
                self._fill()
            size = int(bytes(self.buffer[:end]).split(b";")[0], 16)
            del self.buffer[: end + 2]
            while len(self.buffer) < size + 2:
                self._fill()
            out += self.buffer[:size]
            del self.buffer[: size + 2]
            if size == 0:
                return bytes(out)

    def close(self) -> None:
        self.sock.close()


@dataclass
class LoadResult:
    seconds: float
    statuses: dict[int, int]
    count: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def native_client() -> str | None:
    """The path of the C client, built on first use; None without a compiler
    (or with SEAMLESS_LOAD_CLIENT=python)."""
    if os.environ.get("SEAMLESS_LOAD_CLIENT") == "python":
        return None
    return c_tools.program("loadgen")


def _run_native(binary: str, host: str, port: int, requests: Sequence[bytes], concurrency: int) -> LoadResult:
    with tempfile.NamedTemporaryFile(prefix="loadgen-", suffix=".bin") as file:
        for request in requests:
            file.write(struct.pack("<I", len(request)))
            file.write(request)
        file.flush()
        done = subprocess.run([binary, host, str(port), str(concurrency), file.name],
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise ConnectionError(done.stderr.strip() or f"load client failed ({done.returncode})")
    seconds, count, *counts = done.stdout.split()
    statuses = {int(s): int(n) for s, n in (item.split(":") for item in counts)}
    return LoadResult(float(seconds), statuses, int(count))


def run(url: str, requests: Sequence[bytes], concurrency: int = 1, native: bool | None = None) -> LoadResult:
    """Send every request (keep-alive), concurrency connections at a time,
    with the C client where there is one (native=None), or this one."""
    host, port = _address(url)
    binary = native_client() if native is not False else None
    if native and binary is None:
        raise RuntimeError("the C load client is not available (no C compiler)")
    if binary is not None:
        return _run_native(binary, host, port, requests, concurrency)
    statuses: dict[int, int] = {}
    connections = [_Connection(host, port) for _ in range(concurrency)]
    start = time.perf_counter()
    try:
        if concurrency == 1:
            conn = connections[0]
            for request in requests:
                conn.send(request)
                status, _ = conn.response()
                statuses[status] = statuses.get(status, 0) + 1
        else:
            _run_concurrent(connections, requests, statuses)
    finally:
        seconds = time.perf_counter() - start
        for conn in connections:
            conn.close()
    return LoadResult(seconds, statuses, len(requests))


def _run_concurrent(connections: list[_Connection], requests: Sequence[bytes],
                    statuses: dict[int, int]) -> None:
    selector = selectors.DefaultSelector()
    pending = iter(requests)
    busy = 0
    for conn in connections:
        request = next(pending, None)
        if request is None:
            break
        conn.send(request)
        selector.register(conn.sock, selectors.EVENT_READ, conn)
        busy += 1
    while busy:
        for key, _ in selector.select():
            conn = key.data
            conn._fill()
            # Only whole responses are consumed; a partial one waits for more.
            while _has_whole_response(conn.buffer):
                status, _ = conn.response()
                statuses[status] = statuses.get(status, 0) + 1
                request = next(pending, None)
                if request is None:
                    selector.unregister(conn.sock)
                    busy -= 1
                    break
                conn.send(request)
    selector.close()


def _has_whole_response(buffer: bytearray) -> bool:
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = bytes(buffer[:end]).lower()
    if b"transfer-encoding: chunked" in head:
        return buffer.find(b"\r\n0\r\n\r\n", end) >= 0
    marker = head.find(b"content-length:")
    if marker < 0:
        return True
    length = int(head[marker + 15 : head.find(b"\r\n", marker) if head.find(b"\r\n", marker) > 0 else None])
    return len(buffer) >= end + 4 + length


def one(url: str, request: bytes) -> tuple[int, bytes]:
    """A single request on a fresh connection."""
    conn = _Connection(*_address(url))
    try:
        conn.send(request)
        return conn.response()
    finally:
        conn.close()


def repeat(items: Iterable[bytes], times: int) -> list[bytes]:
    items = list(items)
    return [items[i % len(items)] for i in range(times)]
