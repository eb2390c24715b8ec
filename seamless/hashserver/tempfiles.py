"""Temporary files of a buffer folder: naming, ownership and safe clean-up.

Writes go to ``DIR/.tmp/<pid>@<host>@<n>-<ns>`` and are renamed into place
when complete. After a crash, the leftovers are removed by the next store
that opens the folder, but only when it is sure that nobody still writes
them: the owner process is on this host and no longer exists, or the file
is older than a day (other hosts cannot be asked). Temporary files of the
reference hashserver (``<cs>-xxxxxxxx`` next to the buffers) are removed
after a day as well.
"""

from __future__ import annotations

import os
import socket
import time

TMP_DIR = ".tmp"
#: Files this old are abandoned whoever owns them.
ABANDONED_AFTER = 24 * 3600.0

_HOST = socket.gethostname().replace("@", "_")


def temp_prefix() -> str:
    """The name prefix of this process's temporary files."""
    return f"{os.getpid()}@{_HOST}@"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _is_leftover(name: str, age: float) -> bool:
    if age > ABANDONED_AFTER:
        return True
    parts = name.split("@")
    if len(parts) < 3 or not parts[0].isdigit():
        return False
    pid, host = int(parts[0]), parts[1]
    return host == _HOST and pid != os.getpid() and not _alive(pid)


def _is_reference_temp(name: str) -> bool:
    head, _, tail = name.partition("-")
    return len(head) == 64 and len(tail) == 8


def _reference_temps(directory: str) -> list[tuple[str, str]]:
    folders = [directory] + [
        e.path for e in os.scandir(directory) if e.is_dir() and len(e.name) == 2
    ]
    return [(f, n) for f in folders for n in os.listdir(f) if _is_reference_temp(n)]


def clean_leftovers(directory: str, shards: bool = False) -> list[str]:
    """Remove temporary files nobody is writing any more; return their paths.

    shards=True also looks for the reference's temp files next to the
    buffers (a full scan; done by ``seamless-store verify``).
    """
    tmp_dir = os.path.join(directory, TMP_DIR)
    ours = [(tmp_dir, n) for n in os.listdir(tmp_dir)] if os.path.isdir(tmp_dir) else []
    theirs = _reference_temps(directory) if shards else []
    removed = []
    now = time.time()
    for folder, name in ours + theirs:
        path = os.path.join(folder, name)
        try:
            age = now - os.lstat(path).st_mtime
            stale = _is_leftover(name, age) if folder == tmp_dir else age > ABANDONED_AFTER
            if stale:
                os.unlink(path)
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed
