"""PLAIN-JSON equals orjson (the reference's encoder); MIXED-JSON equals json."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import math
import uuid

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamless import Checksum
from seamless.checksum.jsonfmt import format_float, mixed_json, plain_json, plain_json_reference
from seamless.exceptions import SerializationError

ORJSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
text = st.text(st.characters(exclude_categories=("Cs",)))
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats() | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children) | st.dictionaries(text, children),
    max_leaves=30,
)


def _orjson(value):
    return orjson.dumps(value, option=ORJSON_OPTIONS)


@given(st.floats())
def test_float_format_is_orjsons(value):
    """Every float (NaN, infinities, subnormals included) is written as orjson does."""
    assert format_float(value).encode() == _orjson(value)


@pytest.mark.parametrize("value,text", [
    (1e16, "1e+16"), (1e15, "1000000000000000.0"), (1e-6, "1e-6"), (1e-5, "0.00001"),
    (2.5e-5, "0.000025"), (1e-7, "1e-7"), (1.0, "1.0"), (-0.0, "-0.0"), (math.nan, "null"),
    (5e-324, "5e-324"), (123.456, "123.456"), (1.5e300, "1.5e+300"),
])
def test_float_examples_of_the_spec(value, text):
    """The examples of identity.md, section 4."""
    assert format_float(value) == text


@given(json_values)
def test_plain_json_equals_orjson(value):
    """Any JSON value encodes to orjson's bytes, by both writers."""
    expected = _orjson(value)
    assert plain_json(value) == expected
    assert plain_json_reference(value) == expected


def test_placeholder_character_in_strings():
    """Strings that look like the fast path's float placeholders are safe."""
    value = {"a": "\ue0000\ue000", "b": 1.5, "\ue000": [2.5e-5]}
    assert plain_json(value) == _orjson(value)


def test_checksums_and_tuples():
    """Checksum objects become hex and tuples lists, as the reference does."""
    cs = Checksum("ab" * 32)
    assert plain_json({"c": cs, "t": (1, 2)}) == _orjson({"c": "ab" * 32, "t": [1, 2]})


class Color(enum.Enum):
    RED = 1


@dataclasses.dataclass
class Point:
    y: int
    x: float


@pytest.mark.parametrize("value", [
    Color.RED, uuid.UUID(int=5), datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
    datetime.date(2020, 1, 2), datetime.time(3, 4),
    datetime.datetime(2020, 1, 2, tzinfo=datetime.timezone.utc),
])
def test_types_orjson_handles_natively(value):
    """enum, UUID and date/time encode as orjson encodes them."""
    assert plain_json([value]) == _orjson([value])


def test_dataclasses_are_refused():
    """orjson keeps dataclass fields unsorted; we refuse rather than differ."""
    with pytest.raises(SerializationError, match="asdict"):
        plain_json(Point(1, 2.5))


@pytest.mark.parametrize("value,message", [
    ({1: 2}, "Dict key must be str"),
    (2**64, "64-bit"),
    (-(2**63) - 1, "64-bit"),
    (object(), "not JSON serializable"),
    (b"bytes", "not JSON serializable"),
])
def test_what_orjson_refuses(value, message):
    """Values orjson refuses raise SerializationError (a TypeError)."""
    with pytest.raises(SerializationError, match=message):
        plain_json(value)
    with pytest.raises(TypeError):
        _orjson(value)


def test_lone_surrogates_are_refused():
    """A str that is not valid UTF-8 is refused, not mangled."""
    with pytest.raises(SerializationError, match="surrogates"):
        plain_json("\udc80")


@given(json_values)
def test_mixed_json_is_pythons_json(value):
    """MIXED-JSON is json.dumps with sorted keys and indent 2."""
    assert mixed_json(value) == json.dumps(value, sort_keys=True, indent=2)
