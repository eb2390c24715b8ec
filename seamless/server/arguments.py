"""The command-line flags both servers share, and their validation.

The launcher starts a server with ``--status-file`` and then waits for that
file to say ``running`` or ``failed``. A bad flag is a start-up failure like
any other: the parser here marks the status file ``failed`` before it exits
(status 2, as argparse does), so the launcher does not wait for a server
that never came. Values that come from the environment are checked later,
inside ``serve()``, whose failures reach the status file the same way.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import NoReturn, Sequence

from .lifecycle import ServerOptions
from .statusfile import StatusFile

STATUS_FLAG = "--status-file"
#: Seconds a usage error waits for the launcher's status file to exist (a
#: server that starts waits 20 s; a mistyped command should not).
STATUS_WAIT = 2.0


class ServerArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are start-up failures: with
    ``--status-file F`` among the arguments, F is marked ``failed``."""

    _arguments: Sequence[str] = ()

    def parse_known_args(self, args: Sequence[str] | None = None, namespace=None):  # type: ignore[override]
        self._arguments = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        path = status_file_argument(self._arguments)
        if path:
            try:
                StatusFile(path, wait=STATUS_WAIT).failed(f"{self.prog}: {message}")
            except Exception as exc:  # noqa: BLE001 - the usage error is reported below either way
                print(f"{self.prog}: cannot mark the status file failed: {exc}", file=sys.stderr)
        super().error(message)


def status_file_argument(arguments: Sequence[str]) -> str | None:
    """The value of --status-file in arguments that the full parser
    refused, read as argparse reads it (``--status-file F``,
    ``--status-file=F``, an abbreviation such as ``--status F``, the last
    one counting), if it can be read at all."""
    alone = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    alone.add_argument(STATUS_FLAG)
    try:
        known, _ = alone.parse_known_args(arguments)
    except (argparse.ArgumentError, SystemExit):  # e.g. the flag without a value
        return None
    return known.status_file


def log_level(text: str) -> str:
    """A logging level name (any case), as logging knows it."""
    name = text.upper()
    if not isinstance(logging.getLevelName(name), int):
        raise argparse.ArgumentTypeError(f"unknown log level {text!r} (DEBUG, INFO, WARNING, ERROR or CRITICAL)")
    return name


def add_service_arguments(p: argparse.ArgumentParser) -> None:
    """Where to listen, the launcher's status file, the inactivity timeout
    and the log level: the same flags, defaults and help on both servers."""
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ports = p.add_mutually_exclusive_group()
    ports.add_argument("--port", type=int, help="port to listen on (default: a random free port 49152-65535)")
    ports.add_argument("--port-range", type=int, nargs=2, metavar=("START", "END"),
                       help="listen on a random free port of this range")
    p.add_argument(STATUS_FLAG, help="JSON status file of the launcher (remote-http-launcher protocol)")
    p.add_argument("--timeout", type=float, help="stop after this many seconds without a request")
    p.add_argument("--log-level", type=log_level, default="WARNING", help="logging level (default WARNING)")


def service_options(name: str, args: argparse.Namespace) -> ServerOptions:
    """The ServerOptions of parsed service arguments; sets up logging."""
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return ServerOptions(name, args.host, args.port, tuple(args.port_range) if args.port_range else None,
                         args.status_file, args.timeout)
