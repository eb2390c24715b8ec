"""Running an HTTP application as a seamless service.

``serve()`` does start-up in the launcher's order (status file, options,
port), writes ``failed`` into the status file for every start-up error,
serves until SIGINT/SIGTERM/SIGHUP or until ``timeout`` seconds pass without
a request, then shuts down gracefully (in-flight requests may finish) and
marks the status file ``stopped``. The exit code is 0 for a clean stop and 1
for a start-up failure, which is also printed as ``error: ...`` on stderr,
as is a status file that cannot be written (then the server stops, exit 1).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Callable

from .. import errormap
from .http import HttpApp, HttpServer, new_event_loop
from .ports import bind_listening_socket
from .statusfile import StatusFile, StatusFileError

LOGGER = logging.getLogger("seamless.server")
#: Seconds that in-flight requests get to finish at shutdown.
SHUTDOWN_GRACE = 10.0
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass(frozen=True)
class ServerOptions:
    """Where and how long to serve."""

    name: str
    host: str = "127.0.0.1"
    port: int | None = None
    port_range: tuple[int, int] | None = None
    status_file: str | None = None
    timeout: float | None = None


AppFactory = Callable[[], HttpApp]


def serve(make_app: AppFactory, options: ServerOptions) -> int:
    """Start, serve until stopped, and return the exit code."""
    status = None
    try:
        if options.status_file:
            status = StatusFile(options.status_file)
        if options.timeout is not None and not options.timeout > 0:  # also NaN
            raise ValueError("--timeout must be a positive number")
        sock = bind_listening_socket(options.host, options.port, options.port_range)
        try:
            app = make_app()
        except BaseException:
            sock.close()
            raise
    except Exception as exc:  # noqa: BLE001 - every start-up failure is reported
        if not errormap.is_expected(exc) and not isinstance(exc, ValueError):
            LOGGER.exception("start-up failed")
        print(f"error: {exc}", file=sys.stderr)
        if status is not None and not isinstance(exc, StatusFileError):
            _report(status.failed, str(exc))
        return errormap.EXIT_FAILURE
    loop = new_event_loop()
    try:
        return loop.run_until_complete(_run(app, sock, status, options))
    finally:
        loop.close()


async def _run(app: HttpApp, sock: socket.socket, status: StatusFile | None,
               options: ServerOptions) -> int:
    server = HttpServer(app)
    await server.start(sock)
    port = sock.getsockname()[1]
    address = f"[{options.host}]" if ":" in options.host else options.host
    print(f"{options.name} running on http://{address}:{port} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    LOGGER.info("%s: listening on %s port %d, status file %s, inactivity timeout %s", options.name,
                options.host, port, options.status_file or "none", options.timeout or "none")
    if status is not None and not _report(status.running, port):
        await server.stop(0)
        await app.shutdown()
        return errormap.EXIT_FAILURE
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    monitor = asyncio.ensure_future(_watch_inactivity(app, options.timeout, stop))
    try:
        await stop.wait()
    finally:
        monitor.cancel()
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
        await server.stop(SHUTDOWN_GRACE)
        await app.shutdown()
        LOGGER.info("%s: stopped", options.name)
    if status is not None and not _report(status.stopped):
        return errormap.EXIT_FAILURE
    return errormap.EXIT_OK


def _report(write: Callable[..., None], *args: object) -> bool:
    """Write the status file; a failure (a folder made read-only, a full
    disk) is an ``error:`` line, not a traceback. True if it was written."""
    try:
        write(*args)
    except StatusFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    return True


async def _watch_inactivity(app: HttpApp, timeout: float | None, stop: asyncio.Event) -> None:
    if timeout is None:
        return
    while not stop.is_set():
        await asyncio.sleep(min(1.0, timeout))
        if app.activity.idle_seconds() >= timeout:
            LOGGER.info("no request for %s s: stopping", timeout)
            stop.set()
