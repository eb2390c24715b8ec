"""Transformations: building identities (pytest-benchmark), and a one-round
smoke run of compare_run.py with a small input (ours only, unless
SEAMLESS_REFERENCE_PYTHON names a reference virtualenv)."""

from __future__ import annotations

import compare_run
from seamless.transformer import delayed


@delayed
def add(a, b):
    return a + b


def test_transformation_checksum(benchmark):
    benchmark.group = "transformations"
    checksum = benchmark(lambda: add(2, 3).transformation_checksum)
    assert checksum.hex() == "7e06538015b738a10ce09a4a79d814e2c017b8de63b258e77f7a0a282def1434"


def test_compare_run_smoke(capsys):
    assert compare_run.main(["--rounds", "1", "--size", "4"]) == 0
    out = capsys.readouterr().out
    assert "cached run" in out and "1,000 cached transformations" in out
