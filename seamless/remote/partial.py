"""The temporary file a download is written to before it takes its name."""

from __future__ import annotations

import os
import secrets


def open_partial(target: str) -> tuple[int, str]:
    """(descriptor, name) of a new file next to target, for writing: a name
    of its own, so that two downloads to one path (in one process or more)
    never write into one file; created with the usual permissions."""
    name = f"{target}.part-{os.getpid()}-{secrets.token_hex(4)}"
    return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), name
