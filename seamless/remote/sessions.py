"""One client's HTTP session, bound to the event loop that uses it.

An aiohttp session, its connections and the client's request slots belong
to the event loop they were made in. A client used from a second loop (two
``asyncio.run`` calls one after the other, the usual way to call async code
from a script) would otherwise find them tied to a loop that is closed, and
fail with "Event loop is closed". LoopSession makes them anew for each loop.
The old ones are closed on their own loop: when it shuts down (asyncio.run
closes the loop's async generators before it closes the loop, and one of
them is the session's guard), or at once if that loop still runs elsewhere.
Only a loop closed without that shutdown leaves a session that nothing can
close any more: it is detached, and its sockets close when collected.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Callable

import aiohttp


async def _closed_with_its_loop(session: aiohttp.ClientSession) -> AsyncGenerator[None, None]:
    """Suspended for the session's life; the loop's shutdown of its async
    generators runs the finally, in the loop, while it can still close."""
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


class LoopSession:
    """make() -> a session; slots bound requests per client (concurrency)."""

    def __init__(self, make: Callable[[], aiohttp.ClientSession], concurrency: int):
        self._make = make
        self._concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.slots = asyncio.Semaphore(concurrency)
        self._guard: Any = None

    def get(self) -> aiohttp.ClientSession:
        """The session of the running loop (made on first use)."""
        loop = asyncio.get_running_loop()
        if self._session is not None and (self._session.closed or self._loop is not loop):
            self._let_go()
        if self._session is None:
            self._session, self._loop = self._make(), loop
            self.slots = asyncio.Semaphore(self._concurrency)
            self._guard = _closed_with_its_loop(self._session)
            loop.create_task(self._guard.__anext__())  # the loop now knows it
        return self._session

    def _let_go(self) -> None:
        session, loop = self._session, self._loop
        self._session = self._loop = self._guard = None
        if session is None or session.closed:
            return
        if loop is not None and loop.is_running() and not loop.is_closed():
            asyncio.run_coroutine_threadsafe(session.close(), loop)
        else:
            session.detach()

    async def close(self) -> None:
        """Close the session (in its own loop) or let it go (another loop's)."""
        if self._session is None:
            return
        if self._loop is asyncio.get_running_loop():
            session, self._session, self._loop, self._guard = self._session, None, None, None
            await session.close()
        else:
            self._let_go()
