"""HttpServer: a listening socket, its connections, and their upkeep.

Once a second the server refreshes its cached ``Date`` header and sweeps
the connections for clients that stalled (see HttpConnection). Shutdown is
graceful: no new connection is accepted, idle ones close at once, busy ones
after their current response, and whatever is left after the grace period
is cut.

An application may serve the listening socket itself instead (its
``make_front``, as the database server's native front does): the server
then accepts nothing and gets the connections the front passes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import socket
import time
from typing import Any

from .app import HttpApp
from .connection import HttpConnection

#: Threads that run sendfile for large responses (each one busy per
#: transfer; slow readers are dropped, see streams.MIN_RATE).
IO_THREADS = 64


class HttpServer:
    def __init__(self, app: HttpApp):
        self.app = app
        self.connections: set[HttpConnection] = set()
        self.io_pool = concurrent.futures.ThreadPoolExecutor(IO_THREADS, thread_name_prefix="sendfile")
        self.date_header = b""
        self._server: asyncio.AbstractServer | None = None
        self.front: Any = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._refresh_date()

    def _refresh_date(self) -> None:
        self.date_header = f"Date: {email.utils.formatdate(usegmt=True)}\r\n".encode()

    def _sweep(self) -> None:
        self._refresh_date()
        now = time.monotonic()
        for connection in list(self.connections):
            connection.check_timeouts(now)
        self._sweeper = asyncio.get_running_loop().call_later(1.0, self._sweep)

    async def start(self, sock: socket.socket) -> None:
        """Serve on an already bound, listening socket."""
        loop = asyncio.get_running_loop()
        self.front = self.app.make_front(self, sock)
        if self.front is not None:
            self.front.start()
        else:
            self._server = await loop.create_server(lambda: HttpConnection(self), sock=sock, backlog=1024)
        self._sweeper = loop.call_later(1.0, self._sweep)

    async def stop(self, grace: float) -> None:
        """Stop accepting, let responses in progress finish (up to grace
        seconds), then close everything."""
        if self._server is not None:
            self._server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        for connection in list(self.connections):
            connection.shut_down()
        if self.front is not None:
            await self.front.stop(grace)
        deadline = time.monotonic() + grace
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection._abort()
        if self._server is not None:
            await self._server.wait_closed()
        self.io_pool.shutdown(wait=False, cancel_futures=True)


def new_event_loop() -> Any:
    """uvloop's loop where it is installed (measured: fewer microseconds per
    request), asyncio's otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
