"""Live differential fuzzing of our serializer against the reference.

For hypothesis-generated values, ``Buffer(value, celltype).content`` must be
the reference's buffer byte for byte; where the reference raises, we must
raise too. The reference (``seamless-core``, import name ``seamless``) runs
in a separate virtualenv: tests/reference/serialize_server.py is started with
the interpreter named by the environment variable ``SEAMLESS_REFERENCE_PYTHON``
and serializes values sent to it as pickles. Without that variable the
module is skipped.

Values travel by pickle. numpy arrays are rebuilt in the reference process
with ``numpy.ndarray(shape, dtype_string, buffer, offset, strides)`` from the
bytes they span: plain pickling would turn views into contiguous copies
(mixed buffers record strides and contiguity) and would give dtypes that are
not numpy's builtin singletons (the reference treats those as structures).

Documented deliberate differences are not generated: bytearray, memoryview,
dict, list, tuple or None for celltype ``bytes``; the ``checksum`` celltype;
numpy unicode (``U``) arrays; structured dtypes (the reference leaves their
padding bytes undefined).
"""

from __future__ import annotations

import ctypes
import io
import math
import os
import pickle
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seamless import Buffer
from seamless.exceptions import SeamlessError

REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER = REPO_ROOT / "tests" / "reference" / "serialize_server.py"
ENV_VAR = "SEAMLESS_REFERENCE_PYTHON"
_REFERENCE_PYTHON = os.environ.get(ENV_VAR)
REFERENCE_PYTHON = shutil.which(_REFERENCE_PYTHON) if _REFERENCE_PYTHON else None

if not _REFERENCE_PYTHON:
    _SKIP_REASON = (
        f"set {ENV_VAR} to the interpreter of a virtualenv with the reference"
    )
else:
    _SKIP_REASON = f"{ENV_VAR}={_REFERENCE_PYTHON!r} is not an executable interpreter"

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(REFERENCE_PYTHON is None, reason=_SKIP_REASON),
]

#: What we may raise where the reference raises.
ACCEPTED_ERRORS = (TypeError, ValueError, IndexError, OverflowError, SeamlessError)

FUZZ = settings(max_examples=300, deadline=None)


# ---- the reference server ------------------------------------------------


def _rebuild_array(array: np.ndarray) -> tuple:
    """Reduce array to a numpy.ndarray call giving the same dtype, strides and bytes."""
    if array.size == 0:
        return np.ndarray, (array.shape, array.dtype.str, bytearray(), 0, array.strides)
    extents = [stride * (n - 1) for stride, n in zip(array.strides, array.shape)]
    low = sum(e for e in extents if e < 0)
    high = sum(e for e in extents if e > 0) + array.itemsize
    span = ctypes.string_at(array.ctypes.data + low, high - low)
    return (
        np.ndarray,
        (array.shape, array.dtype.str, bytearray(span), -low, array.strides),
    )


class _RequestPickler(pickle.Pickler):
    """A pickler that sends numpy arrays as they are laid out (see _rebuild_array)."""

    def reducer_override(self, obj):
        if type(obj) is np.ndarray:
            return _rebuild_array(obj)
        return NotImplemented


def _dumps(obj: object) -> bytes:
    stream = io.BytesIO()
    _RequestPickler(stream, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return stream.getvalue()


class ReferenceServer:
    """A serialize_server.py subprocess, spoken to in length-prefixed pickles."""

    def __init__(self, python: str, cwd: Path):
        env = dict(os.environ)
        # Keep this repository (with our own "seamless") off the server's path.
        paths = [
            p for p in env.pop("PYTHONPATH", "").split(os.pathsep)
            if p and not _inside_repo(Path(p))
        ]
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        self._stderr_path = cwd / "stderr.txt"
        self._stderr = open(self._stderr_path, "wb")  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [python, str(SERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=cwd,
            env=env,
        )

    def serialize(self, celltype: str, value: object) -> tuple:
        """("ok", buffer) or ("error", exception_type_name, message)."""
        payload = _dumps((celltype, value))
        try:
            self._process.stdin.write(struct.pack("<Q", len(payload)) + payload)
            self._process.stdin.flush()
            header = self._read(8)
            return pickle.loads(self._read(struct.unpack("<Q", header)[0]))
        except (OSError, EOFError) as exc:
            raise RuntimeError(
                f"the reference server failed: {exc}\n{self._log()}"
            ) from None

    def _read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self._process.stdout.read(size - len(data))
            if not chunk:
                raise EOFError("the reference server closed its output")
            data += chunk
        return data

    def _log(self) -> str:
        self._stderr.flush()
        log = self._stderr_path.read_text(errors="replace")
        return "server stderr:\n" + log[-2000:]

    def close(self) -> None:
        """Close stdin (the server then exits) and wait for it."""
        try:
            self._process.stdin.close()
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        finally:
            self._process.stdout.close()
            self._stderr.close()


def _inside_repo(path: Path) -> bool:
    path = path.resolve()
    return path == REPO_ROOT or REPO_ROOT in path.parents


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The reference server, started in a neutral directory."""
    cwd = tmp_path_factory.mktemp("reference-server")
    server = ReferenceServer(REFERENCE_PYTHON, cwd)
    try:
        answer = server.serialize("plain", None)
        if answer != ("ok", b"null\n"):
            raise RuntimeError(f"unexpected answer from the reference: {answer!r}")
        yield server
    finally:
        server.close()


# ---- comparison ------------------------------------------------------------


def _truncate(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[: limit - 120] + " ... " + text[-100:]


def _describe(value: object) -> str:
    text = repr(value)
    if isinstance(value, np.ndarray):
        text += (
            f" (dtype={value.dtype.str}, shape={value.shape}, strides={value.strides}, "
            f"C={value.flags.c_contiguous}, F={value.flags.f_contiguous})"
        )
    return _truncate(text)


def check_same(reference: ReferenceServer, celltype: str, value: object) -> None:
    """Assert that we serialize value as the reference does, or fail as it does."""
    answer = reference.serialize(celltype, value)
    try:
        ours = Buffer(value, celltype).content
    except Exception as exc:  # noqa: BLE001 - compared with the reference
        ours, ours_text = None, f"raised {type(exc).__name__}: {exc}"
        ours_error = exc
    else:
        ours_text, ours_error = _truncate(repr(ours)), None
    if answer[0] == "ok":
        ref_text = _truncate(repr(answer[1]))
    else:
        ref_text = f"raised {answer[1]}: {answer[2]}"
    message = (
        f"celltype {celltype!r}, value {_describe(value)}\n"
        f"  ours:      {_truncate(ours_text)}\n"
        f"  reference: {_truncate(ref_text)}"
    )
    if answer[0] == "ok":
        assert ours == answer[1], message
    else:
        assert isinstance(ours_error, ACCEPTED_ERRORS), message


# ---- strategies ------------------------------------------------------------

INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
SPECIAL_FLOATS = st.sampled_from([
    math.nan, -math.nan, math.inf, -math.inf, 0.0, -0.0,
    5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
    1.7976931348623157e308, -1.7976931348623157e308,
    1e-300, 1e300, 1e16, 1e-7, 0.1, 1 / 3, 2.0**53, 2.0**63, 2.0**64,
])
FLOATS = st.floats() | SPECIAL_FLOATS
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
JSON_LEAVES = st.none() | st.booleans() | INT64 | FLOATS | TEXT


def json_values(keys=TEXT, leaves=JSON_LEAVES, max_leaves=15):
    """Recursive JSON-like values: lists, tuples and dicts of leaves."""
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.lists(children, max_size=4).map(tuple)
            | st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


ARRAY_DTYPES = st.sampled_from([
    np.dtype(name) for name in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float16", "float32", "float64",
    )
]) | hnp.byte_string_dtypes(endianness="=", max_len=8)

VIEWS = {
    "as-is": lambda a: a,
    "fortran": np.asfortranarray,
    "transposed": lambda a: a.T,
    "step-2": lambda a: a[::2] if a.ndim else a,
    "reversed-last-axis": lambda a: a[..., ::-1] if a.ndim else a,
    "inner-slice": lambda a: a[..., 1:] if a.ndim else a,
}


@st.composite
def arrays(draw):
    """numpy arrays of up to 3 dimensions, contiguous or not."""
    array = draw(hnp.arrays(
        ARRAY_DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
    ))
    return VIEWS[draw(st.sampled_from(sorted(VIEWS)))](array)


NUMPY_SCALARS = (
    st.integers(min_value=-(2**63), max_value=2**63 - 1).map(np.int64)
    | st.floats(width=32).map(np.float32)
    | FLOATS.map(np.float64)
)
MIXED_KEYS = TEXT | INT64


# ---- tests -----------------------------------------------------------------


@FUZZ
@given(value=json_values(), celltype=st.sampled_from(
    ["plain", "plain", "plain", "deepcell", "deepfolder", "folder", "module"]
))
def test_plain(reference, value, celltype):
    """JSON values serialize as plain (and its aliases) as in the reference."""
    check_same(reference, celltype, value)


@FUZZ
@given(value=json_values(keys=MIXED_KEYS))
def test_mixed_json(reference, value):
    """JSON values, also with int dict keys, serialize as mixed as in the reference."""
    check_same(reference, "mixed", value)


@FUZZ
@given(value=arrays() | NUMPY_SCALARS)
def test_mixed_arrays(reference, value):
    """numpy arrays and scalars serialize as mixed as in the reference."""
    check_same(reference, "mixed", value)


@FUZZ
@given(value=json_values(
    keys=MIXED_KEYS, leaves=JSON_LEAVES | arrays() | NUMPY_SCALARS, max_leaves=8
).filter(lambda v: isinstance(v, (list, tuple, dict))))
def test_mixed_nested(reference, value):
    """Dicts and lists mixing arrays with JSON values serialize as in the reference."""
    check_same(reference, "mixed", value)


@FUZZ
@given(value=arrays() | st.lists(st.booleans() | INT64 | FLOATS, max_size=6)
       | st.lists(INT64, max_size=6) | st.lists(FLOATS, max_size=6) | st.binary())
def test_binary(reference, value):
    """Arrays, lists of numbers and bytes serialize as binary as in the reference."""
    check_same(reference, "binary", value)


@st.composite
def scalar_cases(draw):
    """(celltype, value) for the text-like, scalar and bytes celltypes."""
    celltype = draw(st.sampled_from(
        ["str", "int", "float", "bool", "text", "python", "yaml", "bytes"]
    ))
    numeric_text = (
        st.integers().map(str)
        | FLOATS.map(repr)
        | st.sampled_from(["1_000", "0x10", "True"])
    )
    padded = st.tuples(st.sampled_from(["", " ", "\n", "\t "]), numeric_text,
                       st.sampled_from(["", " ", "\n", " \n"])).map("".join)
    text = TEXT | padded
    if celltype in ("text", "python", "yaml"):
        raw = text.map(lambda s: s.encode("utf-8"))
    else:
        raw = text.map(lambda s: s.encode("utf-8")) | st.binary(max_size=12)
    value = draw(text | st.integers() | FLOATS | st.booleans() | raw)
    return celltype, value


@FUZZ
@given(case=scalar_cases())
def test_scalar_and_text(reference, case):
    """Text, numbers, booleans and bytes serialize as in the reference."""
    celltype, value = case
    check_same(reference, celltype, value)


def test_server_refuses_our_package(tmp_path):
    """The server run with our interpreter exits with an error and no output."""
    result = subprocess.run(
        [sys.executable, str(SERVER)], input=b"", capture_output=True,
        cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)), timeout=60,
    )
    assert result.returncode != 0, result.stderr
    assert result.stdout == b""
