"""Generate golden serialization vectors from the *reference* implementation.

This script is NOT part of the test suite and must NOT be run with the
project's own interpreter. It is run with a separate Python environment in
which the reference implementation (``seamless-core``, import name
``seamless``) is installed, together with numpy and orjson::

    REFERENCE_PYTHON tests/reference/make_serialization_vectors.py \\
        > tests/data/serialization_vectors.json

(run from the repository root; REFERENCE_PYTHON is the interpreter of that
separate environment).

For every case in ``tests/data/serialization_cases.py`` (a list of
``(case_id, celltype, expression_string)``), the expression is evaluated
with ``{"np": numpy, "Checksum": <reference Checksum>, "float": float}`` as
globals, and the value is serialized with ``Buffer(value, celltype)``.
Each vector is one of:

* success::

      {"id", "celltype", "buffer_b64", "checksum",
       "roundtrip_ok": bool}            # or "roundtrip_error": "<TypeName>"

  ``checksum`` is the hex SHA-256 of the buffer. The round trip parses the
  buffer back with ``Buffer(content).get_value(celltype)`` and serializes
  the parsed value again with the same celltype; ``roundtrip_ok`` tells
  whether that gives the same bytes. If parsing or re-serializing raises,
  ``roundtrip_error`` holds the exception type name instead.

  Special case: when the parsed value is (or contains) a numpy structured
  array/scalar whose dtype has alignment padding, the reference converts it
  to a fresh aligned array whose padding bytes are *uninitialized*, so the
  re-serialized bytes differ from run to run in those padding bytes only.
  For these vectors ``"roundtrip_padding_undefined": true`` is added and
  ``roundtrip_ok`` compares the two .npy buffers ignoring padding bytes
  (headers must still be identical).

* failure (the reference raised while evaluating/serializing)::

      {"id", "celltype", "error": "<ExceptionTypeName>"}

The output is a single JSON document, deterministic (vectors sorted by id,
keys sorted), so that regenerating it yields an identical file as long as
the reference, numpy and orjson versions are unchanged.
"""

import base64
import hashlib
import importlib.util
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = os.path.dirname(os.path.dirname(HERE))
CASES_FILE = os.path.join(PROJECT_ROOT, "tests", "data", "serialization_cases.py")


def _import_reference():
    """Import the reference implementation, never the project's package."""
    # Make sure the project root (which contains our own "seamless" package)
    # is not on sys.path, whatever the current directory is.
    root = os.path.realpath(PROJECT_ROOT)
    sys.path[:] = [
        p for p in sys.path if os.path.realpath(p or os.getcwd()) != root
    ]
    import seamless
    from seamless import Buffer, Checksum

    location = os.path.realpath(os.path.dirname(seamless.__file__))
    if location == root or location.startswith(root + os.sep):
        raise RuntimeError(
            "Imported the project's own 'seamless' package instead of the "
            "reference implementation: run this script with the reference "
            "interpreter"
        )
    return Buffer, Checksum


def _distribution_version(name):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _load_cases(checksum_class):
    spec = importlib.util.spec_from_file_location(
        "serialization_cases", CASES_FILE
    )
    module = importlib.util.module_from_spec(spec)
    # The case module may refer to "Checksum"; inject the reference class.
    module.Checksum = checksum_class
    spec.loader.exec_module(module)
    return module.CASES


def _content_bytes(buffer):
    return bytes(buffer.content)


def _padding_mask(dt):
    """Per-item byte mask of a numpy dtype: True where a byte holds data."""
    mask = [False] * dt.itemsize

    def mark(sub_dt, base):
        if sub_dt.fields is not None:
            for name in sub_dt.names:
                field_dt, offset = sub_dt.fields[name][:2]
                mark(field_dt, base + offset)
        elif sub_dt.subdtype is not None:
            item_dt, shape = sub_dt.subdtype
            count = 1
            for n in shape:
                count *= n
            for k in range(count):
                mark(item_dt, base + k * item_dt.itemsize)
        else:
            for k in range(sub_dt.itemsize):
                mask[base + k] = True

    mark(dt, 0)
    return mask


def _has_padding(dt):
    return dt.fields is not None and not all(_padding_mask(dt))


def _contains_padded_struct(np, value):
    if isinstance(value, (np.ndarray, np.void)):
        return _has_padding(value.dtype)
    if isinstance(value, dict):
        return any(_contains_padded_struct(np, v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_padded_struct(np, v) for v in value)
    return False


def _split_npy(np, content):
    """Return (header_bytes, dtype, data_bytes) of an .npy buffer, or None."""
    import io

    if not content.startswith(b"\x93NUMPY"):
        return None
    f = io.BytesIO(content)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        _, _, dtype = np.lib.format.read_array_header_1_0(f)
    else:
        _, _, dtype = np.lib.format.read_array_header_2_0(f)
    offset = f.tell()
    return content[:offset], dtype, content[offset:]


def _npy_equal_modulo_padding(np, content1, content2):
    split1 = _split_npy(np, content1)
    split2 = _split_npy(np, content2)
    if split1 is None or split2 is None:
        return False
    header1, dtype, data1 = split1
    header2, _, data2 = split2
    if header1 != header2 or len(data1) != len(data2):
        return False
    itemsize = dtype.itemsize
    if itemsize == 0 or len(data1) % itemsize:
        return data1 == data2
    mask = np.array(_padding_mask(dtype), dtype=bool)
    a1 = np.frombuffer(data1, dtype=np.uint8).reshape(-1, itemsize)
    a2 = np.frombuffer(data2, dtype=np.uint8).reshape(-1, itemsize)
    return bool(np.array_equal(a1[:, mask], a2[:, mask]))


def _make_vector(Buffer, Checksum, np, case_id, celltype, expr):
    vector = {"id": case_id, "celltype": celltype}
    try:
        value = eval(expr, {"np": np, "Checksum": Checksum, "float": float})
        buffer = Buffer(value, celltype)
        content = _content_bytes(buffer)
        checksum = buffer.get_checksum().hex()
    except Exception as exc:  # noqa: BLE001 - we record the failure
        vector["error"] = type(exc).__name__
        return vector
    if checksum != hashlib.sha256(content).hexdigest():
        raise AssertionError("checksum mismatch for case %r" % case_id)
    vector["buffer_b64"] = base64.b64encode(content).decode("ascii")
    vector["checksum"] = checksum
    try:
        parsed = Buffer(content).get_value(celltype)
        content2 = _content_bytes(Buffer(parsed, celltype))
    except Exception as exc:  # noqa: BLE001 - we record the failure
        vector["roundtrip_error"] = type(exc).__name__
    else:
        roundtrip_ok = content2 == content
        if _contains_padded_struct(np, parsed):
            vector["roundtrip_padding_undefined"] = True
            if not roundtrip_ok:
                roundtrip_ok = _npy_equal_modulo_padding(np, content, content2)
        vector["roundtrip_ok"] = roundtrip_ok
    return vector


def main():
    Buffer, Checksum = _import_reference()
    import numpy as np
    import orjson

    cases = _load_cases(Checksum)
    ids = [case[0] for case in cases]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate case ids")

    vectors = [
        _make_vector(Buffer, Checksum, np, case_id, celltype, expr)
        for case_id, celltype, expr in cases
    ]
    vectors.sort(key=lambda v: v["id"])

    generator_version = _distribution_version("seamless-core") or "unknown"
    document = {
        "generator": "seamless-core %s" % generator_version,
        "numpy": np.__version__,
        "orjson": orjson.__version__,
        "vectors": vectors,
    }
    out = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=True)
    sys.stdout.write(out + "\n")


if __name__ == "__main__":
    main()
