"""Requests and responses of the HTTP layer, and their bytes on the wire.

A Response carries its body in one of three forms: bytes (most answers),
a FileBody (a file region sent zero-copy with sendfile) or a StreamBody (an
async iterator of pieces, for bodies produced on the fly).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, AsyncIterator, Callable, Union

REASONS = {status.value: status.phrase for status in HTTPStatus}


class Headers(dict):
    """Request headers: lower-case names, repeated headers joined by ", "."""


@dataclass
class FileBody:
    """size bytes of an open file descriptor from offset; the connection
    closes fd when the response is sent (or abandoned). direct: read the
    file around the page cache (O_DIRECT) instead of sendfile, for a large
    file written that way (see streams.send_direct_blocking)."""

    fd: int
    offset: int
    size: int
    direct: bool = False


@dataclass
class StreamBody:
    """A body produced piece by piece; length None means chunked encoding."""

    pieces: AsyncIterator[bytes]
    length: int | None = None


Body = Union[bytes, FileBody, StreamBody]


class Response:
    """Status, headers and body of one answer."""

    __slots__ = ("status", "headers", "body", "close")

    def __init__(self, status: int = 200, body: Body = b"", headers: dict[str, str] | None = None,
                 content_type: str | None = None):
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else {}
        if content_type is not None:
            self.headers["Content-Type"] = content_type
        self.close = False

    def body_length(self) -> int | None:
        body = self.body
        if isinstance(body, (bytes, bytearray, memoryview)):
            return len(body)
        if isinstance(body, FileBody):
            return body.size
        return body.length

    def head(self, keep_alive: bool, date: bytes) -> bytes:
        """The status line and headers, ending with the blank line."""
        lines = [f"HTTP/1.1 {self.status} {REASONS.get(self.status, 'Unknown')}"]
        lines.extend(f"{name}: {value}" for name, value in self.headers.items())
        length = self.body_length()
        if length is None:
            lines.append("Transfer-Encoding: chunked")
        elif self.status >= 200 and self.status not in (204, 304):
            lines.append(f"Content-Length: {length}")
        if not keep_alive:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n").encode("latin-1") + date + b"\r\n"


def text(body: str, status: int = 200) -> Response:
    """A text/plain answer (UTF-8)."""
    return Response(status, body.encode(), content_type="text/plain; charset=utf-8")


def empty(status: int) -> Response:
    return Response(status, b"")


_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True).encode


def json_response(value: Any, status: int = 200, dumps: Callable[[Any], str] = _compact) -> Response:
    """An application/json answer (compact separators by default)."""
    return Response(status, dumps(value).encode(), content_type="application/json")


class Request:
    """One parsed request. ``body`` holds the whole body for ordinary routes;
    streaming routes read ``stream`` instead (body is then None)."""

    __slots__ = ("method", "path", "segments", "query", "headers", "version", "body", "stream",
                 "keep_alive", "params", "peer")

    def __init__(self, method: str, path: str, segments: list[str], query: str, headers: Headers,
                 version: str, keep_alive: bool):
        self.method = method
        self.path = path
        self.segments = segments
        self.query = query
        self.headers = headers
        self.version = version
        self.keep_alive = keep_alive
        self.body: bytes | None = b""
        self.stream: Any = None
        self.params: dict[str, str] = {}
        self.peer: Any = None

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("content-length")
        return None if value is None else int(value)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.path}>"
