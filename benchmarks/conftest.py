"""Fixtures of the benchmarks (helpers live in benchmarks_support.py)."""

from __future__ import annotations

import pytest

from benchmarks_support import BACKENDS
from seamless import _native


@pytest.fixture(params=[k for k, v in BACKENDS.items() if v is not None])
def backend(request):
    """(name, module) of each available backend."""
    return request.param, BACKENDS[request.param]


@pytest.fixture(autouse=True)
def _machine_info(benchmark):
    benchmark.extra_info["backend_default"] = _native.backend
    benchmark.extra_info["sha256_kernel"] = _native.sha256_kernel()
    benchmark.extra_info["cpus"] = _native.cpu_count()
