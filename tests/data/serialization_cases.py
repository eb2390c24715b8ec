"""Serialization test cases: (case_id, celltype, expression_string).

Each expression is evaluated by the caller with::

    eval(expr, {"np": np, "Checksum": Checksum, "float": float})

where ``Checksum`` is the Checksum class of the implementation under test
(the caller injects it). Values are stored as expression strings, never as
live objects, so that the same case list can drive both the reference
implementation (to produce golden vectors) and our own implementation.

Every expression must be deterministic: same value, same bytes, on every run.
In particular, structured arrays are built as ``np.zeros`` followed by
field-by-field assignment (so that alignment padding is zero), and
long-double arrays are built from explicit bytes (x87 extended precision
leaves uninitialized bytes in the 16-byte slot otherwise).

Keep this module ASCII-only: non-ASCII characters are written as escape
sequences *inside* the expression strings.
"""

import numpy as np  # noqa: F401  (imported for users of this module)

# Well-known SHA-256 checksums used as checksum-like values.
CS_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CS_HELLO = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
CS_ABAB = "ab" * 32

CASES = []


def _add(case_id, celltype, expr):
    CASES.append((case_id, celltype, expr))


def _add_many(prefix, celltypes, values):
    """Add the cross product of celltypes x values.

    Case ids are "<celltype>-<prefix>-<name>"."""
    for celltype in celltypes:
        for name, expr in values:
            _add("%s-%s-%s" % (celltype, prefix, name), celltype, expr)


def _struct(dtype_expr, shape, fields):
    """Expression for a structured array with zeroed padding.

    fields: list of (field_name, value_expression)."""
    body = "".join(
        "a.__setitem__(%r, %s), " % (fname, fexpr) for fname, fexpr in fields
    )
    return "(lambda a: (%sa)[-1])(np.zeros(%s, dtype=%s))" % (
        body,
        shape,
        dtype_expr,
    )


# ---------------------------------------------------------------------------
# Scalar value tables
# ---------------------------------------------------------------------------

INTS = [
    ("0", "0"),
    ("1", "1"),
    ("neg1", "-1"),
    ("2p53p1", "2**53 + 1"),
    ("2p63m1", "2**63 - 1"),
    ("neg2p63", "-2**63"),
    ("neg2p63m1", "-2**63 - 1"),
    ("2p63", "2**63"),
    ("2p64m1", "2**64 - 1"),
    ("2p64", "2**64"),
    ("10p30", "10**30"),
]

FLOATS = [
    ("0.0", "0.0"),
    ("-0.0", "-0.0"),
    ("1.0", "1.0"),
    ("-1.5", "-1.5"),
    ("0.1", "0.1"),
    ("1div3", "1 / 3"),
    ("0.1plus0.2", "0.1 + 0.2"),
    ("1e15", "1e15"),
    ("1e16", "1e16"),
    ("1e22", "1e22"),
    ("1.5e300", "1.5e300"),
    ("1e-5", "1e-5"),
    ("1e-6", "1e-6"),
    ("1e-7", "1e-7"),
    ("2.5e-5", "2.5e-5"),
    ("min-normal", "2.2250738585072014e-308"),
    ("5e-324", "5e-324"),
    ("123456789.123", "123456789.123"),
    ("pi", "3.141592653589793"),
    ("nan", 'float("nan")'),
    ("inf", 'float("inf")'),
    ("-inf", 'float("-inf")'),
]

MISC_SCALARS = [
    ("true", "True"),
    ("false", "False"),
    ("none", "None"),
]

STRINGS = [
    ("empty", r'""'),
    ("ascii", r'"hello world"'),
    ("e-acute", r'"caf\u00e9"'),
    ("cjk", r'"\u4e2d\u6587"'),
    ("emoji", r'"smile \U0001f600"'),
    ("u2028", r'"a\u2028b"'),
    ("del-7f", r'"a\x7fb"'),
    ("c1-80", r'"a\x80b"'),
    ("nul", r'"a\x00b"'),
    ("tab", r'"a\tb"'),
    ("newline", r'"a\nb"'),
    ("controls", r'"\x01\x02\x08\x0b\x0c\x0e\x1b"'),
    ("quote", r'"say \"hi\""'),
    ("backslash", r'"C:\\path\\file"'),
    ("trailing-newlines", r'"abc\n\n\n"'),
    ("only-newlines", r'"\n\n"'),
    ("json-like", r'"{\"a\": 1}"'),
    ("lone-surrogate", r'"a\ud800b"'),
]

CONTAINERS = [
    ("empty-dict", "{}"),
    ("empty-list", "[]"),
    ("empty-tuple", "()"),
    ("list-ints", "[1, 2, 3]"),
    ("list-heterogeneous", '[1, 2.5, "a", True, None]'),
    ("list-floats", '[0.1, 1e-7, 1e16, -0.0, 2.5e-5]'),
    ("deep-nesting", "[[[[[[[[1]]]]]]]]"),
    ("nested-tuple", "(1, (2, 3), [4, (5,)])"),
    ("nested-dict", '{"a": {"b": {"c": [1, {"d": None}]}}}'),
    (
        "unsorted-keys",
        '{"b": 1, "a": 2, "C": 3, "_": 4, "aa": 5, "A": 6, "10": 7, "9": 8}',
    ),
    ("unicode-keys", r'{"\u00e9": 1, "e": 2, "z": 3, "\U0001f600": 4, "\u4e2d": 5}'),
    ("special-keys", r'{"a b": 1, "a\"b": 2, "a\\b": 3, "\n": 4, "": 5}'),
    ("nested-unsorted", '{"z": [{"b": 1, "a": 2}, {"d": [3, 4], "c": {}}], "a": 0}'),
    ("dict-nan-inf", '{"x": float("nan"), "y": float("inf"), "z": float("-inf")}'),
    ("int-keys", '{1: "a", 2: "b"}'),
    ("int-keys-unsorted", '{10: "a", 2: "b", 1: "c"}'),
    ("mixed-int-str-keys", '{1: "a", "b": 2}'),
    ("bool-keys", "{True: 1, False: 0}"),
    ("bytes-value-in-dict", '{"b": b"abc"}'),
    ("bytes-in-list", '[b"abc", b"de"]'),
]

CHECKSUM_VALUES = [
    ("Checksum", 'Checksum("%s")' % CS_HELLO),
    ("dict-with-Checksum", '{"cs": Checksum("%s"), "n": 1}' % CS_HELLO),
    (
        "nested-Checksum",
        '{"a": [{"b": Checksum("%s")}], "c": (Checksum("%s"),)}'
        % (CS_HELLO, CS_EMPTY),
    ),
]

# ---------------------------------------------------------------------------
# plain and mixed: scalars, strings, containers
# ---------------------------------------------------------------------------

_add_many("int", ["plain", "mixed"], INTS)
_add_many("float", ["plain", "mixed"], FLOATS)
_add_many("scalar", ["plain", "mixed"], MISC_SCALARS)
_add_many("str", ["plain", "mixed"], STRINGS)
_add_many("container", ["plain", "mixed"], CONTAINERS)
_add_many("checksum-inside", ["plain", "mixed"], CHECKSUM_VALUES)

# bytes are not JSON; numpy objects in plain
_add_many(
    "misc",
    ["plain"],
    [
        ("bytes", 'b"abc"'),
        ("np-int64", "np.int64(5)"),
        ("np-float64", "np.float64(0.1)"),
        ("np-array", "np.arange(3)"),
    ],
)

# ---------------------------------------------------------------------------
# numpy in mixed: dtypes
# ---------------------------------------------------------------------------

_LONGDOUBLE_HEX = (
    # [0.1, -2.5, 1e300, 0, 1] as x86-64 80-bit extended in 16-byte slots,
    # padding bytes zeroed.
    "00d0ccccccccccccfb3f000000000000"
    "00000000000000a000c0000000000000"
    "00e0ac0340e421bfe343000000000000"
    "00000000000000000000000000000000"
    "0000000000000080ff3f000000000000"
)

NP_DTYPES = [
    ("bool", "np.array([True, False, True])"),
    ("int8", "np.array([-128, -1, 0, 127], dtype=np.int8)"),
    ("int16", "np.array([-32768, -1, 0, 32767], dtype=np.int16)"),
    ("int32", "np.array([-2**31, -1, 0, 2**31 - 1], dtype=np.int32)"),
    ("int64", "np.array([-2**63, -1, 0, 2**63 - 1], dtype=np.int64)"),
    ("uint8", "np.array([0, 1, 255], dtype=np.uint8)"),
    ("uint16", "np.array([0, 1, 65535], dtype=np.uint16)"),
    ("uint32", "np.array([0, 1, 2**32 - 1], dtype=np.uint32)"),
    ("uint64", "np.array([0, 1, 2**64 - 1], dtype=np.uint64)"),
    ("float16", "np.array([0.1, -2.5, 65504.0], dtype=np.float16)"),
    ("float32", "np.array([0.1, -2.5, 1e30], dtype=np.float32)"),
    ("float64", 'np.array([0.1, -2.5, 1e300, float("nan"), float("inf")])'),
    (
        "longdouble",
        'np.frombuffer(bytes.fromhex("%s"), dtype=np.longdouble).copy()'
        % _LONGDOUBLE_HEX,
    ),
    ("complex128", "np.array([1 + 2j], dtype=np.complex128)"),
    ("datetime64", 'np.array(["2020-01-01"], dtype="datetime64[D]")'),
    ("object", 'np.array([1, "a"], dtype=object)'),
    ("big-endian-int32", 'np.arange(3, dtype=">i4")'),
]
_add_many("np-dtype", ["mixed"], NP_DTYPES)

NP_SHAPES = [
    ("0d-int", "np.array(5)"),
    ("0d-float", "np.array(1.5)"),
    ("empty-float", "np.zeros(0)"),
    ("empty-2d", "np.zeros((0, 3))"),
    ("2d", "np.arange(6).reshape(2, 3)"),
    ("3d", "np.arange(24, dtype=np.int16).reshape(2, 3, 4)"),
    ("fortran", "np.asfortranarray(np.arange(6).reshape(2, 3))"),
    ("strided-slice", "np.arange(10)[::2]"),
    ("transposed", "np.arange(6).reshape(2, 3).T"),
    ("column-slice", "np.arange(12).reshape(3, 4)[:, 1]"),
    ("broadcast", "np.broadcast_to(np.arange(3), (2, 3))"),
]
_add_many("np-shape", ["mixed"], NP_SHAPES)

NP_STRINGS = [
    ("S-1d", 'np.array([b"abc", b"de"])'),
    ("S-0d", 'np.array(b"xyz")'),
    ("S-with-nul", 'np.array([b"a\\x00b", b"\\xff"])'),
    ("U-1d", 'np.array(["abc", "de"])'),
    ("U-0d", 'np.array("hello")'),
    ("U-2d", 'np.array([["ab", "c"], ["d", "ef"]])'),
    ("U-unicode", r'np.array(["caf\u00e9", "\U0001f600"])'),
    ("U-empty", 'np.array([], dtype="U3")'),
]
_add_many("np-string", ["mixed"], NP_STRINGS)

NP_SCALARS = [
    ("int64", "np.int64(5)"),
    ("uint64-max", "np.uint64(2**64 - 1)"),
    ("float64-0.1", "np.float64(0.1)"),
    ("float32-0.1", "np.float32(0.1)"),
    ("float16-0.1", "np.float16(0.1)"),
    ("bool-true", "np.bool_(True)"),
    ("str", 'np.str_("abc")'),
    ("bytes", 'np.bytes_(b"abc")'),
    ("complex128", "np.complex128(1 + 2j)"),
]
_add_many("np-scalar", ["mixed"], NP_SCALARS)

# ---------------------------------------------------------------------------
# numpy structured dtypes
# ---------------------------------------------------------------------------

_DT_ALIGNED = 'np.dtype([("a", np.int8), ("b", np.float64)], align=True)'
_DT_UNALIGNED = 'np.dtype([("a", np.int8), ("b", np.float64)], align=False)'
_DT_PACKED_INT8 = 'np.dtype([("x", np.int8), ("y", np.int8)])'
_DT_NESTED = (
    'np.dtype([("id", np.int16), '
    '("pos", np.dtype([("x", np.float32), ("y", np.float64)], align=True)), '
    '("flag", np.bool_)], align=True)'
)
_DT_SUBARRAY = (
    'np.dtype([("n", np.int32), ("v", np.float32, (3,)), '
    '("m", np.int16, (2, 2))], align=True)'
)
_DT_WITH_STR = 'np.dtype([("name", "S5"), ("val", np.float64)], align=True)'
_DT_WITH_U = 'np.dtype([("name", "U3"), ("val", np.int32)], align=True)'
_DT_UNALIGNED_NESTED = (
    'np.dtype([("a", np.int8), '
    '("s", np.dtype([("b", np.int8), ("c", np.float64)]))])'
)

_S_ALIGNED = _struct(_DT_ALIGNED, "2", [("a", "[1, -2]"), ("b", "[0.5, -1.5]")])
_S_UNALIGNED = _struct(_DT_UNALIGNED, "2", [("a", "[1, -2]"), ("b", "[0.5, -1.5]")])
_S_PACKED_INT8 = _struct(_DT_PACKED_INT8, "3", [("x", "[1, 2, 3]"), ("y", "[4, 5, 6]")])
_S_SUBARRAY = _struct(
    _DT_SUBARRAY,
    "2",
    [
        ("n", "[1, 2]"),
        ("v", "[[0.5, 1.5, 2.5], [3.5, 4.5, 5.5]]"),
        ("m", "[[[1, 2], [3, 4]], [[5, 6], [7, 8]]]"),
    ],
)
_S_WITH_STR = _struct(
    _DT_WITH_STR, "2", [("name", '[b"ab", b"cdefg"]'), ("val", "[1.0, 2.0]")]
)
_S_WITH_U = _struct(_DT_WITH_U, "2", [("name", '["ab", "xyz"]'), ("val", "[1, 2]")])
_S_UNALIGNED_NESTED = _struct(_DT_UNALIGNED_NESTED, "1", [("a", "[1]")])
_S_ALIGNED_2D = _struct(
    _DT_ALIGNED,
    "(2, 2)",
    [("a", "[[1, 2], [3, 4]]"), ("b", "[[0.5, 1.5], [2.5, 3.5]]")],
)

# Nested struct: assign the sub-fields of "pos" through a view, so that the
# padding of the inner struct stays zero.
_S_NESTED = (
    "(lambda a: (a.__setitem__('id', [7, 8]), "
    "a['pos'].__setitem__('x', [1.5, -1.0]), "
    "a['pos'].__setitem__('y', [2.5, 0.1]), "
    "a.__setitem__('flag', [True, False]), a)[-1])"
    "(np.zeros(2, dtype=%s))" % _DT_NESTED
)

NP_STRUCTS = [
    ("aligned", _S_ALIGNED),
    ("unaligned", _S_UNALIGNED),
    ("packed-int8", _S_PACKED_INT8),
    ("nested", _S_NESTED),
    ("subarray-fields", _S_SUBARRAY),
    ("with-S-field", _S_WITH_STR),
    ("with-U-field", _S_WITH_U),
    ("unaligned-nested", _S_UNALIGNED_NESTED),
    ("aligned-2d", _S_ALIGNED_2D),
    ("aligned-empty", "np.zeros(0, dtype=%s)" % _DT_ALIGNED),
    ("aligned-0d", "np.zeros((), dtype=%s)" % _DT_ALIGNED),
    ("void-aligned", "(%s)[0]" % _S_ALIGNED),
    ("void-unaligned", "(%s)[0]" % _S_UNALIGNED),
    ("void-nested", "(%s)[1]" % _S_NESTED),
    ("void-subarray", "(%s)[1]" % _S_SUBARRAY),
]
_add_many("np-struct", ["mixed"], NP_STRUCTS)

# ---------------------------------------------------------------------------
# mixed: dicts / lists containing numpy arrays
# ---------------------------------------------------------------------------

MIXED_WITH_ARRAYS = [
    ("dict-one-array", '{"a": np.arange(3)}'),
    (
        "dict-array-and-scalars",
        '{"a": np.arange(3), "b": 1, "c": "x", "d": None, "e": 2.5}',
    ),
    ("dict-two-arrays", '{"x": np.arange(3), "y": np.ones((2, 2))}'),
    (
        "dict-unsorted-keys-arrays",
        '{"z": np.arange(2), "a": np.arange(3, dtype=np.uint8), "m": 1}',
    ),
    (
        "dict-nested-two-levels",
        '{"outer": {"inner": np.arange(4, dtype=np.int32)}, "k": 1}',
    ),
    ("list-identical-arrays", "[np.arange(3), np.arange(3)]"),
    ("list-same-form-arrays", "[np.array([1, 2]), np.array([3, 4]), np.array([5, 6])]"),
    ("list-different-shapes", "[np.arange(3), np.arange(4)]"),
    ("list-different-dtypes", "[np.arange(3), np.arange(3.0)]"),
    ("list-array-and-scalars", '[np.arange(3), 1, "a", None, 2.5]'),
    ("list-nested-arrays", "[[np.arange(2)], [np.arange(2)]]"),
    ("tuple-with-array", "(np.arange(3), 1)"),
    ("dict-tuple-with-array", '{"t": (1, np.arange(2))}'),
    ("dict-bytes", '{"b": b"bytes", "n": 1}'),
    ("list-bytes", '[b"a", b"bc"]'),
    ("dict-np-int64", '{"n": np.int64(5)}'),
    ("dict-np-float32", '{"f": np.float32(0.1)}'),
    ("dict-np-bool", '{"b": np.bool_(True)}'),
    ("dict-empty-array", '{"e": np.zeros(0)}'),
    ("dict-empty-containers-and-array", '{"d": {}, "l": [], "a": np.arange(2)}'),
    ("dict-strided-array", '{"s": np.arange(10)[::3]}'),
    ("dict-bool-array", '{"b": np.array([True, False])}'),
    ("dict-U-array", '{"u": np.array(["ab", "c"])}'),
    ("dict-struct-array", '{"s": %s}' % _S_ALIGNED),
    ("dict-void", '{"v": (%s)[0]}' % _S_ALIGNED),
    ("dict-unaligned-struct", '{"s": %s}' % _S_UNALIGNED),
    ("dict-Checksum-and-array", '{"cs": Checksum("%s"), "a": np.arange(2)}' % CS_HELLO),
    ("dict-int-keys-and-array", '{2: np.arange(2), 1: "x"}'),
    (
        "dict-float-special-and-array",
        '{"n": float("nan"), "t": 1e-7, "a": np.arange(2)}',
    ),
    ("dict-object-array", '{"o": np.array([1, "a"], dtype=object)}'),
]
_add_many("with-arrays", ["mixed"], MIXED_WITH_ARRAYS)

# ---------------------------------------------------------------------------
# binary celltype
# ---------------------------------------------------------------------------

BINARY_VALUES = [
    ("array-int", "np.arange(4)"),
    ("array-struct", _S_ALIGNED),
    ("array-unaligned-struct", _S_UNALIGNED),
    ("array-S", 'np.array([b"abc", b"de"])'),
    ("array-U", 'np.array(["abc", "de"])'),
    ("array-0d", "np.array(3.5)"),
    ("list-ints", "[1, 2, 3]"),
    ("list-2d", "[[1, 2], [3, 4]]"),
    ("list-empty", "[]"),
    ("list-bytes", '[b"a", b"bc"]'),
    ("list-strings", '["ab", "cd"]'),
    ("list-int-and-str", '[1, "a"]'),
    ("list-ragged", "[[1], [1, 2]]"),
    ("int", "5"),
    ("float", "1.5"),
    ("bool", "True"),
    ("str", '"hello"'),
    ("bytes", 'b"abc"'),
    ("bytes-npy-magic", 'b"\\x93NUMPY"'),
    ("np-float32", "np.float32(1.5)"),
    ("none", "None"),
    ("dict", '{"a": 1}'),
]
_add_many("v", ["binary"], BINARY_VALUES)

# ---------------------------------------------------------------------------
# bytes celltype
# ---------------------------------------------------------------------------

BYTES_VALUES = [
    ("bytes", 'b"abc"'),
    ("bytes-empty", 'b""'),
    ("bytes-binary", 'b"\\x00\\xff\\x93NUMPY"'),
    ("str", '"hello"'),
    ("str-unicode", r'"caf\u00e9 \U0001f600"'),
    ("str-trailing-newlines", '"abc\\n\\n\\n"'),
    ("str-lone-surrogate", r'"a\ud800"'),
    ("array-int32", "np.arange(3, dtype=np.int32)"),
    ("array-fortran", "np.asfortranarray(np.arange(6, dtype=np.int8).reshape(2, 3))"),
    ("np-float64", "np.float64(0.1)"),
    ("int", "5"),
    ("float", "1.5"),
    ("none", "None"),
    ("dict", '{"a": 1}'),
    ("bytearray", 'bytearray(b"xy")'),
]
_add_many("v", ["bytes"], BYTES_VALUES)

# ---------------------------------------------------------------------------
# text-like celltypes
# ---------------------------------------------------------------------------

TEXT_VALUES = [
    ("str", '"hello"'),
    ("str-empty", '""'),
    ("str-trailing-newlines", '"hello\\n\\n\\n"'),
    ("str-leading-newlines", '"\\n\\nhello"'),
    ("str-crlf", '"a\\r\\nb\\r\\n"'),
    ("multiline", '"line 1\\nline 2\\n\\nline 4\\n"'),
    ("unicode", r'"caf\u00e9 \U0001f600 \u2028"'),
    ("lone-surrogate", r'"a\ud800"'),
    ("bytes", 'b"bytes value\\n"'),
    ("bytes-non-utf8", 'b"\\xff\\xfe"'),
    ("int", "5"),
    ("true", "True"),
    ("none", "None"),
]
_add_many("v", ["text"], TEXT_VALUES)

_add_many(
    "v",
    ["python"],
    [
        ("function", '"def f(x):\\n    return x + 1\\n\\n\\n"'),
        ("syntax-error", '"x = ("'),
        ("bytes", 'b"y = 2\\n"'),
        ("int", "42"),
        ("true", "True"),
        ("unicode", r'"s = \"caf\u00e9\"\n"'),
    ],
)

_add_many(
    "v",
    ["ipython"],
    [
        ("magic", '"%timeit f()\\nx = 1\\n"'),
        ("plain-python", '"def g():\\n    pass\\n"'),
        ("cell-magic", '"%%time\\nx = 1\\n"'),
    ],
)

_add_many(
    "v",
    ["yaml"],
    [
        ("mapping", '"a: 1\\nb: [1, 2]\\n"'),
        ("trailing-newlines", '"a: 1\\n\\n\\n"'),
        ("invalid", '"a: [\\n"'),
        ("int", "3"),
        ("true", "True"),
    ],
)

# ---------------------------------------------------------------------------
# str celltype
# ---------------------------------------------------------------------------

_STR_SUBSET = [
    "empty",
    "e-acute",
    "emoji",
    "u2028",
    "nul",
    "quote",
    "trailing-newlines",
    "lone-surrogate",
]
_add_many("str", ["str"], [v for v in STRINGS if v[0] in _STR_SUBSET])
_add_many(
    "cross",
    ["str"],
    [
        ("int", "5"),
        ("float", "1.5"),
        ("float-1e-7", "1e-7"),
        ("float-nan", 'float("nan")'),
        ("true", "True"),
        ("none", "None"),
        ("list", "[1, 2]"),
        ("bytes", 'b"abc"'),
        ("np-float32", "np.float32(0.1)"),
        ("Checksum", 'Checksum("%s")' % CS_HELLO),
    ],
)

# ---------------------------------------------------------------------------
# int / float / bool celltypes
# ---------------------------------------------------------------------------

_INT_SUBSET = ["0", "neg1", "2p63m1", "2p64"]
_add_many("int", ["int"], [v for v in INTS if v[0] in _INT_SUBSET])
_add_many(
    "cross",
    ["int"],
    [
        ("str-5", '"5"'),
        ("str-padded", '"  7 \\n"'),
        ("str-underscore", '"1_000"'),
        ("str-float", '"5.0"'),
        ("bytes-5", 'b"5"'),
        ("float-1.7", "1.7"),
        ("float-nan", 'float("nan")'),
        ("float-inf", 'float("inf")'),
        ("true", "True"),
        ("none", "None"),
        ("np-int64", "np.int64(5)"),
        ("np-float32", "np.float32(2.5)"),
    ],
)

_FLOAT_SUBSET = ["-0.0", "0.1", "1e16", "1e-7", "2.5e-5", "5e-324", "nan", "inf"]
_add_many("float", ["float"], [v for v in FLOATS if v[0] in _FLOAT_SUBSET])
_add_many(
    "cross",
    ["float"],
    [
        ("int-3", "3"),
        ("int-2p64", "2**64"),
        ("int-2p1024", "2**1024"),
        ("str-1.5", '"1.5"'),
        ("str-nan", '"nan"'),
        ("str-1e400", '"1e400"'),
        ("str-abc", '"abc"'),
        ("true", "True"),
        ("none", "None"),
        ("np-float32", "np.float32(0.1)"),
    ],
)

_add_many(
    "cross",
    ["bool"],
    [
        ("false", "False"),
        ("str-False", '"False"'),
        ("str-empty", '""'),
        ("bytes-empty", 'b""'),
        ("int-0", "0"),
        ("int-2", "2"),
        ("float-nan", 'float("nan")'),
        ("none", "None"),
        ("list-empty", "[]"),
        ("np-bool", "np.bool_(False)"),
    ],
)

# ---------------------------------------------------------------------------
# checksum celltype
# ---------------------------------------------------------------------------

_add_many(
    "v",
    ["checksum"],
    [
        ("hex", '"%s"' % CS_HELLO),
        ("hex-short", '"abc"'),
        ("Checksum", 'Checksum("%s")' % CS_HELLO),
        ("list-hex", '["%s", "%s"]' % (CS_HELLO, CS_EMPTY)),
        ("dict-hex", '{"b": "%s", "a": "%s"}' % (CS_HELLO, CS_EMPTY)),
        ("dict-nested", '{"x": {"y": "%s"}, "z": ["%s"]}' % (CS_ABAB, CS_EMPTY)),
        ("list-Checksum", '[Checksum("%s")]' % CS_HELLO),
        ("dict-Checksum", '{"a": Checksum("%s")}' % CS_HELLO),
        ("none", "None"),
    ],
)

# ---------------------------------------------------------------------------
# deepcell / deepfolder / folder / module (serialized as plain)
# ---------------------------------------------------------------------------

_DEEP_VALUES = [
    ("hex-values", '{"b": "%s", "a": "%s"}' % (CS_HELLO, CS_EMPTY)),
    (
        "Checksum-values",
        '{"x": Checksum("%s"), "y": Checksum("%s")}' % (CS_ABAB, CS_EMPTY),
    ),
    (
        "unicode-keys",
        r'{"caf\u00e9.txt": "%s", "sub/dir/file": "%s"}' % (CS_HELLO, CS_EMPTY),
    ),
]
_add_many("v", ["deepcell", "deepfolder", "folder"], _DEEP_VALUES)
_add_many(
    "v",
    ["deepcell"],
    [
        ("nested-value", '{"k": {"nested": [1, 2.5, None]}}'),
        ("int-keys", '{1: "%s"}' % CS_HELLO),
    ],
)
_add_many(
    "v",
    ["module"],
    [
        ("empty", "{}"),
        (
            "python-module",
            '{"type": "interpreted", "language": "python", '
            '"code": "def f():\\n    return 1\\n"}',
        ),
        (
            "package",
            '{"type": "interpreted", "language": "python", "code": '
            '{"__init__.py": "from .a import x\\n", "a.py": "x = 1\\n"}, '
            '"dependencies": []}',
        ),
        ("string", '"not a dict"'),
    ],
)

# ---------------------------------------------------------------------------
# Invalid celltype
# ---------------------------------------------------------------------------

_add("invalid-celltype-cson", "cson", '{"a": 1}')

# ---------------------------------------------------------------------------

_ids = [case[0] for case in CASES]
assert len(_ids) == len(set(_ids)), sorted(
    {case_id for case_id in _ids if _ids.count(case_id) > 1}
)
del _ids
