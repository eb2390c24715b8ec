"""cffi build script of the native core (API mode).

setup.py names ``seamless/_native/_build.py:ffibuilder`` in ``cffi_modules``.
The declarations come from ``csrc/seamless_native.cdef.h``; the real header is
included by the generated C, so the compiler checks one against the other.
Run this file directly to build the extension in place for development.
"""

from __future__ import annotations

import os
import platform

from cffi import FFI

_HERE = os.path.dirname(os.path.abspath(__file__))
CSRC = os.path.normpath(os.path.join(_HERE, "..", "..", "csrc"))

SOURCES = [
    "batch.c",
    "clock.c",
    "dispatch.c",
    "errors.c",
    "file.c",
    "fingerprint.c",
    "front.c",
    "front_bridge.c",
    "front_cache.c",
    "front_records.c",
    "front_request.c",
    "front_vfs.c",
    "hash.c",
    "pipeline.c",
    "sha256_portable.c",
    "sha256_x86.c",
    "sha3.c",
    "sqlite_api.c",
    "stream.c",
    "store.c",
    "threads.c",
]


def _is_x86_64() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64")


def _relative(path: str) -> str:
    # setuptools wants source paths relative to the project root (the cwd).
    return os.path.relpath(path, os.getcwd())


def _sources() -> list[str]:
    paths = [os.path.join(CSRC, name) for name in SOURCES]
    if _is_x86_64():
        # Run-time AVX2/AVX-512 dispatch for the XXH3 fingerprint.
        paths.append(os.path.join(CSRC, "vendor", "xxhash", "xxh_x86dispatch.c"))
    # Glue that reads Python objects; the only file that includes Python.h.
    paths.append(os.path.join(CSRC, "python", "bytes_batch.c"))
    return [_relative(p) for p in paths]


# Declared here rather than in the C headers: it exists only in this module.
_PYTHON_GLUE_CDEF = """
int seamless_hash_bytes_tuple(int algorithm, void *tuple, uint8_t *digests,
                              int nthreads, size_t *bad_index, void *hex_list);
int seamless_hex_list(const uint8_t *digests, size_t count, void *list);
"""


def _cdef() -> str:
    with open(os.path.join(CSRC, "seamless_native.cdef.h"), encoding="utf-8") as f:
        return f.read() + _PYTHON_GLUE_CDEF


def make_ffibuilder() -> FFI:
    """The FFI builder, with source paths relative to the current directory."""
    builder = FFI()
    builder.cdef(_cdef())
    builder.set_source(
        "seamless._native._seamless_native",
        '#include "seamless_native.h"\n' + _PYTHON_GLUE_CDEF.strip(),
        sources=_sources(),
        include_dirs=[_relative(CSRC)],
        extra_compile_args=["-O2", "-pthread"],
        extra_link_args=["-pthread"],
        libraries=["dl"],
        # The glue uses the full C API (tuple and bytes macros).
        py_limited_api=False,
    )
    return builder


ffibuilder = make_ffibuilder()

if __name__ == "__main__":
    os.chdir(os.path.join(_HERE, "..", ".."))
    make_ffibuilder().compile(tmpdir=".", verbose=True)
