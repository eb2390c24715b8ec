"""``.FUTURE`` files: cheap ordering between seamless-run jobs.

While a job runs, each output it will write is announced by ``D.FUTURE``
(``"<transformation checksum>.<name>\\n"``), touched every 30 s and removed
at the end. A job that takes D as an input waits until D.FUTURE is gone;
one that has not been touched for 120 s is stale (its job died) and is an
error, with its name.
"""

from __future__ import annotations

import os
import threading
import time

TOUCH_EVERY = 30.0
STALE_AFTER = 120.0
POLL = 0.5


class FutureError(ValueError):
    """A stale .FUTURE file: the job that was to write the input is gone."""


def wait_for(path: str) -> None:
    """Return once path.FUTURE does not exist (at once if it never did)."""
    future = path + ".FUTURE"
    while True:
        try:
            age = time.time() - os.stat(future).st_mtime
        except FileNotFoundError:
            return
        if age > STALE_AFTER:
            raise FutureError(f"Stale future {future}: not touched for {age:.0f} s (the job that was to write "
                              f"{path} is gone); remove it to go on")
        time.sleep(POLL)


class Announcement:
    """The .FUTURE files of one job's outputs, kept fresh while it runs."""

    def __init__(self, paths: list[str], tf_checksum: str, names: list[str]):
        self.paths = [p + ".FUTURE" for p in paths]
        for path, name in zip(self.paths, names):
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                f.write(f"{tf_checksum}.{name}\n")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._touch, daemon=True, name="seamless-future")
        self._thread.start()

    def _touch(self) -> None:
        while not self._stop.wait(TOUCH_EVERY):
            for path in self.paths:
                try:
                    os.utime(path)
                except FileNotFoundError:
                    pass

    def close(self) -> None:
        self._stop.set()
        for path in self.paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "Announcement":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
