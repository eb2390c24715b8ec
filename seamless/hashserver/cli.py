"""``hashserver``: serve a buffer folder over HTTP, the reference's way.

The flags are the reference hashserver's (1.1.0), because its launcher calls
the command by that name with those flags; ``--encoding`` is accepted as the
old name of ``--hash-algorithm``. Ours in addition: ``--durability``.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..server.arguments import ServerArgumentParser, add_service_arguments, service_options
from ..server.lifecycle import serve
from .app import make_app
from .locks import DEFAULT_LOCK_TIMEOUT
from .store import BufferStore

HASH_ALGORITHMS = ("sha-256", "sha3-256")


def parser() -> argparse.ArgumentParser:
    p = ServerArgumentParser(prog="hashserver", description="Serve a content-addressed buffer folder over HTTP.")
    p.add_argument("directory", help="the buffer folder (created if missing when --writable)")
    p.add_argument("--writable", action="store_true", help="accept uploads (PUT)")
    add_service_arguments(p)
    p.add_argument("--layout", default="prefix", help="prefix (default) or flat")
    p.add_argument("--hash-algorithm", "--encoding", dest="hash_algorithm",
                   default=os.environ.get("HASHSERVER_HASH_ALGORITHM", "sha-256"),
                   choices=HASH_ALGORITHMS, help="checksum algorithm (default sha-256)")
    p.add_argument("--extra-dirs", default=os.environ.get("HASHSERVER_EXTRA_DIRS", ""),
                   help="';'-separated read-only folders searched after the main one")
    p.add_argument("--lock-timeout", type=float, default=None,
                   help="seconds an outside writer's .LOCK file counts: a GET of a missing buffer waits "
                        "that long at most while one announces it (default 120)")
    p.add_argument("--durability", default="fsync", choices=["fsync", "batch", "none"],
                   help="when an upload is acknowledged (default fsync: on stable storage)")
    p.add_argument("--direct-io", action=argparse.BooleanOptionalAction, default=None,
                   help="write and send buffers of 64 MiB or more with direct I/O, around the page cache "
                        "(default: on with --durability fsync, where the bytes must reach the device anyway)")
    return p


def check_values(args: argparse.Namespace) -> None:
    """What argparse does not check: values from the environment, and the
    lock timeout's bound, with the reference's messages (a ValueError is a
    start-up failure: exit 1 and ``failed`` in the status file)."""
    if args.hash_algorithm not in HASH_ALGORITHMS:
        raise ValueError("--hash-algorithm must be one of: sha3-256, sha-256")  # the reference's words
    if args.lock_timeout is None:
        try:
            args.lock_timeout = float(os.environ.get("HASHSERVER_LOCK_TIMEOUT", DEFAULT_LOCK_TIMEOUT))
        except ValueError:
            raise ValueError("HASHSERVER_LOCK_TIMEOUT must be a number") from None
    if not args.lock_timeout > 0:
        raise ValueError("--lock-timeout must be a positive number")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the hashserver command."""
    args = parser().parse_args(argv)
    options = service_options("hashserver", args)
    directory = os.path.abspath(args.directory)
    extra = [d.strip() for d in args.extra_dirs.split(";") if d.strip()]

    def make():
        check_values(args)
        if args.layout not in ("prefix", "flat"):
            raise ValueError("Layout must be 'flat' or 'prefix'")
        if not os.path.isdir(directory):
            if os.path.exists(directory) or not args.writable:
                raise FileNotFoundError(f"Directory '{args.directory}' does not exist or is not a directory")
        store = BufferStore(directory, args.layout, args.hash_algorithm, args.durability,
                            extra_dirs=extra, writable=args.writable, direct_io=args.direct_io)
        return make_app(store, writable=args.writable, lock_timeout=args.lock_timeout)

    return serve(make, options)


if __name__ == "__main__":
    sys.exit(main())
