"""The database server's wire protocol, without HTTP (protocol.md §3).

A request is one JSON object, ``{"type": ..., "checksum": ..., ...}``, in the
body of a GET (a lookup) or a PUT (a write). ``parse()`` checks the envelope
and returns an Operation: whether it writes, and the function that runs it
against a ResultDB and returns the ``(status, text)`` answer. Answers are
the reference's, byte for byte: ``OK``, bare hex for transformation and
expression results, ``json.dumps`` (default separators) for everything else,
``ERROR: ...`` texts with 400/404/405/409.

Where the reference answered 500 (a wrong-length checksum, a non-JSON PUT
body, a JSON array GET body, ``subcelltype: null``...), this answers 400
with the message of the request's type. Other differences, all documented
fixes: a PUT of a different result for a known transformation, or of one
marked irreproducible, is a 409 instead of a silent overwrite; reverse rows
are never duplicated; ``contest`` is accepted as the old name of
``irreproducible``.

One extension, which the reference answers with ``Malformed request`` (so a
client can tell and fall back): ``transformations``, many lookups or writes
in one request. GET ``{"type": "transformations", "checksums": [TF, ...]}``
answers a JSON list of results (``null`` where unknown); PUT ``{"type":
"transformations", "value": [[TF, RESULT], ...]}`` writes them in one
transaction and answers a JSON list with ``null`` for each stored pair and
``"ERROR: ..."`` for each refused one (a conflict).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from ..exceptions import ConflictError, InvalidChecksumError, MalformedRecordError, RecordNotFoundError
from .store import ResultDB
from .validation import checksum_hex

PROTOCOL = ["seamless", "database", "2.2"]
Answer = tuple[int, str]
OK: Answer = (200, "OK")


class Refusal(Exception):
    """A request answered with an error status and ``ERROR: <message>``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def answer(self) -> Answer:
        return self.status, f"ERROR: {self.message}"


def unknown_key() -> Refusal:
    return Refusal(404, "Unknown key")


def malformed(message: str = "Malformed request") -> Refusal:
    return Refusal(400, message)


@dataclass(frozen=True)
class Operation:
    """A parsed request: run(db) -> (status, text); write says which
    worker runs it."""

    write: bool
    run: Callable[[ResultDB], Answer]


def _found(value: Any) -> Answer:
    if value is None or value == []:
        raise unknown_key()
    if isinstance(value, str):
        return 200, value
    return 200, json.dumps(value)


def _checksum(value: Any, message: str) -> str:
    try:
        return checksum_hex(value)
    except InvalidChecksumError:
        raise malformed(message) from None


def _fields(request: dict[str, Any], names: tuple[str, ...], message: str) -> list[Any]:
    try:
        return [request[name] for name in names]
    except KeyError:
        raise malformed(message) from None


# ---- lookups (GET) --------------------------------------------------------------

def _get_transformation(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    result = db.get_transformation(cs)
    return _found(None if result is None else result.hex())


def _get_rev_transformations(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    return _found([tf.hex() for tf in db.get_rev_transformations(cs)])


def _get_buffer_info(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    return _found(db.get_buffer_info(cs))


def _code_lookup(message: str, lookup: Callable[..., Any]) -> Callable[[ResultDB, str, dict[str, Any]], Answer]:
    def get(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
        celltype, subcelltype = _fields(rq, ("celltype", "subcelltype"), message)
        if not isinstance(celltype, str) or not isinstance(subcelltype, str):
            raise unknown_key()  # nothing can be stored under such a key
        return _found([c.hex() for c in lookup(db, cs, celltype, subcelltype)])
    return get


def _get_expression(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    celltype, path, target = _fields(rq, ("celltype", "path", "target_celltype"), "Malformed expression request")
    try:
        result = db.get_expression(cs, path, celltype, target)
    except MalformedRecordError:
        raise unknown_key() from None  # a key that no PUT could have stored
    return _found(None if result is None else result.hex())


def _get_rev_expression(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    return _found(db.get_rev_expression(cs))


def _get_metadata(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    return _found(db.get_metadata(cs))


def _get_irreproducible(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    result = rq.get("result")
    if result is not None:
        result = _checksum(result, "Malformed irreproducible request")
    return _found(db.get_irreproducible(cs, result))


def _get_bucket_probe(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    kind, label = _fields(rq, ("bucket_kind", "label"), "Malformed bucket_probe request")
    if not isinstance(kind, str) or not isinstance(label, str):
        raise unknown_key()
    return _found(db.get_bucket_probe(kind, label))


def _checksum_list(rq: dict[str, Any], field: str) -> list[Any]:
    values = rq.get(field)
    if not isinstance(values, list) or len(values) > MAX_BATCH:
        raise malformed(f"Malformed transformations request: {field} must be a list of at most {MAX_BATCH}")
    return values


def _get_transformations(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    tfs = [_checksum(tf, "Malformed transformations request") for tf in _checksum_list(rq, "checksums")]
    return 200, json.dumps([None if r is None else r.hex() for r in db.get_transformations(tfs)])


def _get_protocol(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    return 200, json.dumps(PROTOCOL)


GETS: dict[str, Callable[[ResultDB, Any, dict[str, Any]], Answer]] = {
    "protocol": _get_protocol,
    "transformation": _get_transformation,
    "rev_transformations": _get_rev_transformations,
    "buffer_info": _get_buffer_info,
    "semantic_to_syntactic": _code_lookup("Malformed semantic-to-syntactic request",
                                          ResultDB.get_semantic_to_syntactic),
    "syntactic_to_semantic": _code_lookup("Malformed syntactic-to-semantic request",
                                          ResultDB.get_syntactic_to_semantic),
    "expression": _get_expression,
    "rev_expression": _get_rev_expression,
    "metadata": _get_metadata,
    "irreproducible": _get_irreproducible,
    "bucket_probe": _get_bucket_probe,
    "transformations": _get_transformations,
}


# ---- writes (PUT) -------------------------------------------------------------------

def _put_transformation(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    value = _checksum(rq.get("value"), "Malformed PUT transformation result request: value must be a checksum")
    db.set_transformation(cs, value)
    return OK


def _put_buffer_info(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    value = rq.get("value")
    if not isinstance(value, dict):
        raise malformed("Malformed PUT buffer info request")
    db.set_buffer_info(cs, value)
    return OK


def _put_semantic_to_syntactic(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    message = "Malformed PUT semantic-to-syntactic request"
    value, celltype, subcelltype = _fields(rq, ("value", "celltype", "subcelltype"), message)
    if not isinstance(value, list):
        raise malformed(message)
    db.set_semantic_to_syntactic(cs, celltype, subcelltype, value)
    return OK


def _put_expression(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    message = "Malformed expression request"
    value, celltype, path, target = _fields(rq, ("value", "celltype", "path", "target_celltype"), message)
    value = _checksum(value, message)
    if not isinstance(celltype, str) or not isinstance(target, str):
        raise malformed(message)
    try:
        db.set_expression(cs, path, celltype, target, value)
    except MalformedRecordError:
        raise malformed("Malformed expression request (constraint violation)") from None
    return OK


def _put_metadata(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    message = "Malformed PUT metadata request"
    value, result = _fields(rq, ("value", "result"), message)
    db.set_metadata(cs, _checksum(result, message), value)
    return OK


def _put_irreproducible(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    result = _checksum(rq.get("result"), "Malformed 'irreproducible' request")
    db.set_irreproducible(cs, result)
    return OK


def _put_bucket_probe(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    message = "Malformed PUT bucket_probe request"
    kind, label, bucket, tokens, captured = _fields(
        rq, ("bucket_kind", "label", "bucket_checksum", "freshness_tokens", "captured_at"), message)
    db.set_bucket_probe(kind, label, _checksum(bucket, message), tokens, captured)
    return OK


def _put_transformations(db: ResultDB, cs: str | None, rq: dict[str, Any]) -> Answer:
    message = "Malformed transformations request"
    pairs = _checksum_list(rq, "value")
    if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise malformed(message)
    checked = [(_checksum(tf, message), _checksum(res, message)) for tf, res in pairs]
    outcomes: list[str | None] = []
    with db.group():  # one transaction; each pair all-or-nothing by itself
        for tf, res in checked:
            try:
                db.set_transformation(tf, res)
                outcomes.append(None)
            except ConflictError as exc:
                outcomes.append(f"ERROR: {exc}")
    return 200, json.dumps(outcomes)


#: PUT handler and the message of its malformed requests.
PUTS: dict[str, tuple[Callable[[ResultDB, Any, dict[str, Any]], Answer], str]] = {
    "transformation": (_put_transformation,
                       "Malformed PUT transformation result request: value must be a checksum"),
    "buffer_info": (_put_buffer_info, "Malformed PUT buffer info request"),
    "semantic_to_syntactic": (_put_semantic_to_syntactic, "Malformed PUT semantic-to-syntactic request"),
    "expression": (_put_expression, "Malformed expression request"),
    "metadata": (_put_metadata, "Malformed PUT metadata request"),
    "irreproducible": (_put_irreproducible, "Malformed 'irreproducible' request"),
    "bucket_probe": (_put_bucket_probe, "Malformed PUT bucket_probe request"),
    "transformations": (_put_transformations, "Malformed transformations request"),
}
#: Old names of PUT types (an older client sends "contest").
ALIASES = {"contest": "irreproducible"}
NO_CHECKSUM = ("protocol", "bucket_probe", "transformations")
#: Most items in one batch request.
MAX_BATCH = 10_000


# ---- the envelope -------------------------------------------------------------------

def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _envelope(method: str, raw: bytes) -> tuple[str, dict[str, Any]]:
    try:
        # NaN and Infinity are not JSON: SQLite's json() refuses them, and
        # strict readers of what we store would too.
        request = json.loads(raw, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise malformed() from None
    if not isinstance(request, dict):
        raise malformed()
    kind = request.get("type")
    if not isinstance(kind, str):
        raise malformed()
    if method == "PUT":  # an older client's name for the write
        kind = ALIASES.get(kind, kind)
    if kind not in GETS:
        raise malformed()
    return kind, request


def _run_get(handler: Callable[..., Answer], cs: str | None, request: dict[str, Any]) -> Callable[[ResultDB], Answer]:
    def run(db: ResultDB) -> Answer:
        try:
            return handler(db, cs, request)
        except Refusal as refusal:
            return refusal.answer()
        except (UnicodeEncodeError, InvalidChecksumError):  # a lone surrogate, a null checksum: no key
            return unknown_key().answer()
    return run


def _run_put(kind: str, cs: str | None, request: dict[str, Any]) -> Callable[[ResultDB], Answer]:
    handler, message = PUTS[kind]

    def run(db: ResultDB) -> Answer:
        try:
            return handler(db, cs, request)
        except Refusal as refusal:
            return refusal.answer()
        except (MalformedRecordError, InvalidChecksumError, TypeError, UnicodeEncodeError):
            return malformed(message).answer()
        except RecordNotFoundError as exc:
            return 404, f"ERROR: {exc}"
        except ConflictError as exc:
            return 409, f"ERROR: {exc}"
    return run


def parse(method: str, raw: bytes, writable: bool) -> Operation:
    """The Operation of one request (method "GET" or "PUT").

    Raises:
        Refusal: an envelope that cannot be served (its answer is ready).
    """
    if method == "PUT" and not writable:
        raise Refusal(405, "Database server is read-only")
    kind, request = _envelope(method, raw)
    cs: str | None = None
    if kind not in NO_CHECKSUM or (method == "PUT" and kind == "protocol"):
        if "checksum" not in request:
            raise malformed()
        value = request["checksum"]
        if value is not None:
            cs = _checksum(value, "Malformed request")
        # A null checksum goes on: the request's type and other fields are
        # checked first, as the reference's are; then ResultDB refuses the
        # null key (InvalidChecksumError), which a lookup answers as an
        # unknown key and a write as malformed, in its type's words.
    if method == "GET":
        return Operation(False, _run_get(GETS[kind], cs, request))
    if kind not in PUTS:
        raise Refusal(400, "Unknown request type")
    return Operation(True, _run_put(kind, cs, request))


def answer(db: ResultDB, method: str, raw: bytes, writable: bool = True) -> Answer:
    """Parse and run one request in the calling thread (for tests and the
    in-process path)."""
    try:
        operation = parse(method, raw, writable)
    except Refusal as refusal:
        return refusal.answer()
    return operation.run(db)
