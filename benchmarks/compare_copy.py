"""How a large input is best copied into the store: through the page cache
(BufferStore.put_file, cache=True) or around it (cache=False, direct I/O),
and what reading the copy afterwards costs (as a command reading its input
through the workspace's hard link does). Alternating the two, in fresh
store folders, the file systems synced before each timing; medians.

    python benchmarks/compare_copy.py            # 512 MiB, 5 rounds
    python benchmarks/compare_copy.py --size 128 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

from seamless.hashserver import BufferStore

MiB = 1 << 20


def read_all(path: str) -> None:
    with open(path, "rb", buffering=0) as f:
        chunk = bytearray(4 * MiB)
        while f.readinto(chunk):
            pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=512, help="MiB of the input (default 512)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="seamless-copy-bench-")
    source = os.path.join(root, "input.dat")
    with open(source, "wb") as f:
        for _ in range(args.size):
            f.write(os.urandom(MiB))
    read_all(source)  # the user's file is hot, as just written or read
    times: dict[str, dict[str, list[float]]] = {mode: {"copy": [], "read": []} for mode in ("cache", "direct")}
    try:
        for round_ in range(args.rounds):
            modes = ["cache", "direct"] if round_ % 2 == 0 else ["direct", "cache"]
            for mode in modes:
                store = BufferStore(os.path.join(root, f"store-{mode}-{round_}"), durability="fsync")
                os.sync()
                start = time.perf_counter()
                checksum = store.put_file(source, cache=(mode == "cache"))
                times[mode]["copy"].append(time.perf_counter() - start)
                start = time.perf_counter()
                read_all(store.get_path(checksum))
                times[mode]["read"].append(time.perf_counter() - start)
                store.close()
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    med = statistics.median
    print(f"\n{args.size} MiB, medians of {args.rounds} rounds (min-max)")
    print("| copy | put_file | reading the copy | together |")
    print("|---|---|---|---|")
    for mode, label in (("cache", "through the page cache"), ("direct", "around it (direct I/O)")):
        copy, read = times[mode]["copy"], times[mode]["read"]
        both = [c + r for c, r in zip(copy, read)]
        print(f"| {label} | {med(copy):.2f} s ({min(copy):.2f}-{max(copy):.2f}) | "
              f"{med(read):.2f} s ({min(read):.2f}-{max(read):.2f}) | {med(both):.2f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
