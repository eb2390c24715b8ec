"""Blocking clients: the async clients driven from one background event loop.

Every sync client of the process shares one daemon thread that runs an
event loop; a call submits the coroutine there and waits for its result, so
connection pools live as long as the clients and blocking code never needs
an event loop of its own. A client that is never closed is closed when it
is garbage-collected or when the interpreter exits, whichever comes first,
so that no connection pool is left for the HTTP library to warn about.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from typing import Any, Awaitable, TypeVar

from .buffers import AsyncBufferClient
from .database import AsyncDatabaseClient

T = TypeVar("T")
#: Seconds that closing a client may take before the caller goes on.
CLOSE_SECONDS = 5.0
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="seamless-remote", daemon=True)
            _thread.start()
        return _loop


def run(coroutine: Awaitable[T]) -> T:
    """Run a coroutine on the clients' loop and wait for its result.

    An exception in the waiting thread (Ctrl-C) cancels the coroutine and
    waits a few seconds for its clean-up before it goes on.

    Raises:
        RuntimeError: called from the clients' own loop (it would wait for itself).
    """
    loop = _background_loop()
    if threading.current_thread() is _thread:
        raise RuntimeError("a blocking seamless client was called from its own event loop")
    ended = threading.Event()

    async def guarded() -> T:
        try:
            return await coroutine
        finally:
            ended.set()

    future = asyncio.run_coroutine_threadsafe(guarded(), loop)
    try:
        return future.result()
    except BaseException:  # Ctrl-C, or a signal handler's exception: the request stops too
        if not future.done():
            future.cancel()  # cancels the coroutine on the loop; its clean-up (a partial file) runs
            ended.wait(CLOSE_SECONDS)
        raise


class _Blocking:
    """Wraps every coroutine method of an async client into a blocking one."""

    _async: Any

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._async, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            return run(attribute(*args, **kwargs))

        call.__name__ = name
        call.__doc__ = attribute.__doc__
        return call

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closer()

    def _attach(self, client: Any) -> None:
        self._async = client
        self.url = client.url
        self._closer = weakref.finalize(self, _close, client)


def _close(client: Any) -> None:
    """Close an async client on the clients' loop (from close(), from the
    garbage collector, or at exit), waiting a few seconds at most."""
    loop, thread = _loop, _thread
    if loop is None or thread is None or not thread.is_alive() or loop.is_closed():
        return  # it never made a request, or the loop is gone: nothing is open
    future = asyncio.run_coroutine_threadsafe(client.close(), loop)
    if threading.current_thread() is not thread:
        with contextlib.suppress(Exception):
            future.result(CLOSE_SECONDS)


class BufferClient(_Blocking):
    """Blocking client of a hashserver (the methods of AsyncBufferClient)."""

    def __init__(self, url: str, **options: Any):
        self._attach(AsyncBufferClient(url, **options))


class DatabaseClient(_Blocking):
    """Blocking client of a database server (the methods of AsyncDatabaseClient)."""

    def __init__(self, url: str, **options: Any):
        self._attach(AsyncDatabaseClient(url, **options))
