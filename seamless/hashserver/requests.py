"""Parsing hashserver requests, with the reference's error bodies.

The reference validates with pydantic; clients and its test suite compare
the resulting JSON, so the same shapes and texts are produced here:
``{"message": "Invalid data", "exception": {"type", "loc", "msg", "input"}}``.
Where the reference answered 500 (a number in a /has body), this answers 400
with the pydantic ``string_type`` error.
"""

from __future__ import annotations

import json
from typing import Any

from ..server.http import Request, Response, json_response


class InvalidRequest(Exception):
    """A request that fails validation (answered with .response(), a 400)."""

    def __init__(self, kind: str, loc: list[Any], msg: str, value: Any):
        super().__init__(msg)
        self.body = {"message": "Invalid data",
                     "exception": {"type": kind, "loc": loc, "msg": msg, "input": value}}

    def response(self) -> Response:
        return json_response(self.body, 400)


def _checksum_problem(value: str) -> str | None:
    """The reference's message for a string that is not a checksum."""
    if len(value) % 2:
        return "Wrong length"
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        return str(exc)
    return None if len(raw) == 32 else "Wrong length"


def checksum(value: Any, loc: list[Any]) -> str:
    """A checksum as lowercase hex, or InvalidRequest."""
    if not isinstance(value, str):
        raise InvalidRequest("string_type", loc,
                             "Input should be a valid string", value)
    problem = _checksum_problem(value)
    if problem is not None:
        raise InvalidRequest("value_error", loc, f"Value error, {problem}", value)
    return bytes.fromhex(value).hex()


def path_checksum(request: Request) -> str:
    return checksum(request.params["checksum"], ["path", "checksum"])


def checksum_list(request: Request) -> list[str]:
    """The JSON array of checksums in the body of a /has-like GET."""
    raw = request.body or b""
    declared = request.headers.get("content-type")
    if not raw:
        raise InvalidRequest("missing", ["body"], "Field required", None)
    body: Any
    media = None if declared is None else declared.split(";")[0].strip().lower()
    if media is not None and (media in ("application/json", "") or
                              (media.startswith("application/") and media.endswith("+json"))):
        try:  # as bytes: a UTF-8 byte order mark, UTF-16 and UTF-32 are understood
            body = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidRequest("json_invalid", ["body", exc.pos], "JSON decode error", {}) from None
        except (ValueError, RecursionError):
            raise InvalidRequest("json_invalid", ["body", 0], "JSON decode error", {}) from None
    else:  # as the reference: a body that is not JSON is a string, not a list
        body = raw.decode("utf-8", errors="replace")
        if declared is None:  # JSON if it is, as text (no byte order mark), as
            # FastAPI did before it began to insist on a JSON Content-Type
            try:
                body = json.loads(body)
            except (ValueError, RecursionError):
                pass
    if not isinstance(body, list):
        raise InvalidRequest("list_type", ["body"], "Input should be a valid list", body)
    if all(type(item) is str and len(item) == 64 for item in body):
        try:  # the usual case: one check for the whole list
            if len(bytes.fromhex("".join(body))) == 32 * len(body):
                return [item.lower() for item in body]
        except ValueError:
            pass
    return [checksum(item, ["body", i]) for i, item in enumerate(body)]
