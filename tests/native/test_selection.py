"""SEAMLESS_NATIVE selects the backend, in a fresh interpreter each time."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support import BACKEND_MODULES

NATIVE_BUILT = len(BACKEND_MODULES) == 2


def _backend_with(policy: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SEAMLESS_NATIVE=policy)
    code = "from seamless import _native; print(_native.backend)"
    # A neutral working directory: the installed package is imported, not
    # the source folder (which may hold an extension built for another venv).
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, cwd=os.path.abspath(os.sep))


def test_fallback_policy():
    """SEAMLESS_NATIVE=fallback always gives the pure-Python twin."""
    assert _backend_with("fallback").stdout.strip() == "fallback"


def test_auto_policy():
    """auto picks the extension when it is built."""
    assert _backend_with("auto").stdout.strip() == ("native" if NATIVE_BUILT else "fallback")


@pytest.mark.skipif(not NATIVE_BUILT, reason="the extension is not built")
def test_native_policy():
    """native insists on the extension."""
    assert _backend_with("native").stdout.strip() == "native"


def test_invalid_policy():
    """An unknown policy fails at import with a message naming it."""
    result = _backend_with("turbo")
    assert result.returncode != 0 and "turbo" in result.stderr
