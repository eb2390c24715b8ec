"""The lock files of outside writers, the reference's convention.

Programs that write into a buffer folder without going through a server
(the reference's tools among them) announce the write with a ``.LOCK``
file: ``<buffer file>.LOCK`` for one buffer, or ``.LOCK`` in the folder the
buffer goes to (the main folder in the flat layout, its prefix folder in the
prefix layout) for several. A lock whose mtime is older than the lock
timeout is stale: its writer died.

The hashserver's own uploads are atomic (written aside, then renamed) and
need no lock; the server only honours outside writers' locks, as the
reference does: a GET that finds no buffer, or a file that does not match
its name yet, while a fresh lock exists waits for the lock to go (or to
become stale) and looks once more, instead of answering 404 or serving a
half-written file.
"""

from __future__ import annotations

import asyncio
import os
import time

LOCK_SUFFIX = ".LOCK"
#: Seconds after which a lock is stale (the reference's default).
DEFAULT_LOCK_TIMEOUT = 120.0
#: Seconds between looks at a lock file while waiting.
POLL_SECONDS = 0.1


class OutsideLocks:
    """The lock files that may announce a buffer of one folder."""

    def __init__(self, directory: str, prefix_layout: bool, timeout: float, poll: float = POLL_SECONDS):
        self.directory = directory
        self.prefix_layout = prefix_layout
        self.timeout = timeout
        self.poll = poll

    def paths(self, checksum: str) -> list[str]:
        """The folder's lock and the buffer file's own lock."""
        folder = os.path.join(self.directory, checksum[:2]) if self.prefix_layout else self.directory
        return [os.path.join(folder, LOCK_SUFFIX), os.path.join(folder, checksum + LOCK_SUFFIX)]

    def held(self, checksum: str) -> bool:
        """Whether a fresh lock announces this buffer now."""
        now = time.time()
        for path in self.paths(checksum):
            try:
                if now - os.stat(path).st_mtime <= self.timeout:
                    return True
            except OSError:  # no lock (or no folder)
                continue
        return False

    async def wait(self, checksum: str) -> bool:
        """Wait while a fresh lock announces this buffer, at most the lock
        timeout in all; True if there was one (the caller looks again). The
        looks at the lock files run in a thread (a folder may be remote)."""
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, self.held, checksum):
            return False
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and await loop.run_in_executor(None, self.held, checksum):
            await asyncio.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))
        return True
