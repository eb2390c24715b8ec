"""The database server's wire protocol, over real HTTP on a free loopback
port: every request type, status code and message of protocol.md §3 (as
released in seamless-database 2.1.0), and the documented fixes."""

from __future__ import annotations

import concurrent.futures
import json
import os
import sqlite3

import pytest

from server_process import ServerProcess


def cs(n: int) -> str:
    return f"{n:064x}"


TF, RES, RES2 = cs(1), cs(2), cs(3)


@pytest.fixture(scope="module", params=["front", "python"])
def server(tmp_path_factory, request):
    """The server with its native front (the default) and without it."""
    root = tmp_path_factory.mktemp("db")
    no_front = ["--no-front"] if request.param == "python" else []
    with ServerProcess("seamless-database", [str(root / "seamless.db"), "--writable", *no_front], root) as srv:
        srv.path = root / "seamless.db"
        yield srv


def get(server, body, raw=None):
    status, data, headers = server.request_full("GET", "/", body, raw)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    return status, data.decode()


def put(server, body, raw=None):
    status, data, headers = server.request_full("PUT", "/", body, raw)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    return status, data.decode()


def record(tf: str, result: str, **extra):
    return {"schema_version": 1, "tf_checksum": tf, "result_checksum": result,
            "seamless_version": "0.6.1", "execution_mode": "process", **extra}


def test_healthcheck_and_protocol(server):
    assert server.request("GET", "/healthcheck") == (200, b"OK")
    assert get(server, {"type": "protocol"}) == (200, '["seamless", "database", "2.2"]')
    # Any path takes requests, as in the reference.
    assert server.request("GET", "/some/where", {"type": "protocol"})[0] == 200


def test_transformation_round_trip(server):
    tf, res = cs(100), cs(101)
    assert get(server, {"type": "transformation", "checksum": tf}) == (404, "ERROR: Unknown key")
    assert put(server, {"type": "transformation", "checksum": tf, "value": res}) == (200, "OK")
    assert get(server, {"type": "transformation", "checksum": tf}) == (200, res)  # bare hex
    assert get(server, {"type": "transformation", "checksum": tf.upper()}) == (200, res)
    assert put(server, {"type": "transformation", "checksum": tf, "value": res}) == (200, "OK")
    assert get(server, {"type": "rev_transformations", "checksum": res}) == (200, json.dumps([tf]))
    assert get(server, {"type": "rev_transformations", "checksum": cs(999)}) == (404, "ERROR: Unknown key")


def test_transformation_conflict_is_refused(server):
    tf = cs(110)
    put(server, {"type": "transformation", "checksum": tf, "value": cs(111)})
    status, text = put(server, {"type": "transformation", "checksum": tf, "value": cs(112)})
    assert status == 409 and text.startswith("ERROR: ")
    assert get(server, {"type": "transformation", "checksum": tf}) == (200, cs(111))


@pytest.mark.parametrize("value", [None, "xyz", 5, cs(1)[:-2]])
def test_transformation_put_value_must_be_a_checksum(server, value):
    body = {"type": "transformation", "checksum": cs(120)}
    if value is not None:
        body["value"] = value
    assert put(server, body) == (400, "ERROR: Malformed PUT transformation result request: value must be a checksum")


@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_envelope_errors(server, method):
    send = get if method == "GET" else put
    malformed = (400, "ERROR: Malformed request")
    assert send(server, None, raw=b"not json") == malformed
    assert send(server, None, raw=b"") == malformed
    assert send(server, [1, 2]) == malformed
    assert send(server, {"checksum": TF}) == malformed
    assert send(server, {"type": "nonsense", "checksum": TF}) == malformed
    assert send(server, {"type": "compilation", "checksum": TF}) == malformed
    assert send(server, {"type": "transformation"}) == malformed
    assert send(server, {"type": "transformation", "checksum": "xyz", "value": RES}) == malformed
    # Wrong length and non-string checksums: 500 in the reference, 400 here.
    assert send(server, {"type": "transformation", "checksum": TF[:-2], "value": RES}) == malformed
    assert send(server, {"type": "transformation", "checksum": 5, "value": RES}) == malformed


def test_null_checksum(server):
    assert get(server, {"type": "transformation", "checksum": None}) == (404, "ERROR: Unknown key")
    # A 500 in the reference (which checks the type and fields first, as here).
    assert put(server, {"type": "transformation", "checksum": None, "value": RES}) == (
        400, "ERROR: Malformed PUT transformation result request: value must be a checksum")
    assert put(server, {"type": "rev_transformations", "checksum": None}) == (400, "ERROR: Unknown request type")


@pytest.mark.parametrize("kind", ["protocol", "rev_transformations", "rev_expression", "syntactic_to_semantic"])
def test_put_of_lookup_only_types(server, kind):
    assert put(server, {"type": kind, "checksum": TF}) == (400, "ERROR: Unknown request type")


def test_buffer_info(server):
    key = cs(200)
    assert get(server, {"type": "buffer_info", "checksum": key}) == (404, "ERROR: Unknown key")
    assert put(server, {"type": "buffer_info", "checksum": key, "value": {"length": 5, "is_utf8": True}}) == (200, "OK")
    assert put(server, {"type": "buffer_info", "checksum": key, "value": {"is_json": False, "custom": 1}}) == (200, "OK")
    status, text = get(server, {"type": "buffer_info", "checksum": key})
    assert status == 200
    assert json.loads(text) == {"length": 5, "is_utf8": True, "is_json": False, "custom": 1}
    for bad in ([1], "x", {"length": -1}, {"length": "5"}, {"is_utf8": "yes"}, {"str2text": "xyz"}):
        assert put(server, {"type": "buffer_info", "checksum": key, "value": bad}) == (
            400, "ERROR: Malformed PUT buffer info request")
    # Stored as the reference stores it: pretty JSON with sorted keys.
    con = sqlite3.connect(server.path)
    stored = con.execute("SELECT buffer_info FROM buffer_info WHERE checksum = ?", (key,)).fetchone()[0]
    assert stored == json.dumps({"custom": 1, "is_json": False, "is_utf8": True, "length": 5},
                                sort_keys=True, indent=2)


def test_semantic_and_syntactic(server):
    sem, syn1, syn2 = cs(300), cs(301), cs(302)
    base = {"celltype": "python", "subcelltype": "transformer"}
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": [syn1, syn2], **base}) == (200, "OK")
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": [syn1], **base}) == (200, "OK")
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": [], **base}) == (200, "OK")
    status, text = get(server, {"type": "semantic_to_syntactic", "checksum": sem, **base})
    assert status == 200 and sorted(json.loads(text)) == [syn1, syn2]
    assert get(server, {"type": "syntactic_to_semantic", "checksum": syn2, **base}) == (200, json.dumps([sem]))
    assert get(server, {"type": "syntactic_to_semantic", "checksum": syn2, "celltype": "python",
                        "subcelltype": "reactor"}) == (404, "ERROR: Unknown key")
    assert get(server, {"type": "semantic_to_syntactic", "checksum": sem}) == (
        400, "ERROR: Malformed semantic-to-syntactic request")
    assert get(server, {"type": "syntactic_to_semantic", "checksum": sem, "celltype": "python"}) == (
        400, "ERROR: Malformed syntactic-to-semantic request")
    malformed = (400, "ERROR: Malformed PUT semantic-to-syntactic request")
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": syn1, **base}) == malformed
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": [syn1]}) == malformed
    # 500 in the reference: a null subcelltype, an invalid element.
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": [syn1],
                        "celltype": "python", "subcelltype": None}) == malformed
    assert put(server, {"type": "semantic_to_syntactic", "checksum": sem, "value": ["xyz"], **base}) == malformed


def test_expression(server):
    inp, res = cs(400), cs(401)
    key = {"checksum": inp, "path": ["a", 1], "celltype": "mixed", "target_celltype": "plain"}
    assert get(server, {"type": "expression", **key}) == (404, "ERROR: Unknown key")
    assert put(server, {"type": "expression", "value": res, **key}) == (200, "OK")
    assert get(server, {"type": "expression", **key}) == (200, res)
    assert get(server, {"type": "rev_expression", "checksum": res}) == (200, json.dumps([
        {"checksum": inp, "path": ["a", 1], "celltype": "mixed", "target_celltype": "plain", "result": res}]))
    assert get(server, {"type": "expression", "checksum": inp, "celltype": "mixed"}) == (
        400, "ERROR: Malformed expression request")
    assert put(server, {"type": "expression", "checksum": inp, "path": [], "celltype": "mixed"}) == (
        400, "ERROR: Malformed expression request")
    violation = (400, "ERROR: Malformed expression request (constraint violation)")
    assert put(server, {"type": "expression", "value": res, **{**key, "celltype": "text"}}) == violation
    assert put(server, {"type": "expression", "value": res, **{**key, "path": ["x" * 200]}}) == violation
    assert put(server, {"type": "expression", "value": res, **{**key, "target_celltype": "t" * 21}}) == violation
    assert put(server, {"type": "expression", "value": "xyz", **key}) == (400, "ERROR: Malformed expression request")


def test_metadata_semantics(server):
    tf, res = cs(500), cs(501)
    rec = record(tf, res, wall_time_seconds=1.0)
    assert get(server, {"type": "metadata", "checksum": tf}) == (404, "ERROR: Unknown key")
    assert put(server, {"type": "metadata", "checksum": tf, "result": res, "value": rec}) == (200, "OK")
    assert get(server, {"type": "metadata", "checksum": tf}) == (200, json.dumps(rec))
    assert get(server, {"type": "transformation", "checksum": tf}) == (200, res)
    # Idempotent; numeric equality (1 == 1.0), and a JSON-object string is accepted.
    assert put(server, {"type": "metadata", "checksum": tf, "result": res,
                        "value": json.dumps(record(tf, res, wall_time_seconds=1))}) == (200, "OK")
    assert put(server, {"type": "metadata", "checksum": tf, "result": res,
                        "value": record(tf, res, wall_time_seconds=2.0)}) == (
        409, "ERROR: Execution record already exists with different metadata")
    other = cs(502)
    assert put(server, {"type": "metadata", "checksum": tf, "result": other, "value": record(tf, other)}) == (
        409, "ERROR: Transformation result does not match execution record result")
    malformed = (400, "ERROR: Malformed PUT metadata request")
    assert put(server, {"type": "metadata", "checksum": tf, "result": res, "value": record(cs(9), res)}) == malformed
    assert put(server, {"type": "metadata", "checksum": tf, "result": res,
                        "value": {**rec, "schema_version": "1"}}) == malformed
    assert put(server, {"type": "metadata", "checksum": tf, "value": rec}) == malformed
    assert put(server, {"type": "metadata", "checksum": tf, "result": res, "value": "[1]"}) == malformed
    assert put(server, {"type": "metadata", "checksum": tf, "result": res,
                        "value": {**rec, "checksum_fields": [""]}}) == malformed


def test_irreproducible(server):
    tf, res = cs(600), cs(601)
    rec = record(tf, res)
    put(server, {"type": "metadata", "checksum": tf, "result": res, "value": rec})
    assert put(server, {"type": "irreproducible", "checksum": tf, "result": cs(602)}) == (
        404, "ERROR: Transformation does not have the irreproducible result")
    assert put(server, {"type": "irreproducible", "checksum": tf, "result": res}) == (200, "OK")
    assert get(server, {"type": "transformation", "checksum": tf}) == (404, "ERROR: Unknown key")
    assert get(server, {"type": "metadata", "checksum": tf}) == (404, "ERROR: Unknown key")
    assert get(server, {"type": "rev_transformations", "checksum": res}) == (404, "ERROR: Unknown key")
    entry = {"checksum": tf, "result": res, "metadata": rec}
    assert get(server, {"type": "irreproducible", "checksum": tf}) == (200, json.dumps([entry]))
    assert get(server, {"type": "irreproducible", "checksum": tf, "result": res}) == (200, json.dumps([entry]))
    assert get(server, {"type": "irreproducible", "checksum": tf, "result": cs(602)}) == (404, "ERROR: Unknown key")
    assert get(server, {"type": "irreproducible", "checksum": tf, "result": "xyz"}) == (
        400, "ERROR: Malformed irreproducible request")
    # Not cached again, by an execution record or by a plain PUT.
    assert put(server, {"type": "metadata", "checksum": tf, "result": res, "value": rec}) == (
        409, "ERROR: Transformation already has irreproducible records")
    assert put(server, {"type": "transformation", "checksum": tf, "value": res})[0] == 409
    # Repeating it adds nothing; "contest" is the old name.
    assert put(server, {"type": "contest", "checksum": tf, "result": res}) == (200, "OK")
    assert get(server, {"type": "irreproducible", "checksum": tf}) == (200, json.dumps([entry]))
    assert put(server, {"type": "irreproducible", "checksum": tf}) == (400, "ERROR: Malformed 'irreproducible' request")


def test_irreproducible_metadata_mismatch(server):
    tf, res = cs(610), cs(611)
    put(server, {"type": "metadata", "checksum": tf, "result": res, "value": record(tf, res)})
    con = sqlite3.connect(server.path)  # a transformation row removed behind the server's back
    with con:
        con.execute("DELETE FROM transformation WHERE checksum = ?", (tf,))
    assert put(server, {"type": "irreproducible", "checksum": tf, "result": cs(612)}) == (
        409, "ERROR: Stored metadata result does not match irreproducible result")


def test_bucket_probe(server):
    probe = {"bucket_kind": "node", "label": "n1", "bucket_checksum": cs(700),
             "freshness_tokens": {"a": 1}, "captured_at": "2026-11-24T10:00:00Z"}
    assert get(server, {"type": "bucket_probe", "bucket_kind": "node", "label": "n1"}) == (404, "ERROR: Unknown key")
    assert put(server, {"type": "bucket_probe", **probe}) == (200, "OK")
    assert put(server, {"type": "bucket_probe", **{**probe, "freshness_tokens": '{"a": 2}'}}) == (200, "OK")
    status, text = get(server, {"type": "bucket_probe", "bucket_kind": "node", "label": "n1"})
    assert status == 200 and json.loads(text) == {**probe, "freshness_tokens": {"a": 2}}
    assert get(server, {"type": "bucket_probe", "bucket_kind": "node"}) == (400, "ERROR: Malformed bucket_probe request")
    malformed = (400, "ERROR: Malformed PUT bucket_probe request")
    for change in ({"bucket_kind": "planet"}, {"label": ""}, {"captured_at": 5}, {"freshness_tokens": "[]"},
                   {"bucket_checksum": "xyz"}, {"bucket_checksum": cs(1)[:-2]}):
        assert put(server, {"type": "bucket_probe", **{**probe, **change}}) == malformed


def test_other_methods(server):
    status, _ = server.request("POST", "/", {"type": "protocol"})
    assert status == 405
    status, _ = server.request("DELETE", "/", {"type": "protocol"})
    assert status == 405


def test_concurrent_writes_are_grouped_and_all_land(server):
    pairs = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(400)]

    def one(pair):
        return put(server, {"type": "transformation", "checksum": pair[0], "value": pair[1]})

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, pairs))
    assert answers == [(200, "OK")] * len(pairs)
    for tf, res in pairs[::37]:
        assert get(server, {"type": "transformation", "checksum": tf}) == (200, res)


def test_one_bad_write_in_a_burst_does_not_spoil_the_others(server):
    tf = cs(800)
    put(server, {"type": "transformation", "checksum": tf, "value": cs(801)})
    good = [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(100)]
    bodies = [{"type": "transformation", "checksum": t, "value": r} for t, r in good]
    bodies.insert(50, {"type": "transformation", "checksum": tf, "value": cs(802)})  # a conflict
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: put(server, b), bodies))
    assert [a[0] for a in answers].count(409) == 1
    assert all(get(server, {"type": "transformation", "checksum": t}) == (200, r) for t, r in good)


def test_read_only_server(tmp_path, server):
    put(server, {"type": "transformation", "checksum": cs(900), "value": cs(901)})
    with ServerProcess("seamless-database", [str(server.path)], tmp_path) as ro:
        assert get(ro, {"type": "transformation", "checksum": cs(900)}) == (200, cs(901))
        assert put(ro, {"type": "transformation", "checksum": cs(902), "value": cs(903)}) == (
            405, "ERROR: Database server is read-only")


def test_read_only_needs_an_existing_file(tmp_path):
    with pytest.raises(RuntimeError, match="must exist when --writable is not set"):
        ServerProcess("seamless-database", [str(tmp_path / "missing.db")], tmp_path)


def test_writes_survive_a_kill(tmp_path):
    path = tmp_path / "k.db"
    srv = ServerProcess("seamless-database", [str(path), "--writable"], tmp_path)
    try:
        for i in range(50):
            assert put(srv, {"type": "transformation", "checksum": cs(1000 + i), "value": cs(2000 + i)}) == (200, "OK")
    finally:
        import signal

        srv.stop(signal.SIGKILL)
    con = sqlite3.connect(path)
    assert con.execute("SELECT COUNT(*) FROM transformation").fetchone()[0] == 50
