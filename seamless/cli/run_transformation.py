"""seamless-run-transformation CHECKSUM|FILE: run a transformation from its
identity (a job written by ``seamless-run --dry --upload -j DIR`` gives
``DIR/transformation.json.CHECKSUM``; its ``dunder.json`` beside it is
loaded). Prints the result checksum; ``--output F`` writes the result's
bytes too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .common import run
from .stores import add_storage_options, open_store


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-run-transformation",
                                description="Compute a transformation given by its checksum.")
    p.add_argument("checksum", metavar="CHECKSUM|FILE")
    add_storage_options(p)
    p.add_argument("--dunder", metavar="JSON", help="a dunder file (default: dunder.json next to FILE)")
    p.add_argument("--scratch", action="store_true", help="do not keep the result buffer")
    p.add_argument("--output", "-o", help="write the result's bytes to this file")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    return p


def _main(args: argparse.Namespace) -> int:
    from ..checksum.sidecar import atomic_write
    from ..transformer.errors import TransformationError
    from ..transformer.identity import ORTHOGONAL
    from ..transformer.runtime import get_runtime
    from .resolve import parse_checksum

    tf = parse_checksum(args.checksum)
    open_store("seamless-run-transformation", args)
    runtime = get_runtime()
    tf_dict = runtime.fingertip(tf).get_value("plain")
    if not isinstance(tf_dict, dict):
        raise ValueError(f"{tf.hex()} is not a transformation")
    tf_dict.setdefault("__output__", ["result", "mixed", None])
    dunder_path = args.dunder
    if dunder_path is None and not args.checksum.strip().isalnum():
        candidate = os.path.join(os.path.dirname(os.path.abspath(args.checksum)), "dunder.json")
        dunder_path = candidate if os.path.exists(candidate) else None
    if dunder_path is not None:
        with open(dunder_path, encoding="utf-8") as f:
            dunder = json.load(f)
        tf_dict.update({k: v for k, v in dunder.items() if k in ORTHOGONAL or k.startswith("META__")})
    try:
        result = runtime.compute(tf_dict, tf, scratch=args.scratch)
    except TransformationError as exc:
        sys.stderr.write(f"seamless-run-transformation: {exc}\n")
        return exc.returncode or 1
    if args.output:
        atomic_write(args.output, runtime.fingertip(result).content)
    print(result.hex())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(lambda: _main(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
