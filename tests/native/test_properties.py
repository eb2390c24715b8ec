"""Properties: native == fallback == hashlib on arbitrary data and chunkings."""

from __future__ import annotations

import hashlib

import xxhash
from hypothesis import given
from hypothesis import strategies as st

from support import BACKEND_MODULES

HASHLIB = {"sha-256": hashlib.sha256, "sha3-256": hashlib.sha3_256}
algorithms = st.sampled_from(sorted(HASHLIB))


@given(st.binary(max_size=5000), algorithms)
def test_one_shot_equals_hashlib(data, algorithm):
    """Every backend's one-shot digest is hashlib's."""
    expected = HASHLIB[algorithm](data).digest()
    for backend in BACKEND_MODULES:
        assert backend.hash(data, algorithm) == expected


@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=8), algorithms)
def test_any_chunking_equals_one_shot(data, cuts, algorithm):
    """Splitting the input anywhere does not change the streaming digest."""
    points = sorted({0, len(data), *(min(c, len(data)) for c in cuts)})
    expected = HASHLIB[algorithm](data).digest()
    for backend in BACKEND_MODULES:
        hasher = backend.Hasher(algorithm)
        for a, b in zip(points, points[1:]):
            hasher.update(data[a:b])
            copy = hasher.copy()
            assert copy.digest() == hasher.digest()
        assert hasher.digest() == expected


@given(st.lists(st.binary(max_size=300), max_size=40), st.integers(0, 3), algorithms)
def test_batch_equals_loop(buffers, threads, algorithm):
    """A batch, on any thread count, equals hashing the buffers one by one."""
    expected = [HASHLIB[algorithm](b).hexdigest() for b in buffers]
    for backend in BACKEND_MODULES:
        assert backend.hash_batch(buffers, algorithm, threads, hex=True) == expected
        raw = backend.hash_batch(buffers, algorithm, threads)
        assert backend.hex_digests(raw) == expected


@given(st.lists(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(bytearray)), max_size=20))
def test_batch_of_mixed_buffer_types(buffers):
    """bytes and bytearray items can be mixed in one batch."""
    expected = [hashlib.sha256(b).hexdigest() for b in buffers]
    for backend in BACKEND_MODULES:
        assert backend.hash_batch(buffers, hex=True) == expected


@given(st.binary(max_size=5000))
def test_fingerprint_is_chunked_xxh3(data):
    """Below one chunk, the fingerprint is XXH3-128 of the chunk's XXH3-128."""
    inner = xxhash.xxh3_128(data).digest() if data else b""
    expected = xxhash.xxh3_128(inner).digest()
    for backend in BACKEND_MODULES:
        assert backend.fingerprint(data) == expected


def test_fingerprint_across_chunks(tmp_path):
    """Native and fallback agree on multi-chunk data, in memory and from a file."""
    chunk = BACKEND_MODULES[0].FINGERPRINT_CHUNK
    data = bytes(range(256)) * ((2 * chunk + 12345) // 256)
    path = tmp_path / "big"
    path.write_bytes(data)
    results = set()
    for backend in BACKEND_MODULES:
        results.add(backend.fingerprint(data, threads=1))
        results.add(backend.fingerprint(data, threads=2))
        results.add(backend.fingerprint_file(path)[0])
    assert len(results) == 1
    assert BACKEND_MODULES[0].fingerprint_file(path)[1] == len(data)


def test_large_file_digest(tmp_path):
    """A file larger than the pipelined-read threshold hashes correctly."""
    data = bytes(range(251)) * (40 * 1024 * 1024 // 251)
    path = tmp_path / "large"
    path.write_bytes(data)
    expected = hashlib.sha256(data).digest()
    for backend in BACKEND_MODULES:
        assert backend.hash_file(path) == (expected, len(data))
