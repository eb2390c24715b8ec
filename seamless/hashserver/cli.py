"""``hashserver``: serve a buffer folder over HTTP, the reference's way.

The flags are the reference hashserver's (1.1.0), because its launcher calls
the command by that name with those flags; ``--encoding`` is accepted as the
old name of ``--hash-algorithm``. Ours in addition: ``--durability``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..server.lifecycle import ServerOptions, serve
from .app import make_app
from .store import BufferStore


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hashserver", description="Serve a content-addressed buffer folder over HTTP.")
    p.add_argument("directory", help="the buffer folder (created if missing when --writable)")
    p.add_argument("--writable", action="store_true", help="accept uploads (PUT)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ports = p.add_mutually_exclusive_group()
    ports.add_argument("--port", type=int, help="port to listen on (default: a random free port 49152-65535)")
    ports.add_argument("--port-range", type=int, nargs=2, metavar=("START", "END"),
                       help="listen on a random free port of this range")
    p.add_argument("--status-file", help="JSON status file of the launcher (remote-http-launcher protocol)")
    p.add_argument("--timeout", type=float, help="stop after this many seconds without a request")
    p.add_argument("--layout", default="prefix", help="prefix (default) or flat")
    p.add_argument("--hash-algorithm", "--encoding", dest="hash_algorithm",
                   default=os.environ.get("HASHSERVER_HASH_ALGORITHM", "sha-256"),
                   choices=["sha-256", "sha3-256"], help="checksum algorithm (default sha-256)")
    p.add_argument("--extra-dirs", default=os.environ.get("HASHSERVER_EXTRA_DIRS", ""),
                   help="';'-separated read-only folders searched after the main one")
    p.add_argument("--lock-timeout", type=float, default=None,
                   help="accepted for compatibility: seconds a .LOCK file counts (uploads here are atomic)")
    p.add_argument("--durability", default="fsync", choices=["fsync", "batch", "none"],
                   help="when an upload is acknowledged (default fsync: on stable storage)")
    p.add_argument("--direct-io", action=argparse.BooleanOptionalAction, default=None,
                   help="write and send buffers of 64 MiB or more with direct I/O, around the page cache "
                        "(default: on with --durability fsync, where the bytes must reach the device anyway)")
    p.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the hashserver command."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.hash_algorithm not in ("sha3-256", "sha-256"):  # from the environment
        print("error: --hash-algorithm must be one of: sha3-256, sha-256", file=sys.stderr)
        return 1
    if args.lock_timeout is None:
        try:
            args.lock_timeout = float(os.environ.get("HASHSERVER_LOCK_TIMEOUT", "120"))
        except ValueError:
            print("error: HASHSERVER_LOCK_TIMEOUT must be a number", file=sys.stderr)
            return 1
    if args.lock_timeout <= 0:
        print("error: --lock-timeout must be a positive number", file=sys.stderr)
        return 1
    directory = os.path.abspath(args.directory)
    extra = [d.strip() for d in args.extra_dirs.split(";") if d.strip()]

    def make():
        if args.layout not in ("prefix", "flat"):
            raise ValueError("Layout must be 'flat' or 'prefix'")
        if not os.path.isdir(directory):
            if os.path.exists(directory) or not args.writable:
                raise FileNotFoundError(2, f"Directory '{args.directory}' does not exist or is not a directory", directory)
        store = BufferStore(directory, args.layout, args.hash_algorithm, args.durability,
                            extra_dirs=extra, writable=args.writable, direct_io=args.direct_io)
        return make_app(store, writable=args.writable)

    options = ServerOptions("hashserver", args.host, args.port,
                            tuple(args.port_range) if args.port_range else None,
                            args.status_file, args.timeout)
    return serve(make, options)


if __name__ == "__main__":
    sys.exit(main())
