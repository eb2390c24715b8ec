"""seamless-cancel CHECKSUM|FILE: interrupt the seamless-run processes (and
seamless-queue jobs) running that transformation on this machine.

Exit codes: 0 something was canceled, 2 nothing was running it, 1 error.
"""

from __future__ import annotations

import argparse
import sys

from .common import run


def _main(args: argparse.Namespace) -> int:
    from .resolve import parse_checksum
    from .running import cancel

    checksum = parse_checksum(args.checksum)
    stopped = cancel(checksum.hex())
    if not stopped:
        print(f"{checksum.hex()}: not running here")
        return 2
    for pid in stopped:
        print(f"{checksum.hex()}: canceled (process {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="seamless-cancel", description="Cancel a running transformation (by its "
                                "checksum, or a file's .CHECKSUM).")
    p.add_argument("checksum", metavar="CHECKSUM|FILE")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    args = p.parse_args(argv)
    return run(lambda: _main(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
