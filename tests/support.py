"""Constants and helpers shared by the tests (importable: tests/ is on the path)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from seamless._native import _fallback

DATA = Path(__file__).parent / "data"

#: Set in CI, where the extension must have been built.
REQUIRE_NATIVE = os.environ.get("SEAMLESS_REQUIRE_NATIVE") == "1"

BACKENDS = [pytest.param(_fallback, id="fallback")]
try:
    from seamless._native import _binding
except ImportError:  # pragma: no cover - the extension is not built
    _binding = None
else:
    BACKENDS.insert(0, pytest.param(_binding, id="native"))

#: The backend modules themselves (native first when built).
BACKEND_MODULES = [p.values[0] for p in BACKENDS]
