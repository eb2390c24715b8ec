"""Concurrent use from many threads, in a subprocess (a crash fails the test
instead of killing the test runner)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from support import BACKEND_MODULES

SCRIPT = textwrap.dedent(
    """
    import hashlib, os, random, sys, threading
    from seamless import _native as n
    assert n.backend == os.environ["EXPECT_BACKEND"], n.backend
    rng = random.Random(0)
    buffers = [rng.randbytes(rng.randrange(0, 5000)) for _ in range(400)]
    expected = [hashlib.sha256(b).hexdigest() for b in buffers]
    shared = n.Hasher()
    errors = []

    def work(seed):
        try:
            r = random.Random(seed)
            for _ in range(30):
                i = r.randrange(len(buffers))
                assert n.hash(buffers[i]).hex() == expected[i]
                assert n.hash_batch(buffers[i:i + 50], threads=r.randrange(0, 3), hex=True) == expected[i:i + 50]
                h = n.Hasher(); h.update(buffers[i]); assert h.hexdigest() == expected[i]
                shared.update(buffers[i])   # concurrent updates to one hasher
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(16)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors, errors
    shared.digest()
    print("ok")
    """
)


@pytest.mark.parametrize("backend", BACKEND_MODULES, ids=lambda m: m.__name__.rsplit("_", 1)[-1])
def test_many_threads(backend):
    """16 threads hash, batch and share a hasher without crashes or wrong digests."""
    name = "fallback" if backend.__name__.endswith("_fallback") else "native"
    env = dict(os.environ, SEAMLESS_NATIVE=name, EXPECT_BACKEND=name)
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                            text=True, timeout=300, cwd=os.path.abspath(os.sep))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
