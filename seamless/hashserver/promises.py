"""Promises of the hashserver: "this buffer is about to be uploaded".

A promise lasts 600 s (or until the buffer arrives). While it lasts, /has
answers true and a GET of the missing buffer waits for it instead of
answering 404. Promises live in the server's memory, as in the reference.
"""

from __future__ import annotations

import asyncio
import time

PROMISE_SECONDS = 600.0


class Promises:
    """checksum -> expiry, with waiters woken when the buffer arrives."""

    def __init__(self, lifetime: float = PROMISE_SECONDS):
        self.lifetime = lifetime
        self._expiry: dict[str, float] = {}
        self._events: dict[str, asyncio.Event] = {}

    def promise(self, checksum: str) -> float:
        """Register (or refresh) a promise; return its lifetime."""
        self._expiry[checksum] = time.monotonic() + self.lifetime
        return self.lifetime

    def is_live(self, checksum: str) -> bool:
        expiry = self._expiry.get(checksum)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            self._drop(checksum)
            return False
        return True

    def resolve(self, checksum: str) -> None:
        """The buffer arrived: forget the promise and wake its waiters."""
        self._drop(checksum)

    def _drop(self, checksum: str) -> None:
        self._expiry.pop(checksum, None)
        event = self._events.pop(checksum, None)
        if event is not None:
            event.set()

    async def wait(self, checksum: str) -> None:
        """Wait until the promise is resolved or expires."""
        while self.is_live(checksum):
            event = self._events.setdefault(checksum, asyncio.Event())
            remaining = self._expiry[checksum] - time.monotonic()
            try:
                await asyncio.wait_for(event.wait(), timeout=max(remaining, 0.01))
            except asyncio.TimeoutError:
                continue
