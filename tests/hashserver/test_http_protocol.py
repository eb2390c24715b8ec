"""The hashserver's wire protocol, over real HTTP on a free loopback port:
every endpoint, status code and error body of protocol.md §2 as released in
hashserver 1.1.0 (released-versions.md §1), plus our documented fixes."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import zstandard

from seamless.server.launch import LaunchedServer
from server_process import ServerProcess

HELLO = b"hello\n"
HELLO_CS = hashlib.sha256(HELLO).hexdigest()
MISSING_CS = "00" * 32


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("hashserver")
    with ServerProcess("hashserver", [str(root / "buffers"), "--writable", "--durability", "none"], root) as srv:
        srv.directory = root / "buffers"
        yield srv


@pytest.fixture(scope="module")
def readonly_server(tmp_path_factory, server):
    root = tmp_path_factory.mktemp("hashserver-ro")
    with ServerProcess("hashserver", [str(server.directory)], root) as srv:
        yield srv


def put(server, data: bytes, cs: str | None = None, **kw):
    return server.request("PUT", f"/{cs or hashlib.sha256(data).hexdigest()}", raw=data, **kw)


def invalid(loc, msg, value, kind="value_error"):
    return {"message": "Invalid data", "exception": {"type": kind, "loc": loc, "msg": msg, "input": value}}


def test_healthcheck(server):
    assert server.request("GET", "/healthcheck") == (200, b"OK")


def test_put_then_get(server):
    data = os.urandom(5000)
    assert put(server, data) == (200, b"OK")
    status, body, headers = server.request_full("GET", f"/{hashlib.sha256(data).hexdigest()}")
    assert (status, body) == (200, data)
    assert headers["Content-Type"] == "application/octet-stream"
    assert f'filename="{hashlib.sha256(data).hexdigest()}"' in headers["Content-Disposition"]


def test_put_existing_is_201_and_verified(server):
    put(server, HELLO)
    assert put(server, HELLO) == (201, b"")
    # The reference answered 201 to garbage for a stored checksum; we verify.
    assert put(server, b"garbage", HELLO_CS) == (400, b"Incorrect checksum")


def test_put_wrong_checksum_stores_nothing(server):
    cs = hashlib.sha256(b"something else").hexdigest()
    status, body, headers = server.request_full("PUT", f"/{cs}", raw=b"not that")
    assert (status, body) == (400, b"Incorrect checksum") and "Content-Type" not in headers  # as the reference's
    assert server.request("GET", f"/{cs}") == (404, b"Not found")
    assert server.request("GET", "/has", [cs]) == (200, b"[false]")


def test_large_put_and_get_stream(server):
    data = os.urandom(9 * 1024 * 1024 + 17)  # several 1 MiB pieces, sendfile on the way back
    cs = hashlib.sha256(data).hexdigest()
    assert put(server, data) == (200, b"OK")
    assert server.request("GET", f"/{cs}") == (200, data)
    assert put(server, data[:-1] + b"x", cs) == (400, b"Incorrect checksum")


def test_large_put_read_from_the_socket_keeps_the_connection(server):
    """A body of 16 MiB or more is read by the native core straight from the
    socket: exactly its length, so that the next request on the same
    connection (sent right behind it) is answered; with Expect:
    100-continue the client is told to go on first; a wrong body is a 400."""
    data = os.urandom((20 << 20) + 3)
    cs = hashlib.sha256(data).hexdigest()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"PUT /{cs} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                  + data + b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n")
        answers = b""
        while answers.count(b"\r\n\r\nOK") < 2 and (piece := s.recv(65536)):
            answers += piece
    assert answers.startswith(b"HTTP/1.1 200") and answers.count(b"HTTP/1.1 200") == 2, answers
    assert server.request("GET", f"/{cs}") == (200, data)
    assert put(server, data, cs) == (201, b"")
    assert put(server, data[:-1] + b"x", cs) == (400, b"Incorrect checksum")
    other = os.urandom(17 << 20)
    other_cs = hashlib.sha256(other).hexdigest()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(f"PUT /{other_cs} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  f"Content-Length: {len(other)}\r\n\r\n".encode())
        go_on = s.recv(1000)
        assert go_on.startswith(b"HTTP/1.1 100 Continue"), go_on
        s.sendall(other)
        answer = s.recv(1000)
        assert answer.startswith(b"HTTP/1.1 200"), answer
    assert server.request("GET", f"/{other_cs}") == (200, other)


def test_empty_buffer(server):
    assert put(server, b"")[0] in (200, 201)
    assert server.request("GET", f"/{hashlib.sha256(b'').hexdigest()}") == (200, b"")


def test_get_missing_is_plain_404(server):
    assert server.request("GET", f"/{MISSING_CS}") == (404, b"Not found")


def test_head(server):
    put(server, HELLO)
    status, body, headers = server.request_full("HEAD", f"/{HELLO_CS}")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(len(HELLO)))


def test_uppercase_checksum_is_accepted(server):
    put(server, HELLO)
    assert server.request("GET", f"/{HELLO_CS.upper()}") == (200, HELLO)


@pytest.mark.parametrize("raw, msg", [
    ("abc", "Value error, Wrong length"),
    ("ab" * 31, "Value error, Wrong length"),
    ("zz" * 32, "Value error, non-hexadecimal number found in fromhex() arg at position 0"),
])
def test_path_checksum_validation(server, raw, msg):
    for method in ("GET", "PUT"):
        status, body = server.request(method, f"/{raw}", raw=b"x" if method == "PUT" else None)
        assert status == 400
        assert json.loads(body) == invalid(["path", "checksum"], msg, raw)


def test_has_and_buffer_length(server):
    put(server, HELLO)
    assert server.request("GET", "/has", [HELLO_CS, MISSING_CS, HELLO_CS]) == (200, b"[true,false,true]")
    assert server.request("GET", "/has-now", [HELLO_CS, MISSING_CS]) == (200, b"[true,false]")
    assert server.request("GET", "/buffer-length", [HELLO_CS, MISSING_CS]) == (200, b"[6,0]")
    assert server.request("GET", "/has", []) == (200, b"[]")


@pytest.mark.parametrize("endpoint", ["/has", "/has-now", "/buffer-length"])
def test_lists_of_hundreds_of_thousands_of_checksums(server, endpoint):
    """Far beyond the 1 MiB of other bodies: 200,000 checksums (13 MB), as
    the reference's client sends all its buffers' at once when it exits."""
    put(server, HELLO)
    checksums = [os.urandom(32).hex() for _ in range(200_000)] + [HELLO_CS]
    status, body = server.request("GET", endpoint, checksums)
    answer = json.loads(body)
    assert status == 200 and len(answer) == len(checksums)
    assert answer[-1] in (True, 6) and not any(answer[:-1])


def test_has_body_is_json_without_content_type(server):
    put(server, HELLO)
    raw = json.dumps([HELLO_CS]).encode()
    assert server.request("GET", "/has", raw=raw) == (200, b"[true]")


@pytest.mark.parametrize("endpoint", ["/has", "/has-now", "/buffer-length"])
def test_has_validation(server, endpoint):
    status, body = server.request("GET", endpoint)
    assert (status, json.loads(body)) == (400, invalid(["body"], "Field required", None, "missing"))
    status, body = server.request("GET", endpoint, {"a": 1})
    assert (status, json.loads(body)) == (400, invalid(["body"], "Input should be a valid list", {"a": 1}, "list_type"))
    status, body = server.request("GET", endpoint, [HELLO_CS, "abc"])
    assert (status, json.loads(body)) == (400, invalid(["body", 1], "Value error, Wrong length", "abc"))
    status, body = server.request("GET", endpoint, [None])
    assert (status, json.loads(body)) == (400, invalid(["body", 0], "Input should be a valid string", None, "string_type"))
    # The reference crashed (500) on a number; a 400 is the fix.
    status, body = server.request("GET", endpoint, [5])
    assert status == 400
    status, body = server.request("GET", endpoint, raw=b"[not json", headers={"Content-Type": "application/json"})
    assert status == 400


def test_text_plain_body_is_a_string(server):
    status, body = server.request("GET", "/has", raw=b"[]", headers={"Content-Type": "text/plain"})
    assert (status, json.loads(body)["exception"]["type"]) == (400, "list_type")


def test_promise(server):
    data = os.urandom(100)
    cs = hashlib.sha256(data).hexdigest()
    status, body = server.request("PUT", f"/promise/{cs}")
    assert (status, json.loads(body)) == (202, {"checksum": cs, "expires_in": 600.0})
    assert server.request("GET", "/has", [cs]) == (200, b"[true]")
    assert server.request("GET", "/has-now", [cs]) == (200, b"[false]")
    assert server.request("GET", "/buffer-length", [cs]) == (200, b"[true]")

    # A GET of a promised buffer waits for it instead of answering 404.
    got = {}
    reader = threading.Thread(target=lambda: got.update(r=server.request("GET", f"/{cs}")))
    reader.start()
    time.sleep(0.5)
    assert reader.is_alive()
    assert put(server, data) == (200, b"OK")
    reader.join(10)
    assert got["r"] == (200, data)
    assert server.request("GET", "/buffer-length", [cs]) == (200, b"[100]")


def test_promise_validation(server):
    status, body = server.request("PUT", "/promise/abc")
    assert (status, json.loads(body)) == (400, invalid(["path", "checksum"], "Value error, Wrong length", "abc"))


def test_unknown_paths_and_methods(server):
    status, body = server.request("GET", "/a/b/c")
    assert (status, json.loads(body)) == (404, {"detail": "Not Found"})
    status, body, headers = server.request_full("POST", f"/{HELLO_CS}", raw=b"x")
    assert (status, json.loads(body)) == (405, {"detail": "Method Not Allowed"})
    status, body = server.request("DELETE", f"/{HELLO_CS}")
    assert status == 405
    # Any other single segment is a checksum, as in the reference.
    status, body = server.request("PUT", "/has", raw=b"x")
    assert json.loads(body)["exception"]["input"] == "has"


@pytest.mark.parametrize("attempt", ["/..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd",
                                     "/../../etc/passwd", "/" + "..%2F" * 8 + "etc"])
def test_path_traversal_is_refused(server, attempt):
    status, body = server.request("GET", attempt)
    assert status in (400, 404)
    assert b"root:" not in body


def test_cors(server):
    status, _, headers = server.request_full("GET", "/healthcheck", headers={"Origin": "http://x"})
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, body, headers = server.request_full("OPTIONS", f"/{HELLO_CS}", headers={
        "Origin": "http://x", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "x-a"})
    assert status == 200 and headers["Access-Control-Allow-Headers"] == "x-a"
    assert headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize("encoding, compress, suffix", [
    ("gzip", gzip.compress, ".gz"),
    ("zstd", lambda d: zstandard.ZstdCompressor().compress(d), ".zst"),
])
def test_compressed_upload(server, encoding, compress, suffix):
    data = os.urandom(3000) * 100
    cs = hashlib.sha256(data).hexdigest()
    packed = compress(data)
    assert put(server, packed, cs, headers={"Content-Encoding": encoding.upper()}) == (200, b"OK")
    stored = server.directory / cs[:2] / (cs + suffix)
    assert stored.read_bytes() == packed
    assert (server.directory / cs[:2] / (cs + ".BUFFERLENGTH")).read_text() == str(len(data))
    # Served decompressed (identity) whatever was stored.
    status, body, headers = server.request_full("GET", f"/{cs}", headers={"Accept-Encoding": "identity"})
    assert (status, body) == (200, data) and "Content-Encoding" not in headers
    assert server.request("GET", "/buffer-length", [cs]) == (200, f"[{len(data)}]".encode())
    assert server.request("GET", "/has-now", [cs]) == (200, b"[true]")
    assert put(server, packed, cs, headers={"Content-Encoding": encoding}) == (201, b"")


def test_compressed_upload_errors(server):
    data = b"compressed " * 100
    cs = hashlib.sha256(data).hexdigest()
    assert put(server, b"not gzip at all", cs, headers={"Content-Encoding": "gzip"}) == (400, b"Invalid compressed payload")
    assert put(server, gzip.compress(data)[:-10], cs, headers={"Content-Encoding": "gzip"}) == (400, b"Invalid compressed payload")
    assert put(server, gzip.compress(b"other"), cs, headers={"Content-Encoding": "gzip"}) == (400, b"Incorrect checksum")
    assert server.request("GET", "/has", [cs]) == (200, b"[false]")
    # Other encodings are stored as sent, as the reference does.
    assert put(server, data, cs, headers={"Content-Encoding": "br"}) == (200, b"OK")
    assert not list((server.directory / ".tmp").iterdir())


def test_large_compressed_only_buffer_is_streamed(server):
    data = os.urandom(1 << 20) * 3
    cs = hashlib.sha256(data).hexdigest()
    assert put(server, gzip.compress(data, 1), cs, headers={"Content-Encoding": "gzip"}) == (200, b"OK")
    assert server.request("GET", f"/{cs}") == (200, data)


def test_read_only_server(readonly_server, server):
    put(server, HELLO)
    assert readonly_server.request("GET", f"/{HELLO_CS}") == (200, HELLO)
    status, body, headers = readonly_server.request_full("PUT", f"/{HELLO_CS}", raw=HELLO)
    assert (status, json.loads(body), headers["Allow"]) == (405, {"detail": "Method Not Allowed"}, "GET")
    status, body = readonly_server.request("PUT", f"/promise/{HELLO_CS}")
    assert (status, json.loads(body)) == (404, {"detail": "Not Found"})
    assert readonly_server.request("GET", "/has", [HELLO_CS]) == (200, b"[true]")


def test_relative_directory_and_flat_layout(tmp_path):
    with ServerProcess("hashserver", ["rel", "--writable", "--layout", "flat"], tmp_path) as srv:
        assert put(srv, HELLO) == (200, b"OK")
        assert (tmp_path / "rel" / HELLO_CS).read_bytes() == HELLO


def test_extra_dirs(tmp_path, server):
    put(server, HELLO)
    with ServerProcess("hashserver", [str(tmp_path / "main"), "--writable",
                                      "--extra-dirs", str(server.directory)], tmp_path) as srv:
        assert srv.request("GET", f"/{HELLO_CS}") == (200, HELLO)
        assert srv.request("GET", "/has", [HELLO_CS]) == (200, b"[true]")
        assert srv.request("GET", "/buffer-length", [HELLO_CS]) == (200, b"[6]")


def test_sha3_server(tmp_path):
    cs = hashlib.sha3_256(HELLO).hexdigest()
    with ServerProcess("hashserver", [str(tmp_path / "b"), "--writable", "--hash-algorithm", "sha3-256"],
                       tmp_path) as srv:
        assert put(srv, HELLO, cs) == (200, b"OK")
        assert put(srv, HELLO, HELLO_CS) == (400, b"Incorrect checksum")
        assert srv.request("GET", f"/{cs}") == (200, HELLO)


def test_direct_io_server_round_trip(tmp_path):
    """With --direct-io, a large upload is written around the page cache and
    a large download read the same way (sent from an aligned buffer instead
    of sendfile): the same bytes either way, also for a length that is no
    multiple of the block size, and a client gone mid-download leaves the
    server serving."""
    data = os.urandom((65 << 20) + 4097)
    cs = hashlib.sha256(data).hexdigest()
    with ServerProcess("hashserver", [str(tmp_path / "buffers"), "--writable", "--direct-io"], tmp_path) as srv:
        assert srv.request("PUT", f"/{cs}", raw=data) == (200, b"OK")
        assert srv.request("GET", f"/{cs}") == (200, data)
        with socket.create_connection(("127.0.0.1", srv.port)) as s:
            s.sendall(f"GET /{cs} HTTP/1.1\r\n\r\n".encode())
            s.recv(100000)
        assert srv.request("GET", f"/{cs}") == (200, data)


def test_an_unwritable_folder_is_a_403_without_the_servers_path():
    """The operating system's reason, not the path (which is logged): the
    server runs as an unprivileged user, as root may write anywhere."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("as root, this needs setpriv to drop privileges")
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    with tempfile.TemporaryDirectory() as name:  # not under pytest's folder, which only its owner may enter
        _put_into_an_unwritable_folder(Path(name), prefix)


def _put_into_an_unwritable_folder(tmp_path: Path, prefix: list[str]) -> None:
    folder = tmp_path / "buffers"
    folder.mkdir()
    if prefix:
        os.chmod(tmp_path, 0o777)
        os.chown(folder, 65534, 65534)
    status = tmp_path / "status.json"
    status.write_text("{}")
    os.chmod(status, 0o666)
    command = [*prefix, sys.executable, "-m", "seamless.hashserver", str(folder), "--writable", "--port", "0"]
    with LaunchedServer(command, cwd=tmp_path, status_file=status) as srv:
        os.chmod(folder, 0o555)
        data = b"no room"
        cs = hashlib.sha256(data).hexdigest()
        connection = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        connection.request("PUT", f"/{cs}", body=data)
        answer = connection.getresponse()
        assert (answer.status, json.loads(answer.read())) == (403, {"message": "Permission denied"})
        connection.close()
        assert str(folder) in srv.log_tail()


def _corruption(cs: str, algorithm: str = "sha-256") -> dict:
    return {"message": f"File corruption: buffer {cs} does not have the correct {algorithm} checksum."}


@pytest.mark.parametrize("size", [6, 200_000, 3 << 20], ids=["small", "medium", "large"])
def test_a_file_that_does_not_match_its_name_is_never_served(tmp_path, size):
    """Whoever put it there (an outside writer, a copy over a buffer, an
    extra folder): a 400 as the reference's, without the server's path. A
    large file is hashed once per version: correct, it is served; rewritten,
    it is hashed again."""
    data = os.urandom(size)
    cs = hashlib.sha256(data).hexdigest()
    main, extra = tmp_path / "main", tmp_path / "extra"
    (main / cs[:2]).mkdir(parents=True)
    extra.mkdir()
    (main / cs[:2] / cs).write_bytes(data)  # written behind the server's back, correct
    other = os.urandom(32).hex()
    (extra / other).write_bytes(data)  # in an extra folder (flat: it has no prefix marker), under a wrong name
    with ServerProcess("hashserver", [str(main), "--extra-dirs", str(extra)], tmp_path) as srv:
        assert srv.request("GET", f"/{cs}") == (200, data)
        status, body = srv.request("GET", f"/{other}")
        assert (status, json.loads(body)) == (400, _corruption(other))
        rotten = bytes([data[0] ^ 1]) + data[1:]
        (main / cs[:2] / cs).write_bytes(rotten)  # same size, new version
        status, body = srv.request("GET", f"/{cs}")
        assert (status, json.loads(body)) == (400, _corruption(cs))
        assert str(tmp_path) not in body.decode() and cs in srv.log_tail()
        (main / cs[:2] / cs).write_bytes(data)
        assert srv.request("GET", f"/{cs}") == (200, data)


def test_a_corrupt_file_of_a_sha3_server(tmp_path):
    cs = hashlib.sha3_256(HELLO).hexdigest()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / cs).write_bytes(b"jello\n")
    with ServerProcess("hashserver", [str(tmp_path / "b"), "--layout", "flat", "--hash-algorithm", "sha3-256"],
                       tmp_path) as srv:
        status, body = srv.request("GET", f"/{cs}")
        assert (status, json.loads(body)) == (400, _corruption(cs, "sha3-256"))
