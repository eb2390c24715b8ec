"""Request heads, body framing and chunked decoding of the HTTP layer."""

from __future__ import annotations

import pytest

from seamless.server.http.parser import ChunkedDecoder, HttpError, body_framing, parse_head


def test_request_line_and_headers():
    request = parse_head(b"PUT /ab%2Fcd/e?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5")
    assert (request.method, request.path, request.query) == ("PUT", "/ab%2Fcd/e", "x=1")
    assert request.segments == ["ab/cd", "e"]  # split first, then decoded
    assert request.headers["x-a"] == "1, 2"
    assert request.keep_alive
    assert body_framing(request) == ("length", 5)


@pytest.mark.parametrize("head, keep_alive", [
    (b"GET / HTTP/1.1\r\nConnection: close", False),
    (b"GET / HTTP/1.0", False),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive", True),
])
def test_keep_alive(head, keep_alive):
    assert parse_head(head).keep_alive is keep_alive


@pytest.mark.parametrize("head, status", [
    (b"GET /", 400),
    (b"GET / HTTP/2.0", 505),
    (b"BREW / HTTP/1.1", 501),
    (b"get / HTTP/1.1", 400),
    (b"GET relative HTTP/1.1", 400),
    (b"GET /a\x01b HTTP/1.1", 400),
    (b"GET / HTTP/1.1\r\nNoColon", 400),
    (b"GET / HTTP/1.1\r\n Folded: x", 400),
    (b"GET / HTTP/1.1\r\nBad Name: x", 400),
    (b"GET / HTTP/1.1\r\nHost: a\nTransfer-Encoding: chunked", 400),  # a bare LF in a value
    (b"GET / HTTP/1.1\r\nX: a\x00b", 400),
    (b"GET / HTTP/1.1\r\nX: a\x0bb", 400),
    (b"GET / HTTP/1.1\r\n" + b"\r\n".join(b"H%d: v" % i for i in range(101)), 431),
])
def test_bad_heads(head, status):
    with pytest.raises(HttpError) as info:
        parse_head(head)
    assert info.value.status == status


@pytest.mark.parametrize("headers, status", [
    (b"Content-Length: 5\r\nTransfer-Encoding: chunked", 400),  # smuggling
    (b"Content-Length: -1", 400),
    (b"Content-Length: 1e3", 400),
    (b"Content-Length: +5", 400),
    ("Content-Length: \u00b2".encode("latin-1"), 400),  # a digit to str.isdigit(), not to int()
    (b"Transfer-Encoding: gzip", 501),
    (b"Transfer-Encoding: \xa0chunked", 501),  # only SP and HTAB are whitespace here
    (b"Transfer-Encoding: chunked\x85", 501),
])
def test_bad_framing(headers, status):
    with pytest.raises(HttpError) as info:
        body_framing(parse_head(b"PUT / HTTP/1.1\r\n" + headers))
    assert info.value.status == status


def test_absolute_target_and_options_star():
    assert parse_head(b"GET http://host:1/a/b HTTP/1.1").path == "/a/b"
    assert parse_head(b"OPTIONS * HTTP/1.1").path == "/"


def test_chunked_decoder_piecewise():
    body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    for step in (1, 2, 7, len(body)):
        decoder, buffer, out = ChunkedDecoder(), bytearray(), []
        for i in range(0, len(body), step):
            buffer += body[i:i + step]
            out.extend(decoder.feed(buffer))
            if decoder.done:
                break
        assert b"".join(out) == b"hello world"
        assert decoder.done
        assert body.endswith(bytes(buffer)) and bytes(buffer).startswith(b"NEXT"[: len(buffer)])


@pytest.mark.parametrize("body", [b"zz\r\n", b"5\r\nhelloXX", b"1" * 5000, b"0x5\r\nhello\r\n",
                                  b"+5\r\nhello\r\n", b"0_5\r\nhello\r\n", b"-0\r\n\r\n"])
def test_chunked_decoder_errors(body):
    with pytest.raises(HttpError):
        ChunkedDecoder().feed(bytearray(body))


def test_chunked_decoder_into_one_buffer():
    """Tiny chunks decoded into one bytearray (no object per chunk)."""
    body = b"".join(b"1\r\n%c\r\n" % (65 + i % 26) for i in range(10_000)) + b"0\r\n\r\n"
    decoder, into = ChunkedDecoder(), bytearray()
    assert decoder.feed(bytearray(body), into=into) == []
    assert decoder.done and len(into) == 10_000 and into[:3] == b"ABC"
