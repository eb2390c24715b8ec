"""seamless-download TARGET...: files and folders from the buffer store, by
their sidecars.

TARGET is a file or folder name (its X.CHECKSUM, and X.INDEX for a folder,
say what to fetch), an explicit X.CHECKSUM / X.INDEX, or a checksum (then
``-o`` names the file; ``--directory`` when it is a folder's index). A file
that exists already is left alone when its content matches, and replaced
(through a temporary name) when it does not; a folder's files that are not
in its index are reported (``--dest-rm`` removes them).
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from .common import Progress, ToolError, run
from .stores import add_storage_options, open_store

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-download", description="Download files and folders named by "
                                "their .CHECKSUM/.INDEX sidecars (or by checksum) from the buffer store.")
    p.add_argument("targets", nargs="+", metavar="TARGET")
    p.add_argument("-o", "--output", action="append", default=[], help="where to write (one per target)")
    p.add_argument("--stdout", action="store_true", help="write the one file to stdout")
    p.add_argument("--directory", action="store_true", help="a checksum target is a folder's index")
    p.add_argument("--dest-rm", action="store_true", help="remove files of a folder that its index lacks")
    p.add_argument("--compression", choices=["gz", "zst"],
                   help="write each file compressed, with this suffix added")
    p.add_argument("--index", action="store_true",
                   help="for a folder: write its .INDEX and one .CHECKSUM per file, no file contents")
    add_storage_options(p, "read from this buffer folder instead")
    p.add_argument("-y", "--yes", action="store_true", help="(accepted; downloads are never asked about)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress")
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    return p


def _plan(target: str, output: str | None, directory: bool, stdout: bool = False) -> tuple[str, "object", bool]:
    """(local path, checksum, is a folder) of one target."""
    from ..checksum.sidecar import read_sidecar
    from ..checksum_class import Checksum

    if HEX64.match(target):
        if output is None and not directory and not stdout:
            raise ToolError(f"a checksum target needs -o (where to write): {target}")
        return output or target, Checksum(target), directory
    if target.endswith(".CHECKSUM"):
        target = target[: -len(".CHECKSUM")]
    elif target.endswith(".INDEX"):
        target = target[: -len(".INDEX")]
    target = target.rstrip("/")
    checksum = read_sidecar(target)
    if checksum is None:
        raise FileNotFoundError(2, "no readable .CHECKSUM sidecar", target + ".CHECKSUM")
    return output or target, checksum, os.path.exists(target + ".INDEX") or directory


def _compress(path: str, kind: str) -> None:
    """path -> path.gz / path.zst (through a temporary name), then path removed."""
    from ..checksum.compression import compress_file

    target = f"{path}.{kind}"
    compress_file(path, target + ".part", "." + kind)
    os.replace(target + ".part", target)
    os.unlink(path)


def _fetch(buffers, checksum, path: str, args: argparse.Namespace) -> None:
    """One file: downloaded unless it is there already (compressed, if asked)."""
    from .transfer import download

    if args.compression:
        download(buffers, checksum, path, quiet=args.quiet)
        _compress(path, args.compression)
    elif not _matches(path, checksum):
        download(buffers, checksum, path, quiet=args.quiet)


def _matches(path: str, checksum) -> bool:
    from ..checksum.calculate_checksum import calculate_file_checksum

    return os.path.isfile(path) and calculate_file_checksum(path) == checksum.hex()


def _main(args: argparse.Namespace) -> int:
    from ..buffer_class import Buffer
    from ..checksum_class import Checksum
    if args.output and len(args.output) != len(args.targets):
        raise ToolError("give one -o per target, or none")
    if args.stdout and len(args.targets) != 1:
        raise ToolError("--stdout takes exactly one target")
    buffers = open_store("seamless-download", args)
    status = 0
    for i, target in enumerate(args.targets):
        path, checksum, is_folder = _plan(target, args.output[i] if args.output else None, args.directory,
                                          args.stdout)
        if args.stdout:
            sys.stdout.buffer.write(buffers.get(checksum))
            continue
        if not is_folder:
            _fetch(buffers, checksum, path, args)
            continue
        index = Buffer(buffers.get(checksum)).get_value("plain")
        if not isinstance(index, dict):
            raise ToolError(f"{target}: the checksum is not a folder index")
        index_path = path + ".INDEX"
        if not os.path.exists(index_path):
            from ..checksum.sidecar import atomic_write

            atomic_write(index_path, Buffer(index, "plain").content)
        if args.index:
            from ..checksum.sidecar import write_sidecar

            for rel, leaf in sorted(index.items()):
                leaf_path = os.path.join(path, rel)
                os.makedirs(os.path.dirname(leaf_path), exist_ok=True)
                write_sidecar(leaf_path, leaf)
            continue
        progress = Progress(f"download {path}", quiet=args.quiet)
        for n, (rel, leaf) in enumerate(sorted(index.items()), 1):
            _fetch(buffers, Checksum(leaf), os.path.join(path, rel), args)
            progress.update(f"{n}/{len(index)} files")
        progress.done()
        extra = []
        for root, _, names in os.walk(path):
            for name in names:
                rel = os.path.relpath(os.path.join(root, name), path).replace(os.sep, "/")
                if args.compression and rel.endswith("." + args.compression):
                    rel = rel[: -len(args.compression) - 1]
                if rel not in index:
                    extra.append(os.path.join(root, name))
        if extra and args.dest_rm:
            for name in extra:
                os.unlink(name)
        elif extra:
            sys.stderr.write(f"seamless-download: folder '{path}' contains {len(extra)} files not in its index "
                             f"(first: {extra[0]}); use --dest-rm to remove them\n")
            status = 1
    buffers.close()
    return status


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(lambda: _main(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
