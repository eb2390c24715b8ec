"""Classification of mixed values: a *storage* and a *form*.

The storage says how a value is laid out:

* ``pure-plain``: JSON scalars and containers of them;
* ``pure-binary``: a numpy array or structured scalar (and ``bytes``, taken
  as a 0-d ``S`` array);
* ``mixed-plain``: a dict or list with arrays somewhere inside.

The form describes the value's shape and types. Forms are written into the
header of mixed-plain buffers with Python's json module in insertion order,
so the order of keys built here is part of the byte format and follows the
reference implementation exactly (including its quirks, such as
``unsigned`` being false for sub-array dtypes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...exceptions import SerializationError, describe

PURE_PLAIN = "pure-plain"
PURE_BINARY = "pure-binary"
MIXED_PLAIN = "mixed-plain"

INTEGER_TYPES: tuple[type, ...] = (
    int, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64,
)
UNSIGNED_TYPES: tuple[type, ...] = (np.uint8, np.uint16, np.uint32, np.uint64)
FLOAT_TYPES: tuple[type, ...] = (float, np.float16, np.float32, np.float64, np.longdouble)
SCALAR_TYPES: tuple[type, ...] = (type(None), bool, str, bytes) + INTEGER_TYPES + FLOAT_TYPES

BUILTIN_DTYPES = tuple(
    np.dtype(name)
    for name in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                 "uint32", "uint64", "float32", "float64")
)


def is_string_dtype(dt: np.dtype) -> bool:
    """True for ``S<n>`` and ``U<n>`` dtypes (as the reference tests it)."""
    return bool(dt == np.dtype("S%d" % dt.itemsize) or dt == np.dtype("U%d" % (dt.itemsize / 4)))


def is_unicode_dtype(dt: np.dtype) -> bool:
    """True for ``U<n>`` dtypes."""
    return bool(dt == np.dtype("U%d" % (dt.itemsize / 4)))


def is_builtin_dtype(dt: np.dtype) -> bool:
    """Whether a dtype is described as a scalar (not as a structure)."""
    return bool(dt.base.isbuiltin or is_string_dtype(dt) or dt in BUILTIN_DTYPES)


def _scalar_form(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, INTEGER_TYPES):
        return "integer"
    if isinstance(value, FLOAT_TYPES):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    raise SerializationError(f"cannot serialize {type(value).__name__} as mixed")


def _builtin_dtype_form(dt: np.dtype) -> dict[str, Any]:
    base = dt.base
    if base == object:  # noqa: E721 - numpy dtype equality, not type identity
        raise SerializationError("mixed-binary (PyObject inside Numpy) is not supported")
    if base == bool:  # noqa: E721 - numpy dtype equality
        kind = "boolean"
    elif any(base == t for t in INTEGER_TYPES):
        kind = "integer"
    elif any(base == t for t in FLOAT_TYPES):
        kind = "number"
    elif is_string_dtype(base):
        kind = "string"
    else:
        raise SerializationError(f"numpy dtype {base} cannot be serialized as mixed")
    form: dict[str, Any] = {"type": kind, "bytesize": base.itemsize}
    if kind == "integer":
        form["unsigned"] = any(dt == t for t in UNSIGNED_TYPES)
    if dt.ndim:
        form = {"type": "tuple", "items": form, "identical": True, "shape": dt.shape}
    return form


def _struct_dtype_form(dt: np.dtype) -> dict[str, Any]:
    if not dt.isalignedstruct:
        raise SerializationError(f"Composite dtypes must be memory-aligned: {dt}")
    if not dt.isnative:
        raise SerializationError(f"Composite dtypes must be native: {dt}")
    properties: dict[str, Any] = {}
    form: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "bytesize": dt.itemsize,
        "order": list(dt.fields),
    }
    for name in dt.fields:
        properties[name] = dtype_form(dt[name])
    if dt.ndim:
        form["storage"] = PURE_BINARY
        form = {"type": "tuple", "shape": dt.shape, "items": form, "identical": True}
    return form


def dtype_form(dt: np.dtype) -> dict[str, Any]:
    """The form of one element of a numpy dtype."""
    if is_builtin_dtype(dt):
        return _builtin_dtype_form(dt)
    return _struct_dtype_form(dt)


def is_contiguous(arr: np.ndarray) -> bool:
    """C order with exactly packed strides (stricter than numpy's flag, which
    ignores the strides of length-1 dimensions)."""
    if not arr.flags["C_CONTIGUOUS"]:
        return False
    stride = arr.itemsize
    for n in range(arr.ndim - 1, -1, -1):
        if arr.strides[n] != stride:
            return False
        stride *= arr.shape[n]
    return True


def _ndarray_form(arr: np.ndarray) -> dict[str, Any]:
    if not arr.dtype.isnative:
        raise SerializationError(f"dtypes must be native, not {arr.dtype}")
    form: dict[str, Any] = {
        "type": "array",
        "items": dtype_form(arr.dtype),
        "identical": True,
        "shape": arr.shape,
    }
    contiguous = is_contiguous(arr)
    form["contiguous"] = contiguous
    if not contiguous:
        form["strides"] = arr.strides
    return form


def _with_storage(form: Any, storage: str) -> dict[str, Any]:
    if isinstance(form, str):
        form = {"type": form}
    form["storage"] = storage
    return form


def _items_form(items: Any) -> tuple[str, Any, bool]:
    storages = []
    forms = []
    for item in items:
        storage, form = classify(item)
        storages.append(storage)
        forms.append(form)
    distinct = set(storages)
    different = len(distinct) > 1 or any(f != forms[0] for f in forms[1:])
    if different:
        storage = PURE_PLAIN if distinct == {PURE_PLAIN} else MIXED_PLAIN
        for n, item_storage in enumerate(storages):
            if item_storage != PURE_PLAIN:
                forms[n] = _with_storage(forms[n], item_storage)
        return storage, forms, False
    if not forms:
        return PURE_PLAIN, None, True
    if storages[0] == PURE_PLAIN:
        return PURE_PLAIN, forms[0], True
    return MIXED_PLAIN, _with_storage(forms[0], storages[0]), True


def _sequence_form(items: Any) -> tuple[str, dict[str, Any]]:
    storage, item_forms, identical = _items_form(items)
    form = {"type": "array", "items": item_forms, "identical": identical, "shape": (len(items),)}
    return storage, form


def _dict_form(value: dict[Any, Any]) -> tuple[str, dict[str, Any]]:
    form: dict[str, Any] = {"type": "object"}
    if not value:
        return PURE_PLAIN, form
    properties: dict[Any, Any] = {}
    form["properties"] = properties
    storages = {}
    for key, item in value.items():
        storages[key], properties[key] = classify(item)
    if set(storages.values()) == {PURE_PLAIN}:
        return PURE_PLAIN, form
    for key in value:
        if storages[key] != PURE_PLAIN:
            properties[key] = _with_storage(properties[key], storages[key])
    return MIXED_PLAIN, form


def classify(value: Any) -> tuple[str, Any]:
    """(storage, form) of a mixed value.

    Raises:
        SerializationError: a type the mixed format cannot hold (a TypeError).
    """
    if isinstance(value, bytes):
        value = np.array(value)
    if isinstance(value, SCALAR_TYPES):
        return PURE_PLAIN, _scalar_form(value)
    if isinstance(value, np.void):
        return PURE_BINARY, dtype_form(value.dtype)
    if isinstance(value, np.ndarray):
        return PURE_BINARY, _ndarray_form(value)
    if isinstance(value, (list, tuple)):
        return _sequence_form(value)
    if isinstance(value, dict):
        return _dict_form(value)
    raise SerializationError(
        f"cannot serialize {type(value).__name__} as mixed: {describe(value)}"
    )
