"""Servers for the tests: ours as real processes on loopback (started the
way the launcher starts them, so no port is guessed), or an HttpApp in a
thread of the test process; and a small blocking HTTP client for both."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from seamless.server.launch import MODULES, LaunchedServer


class HttpClientMixin:
    """Plain blocking HTTP requests (stdlib), returning (status, body, headers)."""

    url: str

    def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, bytes]:
        status, data, _ = self.request_full(method, path, body, raw, headers, timeout)
        return status, data

    def request_full(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                     headers: dict[str, str] | None = None,
                     timeout: float = 60) -> tuple[int, bytes, dict[str, str]]:
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        all_headers = {"Content-Type": "application/json"} if body is not None else {}
        all_headers.update(headers or {})
        # http.client sends exactly these headers (urllib would add a
        # form Content-Type to every body).
        host, port = self.url.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            connection.request(method, path, body=data, headers=all_headers)
            response = connection.getresponse()
            return response.status, response.read(), dict(response.headers)
        finally:
            connection.close()


class ServerProcess(LaunchedServer, HttpClientMixin):
    """One of our servers (``hashserver`` or ``seamless-database``) in a child
    process, started as the launcher starts it (seamless.server.launch)."""

    def __init__(self, kind: str, args: list[str], cwd: str | os.PathLike[str],
                 env: dict[str, str] | None = None, wait: float = 30.0):
        self.kind = kind
        status_file = Path(cwd) / f".{kind}-{os.getpid()}-{time.monotonic_ns()}.status.json"
        super().__init__([sys.executable, "-m", MODULES[kind], *args], cwd=cwd,
                         env={**os.environ, **(env or {})}, wait=wait, status_file=status_file)

    def rss_bytes(self) -> int:
        """Resident memory of the server process."""
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


class ThreadedServer(HttpClientMixin):
    """An HttpApp served from a thread of this process (its own event loop),
    for tests that need to script or watch the server side."""

    def __init__(self, app: Any):
        import asyncio
        import threading

        from seamless.server.http import HttpServer, new_event_loop
        from seamless.server.ports import bind_listening_socket

        self.app = app
        sock = bind_listening_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = new_event_loop()
        self.http = HttpServer(app)
        ready = threading.Event()

        async def main() -> None:
            self._stop = asyncio.Event()
            await self.http.start(sock)
            ready.set()
            await self._stop.wait()
            await self.http.stop(2.0)

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(main(),), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("the threaded server did not start")

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(10)
        self.loop.close()

    def __enter__(self) -> "ThreadedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
