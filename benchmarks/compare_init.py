"""seamless-init against the reference's, cold and warm, in one run; and the
import times of seamless and seamless.config.

Each implementation gets its own HOME with the seed document's local
cluster (the reference's copy needs two edits the seed does not have: a
``local_cluster: local`` line, and no ``conda:`` fields when conda is not
installed) and a project folder with the seed's seamless.yaml and
seamless.profile.yaml. A cold round stops both services first (so
seamless-init starts them); a warm round finds them running. Rounds
alternate between the implementations; medians are printed, with ratios.

    python benchmarks/compare_init.py --reference-python REF/bin/python
    python benchmarks/compare_init.py --install-reference FOLDER
    python benchmarks/compare_init.py              # ours only
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from compare_servers import add_reference_options, reference_python

HERE_BIN = os.path.dirname(sys.executable)
SEED_CLUSTER = """\
local:
  type: local
  frontends:
    - hashserver:
        bufferdir: {root}/buffers
        conda: hashserver
        network_interface: 127.0.0.1
        port_start: {hs}
        port_end: {hs_end}
      database:
        database_dir: {root}/db
        conda: seamless-database
        network_interface: 127.0.0.1
        port_start: {db}
        port_end: {db_end}
"""


def make_side(root: str, reference: bool) -> dict[str, str]:
    """A HOME and a project folder; the environment to run in."""
    home, project = os.path.join(root, "home"), os.path.join(root, "project")
    os.makedirs(os.path.join(home, ".seamless"))
    os.makedirs(project)
    hs, db = random.sample(range(20000, 40000, 100), 2)
    text = SEED_CLUSTER.format(root=root, hs=hs, hs_end=hs + 99, db=db, db_end=db + 99)
    if reference:
        text = "".join(line for line in text.splitlines(True) if "conda:" not in line)
        text += "local_cluster: local\n"
    with open(os.path.join(home, ".seamless", "clusters.yaml"), "w") as f:
        f.write(text)
    with open(os.path.join(project, "seamless.profile.yaml"), "w") as f:
        f.write("- cluster: local\n")
    with open(os.path.join(project, "seamless.yaml"), "w") as f:
        f.write("- project: my-project\n- execution: process\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEAMLESS_CACHE", "SEAMLESS_REMOTE_CLIENTS", "REMOTE_HTTP_LAUNCHER_DIR")}
    env["HOME"] = home
    return {"home": home, "project": project, **{f"env:{k}": v for k, v in env.items()}}


def environment(side: dict[str, str], bin_dir: str) -> dict[str, str]:
    env = {k[4:]: v for k, v in side.items() if k.startswith("env:")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def timed(command: list[str], cwd: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return elapsed


def stop_services(side: dict[str, str]) -> None:
    """Stop whatever runs for this HOME (our stop handles both
    implementations' state files)."""
    subprocess.run([sys.executable, "-m", "seamless.cli.init", "--stop", "--all", "-q"],
                   env=environment(side, HERE_BIN), cwd=side["project"], check=True)


def import_time(module: str, rounds: int) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(rounds)]
    return statistics.median(samples)


def reference_tool_folder(args: argparse.Namespace, tool: str) -> str | None:
    """The bin folder of the reference's virtualenv, if it has tool."""
    python = reference_python(args)
    folder = os.path.dirname(python) if python else None
    if folder and not os.path.exists(os.path.join(folder, tool)):
        print(f"skipped the reference: no {tool} next to {python}")
        return None
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_reference_options(parser)
    parser.add_argument("--rounds", type=int, default=5, help="rounds per figure (default 5)")
    args = parser.parse_args(argv)
    reference_bin = reference_tool_folder(args, "seamless-init")
    root = tempfile.mkdtemp(prefix="seamless-init-bench-")
    sides = {"ours": make_side(os.path.join(root, "ours"), False)}
    commands = {"ours": [os.path.join(HERE_BIN, "seamless-init")]}
    bins = {"ours": HERE_BIN}
    if reference_bin:
        sides["reference"] = make_side(os.path.join(root, "reference"), True)
        commands["reference"] = [os.path.join(reference_bin, "seamless-init")]
        bins["reference"] = reference_bin
    cold: dict[str, list[float]] = {name: [] for name in sides}
    warm: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for round_ in range(args.rounds):
            for name, side in sides.items():
                env = environment(side, bins[name])
                stop_services(side)
                cold[name].append(timed(commands[name], side["project"], env))
                warm[name].append(timed(commands[name], side["project"], env))
            print(f"  round {round_ + 1}/{args.rounds} done", flush=True)
        imports = {m: import_time(m, max(5, args.rounds)) for m in ("seamless", "seamless.config")}
    finally:
        for side in sides.values():
            stop_services(side)
        shutil.rmtree(root, ignore_errors=True)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print()
    print(f"medians of {args.rounds} rounds; {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
    print("| what | ours | reference | ratio | target |")
    print("|---|---|---|---|---|")
    for label, data, target in (("seamless-init, cold (starts both services)", cold, 1 / 3),
                                ("seamless-init, warm (services running)", warm, 1 / 4)):
        ours = med(data["ours"])
        if "reference" in data:
            theirs = med(data["reference"])
            ratio = ours / theirs
            verdict = "PASS" if ratio <= target else "MISS"
            extra = " and < 150 ms" if data is warm else ""
            if data is warm and ours >= 0.150:
                verdict = "MISS"
            print(f"| {label} | {ours * 1000:.0f} ms | {theirs * 1000:.0f} ms | {ratio:.2f} "
                  f"({1 / ratio:.1f}x faster) | <= {target:.2f}{extra} {verdict} |")
        else:
            print(f"| {label} | {ours * 1000:.0f} ms | - | - | - |")
    for module, seconds in imports.items():
        verdict = "PASS" if seconds < 0.150 else "MISS"
        print(f"| import {module} | {seconds * 1000:.0f} ms | - | - | < 150 ms {verdict} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
