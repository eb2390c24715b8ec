"""Writing the outputs of a bash transformation: for each target, its
sidecar (``D.CHECKSUM``; ``D.INDEX`` too for a folder) and, unless told
not to, its bytes, replacing what was there."""

from __future__ import annotations

import os
import sys
from typing import Any


def write_results(targets: list[tuple[str, str]], result: Any, workdir: str, *, download: bool = True,
                  quiet: bool = False, base: str | None = None) -> int:
    """targets: (name under RESULT, local name). Sidecars go to workdir,
    files to base (default: the current directory). 1 if a target is missing
    from the result, else 0."""
    from ... import config
    from ...buffer_class import Buffer
    from ...checksum.sidecar import atomic_write, write_sidecar
    from ...checksum_class import Checksum
    from ...transformer.runtime import get_runtime
    from ..transfer import download as fetch

    runtime = get_runtime()
    buffers = config.get_stores().buffers
    base = base or os.getcwd()
    index = runtime.fingertip(result).get_value("plain")
    status = 0

    def get(checksum: Checksum, local: str) -> None:
        fetch(buffers, checksum, os.path.join(base, local), fallback=lambda cs: runtime.fingertip(cs).content,
              quiet=quiet)

    for name, local in targets:
        if name in index:
            checksum = Checksum(index[name])
            if download:  # the file first: a sidecar never names content that is not there
                get(checksum, local)
            elif os.path.exists(os.path.join(base, local)):
                sys.stderr.write(f"seamless-run: note: {local} is left as it was, and does not match its new "
                                 ".CHECKSUM (-nd)\n")
            write_sidecar(os.path.join(workdir, local), checksum)
            continue
        prefix = name.rstrip("/") + "/"
        sub = {k[len(prefix):]: v for k, v in index.items() if k.startswith(prefix)}
        if not sub:
            sys.stderr.write(f"seamless-run: no result for '{local}' was returned\n")
            status = 1
            continue
        if download:
            for rel, cs in sorted(sub.items()):
                get(Checksum(cs), os.path.join(local, rel))
        index_buffer = Buffer(sub, "plain")
        sidecar_base = os.path.join(workdir, local.rstrip("/"))
        atomic_write(sidecar_base + ".INDEX", index_buffer.content)
        write_sidecar(sidecar_base, index_buffer.get_checksum())
    return status
