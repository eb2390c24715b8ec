"""Differential test: the same requests to the reference hashserver (1.1.0)
and to ours give the same status and body, except where protocol.md lists a
defect that we fix (those cases are asserted on both sides)."""

from __future__ import annotations

import hashlib
import json

import pytest

from reference_servers import ReferenceServer
from server_process import ServerProcess

pytestmark = pytest.mark.reference

DATA = b"hello\n"
CS = hashlib.sha256(DATA).hexdigest()
MISSING = "00" * 32

#: (method, path, json body or None, raw body or None), answered alike, in order.
SAME = [
    ("GET", "/healthcheck", None, None),
    ("GET", f"/{CS}", None, None),
    ("PUT", f"/{CS}", None, DATA),
    ("PUT", f"/{CS}", None, DATA),
    ("GET", f"/{CS}", None, None),
    ("PUT", f"/{MISSING}", None, b"wrong"),
    ("GET", "/abc", None, None),
    ("GET", "/" + "zz" * 32, None, None),
    ("PUT", "/abc", None, b"x"),
    ("GET", "/has", [CS, MISSING], None),
    ("GET", "/has-now", [CS, MISSING], None),
    ("GET", "/buffer-length", [CS, MISSING], None),
    ("GET", "/has", [], None),
    ("GET", "/has", None, None),
    ("GET", "/has", {"a": 1}, None),
    ("GET", "/has", [CS, "abc"], None),
    ("GET", "/has", [None], None),
    ("GET", "/buffer-length", ["zz" * 32], None),
    ("PUT", f"/promise/{MISSING}", None, None),
    ("GET", "/has", [MISSING], None),
    ("GET", "/has-now", [MISSING], None),
    ("GET", "/buffer-length", [MISSING], None),
    ("PUT", "/promise/abc", None, None),
    ("GET", "/a/b/c", None, None),
    ("POST", f"/{CS}", None, b"x"),
]

#: Documented fixes: (method, path, json, raw, reference status, ours).
FIXED = [
    # 201 without reading the body there; the body is verified here.
    ("PUT", f"/{CS}", None, b"garbage", 201, 400),
    # A number in a /has body: 500 there.
    ("GET", "/has", [5], None, 500, 400),
    # HEAD: 405 there.
    ("HEAD", f"/{CS}", None, None, 405, 200),
    # A JSON list without a Content-Type: read as JSON here, as FastAPI did
    # before it insisted on the header; not there with a newer FastAPI.
    ("GET", "/has", None, f'["{CS}"]'.encode(), 400, 200),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("hsdiff")
    (root / "ref").mkdir()
    reference = ReferenceServer("hashserver", [str(root / "ref"), "--writable"], str(root))
    try:
        with ServerProcess("hashserver", [str(root / "ours"), "--writable"], root) as ours:
            yield reference, ours
    finally:
        reference.stop()


def _send(server, method, path, body=None, raw=None):
    return server.request(method, path, body, raw)


def _normal(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body


def test_same_answers(servers):
    reference, ours = servers
    for method, path, body, raw in SAME:
        theirs = _send(reference, method, path, body, raw)
        mine = _send(ours, method, path, body, raw)
        assert (mine[0], _normal(mine[1])) == (theirs[0], _normal(theirs[1])), (method, path, body, theirs, mine)


def test_documented_fixes(servers):
    reference, ours = servers
    _send(ours, "PUT", f"/{CS}", None, DATA)
    _send(reference, "PUT", f"/{CS}", None, DATA)
    for method, path, body, raw, theirs_status, our_status in FIXED:
        assert _send(reference, method, path, body, raw)[0] == theirs_status, (method, path)
        assert _send(ours, method, path, body, raw)[0] == our_status, (method, path)


J = {"Content-Type": "application/json"}
#: (method, path, raw body, headers): status, body (as JSON where it is) and
#: the headers below answered alike, the Location's server aside.
SAME_WITH_HEADERS = [
    ("GET", f"/{CS}", None, {"Range": "bytes=1-2"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=-2"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=3-"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=0-100"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=9-"}),
    ("GET", f"/{CS}", None, {"Range": "junk"}),
    ("GET", f"/{CS}", None, {"Range": "items=1-2"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=a-b"}),
    ("GET", f"/{CS}", None, {"Range": "bytes=3-1"}),
    ("GET", f"/{CS}/", None, {}),
    ("GET", f"/{CS}/?x=1", None, {"Host": "example.org:1"}),
    ("PUT", f"/{CS}/", DATA, {}),
    ("GET", "/has/", b"[]", {}),
    ("GET", "/nothing/", None, {}),
    ("GET", "/a/b/", None, {}),
    ("GET", "/has", b"[nope", {}),
    ("GET", "/has", b"[nope", J),
    ("GET", "/has", b"\xef\xbb\xbf[]", {}),
    ("GET", "/has", b"\xef\xbb\xbf[]", J),
    ("GET", "/has", f'["{CS}"]'.encode("utf-16"), J),
    ("GET", "/has", f'["{CS}"]'.encode(), {"Content-Type": "application/vnd.api+json"}),
    ("GET", "/buffer-length", f'["{CS}"]'.encode(), {"Content-Type": "application/problem+json; charset=utf-8"}),
    ("GET", "/has", f'["{CS}"]'.encode(), {"Content-Type": "text/json"}),
]
COMPARED_HEADERS = ("content-range", "location", "accept-ranges")


def test_ranges_redirects_and_json_bodies_alike(servers):
    reference, ours = servers
    for server in servers:
        _send(server, "PUT", f"/{CS}", None, DATA)
    for method, path, raw, headers in SAME_WITH_HEADERS:
        answers = []
        for server in (reference, ours):
            status, body, got = server.request_full(method, path, raw=raw, headers=headers)
            got = {k.lower(): v.replace(server.url, "http://SERVER") for k, v in got.items()}
            answers.append((status, _normal(body), {k: got.get(k) for k in COMPARED_HEADERS}))
        assert answers[0] == answers[1], (method, path, raw, headers)
