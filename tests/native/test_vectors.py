"""Known-answer vectors through every entry point of both backends."""

from __future__ import annotations

import pytest

from support import BACKEND_MODULES, DATA


def _message(spec: str) -> bytes:
    if spec == "empty":
        return b""
    if spec.startswith("ascii:"):
        return spec[6:].encode()
    if spec.startswith("hex:"):
        return bytes.fromhex(spec[4:])
    _, count, text = spec.split(":", 2)
    return text.encode() * int(count)


def _vectors():
    rows = []
    for line in (DATA / "hash_vectors.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            algorithm, spec, digest = line.split()
            rows.append(pytest.param(
                {"sha256": "sha-256"}.get(algorithm, algorithm), _message(spec), digest,
                id=f"{algorithm}-{spec[:24]}",
            ))
    return rows


VECTORS = _vectors()


def _kernels(backend):
    """Run the test under every SHA-256 kernel the backend offers."""
    before = backend.sha256_kernel()
    try:
        for kernel in backend.sha256_kernels():
            backend.set_sha256_kernel(kernel)
            yield kernel
    finally:
        backend.set_sha256_kernel(before)


def test_vector_file_is_complete():
    """The shared vector file holds NIST and trivial vectors for both algorithms."""
    algorithms = {v.values[0] for v in VECTORS}
    assert algorithms == {"sha-256", "sha3-256"} and len(VECTORS) >= 15


@pytest.mark.parametrize("algorithm,message,digest", VECTORS)
def test_one_shot_and_streaming(backend, algorithm, message, digest):
    """hash() and Hasher give the vector under every kernel and chunking."""
    for _ in _kernels(backend):
        assert backend.hash(message, algorithm).hex() == digest
        for chunk in (1, 63, 64, 65, 136, 4096):
            if chunk == 1 and len(message) > 10_000:
                continue
            hasher = backend.Hasher(algorithm)
            for i in range(0, len(message), chunk):
                hasher.update(message[i : i + chunk])
            assert hasher.hexdigest() == digest


@pytest.mark.parametrize("algorithm,message,digest", VECTORS)
def test_batch_and_files(backend, algorithm, message, digest, tmp_path):
    """hash_batch, hash_file and hash_files give the vector too."""
    path = tmp_path / "message"
    path.write_bytes(message)
    for _ in _kernels(backend):
        assert backend.hash_batch([message, b"x", message], algorithm, hex=True)[::2] == [digest] * 2
        assert backend.hash_file(path, algorithm) == (bytes.fromhex(digest), len(message))
        assert backend.hash_files([path, str(path)], algorithm) == [(bytes.fromhex(digest), len(message))] * 2


def test_backends_listed():
    """The fallback is always there; the native backend when built."""
    assert BACKEND_MODULES[-1].__name__.endswith("_fallback")
