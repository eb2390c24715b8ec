"""seamless-resolve and seamless-fingertip: the buffer of a checksum.

    seamless-resolve CHECKSUM|FILE [--output F]      from the stores only
    seamless-fingertip CHECKSUM|FILE [--output F]    recomputed if no store has it

FILE may be X.CHECKSUM or X (whose sidecar is read). Without --output the
buffer is printed as text (exactly one trailing newline); --output writes
its bytes unchanged, streamed from the store and verified (with a progress
line on a terminal for large buffers; -q for none). Exit 1 when the buffer
cannot be found (or recomputed).
"""

from __future__ import annotations

import argparse
import sys

from .common import run
from .download import HEX64
from .stores import add_storage_options, open_store


def build_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("checksum", metavar="CHECKSUM|FILE")
    p.add_argument("--output", "-o", help="write the bytes to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line")
    add_storage_options(p)
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    return p


def parse_checksum(text: str):
    """A checksum given as hex, or by a file's .CHECKSUM sidecar."""
    from ..checksum.sidecar import read_sidecar
    from ..checksum_class import Checksum

    if HEX64.match(text):
        return Checksum(text)
    checksum = read_sidecar(text)
    if checksum is None:
        raise FileNotFoundError(2, "not a checksum, and no readable .CHECKSUM sidecar", text)
    return checksum


def _body(args: argparse.Namespace, tool: str, fingertip: bool) -> int:
    from ..exceptions import CacheMissError

    checksum = parse_checksum(args.checksum)
    buffers = open_store(tool, args)
    from ..transformer.runtime import get_runtime

    runtime = get_runtime()
    try:
        if args.output:  # streamed from the store; recomputed only when it lacks the buffer
            from .transfer import download

            fallback = (lambda cs: runtime.fingertip(cs).content) if fingertip else None
            download(buffers, checksum, args.output, fallback=fallback, quiet=args.quiet)
            return 0
        buffer = runtime.fingertip(checksum) if fingertip else runtime.resolve(checksum)
    except CacheMissError:
        how = "found or recomputed" if fingertip else "found (seamless-fingertip can recompute it)"
        raise CacheMissError(f"{checksum.hex()} cannot be {how}") from None
    text = buffer.content.decode("utf-8", errors="replace").rstrip("\n")
    sys.stdout.write(text + "\n")
    return 0


def resolve_main(argv: list[str] | None = None) -> int:
    args = build_parser("seamless-resolve", "Print (or write) the buffer of a checksum, from the stores.") \
        .parse_args(argv)
    return run(lambda: _body(args, "seamless-resolve", False), debug=args.debug)


def fingertip_main(argv: list[str] | None = None) -> int:
    args = build_parser("seamless-fingertip", "Print (or write) the buffer of a checksum, recomputing it from "
                        "the transformation that produced it when no store has it.").parse_args(argv)
    return run(lambda: _body(args, "seamless-fingertip", True), debug=args.debug)


if __name__ == "__main__":
    sys.exit(resolve_main())
