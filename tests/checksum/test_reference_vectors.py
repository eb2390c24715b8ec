"""Every serialization case gives the reference's bytes (or also fails).

The vectors in tests/data/serialization_vectors.json were produced by the
reference implementation (tests/reference/make_serialization_vectors.py).
"""

from __future__ import annotations

import base64
import importlib.util
import json

import numpy as np
import pytest

from support import DATA
from seamless import Buffer, Checksum
from seamless.exceptions import SeamlessError


def _load_cases():
    spec = importlib.util.spec_from_file_location("serialization_cases", DATA / "serialization_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {case_id: (celltype, expr) for case_id, celltype, expr in module.CASES}


CASES = _load_cases()
VECTORS = json.loads((DATA / "serialization_vectors.json").read_text())["vectors"]
# Where we deliberately differ from the reference (documented in serialize.py
# and tested in test_serialize.py): we refuse values whose reference buffer is
# a repr or an invalid checksum, and accept nested Checksum objects.
DELIBERATE = {
    "bytes-v-bytearray": "bytearray is taken as bytes, not as its repr",
    "bytes-v-dict": "a dict is refused for celltype bytes",
    "bytes-v-none": "None is refused for celltype bytes",
    "checksum-v-hex-short": "checksum values are validated",
    "checksum-v-none": "checksum values are validated",
    "checksum-v-dict-Checksum": "nested Checksum objects are accepted",
    "checksum-v-list-Checksum": "nested Checksum objects are accepted",
}


def _value(expr):
    return eval(expr, {"np": np, "Checksum": Checksum, "float": float})  # noqa: S307


@pytest.mark.parametrize("vector", VECTORS, ids=[v["id"] for v in VECTORS])
def test_same_bytes_as_reference(vector):
    """Our Buffer(value, celltype) equals the reference's, byte for byte."""
    celltype, expr = CASES[vector["id"]]
    if vector["id"] in DELIBERATE:
        pytest.skip(DELIBERATE[vector["id"]])
    if "error" in vector:
        with pytest.raises((TypeError, ValueError, SeamlessError, IndexError)):
            Buffer(_value(expr), celltype)
        return
    buf = Buffer(_value(expr), celltype)
    assert buf.content == base64.b64decode(vector["buffer_b64"])
    assert buf.get_checksum().hex() == vector["checksum"]


ROUNDTRIP = [v for v in VECTORS if v.get("roundtrip_ok") and v["id"] not in DELIBERATE]


@pytest.mark.parametrize("vector", ROUNDTRIP, ids=[v["id"] for v in ROUNDTRIP])
def test_parse_and_reserialize_reference_buffer(vector):
    """Parsing the reference's buffer and serializing again gives it back."""
    celltype, _ = CASES[vector["id"]]
    if celltype == "ipython":
        pytest.skip("the reference could not validate ipython (no IPython)")
    content = base64.b64decode(vector["buffer_b64"])
    value = Buffer(content).get_value(celltype)
    assert Buffer(value, celltype).content == content
