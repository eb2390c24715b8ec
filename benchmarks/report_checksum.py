"""The checksum figures of benchmarks/report.py (see docs/PERFORMANCE.md)."""

from __future__ import annotations

import hashlib
import os
import random
import tempfile
from typing import Any

from benchmarks_support import MiB, Report, hashlib_loop_file, make_file, median_time, paired, random_bytes
from seamless import _native
from seamless.checksum.calculate_checksum import calculate_checksums
from seamless.checksum.fingerprint import FileChecksumCache


def run(report: Report, args: Any) -> None:
    """SHA-256 one stream, batches, files, threads, the fingerprint cache."""
    quick = args.quick
    repeat = 2 if quick else args.repeat
    mem_size = (16 if quick else 256) * MiB
    file_size = (32 if quick else 1024) * MiB
    nbuf = 10_000 if quick else 100_000
    rng = random.Random(0)

    data = random_bytes(mem_size)
    t_native, t_hashlib = paired(lambda: _native.hash(data), lambda: hashlib.sha256(data).digest(), repeat)
    report.add(f"SHA-256 one stream, {mem_size // MiB} MiB: native vs hashlib",
               f"{mem_size / t_native / 1e6:.0f} vs {mem_size / t_hashlib / 1e6:.0f} MB/s",
               t_hashlib / t_native, 0.95)
    t_sha3, t_sha3_lib = paired(lambda: _native.hash(data, "sha3-256"),
                                lambda: hashlib.sha3_256(data).digest(), repeat)
    report.add("SHA3-256 one stream: native vs hashlib",
               f"{mem_size / t_sha3 / 1e6:.0f} vs {mem_size / t_sha3_lib / 1e6:.0f} MB/s",
               t_sha3_lib / t_sha3)
    try:
        import blake3

        t_b3 = median_time(lambda: blake3.blake3(data, max_threads=blake3.blake3.AUTO).digest(), repeat)
        report.add("BLAKE3 (all threads) vs SHA-256 native", f"{mem_size / t_b3 / 1e6:.0f} MB/s",
                   t_native / t_b3)
    except ImportError:  # pragma: no cover
        pass

    buffers = [rng.randbytes(1024) for _ in range(nbuf)]
    t_batch, t_loop = paired(lambda: _native.hash_batch(buffers),
                             lambda: [hashlib.sha256(b).digest() for b in buffers], repeat)
    report.add(f"{nbuf} x 1 KiB, digests: batch vs hashlib loop",
               f"{t_batch * 1e3:.1f} vs {t_loop * 1e3:.1f} ms", t_loop / t_batch, 3.0)
    t_hex, t_hexloop = paired(lambda: calculate_checksums(buffers),
                              lambda: [hashlib.sha256(b).hexdigest() for b in buffers], repeat)
    report.add(f"{nbuf} x 1 KiB, hex: calculate_checksums vs hexdigest loop",
               f"{t_hex * 1e3:.1f} vs {t_hexloop * 1e3:.1f} ms", t_hexloop / t_hex, 3.0)
    t_one, t_two = paired(lambda: _native.hash_batch(buffers, threads=1),
                          lambda: _native.hash_batch(buffers, threads=2), repeat)
    report.add("batch on 2 threads vs 1 thread", f"{t_two * 1e3:.1f} vs {t_one * 1e3:.1f} ms",
               t_one / t_two, 1.7)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        big = os.path.join(tmp, "big.bin")
        make_file(big, file_size)
        hashlib_loop_file(big)  # into the page cache
        t_file, t_pyloop = paired(lambda: _native.hash_file(big), lambda: hashlib_loop_file(big), repeat)
        report.add(f"file by path, {file_size // MiB} MiB cached: native vs 64 KiB loop",
                   f"{file_size / t_file / 1e6:.0f} vs {file_size / t_pyloop / 1e6:.0f} MB/s",
                   t_pyloop / t_file, 1.1)

        cache = FileChecksumCache()
        cache.checksum(big)
        t_hit, t_sha = paired(lambda: cache.checksum(big), lambda: _native.hash_file(big), repeat)
        report.add("fingerprint-cache hit vs SHA-256 of the file",
                   f"{t_hit * 1e3:.0f} vs {t_sha * 1e3:.0f} ms", t_hit / t_sha, 0.1,
                   lower_is_better=True)

        nfiles = 8
        part = file_size // nfiles
        paths = []
        for i in range(nfiles):
            p = os.path.join(tmp, f"part{i}")
            make_file(p, part)
            paths.append(p)
        _native.hash_files(paths)
        t_f1, t_f2 = paired(lambda: _native.hash_files(paths, threads=1),
                            lambda: _native.hash_files(paths, threads=2), repeat)
        report.add(f"{nfiles} files of {part // MiB} MiB: 2 threads vs 1",
                   f"{t_f2 * 1e3:.0f} vs {t_f1 * 1e3:.0f} ms", t_f1 / t_f2, 1.7)

