"""The benchmarks' small C programs, each built once into benchmarks/build/.

loadgen.c is the load client of http_load.py; fixed_server.c and
sqlite_loop.c time what a machine allows at all (the ceilings in
compare_servers.py); sqlite_loop.c is built with the front's SQLite calls
and VFS from csrc/. Where no C compiler is found, or a program does not
build, ``program`` answers None and the caller goes without it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

_HERE = os.path.dirname(os.path.abspath(__file__))
_BUILT: dict[str, str | None] = {}
_CSRC = os.path.join(os.path.dirname(_HERE), "csrc")
#: Sources of the core that a program is built with (the SQLite loop uses the front's VFS).
_CORE = {"sqlite_loop": ["front_vfs.c", "sqlite_api.c"]}
#: Linker flags of the programs that need some (dlopen is in libdl on older C libraries).
_FLAGS = {"sqlite_loop": ["-lpthread", "-ldl"]}


def compiler() -> str | None:
    """The C compiler the programs are built with ($CC, cc or gcc), if any."""
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def program(name: str) -> str | None:
    """The path of benchmarks/NAME.c built, or None."""
    if name not in _BUILT:
        sources = [os.path.join(_HERE, f"{name}.c")] + [os.path.join(_CSRC, c) for c in _CORE.get(name, [])]
        inputs = sources + [os.path.join(_CSRC, h) for h in os.listdir(_CSRC) if h.endswith(".h")]
        binary = os.path.join(_HERE, "build", name)
        cc = compiler()
        if os.path.exists(binary) and os.path.getmtime(binary) >= max(map(os.path.getmtime, inputs)):
            _BUILT[name] = binary
        elif cc is None:
            _BUILT[name] = None
        else:
            os.makedirs(os.path.dirname(binary), exist_ok=True)
            built = subprocess.run([cc, "-O2", f"-I{_CSRC}", "-o", binary, *sources, *_FLAGS.get(name, [])],
                                   capture_output=True, text=True)
            _BUILT[name] = binary if built.returncode == 0 else None
    return _BUILT[name]
