"""Routes: method + path pattern -> handler.

Patterns are static paths (``/healthcheck``), paths with one-segment
parameters (``/promise/{checksum}``), or ``/{tail:*}``, which matches any
path (the database's catch-all). Static routes win over parameter routes,
and routes with more static segments over those with fewer, whatever the
order they were added in. HEAD is served by the GET handler (the body is
dropped on the way out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Union

from .messages import Request, Response

Handler = Callable[[Request], Union[Response, Awaitable[Response]]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: Handler
    #: Bodies larger than max_body (or chunked) reach the handler as
    #: request.stream while they arrive; smaller ones as request.body.
    streaming: bool = False
    #: Largest buffered body: beyond it a streaming route streams, and an
    #: ordinary route answers 413.
    max_body: int = 1 << 20


class Match:
    """The outcome of a lookup: a route, or the methods the path allows
    (empty when no route has this path: a 404 rather than a 405)."""

    __slots__ = ("route", "params", "allowed")

    def __init__(self, route: Route | None, params: dict[str, str], allowed: tuple[str, ...]):
        self.route = route
        self.params = params
        self.allowed = allowed


class _Pattern:
    """Routes sharing one parameterised pattern (per method)."""

    __slots__ = ("parts", "names", "catch_all", "routes", "rank")

    def __init__(self, pattern: str):
        self.parts: list[str | None] = []  # None for a parameter
        self.names: list[str] = []
        self.catch_all: str | None = None
        for part in pattern[1:].split("/"):
            if part.startswith("{") and part.endswith(":*}"):
                self.catch_all = part[1:-3]
                break
            if part.startswith("{") and part.endswith("}"):
                self.parts.append(None)
                self.names.append(part[1:-1])
            else:
                self.parts.append(part)
        self.routes: dict[str, Route] = {}
        static = sum(p is not None for p in self.parts)
        self.rank = (self.catch_all is not None, -static, -len(self.parts))

    def same_shape(self, other: "_Pattern") -> bool:
        return self.parts == other.parts and self.catch_all == other.catch_all

    def match(self, segments: list[str]) -> dict[str, str] | None:
        count = len(self.parts)
        if (len(segments) != count) if self.catch_all is None else (len(segments) < count):
            return None
        params = {}
        names = iter(self.names)
        for part, segment in zip(self.parts, segments):
            if part is None:
                if not segment:
                    return None
                params[next(names)] = segment
            elif part != segment:
                return None
        if self.catch_all is not None:
            params[self.catch_all] = "/".join(segments[count:])
        return params


class Router:
    def __init__(self) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._patterns: list[_Pattern] = []

    def add(self, method: str, pattern: str, handler: Handler, **options: Any) -> None:
        route = Route(method, pattern, handler, **options)
        if "{" not in pattern:
            self._static.setdefault(pattern, {})[method] = route
            return
        new = _Pattern(pattern)
        for existing in self._patterns:
            if existing.same_shape(new):
                existing.routes[method] = route
                return
        new.routes[method] = route
        self._patterns.append(new)
        self._patterns.sort(key=lambda p: p.rank)

    def resolve(self, method: str, path: str, segments: list[str]) -> Match:
        """The first route whose path and method match (static routes
        first); without one, the methods that the path would allow."""
        lookup = "GET" if method == "HEAD" else method
        allowed: set[str] = set()
        routes = self._static.get(path)
        if routes is not None:
            route = routes.get(lookup)
            if route is not None:
                return Match(route, {}, ())
            allowed.update(routes)
        for pattern in self._patterns:
            params = pattern.match(segments)
            if params is not None:
                route = pattern.routes.get(lookup)
                if route is not None:
                    return Match(route, params, ())
                allowed.update(pattern.routes)
        return Match(None, {}, tuple(sorted(allowed)))
