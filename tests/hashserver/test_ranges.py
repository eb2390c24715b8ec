"""Range requests (ranges.py): the parsing, and 206 answers from memory and
with sendfile (the reference's behaviour is compared in
test_against_reference_server.py)."""

from __future__ import annotations

import hashlib
import os

import pytest

from seamless.hashserver.ranges import RangeRefused, content_range, requested_range
from server_process import ServerProcess


@pytest.mark.parametrize("header, size, expected", [
    ("bytes=1-2", 6, (1, 3)), ("bytes=-2", 6, (4, 6)), ("bytes=3-", 6, (3, 6)), ("bytes=0-100", 6, (0, 6)),
    ("BYTES = 1-2", 6, (1, 3)), ("bytes=-100", 6, (0, 6)), ("bytes=x,1-2,-", 6, (1, 3)),
    ("bytes=1-2,4-5", 6, None),  # several: the whole buffer
])
def test_served_ranges(header, size, expected):
    assert requested_range(header, size) == expected


@pytest.mark.parametrize("header, size, status, message", [
    ("junk", 6, 400, "Malformed range header."), ("items=1-2", 6, 400, "Only support bytes range"),
    ("bytes=a-b", 6, 400, "Range header: range must be requested"), ("bytes=", 6, 400, "Range header: range must be requested"),
    ("bytes=3-1", 6, 400, "Range header: start must be less than end"),
    ("bytes=6-", 6, 416, ""), ("bytes=-0", 6, 416, ""), ("bytes=0-", 0, 416, ""),
])
def test_refused_ranges(header, size, status, message):
    with pytest.raises(RangeRefused) as refused:
        requested_range(header, size)
    assert (refused.value.status, refused.value.message) == (status, message)
    assert refused.value.status != 416 or refused.value.size == size


def test_content_range():
    assert content_range(4, 6, 6) == "bytes 4-5/6"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ranges")
    with ServerProcess("hashserver", [str(root / "b"), "--writable"], root) as srv:
        yield srv


@pytest.mark.parametrize("size", [1000, 3 << 20], ids=["from memory", "with sendfile"])
def test_a_range_of_a_buffer(server, size):
    data = os.urandom(size)
    cs = hashlib.sha256(data).hexdigest()
    assert server.request("PUT", f"/{cs}", raw=data)[0] == 200
    for header, (start, end) in [("bytes=10-99", (10, 100)), (f"bytes=-{size // 3}", (size - size // 3, size)),
                                 (f"bytes={size - 7}-", (size - 7, size))]:
        status, body, headers = server.request_full("GET", f"/{cs}", headers={"Range": header})
        assert (status, body) == (206, data[start:end])
        assert headers["Content-Range"] == f"bytes {start}-{end - 1}/{size}" and headers["Accept-Ranges"] == "bytes"
        status, body, headers = server.request_full("HEAD", f"/{cs}", headers={"Range": header})
        assert (status, body, headers["Content-Length"]) == (206, b"", str(end - start))
    assert server.request("GET", f"/{cs}", headers={"Range": "bytes=0-1,5-9"}) == (200, data)
    status, body, headers = server.request_full("GET", f"/{cs}", headers={"Range": f"bytes={size}-"})
    assert (status, body, headers["Content-Range"]) == (416, b"", f"bytes */{size}")
    assert server.request("GET", f"/{cs}") == (200, data)  # the connection and the file are as before
