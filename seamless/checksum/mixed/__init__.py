"""The ``mixed`` celltype's byte formats: JSON, npy, and mixed-plain.

``serialize_mixed`` picks the format from the value (see ``form.classify``);
``deserialize_mixed`` recognizes it from the buffer's magic bytes. numpy is
imported only by this subpackage.
"""

from __future__ import annotations

from typing import Any

from ...exceptions import DeserializationError, SerializationError
from ..jsonfmt import mixed_json


def _plain_stream(value: Any) -> bytes:
    import numpy as np

    from .form import FLOAT_TYPES, INTEGER_TYPES

    if isinstance(value, np.generic):
        if isinstance(value, INTEGER_TYPES):
            value = int(value)
        elif isinstance(value, FLOAT_TYPES):
            value = float(value)
        elif isinstance(value, (str, bytes)):
            value = str(value)
        else:
            raise SerializationError(f"cannot serialize numpy {type(value).__name__} as mixed")
    return (mixed_json(value) + "\n").encode("utf-8")


_PLAIN_SCALARS = (str, int, float, bool, type(None))
# The magic numbers of npy, mixed-plain and bare mixed-plain streams (as in
# npy.py and stream.py, which import numpy).
_BINARY_MAGICS = (b"\x93NUMPY", b"\x93SEAMLESS", b"\x94SEAMLESS-MIXED")


def _is_pure_python(value: Any, depth: int = 0) -> bool:
    """JSON-able built-in values only (no numpy anywhere): serialized as
    MIXED-JSON without importing numpy."""
    kind = type(value)
    if kind in _PLAIN_SCALARS:
        return True
    if depth > 100:
        return False
    if kind is list or kind is tuple:
        return all(_is_pure_python(v, depth + 1) for v in value)
    if kind is dict:
        return all(type(k) is str and _is_pure_python(v, depth + 1) for k, v in value.items())
    return False


def serialize_mixed(value: Any) -> bytes:
    """The buffer of a mixed value: MIXED-JSON, npy, or mixed-plain.

    A numpy unicode array is serialized as the JSON of its first element
    only (the reference does this; kept for identical checksums).

    Raises:
        SerializationError: the value cannot be held by the mixed format.
    """
    if _is_pure_python(value):
        return (mixed_json(value) + "\n").encode("utf-8")
    from .form import MIXED_PLAIN, PURE_BINARY, PURE_PLAIN, classify, is_unicode_dtype
    from .npy import npy_bytes
    from .stream import write_mixed_plain

    storage, form = classify(value)
    if storage == PURE_PLAIN:
        return _plain_stream(value)
    if storage == PURE_BINARY:
        if not isinstance(value, bytes) and is_unicode_dtype(value.dtype):
            items = value.tolist()
            if not items:
                raise SerializationError("an empty unicode array cannot be serialized")
            return _plain_stream(items[0])
        return npy_bytes(value)
    assert storage == MIXED_PLAIN
    return write_mixed_plain(value, form)


def deserialize_mixed(buffer: bytes) -> tuple[Any, str]:
    """(value, storage) of a mixed buffer, recognized by its magic bytes.

    npy arrays come back as read-only views of the buffer; a buffer that is
    neither npy, mixed-plain nor JSON comes back as a 0-d bytes array.

    Raises:
        DeserializationError: a malformed npy or mixed-plain buffer.
    """
    import json

    if not buffer.startswith(_BINARY_MAGICS):
        try:  # JSON, the common case: no numpy needed
            return json.loads(buffer.decode("utf-8")), "pure-plain"
        except (UnicodeDecodeError, ValueError):
            pass
    import numpy as np

    from .form import PURE_BINARY, PURE_PLAIN, is_builtin_dtype
    from .npy import MAGIC_NUMPY, parse_npy
    from .stream import MAGIC_SEAMLESS, MAGIC_SEAMLESS_MIXED, read_mixed

    if buffer.startswith(MAGIC_SEAMLESS_MIXED):
        return read_mixed(buffer)
    if buffer.startswith(MAGIC_NUMPY):
        arr = parse_npy(buffer)
        dt = arr.dtype
        if not is_builtin_dtype(dt) and not dt.isalignedstruct:
            arr = _realign(arr)
        if arr.ndim == 0 and dt.char != "S":
            return arr[()], PURE_BINARY
        return arr, PURE_BINARY
    if buffer.startswith(MAGIC_SEAMLESS):
        raise DeserializationError("a bare mixed-plain stream lacks its header")
    try:
        return json.loads(buffer.decode("utf-8")), PURE_PLAIN
    except (UnicodeDecodeError, ValueError):
        return np.array(buffer), PURE_BINARY


def _realign(arr: Any) -> Any:
    """arr with its structured dtype rebuilt aligned (padding bytes zeroed,
    so that re-serializing gives the same bytes every time)."""
    import numpy as np

    out = np.zeros(arr.shape, _aligned(arr.dtype))
    for name in arr.dtype.names:
        out[name] = arr[name]
    return out


def _aligned(dt: Any) -> Any:
    """dt rebuilt as an aligned structure, dropping anonymous padding fields
    at every level (the behaviour of the reference's release 0.1.4)."""
    import numpy as np

    if dt.fields is None:
        return dt
    fields = []
    for name in dt.names:
        field = dt.fields[name][0]
        if field.subdtype is None:
            fields.append((name, _aligned(field)))
        else:
            base, shape = field.subdtype
            fields.append((name, _aligned(base), shape))
    return np.dtype(fields, align=True)
