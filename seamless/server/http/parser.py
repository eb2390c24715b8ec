"""Parsing request heads and chunked bodies (HTTP/1.1, RFC 9112).

Strict where leniency would be a risk (request smuggling, oversized heads):
both Transfer-Encoding and Content-Length, a non-numeric length, obsolete
line folding, control characters in the target are all 400s.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .messages import Headers, Request

#: A head (request line and headers) longer than this is refused with 431.
MAX_HEAD = 16 * 1024
MAX_HEADERS = 100
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_LENGTH = re.compile("[0-9]{1,18}")
#: Control characters are not allowed in header values (HTAB is).
_BAD_VALUE = re.compile("[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile("[\x00-\x20\x7f]")
METHODS = frozenset({"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"})


class HttpError(Exception):
    """A request that cannot be served; answered with status and closed."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def parse_head(head: bytes) -> Request:
    """A Request from the bytes before the blank line (without it)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes anything
        raise HttpError(400, "Bad request head") from None
    lines = text.split("\r\n")
    request_line = lines[0]
    parts = request_line.split(" ")
    if len(parts) != 3:
        raise HttpError(400, "Bad request line")
    method, target, version = parts
    if method not in METHODS:
        raise HttpError(501 if method.isupper() and method.isalpha() else 400, "Unknown method")
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise HttpError(505, "HTTP version not supported")
    if len(lines) - 1 > MAX_HEADERS:
        raise HttpError(431, "Too many headers")
    headers = Headers()
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not _TOKEN.fullmatch(name):
            raise HttpError(400, "Bad header line")
        key = name.lower()
        value = value.strip(" \t")
        if _BAD_VALUE.search(value):
            raise HttpError(400, "Bad header value")
        if key in headers:
            headers[key] = f"{headers[key]}, {value}"
        else:
            headers[key] = value
    path, _, query = target.partition("?")
    if not path.startswith("/"):
        if target == "*" and method == "OPTIONS":
            path = "/"
        elif path.startswith(("http://", "https://")):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        else:
            raise HttpError(400, "Bad request target")
    if _CONTROL.search(path):
        raise HttpError(400, "Bad request target")
    # Segments are split before percent-decoding: an encoded "/" stays inside
    # its segment, so no decoded value can climb out of a route.
    segments = path[1:].split("/")
    if "%" in path:
        segments = [unquote(s) for s in segments]
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.1":
        keep_alive = "close" not in connection
    else:
        keep_alive = "keep-alive" in connection
    return Request(method, path, segments, query, headers, version, keep_alive)


def body_framing(request: Request) -> tuple[str, int]:
    """("length", n) or ("chunked", 0) for the request's body.

    Raises:
        HttpError: conflicting or invalid framing headers.
    """
    headers = request.headers
    encoding = headers.get("transfer-encoding")
    length = headers.get("content-length")
    if encoding is not None:
        if length is not None:
            raise HttpError(400, "Both Transfer-Encoding and Content-Length")
        if encoding.strip(" \t").lower() != "chunked":
            raise HttpError(501, "Unsupported Transfer-Encoding")
        return "chunked", 0
    if length is None:
        return "length", 0
    if not _LENGTH.fullmatch(length):
        raise HttpError(400, "Bad Content-Length")
    return "length", int(length)


class ChunkedDecoder:
    """Incremental decoder of a chunked body.

    ``feed(buffer)`` consumes what it can from the front of buffer (a
    bytearray) and returns the decoded pieces; ``done`` turns True after the
    last chunk and its trailers.
    """

    MAX_LINE = 4096

    def __init__(self) -> None:
        self.remaining = 0  # bytes left in the current chunk
        self.state = "size"  # size | data | data-end | trailer
        self.done = False

    def feed(self, buffer: bytearray, into: bytearray | None = None) -> list[bytes]:
        """Decode from the front of buffer: the pieces, or [] with the bytes
        appended to ``into`` when given."""
        pieces: list[bytes] = []
        while not self.done:
            if self.state == "size":
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > self.MAX_LINE:
                        raise HttpError(400, "Bad chunk size line")
                    break
                line = bytes(buffer[:end]).split(b";", 1)[0].rstrip(b" \t")
                del buffer[: end + 2]
                if not _CHUNK_SIZE.fullmatch(line):
                    raise HttpError(400, "Bad chunk size")
                size = int(line, 16)
                if size == 0:
                    self.state = "trailer"
                else:
                    self.remaining = size
                    self.state = "data"
            elif self.state == "data":
                if not buffer:
                    break
                take = min(self.remaining, len(buffer))
                if into is not None:
                    into += buffer[:take]
                else:
                    pieces.append(bytes(buffer[:take]))
                del buffer[:take]
                self.remaining -= take
                if self.remaining == 0:
                    self.state = "data-end"
            elif self.state == "data-end":
                if len(buffer) < 2:
                    break
                if buffer[:2] != b"\r\n":
                    raise HttpError(400, "Bad chunk end")
                del buffer[:2]
                self.state = "size"
            else:  # trailer lines until an empty one
                end = buffer.find(b"\r\n")
                if end < 0:
                    if len(buffer) > self.MAX_LINE:
                        raise HttpError(400, "Bad trailer")
                    break
                del buffer[: end + 2]
                if end == 0:
                    self.done = True
        return pieces
