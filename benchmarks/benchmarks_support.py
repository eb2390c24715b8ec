"""Benchmark helpers: deterministic payloads and the backends to compare.

Run with ``pytest benchmarks -p no:cacheprovider`` from the repository root
(times everything) or add ``--benchmark-disable`` (each case once, as a smoke
test). ``python benchmarks/report.py`` prints the target figures as ratios.
"""

from __future__ import annotations

import random

from seamless._native import _fallback

try:
    from seamless._native import _binding
except ImportError:  # pragma: no cover
    _binding = None

SIZES = {"64B": 64, "4KiB": 4096, "1MiB": 1 << 20, "64MiB": 64 << 20}
BACKENDS = {"native": _binding, "fallback": _fallback}


def payload(size: int, seed: int = 0) -> bytes:
    """Deterministic pseudo-random bytes (a 1 MiB block repeated)."""
    block = random.Random(seed).randbytes(min(size, 1 << 20))
    return (block * (size // len(block) + 1))[:size]
