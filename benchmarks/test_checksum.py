"""Throughput of the checksum layer: native, fallback and hashlib side by side.

Groups are named by operation and size, so pytest-benchmark prints the
contenders of one size together; ``extra_info["bytes"]`` gives throughput.
"""

from __future__ import annotations

import hashlib

import pytest

from benchmarks_support import SIZES, payload


@pytest.mark.parametrize("size_name", list(SIZES))
def test_sha256_one_shot(benchmark, backend, size_name):
    name, module = backend
    data = payload(SIZES[size_name])
    benchmark.group = f"sha256-{size_name}"
    benchmark.extra_info["bytes"] = len(data)
    benchmark(module.hash, data)


@pytest.mark.parametrize("size_name", list(SIZES))
def test_sha256_hashlib(benchmark, size_name):
    data = payload(SIZES[size_name])
    benchmark.group = f"sha256-{size_name}"
    benchmark.extra_info["bytes"] = len(data)
    benchmark(lambda: hashlib.sha256(data).digest())


BATCH = [payload(1024, seed) for seed in range(10_000)]


def test_batch_1KiB(benchmark, backend):
    name, module = backend
    benchmark.group = "batch-10000x1KiB"
    benchmark.extra_info["bytes"] = 1024 * len(BATCH)
    benchmark(module.hash_batch, BATCH)


def test_batch_1KiB_hashlib_loop(benchmark):
    benchmark.group = "batch-10000x1KiB"
    benchmark.extra_info["bytes"] = 1024 * len(BATCH)
    benchmark(lambda: [hashlib.sha256(b).digest() for b in BATCH])


@pytest.fixture(scope="module")
def big_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "file.bin"
    path.write_bytes(payload(64 << 20))
    return path


def test_file(benchmark, backend, big_file):
    name, module = backend
    benchmark.group = "file-64MiB"
    benchmark.extra_info["bytes"] = 64 << 20
    benchmark(module.hash_file, big_file)


def test_file_hashlib_loop(benchmark, big_file):
    def loop():
        h = hashlib.sha256()
        with open(big_file, "rb") as f:
            while block := f.read(65536):
                h.update(block)
        return h.digest()

    benchmark.group = "file-64MiB"
    benchmark.extra_info["bytes"] = 64 << 20
    benchmark(loop)


def test_fingerprint_file(benchmark, backend, big_file):
    name, module = backend
    benchmark.group = "file-64MiB"
    benchmark.extra_info["bytes"] = 64 << 20
    benchmark(module.fingerprint_file, big_file)
