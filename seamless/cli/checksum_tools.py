"""seamless-checksum, seamless-checksum-file, seamless-checksum-index.

    seamless-checksum FILE...          print the checksum of each file
    seamless-checksum-file FILE...     write FILE.CHECKSUM (X.INDEX -> X.CHECKSUM)
    seamless-checksum-index DIR...     write DIR.INDEX and DIR.CHECKSUM

As in the reference, a compressed file (.gz, .zst) is hashed as it is;
``--decompress`` hashes its content instead, as seamless-upload and
seamless-run do (the reference's tools disagree there; the option makes
them agree without changing what the command prints by default).
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import run


def _checksum(path: str, decompress: bool, quiet: bool = False) -> str:
    from ..checksum.calculate_checksum import calculate_file_checksum
    from ..checksum.compression import decompressed_checksum, strip_compression_suffix
    from .common import Progress
    from .transfer import PROGRESS_MIN

    if decompress:
        _, suffix = strip_compression_suffix(path)
        if suffix is not None:
            return decompressed_checksum(path, suffix)
    if os.path.isdir(path):
        raise IsADirectoryError(21, "is a directory (use seamless-checksum-index)", path)
    if os.path.isfile(path) and os.path.getsize(path) >= PROGRESS_MIN:
        line = Progress(f"hash {os.path.basename(path)}", quiet=quiet)
        if line.enabled:  # read in chunks, to report (elsewhere the native core hashes it in one call)
            from ..checksum.algorithms import DEFAULT_ALGORITHM
            from ..checksum.fingerprint import hash_and_fingerprint

            try:
                return hash_and_fingerprint(path, DEFAULT_ALGORITHM, line.report_bytes)[0]
            finally:
                line.done()
    checksum = calculate_file_checksum(path)
    if checksum is None:
        raise ValueError(f"{path}: cannot checksum a stream")
    return checksum


def _parser(prog: str, what: str, help_: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=help_)
    p.add_argument("paths", nargs="+", metavar=what)
    p.add_argument("--decompress", action="store_true", help="hash the content of .gz/.zst files")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line for large files")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    return p


def checksum_main(argv: list[str] | None = None) -> int:
    args = _parser("seamless-checksum", "FILE", "Print the SHA-256 checksum of each file.").parse_args(argv)

    def body() -> int:
        for path in args.paths:
            checksum = _checksum(path, args.decompress, args.quiet)
            print(checksum if len(args.paths) == 1 else f"{checksum}  {path}")
        return 0

    return run(body, debug=args.debug)


def checksum_file_main(argv: list[str] | None = None) -> int:
    args = _parser("seamless-checksum-file", "FILE",
                   "Write FILE.CHECKSUM next to each file (for X.INDEX: X.CHECKSUM).").parse_args(argv)

    def body() -> int:
        from ..checksum.sidecar import write_sidecar

        for path in args.paths:
            write_sidecar(path, _checksum(path, args.decompress, args.quiet))
        return 0

    return run(body, debug=args.debug)


def checksum_index_main(argv: list[str] | None = None) -> int:
    args = _parser("seamless-checksum-index", "DIR",
                   "Write DIR.INDEX (the deep index) and DIR.CHECKSUM for each folder.").parse_args(argv)

    def body() -> int:
        from ..checksum.directory import write_index

        for path in args.paths:
            write_index(path.rstrip("/") or "/", decompress=args.decompress)
        return 0

    return run(body, debug=args.debug)


if __name__ == "__main__":
    sys.exit(checksum_main())
