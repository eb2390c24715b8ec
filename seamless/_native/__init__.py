"""The native core, or its pure-Python twin when the extension is missing.

``SEAMLESS_NATIVE`` selects the backend:

* ``auto`` (default): the C extension if it is built, else the fallback;
* ``native``: the C extension, or ImportError saying why it is unavailable;
* ``fallback``: always the pure-Python twin (hashlib, xxhash).

``backend`` tells which one is active (``"native"`` or ``"fallback"``), and
``features`` what it offers. Both backends have the same functions with the
same signatures, results and exceptions; callers never need to know which
one runs, except for speed.
"""

from __future__ import annotations

import os

from . import _args, _fallback

_POLICIES = ("auto", "native", "fallback")
_policy = os.environ.get("SEAMLESS_NATIVE", "auto").strip().lower() or "auto"
if _policy not in _POLICIES:
    raise ImportError(
        f"SEAMLESS_NATIVE={_policy!r} is not one of {', '.join(_POLICIES)}"
    )

#: Why the native backend is not active ("" when it is).
unavailable_reason = ""

if _policy == "fallback":
    _impl = _fallback
    unavailable_reason = "SEAMLESS_NATIVE=fallback"
else:
    try:
        from . import _binding as _impl  # type: ignore[no-redef]
    except ImportError as exc:
        if _policy == "native":
            raise ImportError(
                f"SEAMLESS_NATIVE=native, but the native core cannot be loaded "
                f"({exc}); build it with 'pip install .' and a C compiler"
            ) from exc
        _impl = _fallback
        unavailable_reason = str(exc)

#: "native" or "fallback".
backend: str = "native" if _impl is not _fallback else "fallback"

DIGEST_SIZE = 32
FINGERPRINT_SIZE = 16
FINGERPRINT_CHUNK = _impl.FINGERPRINT_CHUNK

cpu_count = _impl.cpu_count
sha256_kernels = _impl.sha256_kernels
sha256_kernel = _impl.sha256_kernel
set_sha256_kernel = _impl.set_sha256_kernel
hash = _impl.hash  # noqa: A001
Hasher = _impl.Hasher
hash_batch = _impl.hash_batch
hex_digests = _impl.hex_digests
hash_file = _impl.hash_file
hash_files = _impl.hash_files
fingerprint = _impl.fingerprint
fingerprint_file = _impl.fingerprint_file
store_put = _impl.store_put
store_put_file = _impl.store_put_file
store_put_stream = _impl.store_put_stream
store_stat = _impl.store_stat
store_sync = _impl.store_sync
StoreWriter = _impl.StoreWriter
StoreConfig = _args.StoreConfig


def _features() -> frozenset[str]:
    found = {"sha-256", "sha3-256", "fingerprint"}
    if backend == "native":
        found |= {"batch-threads", "file-threads"}
        found |= {f"kernel:{name}" for name in sha256_kernels()}
    return frozenset(found)


#: What the active backend offers, e.g. {"sha-256", "kernel:sha-ni", ...}.
features: frozenset[str] = _features()

__all__ = [
    "backend",
    "features",
    "unavailable_reason",
    "DIGEST_SIZE",
    "FINGERPRINT_SIZE",
    "FINGERPRINT_CHUNK",
    "cpu_count",
    "sha256_kernels",
    "sha256_kernel",
    "set_sha256_kernel",
    "hash",
    "Hasher",
    "hash_batch",
    "hex_digests",
    "hash_file",
    "hash_files",
    "fingerprint",
    "fingerprint_file",
    "store_put",
    "store_put_file",
    "store_put_stream",
    "store_stat",
    "store_sync",
    "StoreWriter",
    "StoreConfig",
]
