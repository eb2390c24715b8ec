"""Serialization rules of identity.md, the golden vectors, and round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seamless import Buffer, Checksum
from seamless.checksum.calculate_checksum import calculate_checksum
from seamless.checksum.deserialize import deserialize
from seamless.checksum.serialize import serialize, value_checksum
from seamless.exceptions import DeserializationError, InvalidChecksumError, SerializationError


@pytest.mark.parametrize("value,celltype,expected", [
    ({"b": 1, "a": [1, 2, {"c": "é"}]}, "plain",
     '{\n  "a": [\n    1,\n    2,\n    {\n      "c": "é"\n    }\n  ],\n  "b": 1\n}\n'.encode()),
    (2.5e-05, "plain", b"0.000025\n"),
    (math.nan, "plain", b"null\n"),
    (2, "mixed", b"2\n"),
    ("héllo", "mixed", b'"h\\u00e9llo"\n'),
    ((1, 2), "mixed", b"[\n  1,\n  2\n]\n"),
    (None, "mixed", b"null\n"),
    (1e-07, "mixed", b"1e-07\n"),
    (5, "str", b'"5"\n'),
    (True, "str", b"true\n"),
    (None, "str", b'"None"\n'),
    ("x", "str", b'"x"\n'),
    (3, "float", b"3.0\n"),
    (3, "bool", b"true\n"),
    ("abc\n\n\n", "text", b"abc\n"),
    ("", "text", b"\n"),
    (True, "text", b"True\n"),
    ("abc\n\n", "bytes", b"abc"),
    ("aa" * 32, "checksum", b'"' + b"aa" * 32 + b'"\n'),
])
def test_spec_table(value, celltype, expected):
    """Every example of the serialization table in identity.md."""
    assert serialize(value, celltype) == expected


def test_npy_example():
    """np.arange(3, dtype=int32) as binary: a 128-byte npy header + 12 bytes."""
    buf = serialize(np.arange(3, dtype=np.int32), "binary")
    assert len(buf) == 140 and buf.startswith(b"\x93NUMPY\x01\x00")


def test_golden_pins_of_add():
    """The pins of the golden add(2, 3) transformation (identity.md, 12.1)."""
    assert Buffer(2, "mixed").get_checksum().hex().startswith("53c234e5")
    assert Buffer(3, "mixed").get_checksum().hex().startswith("1121cfcc")
    code = "def add(a, b):\n    return a + b"
    assert Buffer(code, "python").get_checksum().hex().startswith("ba1a531f")
    assert Buffer(5, "mixed").get_checksum().hex() == (
        "f0b5c2c2211c8d67ed15e75e656c7862d086e9245420892a7de62cd9ec582a06"
    )


def test_golden_identity_of_add():
    """The identity buffer of add(2, 3) hashes to the golden tf checksum."""
    identity = {
        "__language__": "python",
        "__output__": ["result", "mixed", None],
        "a": ["mixed", None, calculate_checksum(b"2\n")],
        "b": ["mixed", None, calculate_checksum(b"3\n")],
        "code": ["python", "transformer", calculate_checksum(b"def add(a, b):\n    return a + b\n")],
    }
    assert Buffer(identity, "plain").get_checksum().hex() == (
        "7e06538015b738a10ce09a4a79d814e2c017b8de63b258e77f7a0a282def1434"
    )


def test_unicode_array_quirk():
    """A unicode array is stored as the JSON of its first element (reference quirk)."""
    assert serialize(np.array(["ab", "c"]), "mixed") == b'"ab"\n'
    with pytest.raises(SerializationError, match="nested"):
        serialize({"u": np.array(["ab"])}, "mixed")


class TestDeliberateDifferences:
    """Where the reference writes garbage, we refuse or do the obvious thing."""

    def test_bytes_like_for_bytes(self):
        """bytearray and memoryview serialize as their bytes."""
        assert serialize(bytearray(b"xy"), "bytes") == b"xy" == serialize(memoryview(b"xy"), "bytes")

    @pytest.mark.parametrize("value", [None, {"a": 1}, [1], (1,), object()])
    def test_non_bytes_for_bytes(self, value):
        """Containers, None and objects are refused for celltype bytes."""
        with pytest.raises(SerializationError, match="bytes"):
            serialize(value, "bytes")

    @pytest.mark.parametrize("value", ["abc", None, ["aa" * 32, 5], {"x": "zz"}])
    def test_checksum_values_are_validated(self, value):
        """celltype checksum only takes checksums (or lists/dicts of them)."""
        with pytest.raises((InvalidChecksumError, TypeError)):
            serialize(value, "checksum")

    def test_nested_checksum_objects(self):
        """Checksum objects inside checksum values are written as hex."""
        cs = Checksum("ab" * 32)
        assert serialize({"x": cs}, "checksum") == serialize({"x": cs.hex()}, "checksum")


class TestParsing:
    def test_plain_refuses_nan_tokens(self):
        """plain is strict JSON, as orjson is: NaN is refused."""
        with pytest.raises(DeserializationError):
            deserialize(b"NaN\n", "plain")

    def test_binary_must_be_npy(self):
        """binary only reads npy buffers."""
        with pytest.raises(DeserializationError, match="npy"):
            deserialize(b"[1, 2]\n", "binary")

    def test_python_and_yaml_are_validated(self):
        """Syntax errors are DeserializationErrors (ValueErrors)."""
        with pytest.raises(DeserializationError):
            deserialize(b"def (:\n", "python")
        with pytest.raises(DeserializationError):
            deserialize(b"a: [1\n", "yaml")

    def test_checksum_buffers(self):
        """checksum buffers hold hex strings, raw or as JSON."""
        assert deserialize(b'"' + b"ab" * 32 + b'"\n', "checksum") == "ab" * 32
        assert deserialize(b"ab" * 32 + b"\n", "checksum") == "ab" * 32
        assert deserialize(b'["' + b"ab" * 32 + b'"]\n', "checksum") == ["ab" * 32]
        with pytest.raises(InvalidChecksumError):
            deserialize(b'"abc"\n', "checksum")

    def test_non_json_mixed_is_a_bytes_array(self):
        """A mixed buffer that is not JSON reads as a 0-d bytes array."""
        value = deserialize(b"\xff\xfe", "mixed")
        assert isinstance(value, np.ndarray) and value.dtype.kind == "S"

    def test_scalar_coercion(self):
        """str/int/float/bool buffers are coerced to their type."""
        assert deserialize(b"1\n", "float") == 1.0 and isinstance(deserialize(b"1\n", "float"), float)
        assert deserialize(b"1\n", "bool") is True
        assert deserialize(b"5\n", "str") == "5"


text = st.text(st.characters(exclude_categories=("Cs",)))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | text,
    lambda c: st.lists(c, max_size=5) | st.dictionaries(text, c, max_size=5),
    max_leaves=20,
)
arrays = hnp.arrays(
    st.sampled_from([np.bool_, np.int8, np.uint16, np.int32, np.int64, np.float32, np.float64, "S3"]),
    hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
)


@given(json_values)
def test_plain_round_trip(value):
    """plain: value -> buffer -> value -> the same buffer."""
    buf = serialize(value, "plain")
    assert serialize(deserialize(buf, "plain"), "plain") == buf


# 0-d arrays read back as numpy scalars (as in the reference), which serialize
# differently, so round trips use arrays of at least one dimension.
arrays_1d = arrays.filter(lambda a: a.ndim > 0)


@given(st.recursive(arrays_1d | json_values, lambda c: st.lists(c, max_size=4) | st.dictionaries(text, c, max_size=4), max_leaves=8))
def test_mixed_round_trip(value):
    """mixed (JSON, npy and mixed-plain): the buffer survives a round trip."""
    buf = serialize(value, "mixed")
    assert serialize(deserialize(buf, "mixed"), "mixed") == buf


@given(arrays)
def test_binary_is_np_save(arr):
    """binary buffers are exactly what np.save writes."""
    import io

    stream = io.BytesIO()
    np.save(stream, arr, allow_pickle=False)
    assert serialize(arr, "binary") == stream.getvalue()


@pytest.mark.parametrize("value,celltype", [
    (np.arange(10**6, dtype=np.float64), "binary"),
    (np.asfortranarray(np.ones((300, 200), dtype=np.int16)), "mixed"),
    (np.arange(30)[::2], "binary"),
    (np.array(["ab", "c"]), "mixed"),
    ({"a": np.arange(3)}, "mixed"),
    ({"b": 1}, "plain"),
])
def test_value_checksum_equals_buffer_checksum(value, celltype):
    """value_checksum (in place for arrays) equals the checksum of the buffer."""
    assert value_checksum(value, celltype) == Buffer(value, celltype).get_checksum()
