"""The storage figures of benchmarks/report.py: BufferStore and ResultDB."""

from __future__ import annotations

import functools
import os
import random
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import Any

from benchmarks_support import MiB, Report, random_bytes
from seamless import _native
from seamless.database import ResultDB
from seamless.hashserver import BufferStore


def _rate(count: int, seconds: float) -> str:
    return f"{count / seconds:,.0f}/s"


def _timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _folders(tmp: str) -> list[tuple[str, str]]:
    """Where to measure: the disk, and memory (tmpfs) to show what the code
    does when the device is not the limit."""
    found = [("disk", tmp)]
    if os.path.isdir("/dev/shm"):
        found.append(("tmpfs", "/dev/shm"))
    return found


def _small_buffers(report: Report, tmp: str, repeat: int, quick: bool) -> None:
    count = 2_000 if quick else 10_000
    rng = random.Random(1)
    for where, folder in _folders(tmp):
        for durability, target, n in (("none", 20_000, count), ("fsync", 2_000, count // 5)):
            if durability == "fsync" and where == "tmpfs":
                continue  # fsync is free on tmpfs: meaningless
            rates, floors = [], []
            for _ in range(max(1, repeat // 2)):
                store = BufferStore(tempfile.mkdtemp(dir=folder, prefix="seamless-bench-"), durability=durability)
                buffers = [rng.randbytes(1024) for _ in range(n)]
                rates.append(n / _timed(lambda: [store.put(b) for b in buffers]))
                store.close()
                if durability == "fsync":
                    floors.append(n / _timed(functools.partial(_durable_writes_by_hand, folder, buffers)))
            rate = _median(rates)
            report.add(f"store put, {n} x 1 KiB, durability={durability}, {where}", f"{rate:,.0f}/s",
                       rate / target, 1.0)
            if floors:
                floor = _median(floors)
                report.add(f"  the device's floor: the same system calls by hand, {where}",
                           f"{floor:,.0f}/s", rate / floor)
    store = BufferStore(os.path.join(tmp, "small-get"), durability="none")
    for _ in range(count):
        store.put(rng.randbytes(1024))
    checksums = list(store)
    get_rate = _median([len(checksums) / _timed(lambda: [store.get(c) for c in checksums]) for _ in range(repeat)])
    report.add(f"store get, {len(checksums)} x 1 KiB", f"{get_rate:,.0f}/s", get_rate / 50_000, 1.0)
    has_time = _median([_timed(lambda: store.has(checksums)) for _ in range(repeat)])
    report.add(f"store has of {len(checksums)} checksums", f"{has_time * 1e3:.1f} ms",
               has_time / 0.020 if len(checksums) >= 10_000 else None, 1.0, lower_is_better=True)


def _durable_writes_by_hand(folder: str, buffers: list[bytes]) -> None:
    """What a durable put costs at the least, in the same folder and minute:
    create a temporary file, write, fsync, rename into a shard, fsync the
    shard (and the root, for each new shard); no hashing, no checks."""
    root = tempfile.mkdtemp(dir=folder, prefix="seamless-bench-floor-")
    os.mkdir(os.path.join(root, ".tmp"))
    shards: set[str] = set()
    for i, data in enumerate(buffers):
        name = f"{i:064x}"
        shard = os.path.join(root, name[-2:])
        if shard not in shards:  # a new shard is made durable in its parent
            os.mkdir(shard)
            shards.add(shard)
            rfd = os.open(root, os.O_RDONLY)
            os.fsync(rfd)
            os.close(rfd)
        tmp = os.path.join(root, ".tmp", name)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        os.write(fd, data)
        os.fsync(fd)
        os.close(fd)
        os.rename(tmp, os.path.join(shard, name))
        dfd = os.open(shard, os.O_RDONLY)
        os.fsync(dfd)
        os.close(dfd)


def _large_buffer(report: Report, tmp: str, repeat: int, quick: bool) -> None:
    """One large put against the hash alone, in the store's default mode
    (fsync, with direct I/O for large buffers: the target) and through the
    page cache (durability none, for comparison), each followed by a get of
    the buffer (which comes from the device after a direct-I/O put)."""
    size = (64 if quick else 1024) * MiB
    data = random_bytes(size)
    t_hash = _median([_timed(lambda: _native.hash(data)) for _ in range(repeat)])
    modes = (("fsync+direct (default)", {}, 0.8),
             ("none, page cache", {"durability": "none"}, None),
             ("none+direct", {"durability": "none", "direct_io": True}, None))
    for where, folder in _folders(tmp):
        for label, options, target in modes if where == "disk" else modes[:1]:
            puts, gets = [], []
            for _ in range(max(3, repeat // 2)):
                os.sync()
                store = BufferStore(tempfile.mkdtemp(dir=folder, prefix="seamless-bench-"), **options)
                start = time.perf_counter()
                checksum = store.put(data)
                puts.append(time.perf_counter() - start)
                gets.append(_timed(functools.partial(store.get, checksum)))
                store.delete(checksum)
                store.close()
            t_put, t_get = _median(puts), _median(gets)
            report.add(f"store put of {size // MiB} MiB, {where}, {label}: vs hash",
                       f"{size / t_put / 1e6:.0f} vs {size / t_hash / 1e6:.0f} MB/s", t_hash / t_put, target)
            report.add(f"  get of it afterwards, {where}, {label}", f"{size / t_get / 1e6:.0f} MB/s")


_PEAK_SCRIPT = textwrap.dedent("""
    import resource, sys
    from seamless.hashserver import BufferStore
    store = BufferStore(sys.argv[1], durability="none")
    def peak_kib():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    before = peak_kib()
    store.put_file(sys.argv[2])
    print(peak_kib() - before)
""")


def _put_file_memory(report: Report, tmp: str, quick: bool) -> None:
    size = (64 if quick else 1024) * MiB
    source = os.path.join(tmp, "source.bin")
    with open(source, "wb") as f:
        block = random_bytes(4 * MiB)
        for _ in range(size // len(block)):
            f.write(block)
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, os.path.join(tmp, "peak"), source],
                            capture_output=True, text=True, check=True)
    growth = int(result.stdout.strip()) / 1024
    report.add(f"store put_file of {size // MiB} MiB: peak memory growth", f"{growth:.1f} MiB",
               growth / 64, 1.0, lower_is_better=True)
    os.unlink(source)


def _database(report: Report, tmp: str, repeat: int, quick: bool) -> None:
    n = 2_000 if quick else 10_000
    rng = random.Random(2)

    def pairs() -> list[tuple[str, str]]:
        return [(rng.randbytes(32).hex(), rng.randbytes(32).hex()) for _ in range(n)]

    for where, folder in _folders(tmp):
        single, batched, get1, getn = [], [], [], []
        for _ in range(max(1, repeat // 2)):
            with ResultDB(os.path.join(tempfile.mkdtemp(dir=folder, prefix="seamless-bench-"), "seamless.db")) as db:
                items = pairs()
                single.append(n / _timed(lambda: [db.set_transformation(a, b) for a, b in items]))
                more = pairs()
                batched.append(n / _timed(lambda: db.set_transformations(more)))
                keys = [a for a, _ in items]
                get1.append(n / _timed(lambda: [db.get_transformation(k) for k in keys]))
                getn.append(n / _timed(lambda: db.get_transformations(keys)))
        for label, rates, target in (("set, one record per call", single, 20_000),
                                     ("set, batched", batched, 100_000),
                                     ("get, one record per call", get1, 50_000),
                                     ("get, batched", getn, 200_000)):
            rate = _median(rates)
            report.add(f"database {label}, {n} records, {where}", f"{rate:,.0f}/s", rate / target, 1.0)


def run(report: Report, args: Any) -> None:
    """Store puts/gets/has, one large buffer, put_file memory, database rates."""
    repeat = 2 if args.quick else args.repeat
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="seamless-bench-") as tmp:
        _small_buffers(report, tmp, repeat, args.quick)
        _large_buffer(report, tmp, repeat, args.quick)
        _put_file_memory(report, tmp, args.quick)
        _database(report, tmp, repeat, args.quick)
