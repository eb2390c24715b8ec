"""``seamless-database``: serve a seamless.db file over HTTP, the reference's way.

The flags are the reference seamless-database's (2.1.0), because its
launcher calls the command by that name with those flags. Differences: the
default address is 127.0.0.1 (the reference listened on every interface,
and the database, unlike the buffer store, has no content addressing to
protect it); read-only mode works; every start-up failure is written to the
status file. Ours in addition: ``--synchronous`` and ``--no-front``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..server.lifecycle import ServerOptions, serve
from .app import make_app
from .store import ResultDB


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-database",
                                description="Serve a seamless.db result database over HTTP.")
    p.add_argument("database_file", help="the SQLite file (created with --writable if missing)")
    p.add_argument("--writable", action="store_true", help="accept writes (PUT)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ports = p.add_mutually_exclusive_group()
    ports.add_argument("--port", type=int, help="port to listen on (default: a random free port 49152-65535)")
    ports.add_argument("--port-range", type=int, nargs=2, metavar=("START", "END"),
                       help="listen on a random free port of this range")
    p.add_argument("--status-file", help="JSON status file of the launcher (remote-http-launcher protocol)")
    p.add_argument("--timeout", type=float, help="stop after this many seconds without a request")
    p.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                   help="SQLite durability: NORMAL (default; survives a crash of the server) or FULL "
                        "(also a power loss, at one sync per transaction)")
    p.add_argument("--no-front", action="store_true",
                   help="answer every request in Python (by default a native front answers single-record "
                        "transformation requests where the native core is built)")
    p.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the seamless-database command."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    path = os.path.abspath(args.database_file)

    def make():
        if not args.writable and not os.path.isfile(path):
            raise FileNotFoundError(2, f"Database file '{args.database_file}' must exist when --writable is not set", path)
        if args.writable and not os.path.isdir(os.path.dirname(path)):
            raise FileNotFoundError(2, f"The folder of database file '{args.database_file}' does not exist", path)
        db = ResultDB(path, readonly=not args.writable, synchronous=args.synchronous)
        print("DATABASE FILE", path, flush=True)
        print("Press Ctrl+C to end", flush=True)
        return make_app(db, writable=args.writable, front=not args.no_front)

    options = ServerOptions("seamless-database", args.host, args.port,
                            tuple(args.port_range) if args.port_range else None,
                            args.status_file, args.timeout)
    return serve(make, options)


if __name__ == "__main__":
    sys.exit(main())
