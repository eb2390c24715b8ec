"""Which transformations the command-line tools are running, so that
seamless-cancel can find them: one small file per running transformation in
``~/.seamless/running/`` (``<tf checksum>.<pid>``), removed when the run
ends; a file whose process is gone is ignored and removed."""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator


def running_dir() -> str:
    from ..config.clusters import config_dir

    return os.path.join(config_dir(), "running")


@contextmanager
def registered(tf_checksum: str) -> Iterator[None]:
    """Announce that this process runs tf_checksum, for the duration."""
    folder = running_dir()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{tf_checksum}.{os.getpid()}")
    with open(path, "w") as f:
        f.write(f"{os.getpid()}\n")
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def cancel(tf_checksum: str) -> list[int]:
    """Interrupt every process running tf_checksum (SIGTERM: they stop their
    command and exit with 130); their pids."""
    folder = running_dir()
    if not os.path.isdir(folder):
        return []
    stopped = []
    for name in os.listdir(folder):
        checksum, _, pid_text = name.partition(".")
        if checksum != tf_checksum or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if not _alive(pid):
            os.unlink(os.path.join(folder, name))
            continue
        os.kill(pid, signal.SIGTERM)
        stopped.append(pid)
    return stopped
