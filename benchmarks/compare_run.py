"""seamless-run 'wc -c input.dat' on a 512 MiB input, against the
reference's, in one run: first run (input not yet stored) and second
(cached) run, wall time and peak memory; and a cached direct() call in a
new process, and 1,000 cached transformations looked up in one batch.

Each implementation has its own HOME with the seed's local cluster (for the
reference with the two edits it needs: ``local_cluster: local`` and no
``conda:`` fields) and its services started by seamless-init before the
timing; every round uses a new project, so the first run always finds an
empty store. Before each timed run the file systems are synced (untimed),
and the sides take turns going first, so that neither pays for the other's
write-back.

    python benchmarks/compare_run.py --reference-python REF/bin/python
    python benchmarks/compare_run.py --size 64      # MiB, a quick run
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from compare_init import (
    HERE_BIN,
    environment,
    make_side,
    reference_tool_folder,
    stop_services,
)
from compare_servers import add_reference_options

MiB = 1 << 20
WC = "wc -c input.dat"


def timed(command: list[str], cwd: str, env: dict[str, str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in bytes, stdout) of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    stdout = process.stdout.read().decode() if process.stdout else ""
    stderr = process.stderr.read().decode() if process.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({code}):\n{stderr[-3000:]}")
    return elapsed, usage.ru_maxrss * 1024, stdout


def set_project(side: dict[str, str], name: str) -> None:
    with open(os.path.join(side["project"], "seamless.yaml"), "w") as f:
        f.write(f"- project: {name}\n- execution: process\n")


CACHED_CALL = """
import seamless.config
seamless.config.init()
from seamless.transformer import direct

@direct
def add(a, b):
    return a + b

print(add(2, 3))
"""

BATCH = """
import sys, time
import seamless.config
seamless.config.init()
from seamless.transformer import delayed, parallel

@delayed
def square(x):
    return x * x

tfs = [square(i) for i in range(1000)]
start = time.perf_counter()
results = [t.result_checksum for t in parallel(tfs, nparallel=4)]
print(time.perf_counter() - start)
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_reference_options(parser)
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--size", type=int, default=512, help="MiB of input.dat (default 512)")
    parser.add_argument("--command", default=WC, help=f"the command to run on input.dat (default {WC!r}; "
                        "'md5sum input.dat' reads the whole input)")
    args = parser.parse_args(argv)
    reference_bin = reference_tool_folder(args, "seamless-run")
    root = tempfile.mkdtemp(prefix="seamless-run-bench-")
    sides = {"ours": make_side(os.path.join(root, "ours"), False)}
    bins = {"ours": HERE_BIN}
    if reference_bin:
        sides["reference"] = make_side(os.path.join(root, "reference"), True)
        bins["reference"] = reference_bin
    data = os.path.join(root, "input.dat")
    with open(data, "wb") as f:
        for _ in range(args.size):
            f.write(os.urandom(MiB))
    figures: dict[str, dict[str, list[float]]] = {name: {"first": [], "second": [], "first_rss": [],
                                                         "second_rss": []} for name in sides}
    extra: dict[str, list[float]] = {"cached_call": [], "batch": []}
    try:
        for side in sides.values():
            os.link(data, os.path.join(side["project"], "input.dat"))
        for round_ in range(args.rounds):
            # alternate who goes first, so that neither always follows the other's writes
            order = list(sides.items()) if round_ % 2 == 0 else list(reversed(sides.items()))
            for name, side in order:
                env = environment(side, bins[name])
                env["XDG_CACHE_HOME"] = os.path.join(side["home"], f"xdg-{round_}")
                set_project(side, f"bench{round_}")
                timed([os.path.join(bins[name], "seamless-init")], side["project"], env)
                command = [os.path.join(bins[name], "seamless-run"), "-y", args.command]
                for which in ("first", "second"):
                    # Start from a clean disk: without this, the other side's (or the
                    # previous round's) unwritten gigabytes would be charged to whoever
                    # syncs next (an ext4 journal commit writes out all ordered data).
                    os.sync()
                    seconds, rss, out = timed(command, side["project"], env)
                    if args.command == WC:
                        assert out.split()[0] == str(args.size * MiB), out
                    figures[name][which].append(seconds)
                    figures[name][f"{which}_rss"].append(rss)
            env = environment(sides["ours"], HERE_BIN)
            with open(os.path.join(root, "cached_call.py"), "w") as f:
                f.write(CACHED_CALL)
            with open(os.path.join(root, "batch.py"), "w") as f:
                f.write(BATCH)
            python_ = os.path.join(HERE_BIN, "python")
            timed([python_, os.path.join(root, "cached_call.py")], sides["ours"]["project"], env)  # fill
            extra["cached_call"].append(timed([python_, os.path.join(root, "cached_call.py")],
                                              sides["ours"]["project"], env)[0])
            timed([python_, os.path.join(root, "batch.py")], sides["ours"]["project"], env)  # fill
            extra["batch"].append(float(timed([python_, os.path.join(root, "batch.py")],
                                              sides["ours"]["project"], env)[2]))
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        for side in sides.values():
            stop_services(side)
        shutil.rmtree(root, ignore_errors=True)

    med = statistics.median
    print()
    print(f"medians of {args.rounds} rounds; input {args.size} MiB; {os.cpu_count()} CPUs; "
          f"python {sys.version.split()[0]}")
    print("| what | ours | reference | ratio | target |")
    print("|---|---|---|---|---|")
    for which, target in (("first", 0.25), ("second", 1 / 6)):
        ours = med(figures["ours"][which])
        rss = med(figures["ours"][f"{which}_rss"]) / MiB
        label = f"`seamless-run '{args.command}'`, {'first' if which == 'first' else 'cached'} run"
        if "reference" in figures:
            theirs = med(figures["reference"][which])
            their_rss = med(figures["reference"][f"{which}_rss"]) / MiB
            ratio = ours / theirs
            verdict = "PASS" if ratio <= target else "MISS"
            print(f"| {label} | {ours:.2f} s | {theirs:.2f} s | {ratio:.2f} | <= {target:.2f} {verdict} |")
            mem_verdict = "PASS" if rss < 200 else "MISS"
            print(f"| peak memory, {which} run | {rss:.0f} MiB | {their_rss:.0f} MiB | - | < 200 MiB {mem_verdict} |")
        else:
            print(f"| {label} | {ours:.2f} s ({rss:.0f} MiB) | - | - | - |")
    call = med(extra["cached_call"])
    batch = med(extra["batch"])
    print(f"| cached `direct` call in a new process | {call * 1000:.0f} ms | - | - | < 300 ms "
          f"{'PASS' if call < 0.3 else 'MISS'} |")
    print(f"| 1,000 cached transformations in one batch | {batch * 1000:.0f} ms | - | - | < 1 s "
          f"{'PASS' if batch < 1 else 'MISS'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
