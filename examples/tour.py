"""A short tour, runnable as the project's demo.

    python examples/tour.py [PATH ...]

Checksums of values, batches and files; then transformations, cached by
identity in the embedded store (no servers, no configuration: the store in
~/.cache/seamless, or SEAMLESS_CACHE): a Python function and a
``seamless-run`` command, each run twice, the second time from the cache.

Without arguments it works on a small example folder it creates; with paths
it prints the checksum of each file (or the deep checksum of each folder),
hashing files once and then answering from the file-checksum cache.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

from seamless import Buffer, _native
from seamless.checksum.calculate_checksum import calculate_checksums
from seamless.checksum.directory import build_index, directory_checksum
from seamless.checksum.fingerprint import FileChecksumCache


def show_values() -> None:
    print("Values and their checksums (byte-identical to the reference Seamless):")
    for value, celltype in [(5, "mixed"), ({"b": 1, "a": [1.5, "é"]}, "plain"),
                            ("def add(a, b):\n    return a + b", "python"), ("x", "text")]:
        buf = Buffer(value, celltype)
        print(f"  {celltype:>7} {value!r:<45} -> {buf.get_checksum()}")
    buf = Buffer(5, "mixed")
    cs = buf.get_checksum()
    print(f"  {cs} resolves to {cs.resolve('mixed')!r} while its buffer is alive")


def show_batch() -> None:
    buffers = [os.urandom(1024) for _ in range(100_000)]
    start = time.perf_counter()
    checksums = calculate_checksums(buffers)
    elapsed = time.perf_counter() - start
    print(f"\n{len(checksums)} buffers of 1 KiB checksummed in {elapsed * 1e3:.0f} ms "
          f"({_native.backend} backend, {_native.sha256_kernel()} kernel)")


def show_paths(paths: list[str]) -> None:
    cache = FileChecksumCache()
    for path in paths:
        if os.path.isdir(path):
            index = build_index(path)
            print(f"\n{path}/: {len(index)} files, deep checksum {directory_checksum(path)}")
        else:
            for attempt in ("first", "again"):
                start = time.perf_counter()
                checksum = cache.checksum(path)
                ms = (time.perf_counter() - start) * 1e3
                print(f"{path}: {checksum} ({attempt}: {ms:.1f} ms)")
    print(f"file-checksum cache: {cache.hits} hits, {cache.misses} misses")


def show_transformations(root: str) -> None:
    import subprocess

    import seamless.config
    from seamless.transformer import direct

    print("\nTransformations, cached by identity:")
    seamless.config.init_for_tool("tour")

    @direct
    def add(a, b):
        return a + b

    for attempt in ("first", "second"):
        start = time.perf_counter()
        value = add(2, 3)
        print(f"  add(2, 3) = {value}, {attempt} call {(time.perf_counter() - start) * 1e3:.1f} ms")
    seamless_run = os.path.join(os.path.dirname(sys.executable), "seamless-run")
    for attempt in ("first", "second"):
        start = time.perf_counter()
        done = subprocess.run([seamless_run, "wc -c input.dat"], cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"  seamless-run failed: {done.stderr.strip()}")
            return
        print(f"  seamless-run 'wc -c input.dat' -> {done.stdout.strip()}, {attempt} run "
              f"{time.perf_counter() - start:.2f} s")


def example_folder(root: str) -> list[str]:
    os.makedirs(os.path.join(root, "indir", "sub"))
    with open(os.path.join(root, "indir", "x.txt"), "w") as f:
        f.write("hello\n")
    with open(os.path.join(root, "indir", "sub", "y.txt"), "w") as f:
        f.write("world\n")
    big = os.path.join(root, "input.dat")
    with open(big, "wb") as f:
        f.write(os.urandom(64 << 20))
    return [os.path.join(root, "indir"), big]


def main(argv: list[str]) -> int:
    show_values()
    show_batch()
    if argv:
        missing = [p for p in argv if not os.path.exists(p)]
        if missing:
            print(f"error: no such file or folder: {', '.join(missing)}", file=sys.stderr)
            return 1
        show_paths(argv)
    else:
        with tempfile.TemporaryDirectory() as root:
            show_paths(example_folder(root))
            show_transformations(root)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
