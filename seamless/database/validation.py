"""Checks of the values stored in seamless.db, made before any SQL runs.

The rules are the reference's, made strict where the reference was lax or
crashed (a wrong-length checksum is a 400, not a 500; a boolean is not an
integer). Every failure is a MalformedRecordError (a ValueError) or an
InvalidChecksumError naming the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..checksum_class import Checksum
from ..exceptions import InvalidChecksumError, MalformedRecordError

BUFFER_INFO_BOOLEANS = (
    "is_utf8", "is_json", "is_json_numeric_array", "is_json_numeric_scalar",
    "is_numpy", "is_seamless_mixed",
)
BUFFER_INFO_CONVERSIONS = (
    "str2text", "text2str", "binary2bytes", "bytes2binary", "binary2json", "json2binary",
)
BUCKET_KINDS = ("node", "environment", "node_env", "queue", "queue_node")
EXPRESSION_CELLTYPES_WITH_PATH = ("mixed", "plain", "binary")


_LOWER_HEX64 = re.compile("[0-9a-f]{64}")


def checksum_hex(value: Any, field: str = "checksum") -> str:
    """A checksum field as lowercase hex.

    Raises:
        InvalidChecksumError: not a checksum (message names the field).
    """
    if type(value) is str and _LOWER_HEX64.fullmatch(value):
        return value  # the common case, without building a Checksum
    try:
        return (value if isinstance(value, Checksum) else Checksum(value)).hex()
    except (TypeError, ValueError) as exc:
        raise InvalidChecksumError(f"{field}: {exc}") from None


_HEX_DIGITS = b"0123456789abcdef"


def _all_lower_hex(text: str) -> bool:
    """Whether text has only the characters 0-9 and a-f (ten times faster
    than a regular expression on the long strings of a batch)."""
    return text.isascii() and not text.encode("ascii").translate(None, _HEX_DIGITS)


def checksum_hexes(values: list[Any], field: str = "checksum") -> list[str]:
    """checksum_hex of many values; lists of lowercase hex strings (the
    usual case) are checked in one pass over their concatenation."""
    if all(type(v) is str and len(v) == 64 for v in values) and _all_lower_hex("".join(values)):
        return values
    return [checksum_hex(v, field) for v in values]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def buffer_info(value: Any) -> dict[str, Any]:
    """A buffer-info object with its known keys checked (unknown keys kept,
    as the reference keeps them); conversion checksums given as bytes or
    Checksum objects become hex."""
    if not isinstance(value, dict):
        raise MalformedRecordError(f"buffer info must be an object, not {type(value).__name__}")
    out = dict(value)
    if "length" in out and not (_is_int(out["length"]) and out["length"] >= 0):
        raise MalformedRecordError(f"buffer info 'length' must be an integer >= 0, not {out['length']!r}")
    for key in BUFFER_INFO_BOOLEANS:
        if key in out and not isinstance(out[key], bool):
            raise MalformedRecordError(f"buffer info {key!r} must be a boolean")
    for key in BUFFER_INFO_CONVERSIONS:
        if key in out and out[key] is not None:
            out[key] = checksum_hex(out[key], f"buffer info {key!r}")
    json_text(out, "buffer info")  # no NaN or Infinity in what is added
    return out


def json_text(value: Any, what: str, **layout: Any) -> str:
    """The JSON text of a value that is stored or sent. NaN and Infinity are
    refused here, before any SQL runs or any request goes out: they are not
    JSON, and SQLite's json() would fail on them with an error of its own.
    A value of a type JSON has no form for stays a TypeError."""
    try:
        return json.dumps(value, allow_nan=False, **layout)
    except ValueError as exc:  # NaN, Infinity, a circular reference
        raise MalformedRecordError(f"{what} is not JSON: {exc}") from None


def json_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON object given as a dict or as the text of one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise MalformedRecordError(f"{what} is not valid JSON") from None
    if not isinstance(value, dict):
        raise MalformedRecordError(f"{what} must be a JSON object")
    return value


def execution_record(tf: str, result: str, value: Any) -> dict[str, Any]:
    """An execution record whose identity fields match tf and result."""
    record = json_object(value, "execution record")
    if not _is_int(record.get("schema_version")):
        raise MalformedRecordError("execution record needs an integer 'schema_version'")
    if record.get("tf_checksum") != tf:
        raise MalformedRecordError(f"execution record 'tf_checksum' is not {tf}")
    if record.get("result_checksum") != result:
        raise MalformedRecordError(f"execution record 'result_checksum' is not {result}")
    fields = record.get("checksum_fields")
    if fields is not None and not (
        isinstance(fields, list) and all(isinstance(f, str) and f for f in fields)
    ):
        raise MalformedRecordError("execution record 'checksum_fields' must be a list of names")
    return record


def bucket_probe_key(kind: Any, label: Any) -> None:
    """The key of a bucket-probe lookup: two strings (nothing else can be
    stored)."""
    if not isinstance(kind, str) or not isinstance(label, str):
        raise MalformedRecordError("bucket probe lookups need a bucket_kind and a label")


def bucket_probe(kind: Any, label: Any, captured_at: Any) -> None:
    """The key and timestamp of a bucket probe."""
    if kind not in BUCKET_KINDS:
        raise MalformedRecordError(f"bucket_kind must be one of {', '.join(BUCKET_KINDS)}, not {kind!r}")
    for name, value in (("label", label), ("captured_at", captured_at)):
        if not isinstance(value, str) or not value:
            raise MalformedRecordError(f"bucket probe {name!r} must be a non-empty string")


def expression_key(path: Any, celltype: Any, target_celltype: Any) -> str:
    """The stored form of an expression's path (Python's json.dumps, as the
    reference stores it), after checking the key's constraints."""
    for name, value in (("celltype", celltype), ("target_celltype", target_celltype)):
        if not isinstance(value, str) or not value or len(value) > 20:
            raise MalformedRecordError(f"expression {name!r} must be a string of 1 to 20 characters")
    try:
        text = json.dumps(path)
    except (TypeError, ValueError):
        raise MalformedRecordError("expression 'path' must be JSON") from None
    if len(text) > 100:
        raise MalformedRecordError("expression 'path' is longer than 100 characters as JSON")
    if path not in (None, [], "") and celltype not in EXPRESSION_CELLTYPES_WITH_PATH:
        raise MalformedRecordError(
            f"an expression with a path needs celltype {', '.join(EXPRESSION_CELLTYPES_WITH_PATH)}"
        )
    return text


def subcelltype(value: Any, field: str) -> str:
    """A celltype or subcelltype of the semantic tables (a string)."""
    if not isinstance(value, str):
        raise MalformedRecordError(f"{field} must be a string, not {type(value).__name__}")
    return value
