"""The extension is present where it must be, and says what it is."""

import pytest

from support import REQUIRE_NATIVE
from seamless import _native


def test_native_built_when_required():
    """CI builds the extension; its absence there is a failure, not a skip."""
    if REQUIRE_NATIVE:
        assert _native.backend == "native", _native.unavailable_reason


def test_backend_and_features_contract():
    """backend is one of two names and features lists what it offers."""
    assert _native.backend in ("native", "fallback")
    assert {"sha-256", "sha3-256", "fingerprint"} <= _native.features
    if _native.backend == "native":
        assert _native.unavailable_reason == ""
        assert "kernel:portable" in _native.features


@pytest.mark.skipif(_native.backend != "native", reason="native backend not active")
def test_error_codes_match_the_header():
    """The Python error table uses the C header's numbers."""
    from seamless._native import _errors
    from seamless._native._seamless_native import lib

    for name in ("OK", "ERR_NOMEM", "ERR_ARGUMENT", "ERR_ALGORITHM", "ERR_OS", "ERR_CHANGED"):
        assert getattr(_errors, name) == getattr(lib, "SEAMLESS_" + name)
