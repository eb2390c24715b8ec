"""Buffer -> value, for every celltype (the inverse of ``serialize``).

* text celltypes: the UTF-8 text without trailing newlines; ``python`` is
  checked with ``ast.parse``, ``yaml`` with ``yaml.safe_load``;
* ``plain``: JSON (NaN and Infinity refused, as orjson refuses them);
* ``str``, ``int``, ``float``, ``bool``: JSON, coerced to the type;
* ``mixed``: by magic bytes (npy, mixed-plain, else JSON);
* ``binary``: npy only;
* ``bytes``: the bytes themselves (the reference returns the Buffer object);
* ``checksum``: a hex string, or a list/dict of them (validated).

Arrays come back as read-only views of the buffer where the format allows.
"""

from __future__ import annotations

import ast
import builtins
import json
from typing import Any

from ..exceptions import DeserializationError, describe
from .celltypes import CODE_TYPES, SCALAR_TYPES, normalize_celltype


def _decode(buffer: bytes, celltype: str) -> str:
    try:
        return buffer.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeserializationError(
            f"buffer of celltype {celltype!r} is not UTF-8 text: {exc}"
        ) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_plain(buffer: bytes, celltype: str = "plain") -> Any:
    """The JSON value in a plain buffer."""
    text = _decode(buffer, celltype).rstrip("\n")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise DeserializationError(
            f"buffer of celltype {celltype!r} is not JSON ({exc}): {describe(text)}"
        ) from None


def _validate_text(text: str, celltype: str) -> None:
    try:
        if celltype == "python":
            ast.parse(text, filename="<seamless buffer>")
        elif celltype == "yaml":
            import yaml

            yaml.safe_load(text)
    except Exception as exc:
        raise DeserializationError(
            f"buffer is not valid {celltype} ({exc}): {describe(text)}"
        ) from None


def _checksum_value(buffer: bytes) -> Any:
    from ..checksum_class import Checksum

    text = _decode(buffer, "checksum").strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        else:
            try:
                Checksum(item)
            except TypeError:
                raise DeserializationError(
                    f"checksum buffer holds {type(item).__name__}, not a checksum"
                ) from None
    return value


def deserialize(buffer: bytes, celltype: str) -> Any:
    """The value of buffer under celltype.

    Raises:
        CelltypeError: unknown celltype.
        DeserializationError: the buffer does not hold a value of that
            celltype (a ValueError).
        InvalidChecksumError: a checksum buffer holds a malformed checksum.
    """
    celltype = normalize_celltype(celltype)
    if celltype in CODE_TYPES:
        text = _decode(buffer, celltype).rstrip("\n")
        _validate_text(text, celltype)
        return text
    if celltype == "plain":
        return parse_plain(buffer)
    if celltype in SCALAR_TYPES:
        value = parse_plain(buffer, celltype)
        kind = getattr(builtins, celltype)
        if not isinstance(value, kind):
            try:
                value = kind(value)
            except (TypeError, ValueError) as exc:
                raise DeserializationError(
                    f"cannot read {describe(value)} as {celltype}: {exc}"
                ) from None
        return value
    if celltype == "bytes":
        return bytes(buffer)
    if celltype == "checksum":
        return _checksum_value(buffer)
    from .mixed import deserialize_mixed

    value, storage = deserialize_mixed(bytes(buffer))
    if celltype == "binary" and storage != "pure-binary":
        raise DeserializationError(
            f"buffer of celltype 'binary' must be npy, but holds {storage} data"
        )
    return value
