"""The two JSON dialects of seamless, byte for byte.

* **PLAIN-JSON** (``plain_json``) is what the reference produces with orjson
  and ``OPT_INDENT_2 | OPT_SORT_KEYS``: two-space indentation, keys sorted by
  code point, raw UTF-8 (only ``"``, ``\\`` and control characters escaped),
  NaN and infinities as ``null``, floats in orjson's shortest form (``1e-7``,
  ``0.000025``, ``1e+16``). It is the basis of the ``plain`` celltype, of
  directory indexes and of transformation identities.
* **MIXED-JSON** (``mixed_json``) is Python's ``json`` module with
  ``sort_keys=True, indent=2`` and its defaults (ASCII escapes, float
  ``repr``, ``NaN``/``Infinity``), used for JSON-able ``mixed`` values.

The float formatting of PLAIN-JSON is pinned to orjson 3.10 and later
(``1e+16``); orjson 3.8 wrote ``1e16``. Both are shortest round-trip digits,
so only values of magnitude at least 1e16 or below 1e-5 are affected.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import re
import uuid
from typing import Any

from ..exceptions import SerializationError, describe

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1
#: Placeholder character for floats in the fast path (a private-use code point).
_FLOAT_MARK = "\ue000"
_FLOAT_SLOT = re.compile('"\ue000(\\d+)\ue000"')


def format_float(value: float) -> str:
    """A float as orjson writes it: shortest round-trip digits, decimal
    notation for decimal exponents from -5 to 15, else ``d.ddde±X``."""
    if math.isnan(value) or math.isinf(value):
        return "null"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = float.__repr__(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    # point: the value is 0.<digits> x 10**point
    if whole != "0":
        point = len(whole)
    else:
        point = -(len(fraction) - len(fraction.lstrip("0")))
    if exponent:
        point += int(exponent)
    digits = digits.rstrip("0") or "0"
    if 0 < point <= 16:
        if len(digits) <= point:
            return f"{sign}{digits}{'0' * (point - len(digits))}.0"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    if -5 < point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    exp = point - 1
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{'+' if exp > 0 else '-'}{abs(exp)}"


class _Walk:
    """State of one PLAIN-JSON preparation walk.

    In fast mode, floats become numbered placeholder strings that the C JSON
    encoder passes through and a regex then replaces; in reference mode they
    become _Float objects for the recursive writer.
    """

    __slots__ = ("fast", "floats", "mark_in_text")

    def __init__(self, fast: bool) -> None:
        self.fast = fast
        self.floats: list[float] = []
        self.mark_in_text = False

    def float_slot(self, value: float) -> Any:
        if not self.fast:
            return _Float(value)
        self.floats.append(value)
        return f"{_FLOAT_MARK}{len(self.floats) - 1}{_FLOAT_MARK}"

    def text(self, value: str) -> str:
        if _FLOAT_MARK in value:
            self.mark_in_text = True
        return value


class _Float:
    __slots__ = ("value",)

    def __init__(self, value: float):
        self.value = value


def _prepare(value: Any, walk: _Walk, depth: int = 0) -> Any:
    """Copy value into what orjson would serialize; reject what it rejects."""
    if depth > 254:
        raise SerializationError("Recursion limit reached")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, enum.Enum):
        return _prepare(value.value, walk, depth + 1)
    if isinstance(value, str):
        return walk.text(value)
    if type(value) is float:
        return walk.float_slot(value)
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise SerializationError(f"Integer exceeds 64-bit range: {describe(value)}")
        return int(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SerializationError(
                    f"Dict key must be str, not {type(key).__name__}: {describe(key)}"
                )
            out[walk.text(str(key))] = _prepare(item, walk, depth + 1)
        return out
    if isinstance(value, (list, tuple)):
        return [_prepare(item, walk, depth + 1) for item in value]
    return _prepare(_special(value), walk, depth + 1)


def _special(value: Any) -> Any:
    """Types orjson handles natively besides JSON's own (except dataclasses),
    plus Checksum."""
    from ..checksum_class import Checksum

    if isinstance(value, Checksum):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # orjson writes dataclass fields unsorted even with OPT_SORT_KEYS;
        # refusing is better than producing different bytes.
        raise SerializationError(
            f"dataclass {type(value).__name__} is not supported in plain values; "
            "convert it with dataclasses.asdict()"
        )
    raise SerializationError(f"Type is not JSON serializable: {type(value).__name__}")


def plain_json(value: Any) -> bytes:
    """PLAIN-JSON of value (no trailing newline), as UTF-8 bytes.

    Checksum objects become their hex and tuples become lists, as the
    reference does before calling orjson.

    Raises:
        SerializationError: a type or value orjson would refuse (non-str
            dict keys, integers beyond 64 bits, unknown objects).
    """
    walk = _Walk(fast=True)
    data = _prepare(value, walk)
    if walk.mark_in_text:
        return plain_json_reference(value)
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
    if walk.floats:
        floats = walk.floats
        text = _FLOAT_SLOT.sub(lambda m: format_float(floats[int(m.group(1))]), text)
    return _utf8(text, value)


def plain_json_reference(value: Any) -> bytes:
    """PLAIN-JSON by a direct recursive writer: slow and simple, the oracle
    of ``plain_json``'s fast path and its fallback for exotic strings."""
    parts: list[str] = []
    _write_plain(_prepare(value, _Walk(fast=False)), parts, 0)
    return _utf8("".join(parts), value)


def _utf8(text: str, value: Any) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise SerializationError(
            f"str is not valid UTF-8: surrogates not allowed in {describe(value)}"
        ) from None


def _write_plain(data: Any, parts: list[str], indent: int) -> None:
    pad = "  " * (indent + 1)
    if isinstance(data, _Float):
        parts.append(format_float(data.value))
    elif isinstance(data, dict):
        if not data:
            parts.append("{}")
            return
        parts.append("{\n")
        for i, key in enumerate(sorted(data)):
            parts.append(pad + json.dumps(key, ensure_ascii=False) + ": ")
            _write_plain(data[key], parts, indent + 1)
            parts.append(",\n" if i < len(data) - 1 else "\n")
        parts.append("  " * indent + "}")
    elif isinstance(data, list):
        if not data:
            parts.append("[]")
            return
        parts.append("[\n")
        for i, item in enumerate(data):
            parts.append(pad)
            _write_plain(item, parts, indent + 1)
            parts.append(",\n" if i < len(data) - 1 else "\n")
        parts.append("  " * indent + "]")
    else:
        parts.append(json.dumps(data, ensure_ascii=False))


def _numpy_scalar(obj: Any) -> Any:
    """json ``default`` of MIXED-JSON: numpy scalars become Python ones."""
    import numpy as np

    if isinstance(obj, np.generic):
        if isinstance(obj, (np.integer,)) and not isinstance(obj, np.bool_):
            return int(obj)
        if isinstance(obj, np.floating):
            return float(obj)
        if isinstance(obj, (np.bytes_, np.str_)):
            return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def mixed_json(value: Any, *, indent: int | None = 2, sort_keys: bool = True) -> str:
    """MIXED-JSON text of value (Python json, ASCII, numpy scalars allowed).

    With indent=None and sort_keys=False it gives the compact form used in
    the headers of the mixed binary format.

    Raises:
        SerializationError: value is not JSON-able.
    """
    try:
        return json.dumps(value, sort_keys=sort_keys, indent=indent, default=_numpy_scalar)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"cannot encode {describe(value)} as JSON: {exc}") from None
