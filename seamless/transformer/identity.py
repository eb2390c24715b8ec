"""The identity of a transformation: which keys of its dict count, and the
checksum of the identity buffer (identity.md §10-11).

A transformation dict has pins (``name: (celltype, subcelltype, checksum)``)
and dunder keys. Pins and the load-bearing dunders make the identity buffer,
PLAIN-JSON of that dict plus a newline; its SHA-256 is the transformation
checksum. Orthogonal and derived dunders and ``META__*`` pins travel beside
it (the "dunder envelope") and never change the checksum.
"""

from __future__ import annotations

from typing import Any

from ..buffer_class import Buffer
from ..checksum_class import Checksum

LOAD_BEARING = frozenset({"__language__", "__output__", "__as__", "__format__", "__schema__"})
ORTHOGONAL = frozenset({"__meta__", "__env__", "__compilation__", "__record_probe__", "__code_checksum__",
                        "__code_text__", "__compilers__", "__languages__"})
DERIVED = frozenset({"__compiled__", "__header__", "__deps__"})
META_PREFIX = "META__"


class TransformationDictError(ValueError):
    """A transformation dict that cannot have an identity."""


def is_pin(key: str) -> bool:
    return not key.startswith("__") and not key.startswith(META_PREFIX)


def _plain(value: Any) -> Any:
    """Tuples become lists and Checksums hex, recursively (as PLAIN-JSON sees them)."""
    if isinstance(value, Checksum):
        return value.hex()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def identity_dict(tf_dict: dict[str, Any]) -> dict[str, Any]:
    """The keys of tf_dict that make its identity, in JSON form."""
    result: dict[str, Any] = {}
    for key, value in tf_dict.items():
        if not isinstance(key, str):
            raise TransformationDictError(f"transformation keys must be strings, not {key!r}")
        if key in LOAD_BEARING:
            result[key] = _plain(value)
        elif key in ORTHOGONAL or key in DERIVED or key.startswith(META_PREFIX):
            continue
        elif key.startswith("__"):
            raise TransformationDictError(f"Unknown transformation dunder key {key!r}")
        else:
            if not isinstance(value, (list, tuple)) or len(value) != 3:
                raise TransformationDictError(f"pin {key!r} must be (celltype, subcelltype, checksum), "
                                              f"not {value!r}")
            celltype, subcelltype, checksum = value
            if checksum is None:
                raise TransformationDictError(f"pin {key!r} has no checksum yet (an unresolved dependency)")
            result[key] = [celltype, subcelltype, Checksum(checksum).hex()]
    return result


def identity_buffer(tf_dict: dict[str, Any]) -> Buffer:
    """PLAIN-JSON of the identity dict, with its trailing newline."""
    return Buffer(identity_dict(tf_dict), "plain")


def transformation_checksum(tf_dict: dict[str, Any]) -> Checksum:
    return identity_buffer(tf_dict).get_checksum()


def dunder_envelope(tf_dict: dict[str, Any]) -> dict[str, Any]:
    """The orthogonal and derived keys (what travels beside the identity)."""
    return {k: v for k, v in tf_dict.items() if k in ORTHOGONAL or k in DERIVED}
