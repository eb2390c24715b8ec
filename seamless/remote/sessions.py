"""One client's HTTP sessions, one per event loop that uses the client.

An aiohttp session, its connections and the client's request slots belong
to the event loop they were made in. A client used from a second loop (two
``asyncio.run`` calls one after the other, the usual way to call async code
from a script, or two threads with a loop each) would otherwise find them
tied to another loop, perhaps a closed one, and fail with "Event loop is
closed". LoopSessions keeps a session and its slots for each loop. A loop's
session is closed on that loop when it shuts down (asyncio.run closes the
loop's async generators before it closes the loop, and one of them is the
session's guard), or by close(). Only a loop closed without that shutdown
leaves a session that nothing can close any more: it is detached when
noticed, and its sockets close when collected.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, AsyncGenerator

import aiohttp


async def _closed_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Suspended for the session's life; the loop's shutdown of its async
    generators runs the finally, in the loop, while it can still close."""
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


@dataclass
class _LoopSession:
    session: aiohttp.ClientSession
    slots: asyncio.Semaphore
    guard: Any


class LoopSessions:
    """Each loop's session keeps at most `concurrency` connections alive
    (30 s when idle), with this default timeout and these other session
    options; each loop also gets `concurrency` slots that bound the
    client's requests in flight on it."""

    def __init__(self, concurrency: int, timeout: aiohttp.ClientTimeout, **options: Any):
        self._concurrency = concurrency
        self._timeout = timeout
        self._options = options
        self._by_loop: dict[asyncio.AbstractEventLoop, _LoopSession] = {}

    def _make(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._concurrency, keepalive_timeout=30)
        return aiohttp.ClientSession(connector=connector, timeout=self._timeout, **self._options)

    def _current(self) -> _LoopSession:
        loop = asyncio.get_running_loop()
        entry = self._by_loop.get(loop)
        if entry is None or entry.session.closed:
            self._forget_closed_loops()
            session = self._make()
            entry = _LoopSession(session, asyncio.Semaphore(self._concurrency), _closed_with_its_loop(session))
            loop.create_task(entry.guard.__anext__())  # the loop now knows the guard
            self._by_loop[loop] = entry
        return entry

    def get(self) -> aiohttp.ClientSession:
        """The session of the running loop (made on first use)."""
        return self._current().session

    @property
    def slots(self) -> asyncio.Semaphore:
        """The request slots of the running loop."""
        return self._current().slots

    def _forget_closed_loops(self) -> None:
        for loop in [loop for loop in self._by_loop if loop.is_closed()]:
            entry = self._by_loop.pop(loop)
            if not entry.session.closed:
                entry.session.detach()

    async def close(self) -> None:
        """Close every loop's session: the running loop's here, another
        running loop's on that loop, a closed loop's by detaching it."""
        running = asyncio.get_running_loop()
        entries, self._by_loop = self._by_loop, {}
        for loop, entry in entries.items():
            if entry.session.closed:
                continue
            if loop is running:
                await entry.session.close()
            elif loop.is_running() and not loop.is_closed():
                asyncio.run_coroutine_threadsafe(entry.session.close(), loop)
            else:
                entry.session.detach()
