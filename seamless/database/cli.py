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
import os
import sys

from ..server.arguments import ServerArgumentParser, add_service_arguments, service_options
from ..server.lifecycle import serve
from .app import make_app
from .store import ResultDB


def parser() -> argparse.ArgumentParser:
    p = ServerArgumentParser(prog="seamless-database",
                                description="Serve a seamless.db result database over HTTP.")
    p.add_argument("database_file", help="the SQLite file (created with --writable if missing)")
    p.add_argument("--writable", action="store_true", help="accept writes (PUT)")
    add_service_arguments(p)
    p.add_argument("--synchronous", default="NORMAL", choices=["NORMAL", "FULL"],
                   help="SQLite durability: NORMAL (default; survives a crash of the server) or FULL "
                        "(also a power loss, at one sync per transaction)")
    p.add_argument("--no-front", action="store_true",
                   help="answer every request in Python (by default a native front answers single-record "
                        "transformation requests where the native core is built)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the seamless-database command."""
    args = parser().parse_args(argv)
    options = service_options("seamless-database", args)
    path = os.path.abspath(args.database_file)

    def make():
        if not args.writable and not os.path.isfile(path):
            raise FileNotFoundError(f"Database file '{args.database_file}' must exist when --writable is not set")
        if args.writable and not os.path.isdir(os.path.dirname(path)):
            raise FileNotFoundError(f"The folder of database file '{args.database_file}' does not exist")
        db = ResultDB(path, readonly=not args.writable, synchronous=args.synchronous)
        print("DATABASE FILE", path, flush=True)
        print("Press Ctrl+C to end", flush=True)
        return make_app(db, writable=args.writable, front=not args.no_front)

    return serve(make, options)


if __name__ == "__main__":
    sys.exit(main())
