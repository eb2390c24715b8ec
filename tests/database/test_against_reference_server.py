"""Differential test: the same requests to the reference seamless-database
(2.1.0) and to ours give the same status and body, except where protocol.md
lists a defect that we fix (those cases are asserted on both sides)."""

from __future__ import annotations

import json

import pytest

from reference_servers import ReferenceServer
from server_process import ServerProcess

pytestmark = pytest.mark.reference


def cs(n: int) -> str:
    return f"{n:064x}"


def record(tf, result):
    return {"schema_version": 1, "tf_checksum": tf, "result_checksum": result,
            "seamless_version": "0.6.1", "wall_time_seconds": 0.25}


PROBE = {"bucket_kind": "node", "label": "n1", "bucket_checksum": cs(70),
         "freshness_tokens": {"a": 1}, "captured_at": "2026-11-24T10:00:00Z"}

#: Requests answered identically by both servers, in order.
SAME = [
    ("GET", {"type": "protocol"}),
    ("GET", {"type": "transformation", "checksum": cs(1)}),
    ("PUT", {"type": "transformation", "checksum": cs(1), "value": cs(2)}),
    ("GET", {"type": "transformation", "checksum": cs(1)}),
    ("GET", {"type": "rev_transformations", "checksum": cs(2)}),
    ("PUT", {"type": "transformation", "checksum": cs(1)}),
    ("PUT", {"type": "transformation", "checksum": cs(1), "value": "zz"}),
    ("GET", {"type": "nonsense", "checksum": cs(1)}),
    ("GET", {"type": "contest", "checksum": cs(1)}),
    ("GET", {"checksum": cs(1)}),
    ("GET", {"type": "transformation"}),
    ("GET", {"type": "transformation", "checksum": "xyz"}),
    ("GET", {"type": "transformation", "checksum": None}),
    # A null checksum: its request's other fields are checked first.
    ("GET", {"type": "expression", "checksum": None}),
    ("GET", {"type": "expression", "checksum": None, "path": [], "celltype": "plain", "target_celltype": "plain"}),
    ("GET", {"type": "syntactic_to_semantic", "checksum": None}),
    ("GET", {"type": "semantic_to_syntactic", "checksum": None, "celltype": "python", "subcelltype": "transformer"}),
    ("GET", {"type": "irreproducible", "checksum": None, "result": "xyz"}),
    ("GET", {"type": "irreproducible", "checksum": None}),
    ("GET", {"type": "metadata", "checksum": None}),
    ("PUT", {"type": "transformation", "checksum": None}),
    ("PUT", {"type": "irreproducible", "checksum": None}),
    ("PUT", {"type": "rev_transformations", "checksum": None}),
    ("PUT", {"type": "protocol", "checksum": None}),
    ("PUT", {"type": "metadata", "checksum": None}),
    ("PUT", {"type": "expression", "checksum": None, "celltype": "plain"}),
    ("PUT", {"type": "semantic_to_syntactic", "checksum": None, "value": "x"}),
    ("PUT", {"type": "rev_transformations", "checksum": cs(1)}),
    ("PUT", {"type": "buffer_info", "checksum": cs(3), "value": {"length": 5, "is_utf8": True, "x": 1}}),
    ("PUT", {"type": "buffer_info", "checksum": cs(3), "value": {"is_json": False}}),
    ("GET", {"type": "buffer_info", "checksum": cs(3)}),
    ("PUT", {"type": "buffer_info", "checksum": cs(3), "value": [1]}),
    ("PUT", {"type": "buffer_info", "checksum": cs(3), "value": {"is_utf8": "no"}}),
    ("PUT", {"type": "semantic_to_syntactic", "checksum": cs(4), "celltype": "python",
             "subcelltype": "transformer", "value": [cs(5)]}),
    ("GET", {"type": "semantic_to_syntactic", "checksum": cs(4), "celltype": "python", "subcelltype": "transformer"}),
    ("GET", {"type": "syntactic_to_semantic", "checksum": cs(5), "celltype": "python", "subcelltype": "transformer"}),
    ("GET", {"type": "syntactic_to_semantic", "checksum": cs(5), "celltype": "python", "subcelltype": "reactor"}),
    ("GET", {"type": "semantic_to_syntactic", "checksum": cs(4)}),
    ("GET", {"type": "syntactic_to_semantic", "checksum": cs(4)}),
    ("PUT", {"type": "semantic_to_syntactic", "checksum": cs(4), "value": cs(5)}),
    ("PUT", {"type": "expression", "checksum": cs(6), "path": ["a"], "celltype": "mixed",
             "target_celltype": "plain", "value": cs(7)}),
    ("GET", {"type": "expression", "checksum": cs(6), "path": ["a"], "celltype": "mixed", "target_celltype": "plain"}),
    ("GET", {"type": "expression", "checksum": cs(6), "path": ["b"], "celltype": "mixed", "target_celltype": "plain"}),
    ("GET", {"type": "rev_expression", "checksum": cs(7)}),
    ("GET", {"type": "expression", "checksum": cs(6)}),
    ("PUT", {"type": "expression", "checksum": cs(6), "path": ["a"], "celltype": "text",
             "target_celltype": "plain", "value": cs(7)}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(9), "value": record(cs(8), cs(9))}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(9), "value": record(cs(8), cs(9))}),
    ("GET", {"type": "metadata", "checksum": cs(8)}),
    ("GET", {"type": "transformation", "checksum": cs(8)}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(9),
             "value": {**record(cs(8), cs(9)), "wall_time_seconds": 9}}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(10), "value": record(cs(8), cs(10))}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(9), "value": record(cs(1), cs(9))}),
    ("PUT", {"type": "irreproducible", "checksum": cs(8), "result": cs(10)}),
    ("PUT", {"type": "irreproducible", "checksum": cs(8), "result": cs(9)}),
    ("GET", {"type": "irreproducible", "checksum": cs(8)}),
    ("GET", {"type": "irreproducible", "checksum": cs(8), "result": cs(9)}),
    ("GET", {"type": "irreproducible", "checksum": cs(8), "result": "xyz"}),
    ("GET", {"type": "transformation", "checksum": cs(8)}),
    ("GET", {"type": "metadata", "checksum": cs(8)}),
    ("PUT", {"type": "metadata", "checksum": cs(8), "result": cs(9), "value": record(cs(8), cs(9))}),
    ("PUT", {"type": "irreproducible", "checksum": cs(8)}),
    ("PUT", {"type": "bucket_probe", **PROBE}),
    ("GET", {"type": "bucket_probe", "bucket_kind": "node", "label": "n1"}),
    ("GET", {"type": "bucket_probe", "bucket_kind": "node", "label": "n2"}),
    ("GET", {"type": "bucket_probe", "bucket_kind": "node"}),
    ("PUT", {"type": "bucket_probe", **{**PROBE, "bucket_kind": "planet"}}),
]

#: Requests where we fix a documented defect: (method, body, reference answer status, ours).
FIXED = [
    # A different result for a known transformation: silently overwritten there, refused here.
    ("PUT", {"type": "transformation", "checksum": cs(1), "value": cs(20)}, 200, 409),
    # Wrong-length checksums: an assertion (500) there, a 400 here.
    ("GET", {"type": "transformation", "checksum": cs(1)[:-2]}, 500, 400),
    # A null subcelltype: a NOT NULL failure (500) there.
    ("PUT", {"type": "semantic_to_syntactic", "checksum": cs(4), "celltype": "python",
             "subcelltype": None, "value": [cs(5)]}, 500, 400),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbdiff")
    (root / "ref").mkdir()
    (root / "ours").mkdir()
    reference = ReferenceServer("seamless-database", [str(root / "ref" / "seamless.db"), "--writable"], str(root))
    try:
        with ServerProcess("seamless-database", [str(root / "ours" / "seamless.db"), "--writable"], root) as ours:
            yield reference, ours
    finally:
        reference.stop()


def _normal(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode()


def test_same_answers(servers):
    reference, ours = servers
    for method, body in SAME:
        theirs = reference.request(method, "/", body)
        mine = ours.request(method, "/", body)
        assert mine[0] == theirs[0], (method, body, theirs, mine)
        assert _normal(mine[1]) == _normal(theirs[1]), (method, body, theirs, mine)
        assert mine[1] == theirs[1] or body.get("type") == "semantic_to_syntactic", (method, body, theirs, mine)


def test_documented_fixes(servers):
    reference, ours = servers
    for method, body, theirs_status, our_status in FIXED:
        assert reference.request(method, "/", body)[0] == theirs_status, body
        status, text = ours.request(method, "/", body)
        assert status == our_status and text.startswith(b"ERROR: "), (body, status, text)
