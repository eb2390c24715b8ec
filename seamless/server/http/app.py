"""HttpApp: what a server does with requests, apart from the wire.

An application is a Router plus the answers that are the application's
choice: what a missing route, a 405, an oversized body, a malformed request
or an unexpected exception look like (the hashserver answers FastAPI's JSON,
the database text), and a hook that may add headers to every response.
"""

from __future__ import annotations

import logging
from typing import Any

from .messages import Request, Response, json_response, text
from .parser import HttpError
from .routing import Route, Router

LOGGER = logging.getLogger("seamless.server.http")


class Activity:
    """When the last request started or ended, and how many are running
    (for the inactivity timeout)."""

    def __init__(self, clock: Any = None) -> None:
        import time

        self._clock = clock or time.monotonic
        self.last = self._clock()
        self.active = 0

    def begin(self) -> None:
        self.active += 1
        self.last = self._clock()

    def end(self) -> None:
        self.active -= 1
        self.last = self._clock()

    def idle_seconds(self) -> float:
        return 0.0 if self.active else self._clock() - self.last


class HttpApp:
    """Routes and the application's answers; subclasses override the hooks."""

    def __init__(self, router: Router | None = None):
        self.router = router or Router()
        self.activity = Activity()

    def call(self, request: Request, route: Route) -> Any:
        """Run the handler of a routed request (a Response or an awaitable)."""
        return route.handler(request)

    def no_route(self, request: Request, allowed: tuple[str, ...]) -> Response:
        if allowed:
            response = json_response({"detail": "Method Not Allowed"}, 405)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return json_response({"detail": "Not Found"}, 404)

    def too_large(self, request: Request, limit: int) -> Response:
        return text(f"Request body larger than {limit} bytes", 413)

    def protocol_error(self, error: HttpError) -> Response:
        return text(error.message, error.status)

    def on_error(self, request: Request, exc: Exception) -> Response:
        LOGGER.error("%s %s failed", request.method, request.path, exc_info=exc)
        return text("Internal Server Error", 500)

    def make_front(self, server: Any, sock: Any) -> Any:
        """Something that serves the listening socket in the server's stead
        and feeds it the requests it does not answer itself (the database's
        native front), or None: the server accepts the connections itself.
        It has start() and an async stop(grace)."""
        return None

    def finalize(self, request: Request, response: Response) -> None:
        """Last look at every response before it is written."""

    async def shutdown(self) -> None:
        """Release the application's resources (after the last response)."""
