"""Benchmark helpers: deterministic payloads and the backends to compare.

Run with ``pytest benchmarks -p no:cacheprovider`` from the repository root
(times everything) or add ``--benchmark-disable`` (each case once, as a smoke
test). ``python benchmarks/report.py`` prints the target figures as ratios.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import time
from typing import Callable

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


# ---- helpers of the one-shot reports (report.py) -------------------------------

MiB = 1 << 20


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(a: Callable[[], object], b: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median times of a and b, measured alternately (a, b, a, b, ...)."""
    ta, tb = [], []
    for _ in range(repeat):
        ta.append(median_time(a, 1))
        tb.append(median_time(b, 1))
    return statistics.median(ta), statistics.median(tb)


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def add(self, what: str, figure: str, ratio: float | None = None,
            target: float | None = None, lower_is_better: bool = False) -> None:
        verdict = ""
        if ratio is not None and target is not None:
            ok = ratio <= target if lower_is_better else ratio >= target
            sign = "<=" if lower_is_better else ">="
            verdict = f"{'PASS' if ok else 'MISS'} ({sign} {target})"
        self.rows.append((what, figure, "" if ratio is None else f"{ratio:.2f}x", verdict))
        print(f"{what:<58} {figure:>26} {self.rows[-1][2]:>8}  {verdict}", flush=True)


def hashlib_loop_file(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(64 * 1024)
            if not block:
                return h.digest()
            h.update(block)


def random_bytes(size: int, seed: int = 1) -> bytes:
    """size deterministic pseudo-random bytes (a 4 MiB block repeated)."""
    block = random.Random(seed).randbytes(4 * MiB)
    return (block * (size // len(block) + 1))[:size]


def make_file(path: str, size: int) -> None:
    block = random_bytes(4 * MiB)
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.write(block[: size % len(block)])


