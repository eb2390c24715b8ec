"""Value -> buffer, for every celltype, byte-identical to the reference.

The rules (spec: identity.md, "Serialization rules"):

* ``plain`` (and deepcell, deepfolder, folder, module): PLAIN-JSON + "\\n";
* ``mixed``: MIXED-JSON + "\\n", npy, or the mixed-plain format;
* ``binary``: bytes as they are, anything else through ``np.array`` as npy;
* ``text``, ``python``, ``ipython``, ``yaml``: the text (bytes decoded as
  UTF-8, anything else through ``str``) with exactly one trailing newline;
* ``str``: ``str(value)`` (booleans kept) as PLAIN-JSON + "\\n";
* ``int``, ``float``, ``bool``: coerced, then PLAIN-JSON + "\\n";
* ``bytes``: bytes-like objects as they are, objects with ``tobytes()``
  through it, ``str``/numbers as their text without trailing newlines;
* ``checksum``: a checksum (or a list/dict of them) as PLAIN-JSON hex + "\\n".

Deliberate differences from the reference, none of which changes the bytes
of a value the reference accepts: ``bytearray``/``memoryview`` are taken as
bytes for ``bytes`` (the reference serialized their repr); other objects are
refused for ``bytes`` instead of serializing their repr; ``checksum``
values are validated; Checksum objects nested in ``checksum`` values are
accepted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import SerializationError, describe
from .celltypes import CODE_TYPES, normalize_celltype
from .jsonfmt import plain_json

if TYPE_CHECKING:  # pragma: no cover
    from ..checksum_class import Checksum


def _unchecksum(value: Any) -> Any:
    """Copy of value with Checksums as hex and tuples as lists (dict order kept)."""
    from ..checksum_class import Checksum

    if isinstance(value, Checksum):
        return value.hex()
    if isinstance(value, dict):
        return {k: _unchecksum(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unchecksum(v) for v in value]
    return value


def _text(value: Any, celltype: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(
                f"bytes for celltype {celltype!r} must be UTF-8: {exc}"
            ) from None
    return value if isinstance(value, str) else str(value)


def _utf8(text: str, celltype: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(f"text for celltype {celltype!r} is not valid UTF-8: {exc}") from None


def _scalar(value: Any, celltype: str) -> bytes:
    coerce = {"int": int, "float": float, "bool": bool}[celltype]
    try:
        result = coerce(_text(value, celltype) if isinstance(value, bytes) else value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise SerializationError(
            f"cannot convert {describe(value)} to celltype {celltype!r}: {exc}"
        ) from None
    return plain_json(result) + b"\n"


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    tobytes = getattr(value, "tobytes", None)
    if callable(tobytes):
        return bytes(tobytes())
    if isinstance(value, (str, int, float)):
        return _utf8(str(value).rstrip("\n"), "bytes")
    raise SerializationError(
        f"celltype 'bytes' needs a bytes-like object, str or number, "
        f"not {type(value).__name__}: {describe(value)}"
    )


def _checksum_value(value: Any) -> bytes:
    from ..checksum_class import Checksum

    def check(item: Any) -> None:
        if isinstance(item, dict):
            for v in item.values():
                check(v)
        elif isinstance(item, (list, tuple)):
            for v in item:
                check(v)
        else:
            Checksum(item)  # raises InvalidChecksumError / TypeError

    check(value)
    return plain_json(_unchecksum(value)) + b"\n"


def _binary(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    import numpy as np

    from .mixed import serialize_mixed

    try:
        arr = np.array(value)
    except (TypeError, ValueError) as exc:
        raise SerializationError(f"cannot make an array of {describe(value)}: {exc}") from None
    return serialize_mixed(arr)


def serialize(value: Any, celltype: str) -> bytes:
    """The buffer of value under celltype.

    Raises:
        CelltypeError: unknown celltype (a TypeError).
        SerializationError: the value does not fit the celltype (a TypeError
            and a ValueError).
        InvalidChecksumError: a bad value for celltype "checksum".
    """
    from ..checksum_class import Checksum

    celltype = normalize_celltype(celltype)
    if isinstance(value, Checksum):
        value = value.hex()
    if celltype == "str":
        if not isinstance(value, bool):
            value = str(value)
        return plain_json(value) + b"\n"
    if celltype in ("int", "float", "bool"):
        return _scalar(value, celltype)
    if celltype in CODE_TYPES:
        return _utf8(_text(value, celltype).rstrip("\n") + "\n", celltype)
    if celltype == "plain":
        return plain_json(_unchecksum(value)) + b"\n"
    if celltype == "bytes":
        return _bytes(value)
    if celltype == "checksum":
        return _checksum_value(value)
    if celltype == "mixed":
        from .mixed import serialize_mixed

        return serialize_mixed(_unchecksum(value))
    return _binary(value)


def value_checksum(value: Any, celltype: str) -> "Checksum":
    """The checksum of value under celltype, without building its buffer
    when that can be avoided.

    A numpy array under ``binary`` or ``mixed`` is hashed as its npy header
    followed by its memory, in place: a multi-gigabyte array costs no copy.
    Everything else is serialized and hashed.
    """
    from .. import _native
    from ..checksum_class import Checksum

    if normalize_celltype(celltype) in ("binary", "mixed") and _is_plain_ndarray(value):
        from .mixed.npy import npy_parts

        header, data = npy_parts(value)
        hasher = _native.Hasher()
        hasher.update(header)
        hasher.update(data)
        return Checksum(hasher.digest())
    return Checksum(_native.hash(serialize(value, celltype)))


def _is_plain_ndarray(value: Any) -> bool:
    """An ndarray that mixed/binary serialize as npy (not the unicode quirk)."""
    import sys

    np = sys.modules.get("numpy")
    if np is None or not isinstance(value, np.ndarray):
        return False
    from .mixed.form import classify, is_unicode_dtype

    return not is_unicode_dtype(value.dtype) and classify(value)[0] == "pure-binary"
