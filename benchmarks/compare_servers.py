"""Our hashserver and database server against the reference's, in one run.

Both are started on free loopback ports (the reference from its own
virtualenv, never from ours) and driven by the same fast client
(http_load.py), alternating ours and theirs round by round; every figure is
the median of the rounds, and every ratio compares medians of the same run.
For small requests the servers' own CPU time per request is reported too
(from /proc): on a shared machine it is much steadier than wall time.

    python benchmarks/compare_servers.py --reference-python /path/to/venv/bin/python
    python benchmarks/compare_servers.py --install-reference .venv-reference
    python benchmarks/compare_servers.py --quick         # small sizes, a smoke test

Without a reference (no flag, no SEAMLESS_REFERENCE_PYTHON) it says so and
exits 0. Our hashserver runs with ``--durability batch`` (an upload survives
a crash of the server, as with the reference, which never syncs; ours also
syncs once a second); extra rows show our default, ``fsync``. Large
transfers are measured with our default (fsync, so buffers of 64 MiB or
more go around the page cache) and, in extra rows, with batch durability
through the page cache; one row times the disk reading the stored file back
alone, the ceiling of our GET. The database's lookups run once more right
after a commit from this process has made our front forget the records it
remembers (every lookup then goes to SQLite).

The rows that start with "ceiling" time the machine with none of the
servers, in the same rounds, and compare it with the reference: the disk
writing a file durably (the most a PUT that syncs can do), a bare loop
sending a file from memory with the same client (the most any GET can do),
a C server answering a fixed text at once (the round trip of a sequential
client) and SQLite storing one record per commit with our front's
statements (the most a server that answers a write once it is committed
can do), and the two at once, the round trip timed while SQLite commits on
the other core (the most a server could do that answered each write before
committing it, from a record log of its own). Where a ceiling's ratio is
below a target, no server reaches that target on this machine with that
design.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import mmap
import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import c_tools  # noqa: E402
import http_load  # noqa: E402
from seamless import _native  # noqa: E402
from seamless.database.connection import settings as connection_settings  # noqa: E402
from seamless.database.front import sqlite_library  # noqa: E402
from seamless.database.store import ResultDB  # noqa: E402
from seamless.server.launch import LaunchedServer, launch  # noqa: E402

REFERENCE_PACKAGES = ["hashserver==1.1.0", "seamless-database==2.1.0", "aiofiles",
                      # for seamless-init (compare_init.py)
                      "seamless-remote==0.4.0", "seamless-transformer==0.6.1"]
MiB = 1 << 20


# ---- processes ---------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0]) * 1024
    return out


def reset_peak(pid: int) -> None:
    """Restart the peak-RSS counter (VmHWM) of a process."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def install_reference(folder: str) -> str:
    python = os.path.join(folder, "bin", "python")
    if not os.path.exists(python):
        print(f"installing the reference into {folder} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", folder], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", *REFERENCE_PACKAGES], check=True)
    return python


def add_reference_options(parser: argparse.ArgumentParser) -> None:
    """--reference-python / --install-reference (shared by the comparison scripts)."""
    parser.add_argument("--reference-python", default=os.environ.get("SEAMLESS_REFERENCE_PYTHON"),
                        help="interpreter of a virtualenv with the reference installed")
    parser.add_argument("--install-reference", metavar="FOLDER",
                        help="create FOLDER as a virtualenv with the reference (if missing) and use it")


def reference_python(args: argparse.Namespace) -> str | None:
    """The reference's interpreter that the options name (installing it if asked)."""
    return install_reference(args.install_reference) if args.install_reference else args.reference_python


def reference_server(python: str, tool: str, args: list[str], cwd: str) -> LaunchedServer:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if tool == "seamless-database":
        args = [*args, "--host", "127.0.0.1"]
    # The reference reports port 0 for "--port 0": give it a free port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return LaunchedServer([str(Path(python).parent / tool), *args, "--port", str(port)], cwd=cwd, env=env)


class HelperServer:
    """A process of ours that prints its loopback port on its first line and
    serves until terminated (the ceilings: fixed_server, sendfile_server)."""

    def __init__(self, argv: list[str]):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError(f"{argv[0]} did not start")
        self.url = f"http://127.0.0.1:{int(line)}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


# ---- measurements ----------------------------------------------------------------

@dataclass
class Figure:
    what: str
    unit: str
    target: float | None = None  # the ratio to reach
    higher_is_better: bool = True
    ours: list[float] = field(default_factory=list)
    theirs: list[float] = field(default_factory=list)
    our_cpu: list[float] = field(default_factory=list)
    their_cpu: list[float] = field(default_factory=list)

    def ratio(self) -> float | None:
        if not self.ours or not self.theirs:
            return None
        a, b = statistics.median(self.ours), statistics.median(self.theirs)
        return a / b if self.higher_is_better else b / a

    def cpu_ratio(self) -> float | None:
        """None without both figures, or when ours is below the clock's tick
        (a quick run's few requests)."""
        if not self.our_cpu or not self.their_cpu or not statistics.median(self.our_cpu):
            return None
        return statistics.median(self.their_cpu) / statistics.median(self.our_cpu)


def timed_load(server: LaunchedServer, requests: list[bytes], concurrency: int) -> tuple[float, float]:
    """(requests per second, server CPU microseconds per request); every
    answer must be a 2xx."""
    before = cpu_seconds(server.pid)
    result = http_load.run(server.url, requests, concurrency)
    used = cpu_seconds(server.pid) - before
    bad = {s: n for s, n in result.statuses.items() if not 200 <= s < 300}
    if bad:
        raise RuntimeError(f"{server.url}: unexpected answers {bad}")
    return result.per_second, used / len(requests) * 1e6


def small_buffers(count: int, size: int = 1024) -> tuple[list[bytes], list[str]]:
    data = [os.urandom(size) for _ in range(count)]
    return data, [hashlib.sha256(d).hexdigest() for d in data]


def bench_hashserver_small(figures: dict[str, Figure], ours: LaunchedServer, theirs: LaunchedServer,
                           durable: LaunchedServer, rounds: int, count: int) -> None:
    cases = [("1 KiB PUT, sequential", 1), ("1 KiB PUT, 8 concurrent", 8)]
    for r in range(rounds):
        for what, concurrency in cases:
            figure = figures.setdefault(what, Figure(what, "req/s", 10))
            for server, values, cpu in ((ours, figure.ours, figure.our_cpu), (theirs, figure.theirs, figure.their_cpu)):
                data, checksums = small_buffers(count)
                puts = [http_load.build_request("PUT", f"/{c}", d, "application/octet-stream") for c, d in zip(checksums, data)]
                rate, us = timed_load(server, puts, concurrency)
                values.append(rate)
                cpu.append(us)
                gets = [http_load.build_request("GET", f"/{c}") for c in checksums]
                get_what = what.replace("PUT", "GET")
                get_figure = figures.setdefault(get_what, Figure(get_what, "req/s", 10))
                rate, us = timed_load(server, gets, concurrency)
                (get_figure.ours if server is ours else get_figure.theirs).append(rate)
                (get_figure.our_cpu if server is ours else get_figure.their_cpu).append(us)
            # Our default durability (fsync), against the same reference rounds.
            fsync_what = f"{what}, ours with fsync (default)"
            fsync = figures.setdefault(fsync_what, Figure(fsync_what, "req/s", None))
            data, checksums = small_buffers(count // 2)
            puts = [http_load.build_request("PUT", f"/{c}", d, "application/octet-stream") for c, d in zip(checksums, data)]
            rate, us = timed_load(durable, puts, concurrency)
            fsync.ours.append(rate)
            fsync.our_cpu.append(us)
            fsync.theirs = figure.theirs
            fsync.their_cpu = figure.their_cpu
        print(f"  small buffers: round {r + 1}/{rounds} done", flush=True)


def bench_presence(figures: dict[str, Figure], ours: LaunchedServer, theirs: LaunchedServer,
                   rounds: int, count: int) -> None:
    data, checksums = small_buffers(count // 2, 100)
    puts = [http_load.build_request("PUT", f"/{c}", d, "application/octet-stream") for c, d in zip(checksums, data)]
    for server in (ours, theirs):
        http_load.run(server.url, puts, 8)
    keys = checksums + [os.urandom(32).hex() for _ in range(count - len(checksums))]
    random.shuffle(keys)
    for endpoint in ("/has", "/buffer-length"):
        what = f"{endpoint} with {count:,} checksums"
        figure = figures.setdefault(what, Figure(what, "ms", 50, higher_is_better=False))
        request = http_load.json_request("GET", endpoint, keys)
        for _ in range(rounds):
            for server, values in ((ours, figure.ours), (theirs, figure.theirs)):
                start = time.perf_counter()
                status, body = http_load.one(server.url, request)
                values.append((time.perf_counter() - start) * 1000)
                answer = json.loads(body)
                if status != 200 or sum(bool(a) for a in answer) != len(checksums):
                    raise RuntimeError(f"{server.url}{endpoint}: wrong answer")
    print("  presence queries done", flush=True)


def _put_file(url: str, path: str, checksum: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    size = os.path.getsize(path)
    with socket.create_connection((host, int(port))) as s, open(path, "rb") as f:
        s.sendall(f"PUT /{checksum} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n\r\n".encode())
        offset = 0
        while offset < size:
            offset += os.sendfile(s.fileno(), f.fileno(), offset, size - offset)
        answer = s.recv(4096)
    return int(answer[9:12])


def _get_discard(url: str, checksum: str) -> int:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as s:
        s.sendall(f"GET /{checksum} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        buffer = bytearray(4 * MiB)
        view = memoryview(buffer)
        total = 0
        while n := s.recv_into(view):
            total += n
    return total


def _direct_read_seconds(path: str) -> float | None:
    """Seconds to read path with direct I/O in blocks of 4 MiB, no server
    involved: how fast the device gives back a file that is not in the page
    cache (None where direct reads are refused)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECT", 0))
    except OSError:
        return None
    try:
        block = mmap.mmap(-1, 4 * MiB)  # page-aligned, as direct reads need
        start, offset = time.perf_counter(), 0
        while n := os.preadv(fd, [block], offset):
            offset += n
        return time.perf_counter() - start
    except OSError:
        return None
    finally:
        os.close(fd)


def _direct_write_seconds(folder: str, size: int) -> float | None:
    """Seconds to write size bytes to a new file in folder with direct I/O in
    blocks of 4 MiB and fsync it, no server involved: how fast the device
    takes an upload that must be durable (None where direct writes are
    refused)."""
    path = os.path.join(folder, "direct-write.bin")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_DIRECT", 0), 0o644)
    except OSError:
        return None
    try:
        block = mmap.mmap(-1, 4 * MiB)  # page-aligned, as direct writes need
        block.write(os.urandom(4 * MiB))
        start, offset = time.perf_counter(), 0
        while offset < size:
            offset += os.pwritev(fd, [block], offset)
        os.fsync(fd)
        return time.perf_counter() - start
    except OSError:
        return None
    finally:
        os.close(fd)
        os.unlink(path)


def _row(figures: dict[str, Figure], what: str, unit: str, target: float | None = None,
         higher_is_better: bool = True, like: Figure | None = None) -> Figure:
    """The figure of one row of the table, made on first use; ``like``: the
    row whose reference figures this one is compared with (the same rounds)."""
    figure = figures.setdefault(what, Figure(what, unit, target, higher_is_better))
    if like is not None:
        figure.theirs, figure.their_cpu = like.theirs, like.their_cpu
    return figure


def bench_large(figures: dict[str, Figure], ours: LaunchedServer, theirs: LaunchedServer,
                cached: LaunchedServer, folders: dict[str, str], rounds: int, size: int, workdir: str) -> None:
    """PUT and GET of one large buffer. ``ours`` is our default hashserver
    (fsync, so large buffers go around the page cache with direct I/O);
    ``cached`` is ours with --durability batch, through the page cache.
    The ceiling rows time the machine without any of the servers: the disk
    writing a file durably, and a bare loop sending one from memory."""
    label = f"{size // MiB} MiB" if size < 1 << 30 else f"{size >> 30} GiB"
    put = _row(figures, f"{label} PUT", "MiB/s", 3)
    get = _row(figures, f"{label} GET", "MiB/s", 3)
    cached_put = _row(figures, f"{label} PUT, ours with --durability batch (page cache)", "MiB/s", like=put)
    cached_get = _row(figures, f"{label} GET after it, ours with --durability batch (page cache)", "MiB/s", like=get)
    device = _row(figures, f"{label} read back by the disk alone (direct I/O, no server)", "MiB/s", like=get)
    memo = _row(figures, f"our server's peak memory growth, {label} PUT + GET", "MiB", higher_is_better=False)
    write_ceiling = _row(figures, f"ceiling: {label} written by the disk alone (direct I/O, then fsync; no server)",
                         "MiB/s", like=put)
    send_ceiling = _row(figures, f"ceiling: {label} GET from memory by a bare sendfile loop (no HTTP server)",
                        "MiB/s", like=get)
    source = os.path.join(workdir, "large.bin")
    with open(source, "wb") as f:
        block = os.urandom(MiB)
        for _ in range(size // MiB):
            f.write(block)
    bare = HelperServer([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "sendfile_server.py"), source])
    order = [(ours, "durable"), (theirs, "theirs"), (cached, "ours")]
    try:
        for r in range(rounds):
            for server, name in order[r % 3:] + order[:r % 3]:  # each goes first in turn
                with open(source, "r+b") as f:  # a new buffer each time
                    f.write(os.urandom(16))
                checksum = _native.hash_file(source)[0].hex()
                if server is ours:
                    reset_peak(server.pid)
                    base = memory(server.pid)["VmRSS"]
                os.sync()  # untimed: no transfer pays for the write-back of an earlier one
                start = time.perf_counter()
                status = _put_file(server.url, source, checksum)
                put_seconds = time.perf_counter() - start
                if status != 200:
                    raise RuntimeError(f"{name}: PUT answered {status}")
                os.sync()
                start = time.perf_counter()
                received = _get_discard(server.url, checksum)
                get_seconds = time.perf_counter() - start
                if received < size:
                    raise RuntimeError(f"{name}: GET sent {received} bytes")
                puts, gets = {"durable": (put.ours, get.ours), "theirs": (put.theirs, get.theirs),
                              "ours": (cached_put.ours, cached_get.ours)}[name]
                puts.append(size / MiB / put_seconds)
                gets.append(size / MiB / get_seconds)
                if server is ours:
                    memo.ours.append((memory(server.pid)["VmHWM"] - base) / MiB)
                stored = os.path.join(folders[name], checksum[:2], checksum)
                if server is ours and os.path.exists(stored) and (seconds := _direct_read_seconds(stored)):
                    device.ours.append(size / MiB / seconds)  # the ceiling of our GET, which reads it the same way
                if os.path.exists(stored):
                    os.chmod(stored, 0o644)
                    os.unlink(stored)
            os.sync()
            if seconds := _direct_write_seconds(workdir, size):
                write_ceiling.ours.append(size / MiB / seconds)
            start = time.perf_counter()
            if _get_discard(bare.url, "0" * 64) < size:
                raise RuntimeError("the bare sendfile loop sent too little")
            send_ceiling.ours.append(size / MiB / (time.perf_counter() - start))
            print(f"  {label} transfers: round {r + 1}/{rounds} done", flush=True)
    finally:
        bare.stop()
        os.unlink(source)


def make_the_front_forget(database: str) -> None:
    """Commit a change to our server's database from this process: its front
    then forgets the records it remembers, and its lookups go to SQLite."""
    con = sqlite3.connect(database, isolation_level=None, timeout=30)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute('INSERT INTO "transformation" VALUES (?, ?)', ("0" * 64, "0" * 64))
        con.execute('DELETE FROM "transformation" WHERE "checksum" = ?', ("0" * 64,))
        con.execute("COMMIT")
    finally:
        con.close()


def _sqlite_loop_argv(path: str, count: int) -> list[str] | None:
    """The command line of sqlite_loop.c storing count records into path
    (None where the program or a shared SQLite library is missing)."""
    binary, library = c_tools.program("sqlite_loop"), sqlite_library()
    if binary is None or library is None:
        return None
    return [binary, library, path, str(count), "; ".join(connection_settings("NORMAL"))]


def sqlite_loop(path: str, count: int) -> float | None:
    """Records per second that SQLite alone stores into the seamless.db at
    path with our front's statements and VFS and our connections' settings,
    one per commit (sqlite_loop.c); None where the program or a shared
    SQLite library is missing."""
    argv = _sqlite_loop_argv(path, count)
    if argv is None:
        return None
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    seconds, records = done.stdout.split()
    return int(records) / float(seconds)


def round_trips_beside_sqlite(url: str, requests: list[bytes], path: str) -> float | None:
    """Sequential requests per second answered at once with a fixed text
    while the SQLite loop commits records into path, one per commit, on the
    machine's other core: the pace of a server that answered each write
    before committing it and left the commits to a thread of their own
    (None without the SQLite loop)."""
    argv = _sqlite_loop_argv(path, 10_000_000)
    if argv is None:
        return None
    loop = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.2)  # the loop is committing before the first request
        if loop.poll() is not None:
            raise RuntimeError(f"the SQLite loop stopped at once (exit status {loop.returncode})")
        return http_load.run(url, requests, 1).per_second
    finally:
        loop.terminate()
        loop.wait()
        os.sync()  # untimed: what follows does not pay for the write-back of the loop's pages


def _database_ceilings(figures: dict[str, Figure], fixed: HelperServer | None, loop_database: str,
                       lookups: list[bytes], records: int) -> None:
    """One round of the database's ceilings (see bench_database), each
    compared with the reference's sequential figure of the same rounds."""
    set_figure = figures["database set transformation, sequential"]
    get_figure = figures["database get transformation, sequential"]
    loop = _row(figures, "ceiling: database set, SQLite alone (our front's statements and VFS, one record per "
                "commit, no HTTP)", "req/s", like=set_figure)
    loop_rate = sqlite_loop(loop_database, records)
    if loop_rate:
        loop.ours.append(loop_rate)
    if fixed is None:
        return
    answered = _row(figures, "ceiling: sequential requests answered at once with a fixed text (no database)",
                    "req/s", like=get_figure)
    fixed_rate = http_load.run(fixed.url, lookups, 1).per_second
    answered.ours.append(fixed_rate)
    if loop_rate:  # a sequential writer waits for both, one after the other
        both = _row(figures, "ceiling: database set, sequential: the two ceilings above, one after the other",
                    "req/s", like=set_figure)
        both.ours.append(1 / (1 / loop_rate + 1 / fixed_rate))
    beside = round_trips_beside_sqlite(fixed.url, lookups, loop_database)
    if beside and loop_rate:  # answers and commits overlap: the slower of the two sets the pace
        _row(figures, "ceiling: the fixed text again, while the SQLite loop commits on the other core",
             "req/s", like=get_figure).ours.append(beside)
        behind = _row(figures, "ceiling: database set, sequential, answered before the commit (the slower of "
                      "SQLite alone and the row above)", "req/s", like=set_figure)
        behind.ours.append(min(beside, loop_rate))


def bench_database(figures: dict[str, Figure], ours: LaunchedServer, theirs: LaunchedServer,
                   python_only: LaunchedServer, rounds: int, count: int, our_database: str) -> None:
    """Set and get of single transformation records; our server also without
    its native front (--no-front), and with its front but nothing in the
    front's memory (every lookup in SQLite), in rows of their own. The
    ceiling rows time the machine without our servers: a server that
    answers a fixed text at once (the round trip of a sequential client),
    SQLite storing one record per commit (the most a server that answers a
    write once it is committed can store), and the first while the second
    runs beside it (the most a server could store that answered before
    committing)."""
    cases = [("set", 1), ("set", 8), ("get", 1), ("get", 8)]
    binary = c_tools.program("fixed_server")
    fixed = HelperServer([binary]) if binary else None
    # The SQLite loop's own seamless.db (in the work folder, removed with
    # it), made as the server makes it; it grows round by round as ours does.
    loop_database = os.path.join(os.path.dirname(our_database), "sqlite-loop.db")
    ResultDB(loop_database).close()
    try:
        for r in range(rounds):
            keys = {id(s): [(os.urandom(32).hex(), os.urandom(32).hex()) for _ in range(count)]
                    for s in (ours, theirs, python_only)}
            for kind, concurrency in cases:
                what = f"database {kind} transformation, {'sequential' if concurrency == 1 else '8 concurrent'}"
                figure = _row(figures, what, "req/s", 10)
                plain = _row(figures, what + ", ours without the front", "req/s", like=figure)
                for server in (ours, theirs, python_only):
                    pairs = keys[id(server)]
                    half = pairs[: count // 2] if concurrency == 1 else pairs[count // 2:]
                    if kind == "set":
                        requests = [http_load.json_request("PUT", "/", {"type": "transformation", "checksum": tf,
                                                                        "value": res}) for tf, res in half]
                    else:
                        requests = [http_load.json_request("GET", "/", {"type": "transformation", "checksum": tf})
                                    for tf, _ in pairs]
                    rate, us = timed_load(server, requests, concurrency)
                    if server is python_only:
                        plain.ours.append(rate)
                        plain.our_cpu.append(us)
                        continue
                    (figure.ours if server is ours else figure.theirs).append(rate)
                    (figure.our_cpu if server is ours else figure.their_cpu).append(us)
                    if server is ours and kind == "get":
                        cold = _row(figures, what + ", ours with nothing remembered", "req/s", like=figure)
                        make_the_front_forget(our_database)
                        rate, us = timed_load(server, requests, concurrency)
                        cold.ours.append(rate)
                        cold.our_cpu.append(us)
            lookups = [http_load.json_request("GET", "/", {"type": "transformation", "checksum": tf})
                       for tf, _ in keys[id(ours)]]
            _database_ceilings(figures, fixed, loop_database, lookups, count // 2)
            print(f"  database: round {r + 1}/{rounds} done", flush=True)
    finally:
        if fixed is not None:
            fixed.stop()


def bench_memory_small(figures: dict[str, Figure], ours: LaunchedServer, count: int) -> None:
    what = f"our server's memory growth over {count:,} small requests"
    figure = figures.setdefault(what, Figure(what, "MiB", None, False))
    base = memory(ours.pid)["VmRSS"]
    reset_peak(ours.pid)
    done = 0
    while done < count:
        data, checksums = small_buffers(min(5000, count - done) // 2)
        requests = [http_load.build_request("PUT", f"/{c}", d, "application/octet-stream") for c, d in zip(checksums, data)]
        requests += [http_load.build_request("GET", f"/{c}") for c in checksums]
        http_load.run(ours.url, requests, 8)
        done += len(requests)
    figure.ours.append((memory(ours.pid)["VmHWM"] - base) / MiB)
    print("  memory over small requests done", flush=True)


# ---- the table -------------------------------------------------------------------

def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}" if value >= 10 else f"{value:.2f}"


def table(figures: dict[str, Figure]) -> str:
    lines = ["| what | ours | reference | ratio | server CPU per request, ours / reference (ratio) | target |",
             "|---|---|---|---|---|---|"]
    for f in figures.values():
        ours = f"{fmt(statistics.median(f.ours))} {f.unit}" if f.ours else "-"
        theirs = f"{fmt(statistics.median(f.theirs))} {f.unit}" if f.theirs else "-"
        ratio = f.ratio()
        ratio_text = f"{ratio:.1f}x" if ratio is not None else "-"
        cpu = "-"
        if f.our_cpu and f.their_cpu:
            cpu_ratio = f.cpu_ratio()
            cpu = (f"{statistics.median(f.our_cpu):.0f} / {statistics.median(f.their_cpu):.0f} us "
                   f"({f'{cpu_ratio:.1f}x' if cpu_ratio is not None else '-'})")
        if f.target is None:
            target = "< 100 MiB" if f.unit == "MiB" else ""
            if f.unit == "MiB" and f.ours:
                target += " PASS" if statistics.median(f.ours) < 100 else " MISS"
        else:
            target = f">= {f.target:g}x " + ("PASS" if ratio is not None and ratio >= f.target else "MISS")
        lines.append(f"| {f.what} | {ours} | {theirs} | {ratio_text} | {cpu} | {target} |")
    return "\n".join(lines)


#: The parts of the comparison, in the order they run.
SECTIONS = ("small", "presence", "large", "database", "memory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_reference_options(parser)
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds (a smoke test)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 5; quick: 2)")
    parser.add_argument("--large", type=int, default=1024, help="MiB of the large transfers (default 1024)")
    parser.add_argument("--dir", default=None, help="folder for the stores and files (default: a temporary one)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=None,
                        help="run only these sections (default: all)")
    args = parser.parse_args(argv)
    if args.dir is not None and not os.path.isdir(args.dir):
        parser.error(f"--dir {args.dir}: not an existing folder")
    python = reference_python(args)
    if not python:
        print("skipped: no reference to compare with (use --install-reference FOLDER, "
              "--reference-python PATH or SEAMLESS_REFERENCE_PYTHON)")
        return 0
    rounds = args.rounds or (2 if args.quick else 5)
    count = 300 if args.quick else 3000
    large = (16 if args.quick else args.large) * MiB
    workdir = tempfile.mkdtemp(prefix="seamless-compare-", dir=args.dir)
    figures: dict[str, Figure] = {}
    servers: list[LaunchedServer] = []
    try:
        folders = {name: os.path.join(workdir, name) for name in ("ours", "theirs", "durable")}
        os.makedirs(folders["theirs"])
        ours = launch("hashserver", [folders["ours"], "--writable", "--durability", "batch"], cwd=workdir)
        servers.append(ours)
        durable = launch("hashserver", [folders["durable"], "--writable"], cwd=workdir)
        servers.append(durable)
        theirs = reference_server(python, "hashserver", [folders["theirs"], "--writable"], workdir)
        servers.append(theirs)
        our_db = launch("seamless-database", [os.path.join(workdir, "ours.db"), "--writable"], cwd=workdir)
        servers.append(our_db)
        their_db = reference_server(python, "seamless-database", [os.path.join(workdir, "theirs.db"), "--writable"], workdir)
        servers.append(their_db)
        python_db = launch("seamless-database", [os.path.join(workdir, "python.db"), "--writable", "--no-front"],
                           cwd=workdir)
        servers.append(python_db)
        print(f"ours: {ours.url} (fsync: {durable.url}), {our_db.url} (no front: {python_db.url}); "
              f"reference: {theirs.url}, {their_db.url}")
        client = http_load.native_client()
        print(f"load client: {'C (benchmarks/loadgen.c)' if client else 'Python (no C compiler)'}")
        steps: dict[str, Callable[[], None]] = {
            "small": lambda: bench_hashserver_small(figures, ours, theirs, durable, rounds, count),
            "presence": lambda: bench_presence(figures, ours, theirs, rounds, 10_000),
            # rounds of 1 GiB: a multiple of three, so that each server goes first as often
            "large": lambda: bench_large(figures, durable, theirs, ours, folders, 3 * -(-max(2, rounds - 2) // 3),
                                         large, workdir),
            "database": lambda: bench_database(figures, our_db, their_db, python_db, rounds, 2 * count,
                                               os.path.join(workdir, "ours.db")),
            "memory": lambda: bench_memory_small(figures, ours, 10_000 if args.quick else 100_000),
        }
        for name, step in steps.items():
            if args.only is None or name in args.only:
                step()
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"medians of {rounds} rounds; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
