"""The mixed-plain binary format: JSON with arrays cut out into one buffer.

Layout of a mixed-plain buffer (integers little-endian)::

    b"\\x94SEAMLESS-MIXED"
    uint8 len(storage) + storage            (b"mixed-plain")
    uint32 len(form) + form                 (compact JSON, insertion order)
    b"\\x93SEAMLESS"
    uint64 len(jsons) + uint64 len(binary)
    jsons                                   (compact JSON: [offsets, data])
    binary                                  (the arrays' bytes, back to back)

``data`` is a copy of the value in which every array is replaced by ``0``;
``offsets`` starts with 0 and lists the end offset of each array. Arrays are
visited depth-first: dict keys in sorted order, list items in order.
"""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np

from ...exceptions import DeserializationError, SerializationError
from ..jsonfmt import mixed_json
from .form import MIXED_PLAIN, PURE_PLAIN

MAGIC_SEAMLESS = b"\x93SEAMLESS"
MAGIC_SEAMLESS_MIXED = b"\x94SEAMLESS-MIXED"


def _child_storage(form: Any, parent: str) -> str:
    # As the reference: a child form without "storage" takes its parent's.
    if isinstance(form, dict):
        return str(form.get("storage", parent))
    return parent


def _leaf_bytes(leaf: Any) -> bytes:
    arr = np.asarray(leaf)
    if arr.dtype.kind == "U":
        # The format would store UTF-32 under a bytes dtype, which reads back
        # as garbage; the reference fails here too (with an assertion).
        raise SerializationError(
            "a numpy unicode array cannot be nested in a mixed value; "
            "use a list of str or an 'S' (bytes) array"
        )
    return arr.tobytes(order="C")


def _cut_arrays(node: Any, form: Any, storage: str, leaves: list[bytes]) -> Any:
    """Copy of node with binary children replaced by 0, their bytes appended."""
    if isinstance(form, str) or form.get("type") in (
        "string", "integer", "number", "boolean", "null"
    ):
        return node
    if storage != MIXED_PLAIN:
        raise SerializationError(f"unexpected storage {storage!r} inside a mixed value")
    kind = form["type"]
    if kind == "object":
        out = dict(node)
        keys = sorted(out)
        child_forms = [form["properties"][k] for k in keys]
    elif kind in ("array", "tuple"):
        out = list(node)
        keys = list(range(len(out)))
        items = form["items"]
        child_forms = [items] * len(out) if form["identical"] else list(items)
    else:
        raise SerializationError(f"unexpected form type {kind!r}")
    for key, child_form in zip(keys, child_forms):
        child = out[key]
        child_storage = _child_storage(child_form, storage)
        if child_storage == "pure-binary":
            leaves.append(_leaf_bytes(child))
            out[key] = 0
        else:
            out[key] = _cut_arrays(child, child_form, child_storage, leaves)
    return out


def write_mixed_plain(value: Any, form: dict[str, Any]) -> bytes:
    """The mixed-plain buffer of value, given its form (see form.classify)."""
    leaves: list[bytes] = []
    data = _cut_arrays(value, form, MIXED_PLAIN, leaves)
    offsets = [0]
    for leaf in leaves:
        offsets.append(offsets[-1] + len(leaf))
    jsons = mixed_json([offsets, data], indent=None, sort_keys=False).encode("utf-8")
    binary = b"".join(leaves)
    header = mixed_json(form, indent=None, sort_keys=False).encode("utf-8")
    storage = MIXED_PLAIN.encode()
    return b"".join([
        MAGIC_SEAMLESS_MIXED,
        struct.pack("<B", len(storage)), storage,
        struct.pack("<I", len(header)), header,
        MAGIC_SEAMLESS,
        struct.pack("<QQ", len(jsons), len(binary)),
        jsons,
        binary,
    ])


# ---- reading ---------------------------------------------------------------


def _scalar_dtype(form: dict[str, Any]) -> np.dtype:
    kind = form["type"]
    size = form.get("bytesize")
    if kind == "string":
        return np.dtype(f"S{size}")
    if kind == "integer":
        return np.dtype(f"={'u' if form.get('unsigned') else 'i'}{size}")
    if kind == "number":
        return np.dtype(f"=f{size}")
    if kind == "boolean":
        return np.dtype("|b1")
    raise DeserializationError(f"unknown element type {kind!r} in a mixed buffer")


def form_dtype(form: dict[str, Any], top: bool = True) -> np.dtype:
    """The numpy dtype that a binary form describes."""
    kind = form.get("type")
    if kind == "array" and not top:
        return np.dtype("O")
    if kind in ("string", "integer", "number", "boolean"):
        return _scalar_dtype(form)
    if kind in ("tuple", "array"):
        item = form_dtype(form["items"], False)
        return np.dtype((item, tuple(form["shape"]))) if kind == "tuple" else item
    if kind == "object":
        fields = []
        for name in form["order"]:
            prop = form["properties"][name]
            if prop.get("type") == "tuple":
                sub = form_dtype(prop["items"], False)
                fields.append((name, sub, tuple(prop["shape"])))
            else:
                fields.append((name, form_dtype(prop, False)))
        return np.dtype(fields, align=True)
    raise DeserializationError(f"unknown form type {kind!r} in a mixed buffer")


def _binary_leaf(form: dict[str, Any], raw: bytes) -> Any:
    kind = form.get("type")
    if kind == "array":
        dtype, shape = form_dtype(form["items"]), tuple(form["shape"])
    elif kind == "tuple":
        dtype, shape = form_dtype(form["items"]), tuple(form["items"]["shape"])
    else:
        dtype, shape = form_dtype(form), None
    # A fresh array (with numpy's strides for its shape, which the form of a
    # re-serialization records) filled with the exact bytes, padding included.
    arr = np.empty(shape if shape is not None else (1,), dtype)
    if raw:
        arr.reshape(-1).view(np.uint8)[...] = np.frombuffer(raw, np.uint8)
    return arr[0] if shape is None else arr


class _Leaves:
    def __init__(self, offsets: list[int], binary: bytes):
        self.offsets = offsets
        self.binary = binary
        self.index = 0

    def take(self) -> bytes:
        start, end = self.offsets[self.index], self.offsets[self.index + 1]
        self.index += 1
        return self.binary[start:end]


def _restore(node: Any, form: dict[str, Any], leaves: _Leaves) -> None:
    kind = form["type"]
    if kind == "object":
        keys = sorted(form["properties"])
        child_forms = [form["properties"][k] for k in keys]
    elif kind in ("array", "tuple"):
        keys = list(range(form["shape"][0]))
        items = form["items"]
        child_forms = [items] * len(keys) if form["identical"] else items
    else:
        raise DeserializationError(f"unexpected form type {kind!r}")
    for key, child_form in zip(keys, child_forms):
        if not isinstance(child_form, dict):
            continue
        storage = child_form.get("storage", PURE_PLAIN)
        if storage == "pure-binary":
            node[key] = _binary_leaf(child_form, leaves.take())
        elif storage == MIXED_PLAIN:
            _restore(node[key], child_form, leaves)


def read_mixed(buffer: bytes) -> tuple[Any, str]:
    """(value, storage) of a buffer that starts with the mixed magic.

    Raises:
        DeserializationError: malformed buffer.
    """
    try:
        pos = len(MAGIC_SEAMLESS_MIXED)
        (slen,) = struct.unpack_from("<B", buffer, pos)
        storage = buffer[pos + 1 : pos + 1 + slen].decode()
        pos += 1 + slen
        (flen,) = struct.unpack_from("<I", buffer, pos)
        form = json.loads(buffer[pos + 4 : pos + 4 + flen])
        pos += 4 + flen
        if storage != MIXED_PLAIN or buffer[pos : pos + len(MAGIC_SEAMLESS)] != MAGIC_SEAMLESS:
            raise ValueError(f"unsupported storage {storage!r}")
        pos += len(MAGIC_SEAMLESS)
        jlen, blen = struct.unpack_from("<QQ", buffer, pos)
        pos += 16
        if len(buffer) != pos + jlen + blen:
            raise ValueError("length mismatch")
        offsets, data = json.loads(buffer[pos : pos + jlen])
        leaves = _Leaves(offsets, buffer[pos + jlen :])
        _restore(data, form, leaves)
    except DeserializationError:
        raise
    except (ValueError, KeyError, IndexError, TypeError, struct.error) as exc:
        raise DeserializationError(f"malformed mixed buffer: {exc}") from None
    return data, storage
