"""The database server's HTTP face: seamless.db behind the reference's protocol.

``GET /healthcheck`` answers ``OK``; every other path takes a JSON request in
the body of a GET or a PUT (a catch-all route, as the reference's) and is
answered by seamless.database.protocol. Answers are ``text/plain``, as the
reference's. The SQLite work runs in two threads (workers.py): one for
lookups, one for writes, which it groups into one transaction per burst.
Where the native core is built, a front in C (front.py) serves the socket
and answers single-record transformation requests itself; this app answers
the rest.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from .. import errormap
from ..server.http import HttpApp, Request, Response, Router, text
from . import protocol
from .store import ResultDB
from .workers import Worker

LOGGER = logging.getLogger("seamless.database")
TEXT = "text/plain; charset=utf-8"
#: The largest request body (a JSON object); the reference allowed 10 GB.
MAX_REQUEST = 64 << 20


def _response(answer: protocol.Answer) -> Response:
    status, body = answer
    return Response(status, body.encode(), content_type=TEXT)


class DatabaseApp(HttpApp):
    def __init__(self, db: ResultDB, *, writable: bool, front: bool = True):
        super().__init__(Router())
        self.db = db
        self.writable = writable
        self.front = front
        self.reader = Worker(db, "db-reader", grouped=False)
        self.writer = Worker(db, "db-writer", grouped=True) if writable else None
        router = self.router
        router.add("GET", "/healthcheck", self.healthcheck)
        for method in ("GET", "PUT"):
            router.add(method, "/{tail:*}", self.handle, max_body=MAX_REQUEST)

    def make_front(self, server: Any, sock: Any) -> Any:
        if not self.front:
            return None
        from .front import make_front

        return make_front(server, sock, self.db, writable=self.writable)

    def healthcheck(self, request: Request) -> Response:
        return Response(200, b"OK", content_type=TEXT)

    def handle(self, request: Request) -> Any:
        try:
            operation = protocol.parse(request.method, request.body or b"", self.writable)
        except protocol.Refusal as refusal:
            return _response(refusal.answer())
        worker = self.writer if operation.write else self.reader
        run = operation.run
        # The future's value is the finished Response (built in the worker).
        return worker.submit(lambda db: _response(run(db)))  # type: ignore[union-attr]

    def no_route(self, request: Request, allowed: tuple[str, ...]) -> Response:
        if allowed:
            response = text("405: Method Not Allowed", 405)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return text("404: Not Found", 404)

    def on_error(self, request: Request, exc: Exception) -> Response:
        LOGGER.error("%s %s failed", request.method, request.path, exc_info=exc)
        return Response(500, f"ERROR: {type(exc).__name__}: {errormap.public_message(exc)}".encode(),
                        content_type=TEXT)

    async def shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        for worker in (self.writer, self.reader):
            if worker is not None:
                await loop.run_in_executor(None, worker.stop)
        self.db.close()


def make_app(db: ResultDB, *, writable: bool, front: bool = True) -> DatabaseApp:
    return DatabaseApp(db, writable=writable, front=front)
