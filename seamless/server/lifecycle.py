"""Running an aiohttp application as a seamless service.

``serve()`` does start-up in the launcher's order (status file, options,
port), writes ``failed`` into the status file for every start-up error,
serves until SIGINT/SIGTERM/SIGHUP or until ``timeout`` seconds pass without
a request, then shuts down gracefully (in-flight requests may finish) and
marks the status file ``stopped``. The exit code is 0 for a clean stop and 1
for a start-up failure, which is also printed as ``error: ...`` on stderr.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web

from .. import errormap
from .ports import bind_listening_socket
from .statusfile import StatusFile

LOGGER = logging.getLogger("seamless.server")
#: Seconds that in-flight requests get to finish at shutdown.
SHUTDOWN_GRACE = 10.0


@dataclass(frozen=True)
class ServerOptions:
    """Where and how long to serve."""

    name: str
    host: str = "127.0.0.1"
    port: int | None = None
    port_range: tuple[int, int] | None = None
    status_file: str | None = None
    timeout: float | None = None


class Activity:
    """When the last request started or ended (for the inactivity timeout)."""

    def __init__(self) -> None:
        self.last = time.monotonic()
        self.active = 0

    def idle_seconds(self) -> float:
        return 0.0 if self.active else time.monotonic() - self.last

    @web.middleware
    async def middleware(self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
        self.active += 1
        self.last = time.monotonic()
        try:
            return await handler(request)
        finally:
            self.active -= 1
            self.last = time.monotonic()


AppFactory = Callable[[Activity], web.Application]


def serve(make_app: AppFactory, options: ServerOptions) -> int:
    """Start, serve until stopped, and return the exit code."""
    status = None
    try:
        if options.status_file:
            status = StatusFile(options.status_file)
        if options.timeout is not None and options.timeout <= 0:
            raise ValueError("--timeout must be a positive number")
        sock = bind_listening_socket(options.host, options.port, options.port_range)
        activity = Activity()
        app = make_app(activity)
    except Exception as exc:  # noqa: BLE001 - every start-up failure is reported
        if status is not None:
            status.failed(str(exc))
        if not errormap.is_expected(exc) and not isinstance(exc, ValueError):
            LOGGER.exception("start-up failed")
        print(f"error: {exc}", file=sys.stderr)
        return errormap.EXIT_FAILURE
    return asyncio.run(_run(app, sock, status, options, activity))


async def _run(app: web.Application, sock: object, status: StatusFile | None,
               options: ServerOptions, activity: Activity) -> int:
    # auto_decompress=False: a compressed upload reaches the handler as sent
    # (the hashserver stores gzip/zstd bodies in their compressed form).
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=SHUTDOWN_GRACE, auto_decompress=False)
    await runner.setup()
    site = web.SockSite(runner, sock, shutdown_timeout=SHUTDOWN_GRACE)  # type: ignore[arg-type]
    await site.start()
    port = sock.getsockname()[1]  # type: ignore[attr-defined]
    print(f"{options.name} running on http://{options.host}:{port} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    if status is not None:
        status.running(port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    monitor = asyncio.create_task(_watch_inactivity(activity, options.timeout, stop))
    try:
        await stop.wait()
    finally:
        monitor.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        if status is not None:
            status.stopped()
    return errormap.EXIT_OK


async def _watch_inactivity(activity: Activity, timeout: float | None, stop: asyncio.Event) -> None:
    if timeout is None:
        return
    while not stop.is_set():
        await asyncio.sleep(min(1.0, timeout))
        if activity.idle_seconds() >= timeout:
            LOGGER.info("no request for %s s: stopping", timeout)
            stop.set()
