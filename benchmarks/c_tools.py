"""The benchmarks' small C programs, each built once into benchmarks/build/.

loadgen.c is the load client of http_load.py; fixed_server.c and
sqlite_loop.c time what a machine allows at all (the ceilings in
compare_servers.py). Where no C compiler is found, or a program does not
build, ``program`` answers None and the caller goes without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

_HERE = os.path.dirname(os.path.abspath(__file__))
_BUILT: dict[str, str | None] = {}


def program(name: str, *flags: str) -> str | None:
    """The path of benchmarks/NAME.c built (with these linker flags), or None."""
    if name not in _BUILT:
        source = os.path.join(_HERE, f"{name}.c")
        binary = os.path.join(_HERE, "build", name)
        compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
        if os.path.exists(binary) and os.path.getmtime(binary) >= os.path.getmtime(source):
            _BUILT[name] = binary
        elif compiler is None:
            _BUILT[name] = None
        else:
            os.makedirs(os.path.dirname(binary), exist_ok=True)
            built = subprocess.run([compiler, "-O2", "-o", binary, source, *flags], capture_output=True, text=True)
            _BUILT[name] = binary if built.returncode == 0 else None
    return _BUILT[name]
