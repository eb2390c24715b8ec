"""seamless-upload PATH...: put files and folders into the buffer store and
write their sidecars (F.CHECKSUM; D.INDEX and D.CHECKSUM).

Only what the store lacks is uploaded (one batched presence check),
streamed, then checked; an unchanged file is not hashed again. With
``--destination DIR`` the buffers go straight into a buffer folder.
Compressed files (.gz, .zst) are stored by their content, as seamless-run
sees them; their sidecar is named without the suffix.
"""

from __future__ import annotations

import argparse
import os
import sys

from .common import ToolError, run
from .stores import add_storage_options, open_store


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-upload", description="Upload files and folders into the buffer "
                                "store of the configuration and write their .CHECKSUM/.INDEX sidecars.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    add_storage_options(p, "write into this buffer folder instead")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="link", action="store_const", const=None, help="copy files in (the default)")
    how.add_argument("--hardlink", dest="link", action="store_const", const="hard",
                     help="hard-link files into a buffer folder here instead of copying (they must never change)")
    how.add_argument("--symlink", dest="link", action="store_const", const="symbolic",
                     help="symbolic links into a buffer folder here (the files must stay and never change)")
    p.add_argument("--incremental", action="store_true",
                   help="with --hardlink: skip files whose .CHECKSUM names a buffer that is this very file")
    p.add_argument("-m", "-mv", "--move", dest="move", action="store_true",
                   help="remove the files and folders once they are stored (their sidecars stay)")
    p.add_argument("-y", "--yes", action="store_true", help="(accepted; uploads are never asked about)")
    p.add_argument("-n", "--no", action="store_true", help="refuse to upload; only check and write sidecars")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, no summary")
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("--debug", action="store_true", help="tracebacks for unexpected errors")
    return p


def _main(args: argparse.Namespace) -> int:
    from ..checksum.directory import build_index, index_buffer, index_paths
    from ..checksum.sidecar import atomic_write, write_sidecar
    from ..checksum_class import Checksum
    from .transfer import input_checksummer, upload

    if args.incremental and args.link != "hard":
        raise ToolError("--incremental goes with --hardlink")
    buffers = open_store("seamless-upload", args)
    store = getattr(buffers, "store", None)
    if args.link and store is None:
        raise ToolError("--hardlink and --symlink need a buffer folder on this machine (--destination, or a "
                        "local cluster)")
    checksum_of = input_checksummer(quiet=args.quiet)
    files: dict[Checksum, str] = {}
    small: list[bytes] = []
    sidecars: list[tuple[str, Checksum, bytes | None]] = []
    for raw in args.paths:
        if raw.endswith(".CHECKSUM"):
            continue
        path = raw.rstrip("/") or "/"
        if os.path.isdir(path):
            index = build_index(path, decompress=True)
            buffer = index_buffer(index)
            for key, full in index_paths(path).items():
                files.setdefault(Checksum(index[key]), full)
            small.append(buffer)
            from ..buffer_class import Buffer

            sidecars.append((path, Buffer(buffer).get_checksum(), buffer))
        elif os.path.isfile(path):
            from ..checksum.compression import (
                decompressed_checksum,
                strip_compression_suffix,
            )
            from ..checksum.sidecar import read_sidecar

            if args.incremental:
                known = read_sidecar(path)
                stored = store.get_path(known) if known is not None else None
                if stored is not None and os.path.samefile(stored, path):
                    continue  # this very file is the buffer already

            _, suffix = strip_compression_suffix(path)
            checksum = Checksum(decompressed_checksum(path, suffix) if suffix else checksum_of(path))
            files.setdefault(checksum, path)
            sidecars.append((path, checksum, None))
        else:
            raise FileNotFoundError(2, "no such file or folder", path)
    if args.link and not args.no:
        for checksum, path in list(files.items()):
            if not path.endswith((".gz", ".zst")) and store.link_in(path, checksum, symbolic=args.link == "symbolic"):
                del files[checksum]  # linked, nothing to copy
    count, total = upload(buffers, files, small, quiet=args.quiet, refuse=args.no,
                          say=None if args.quiet else lambda text: sys.stderr.write(f"seamless-upload: {text}\n"))
    for path, checksum, index in sidecars:
        if index is not None:
            atomic_write(path + ".INDEX", index)
        write_sidecar(path, checksum)
    if args.move and not args.no:
        import shutil

        stored = buffers.has(list(files))
        if not all(stored):
            raise ToolError("not every buffer is in the store; nothing was removed")
        for path, _, index in sidecars:  # files too (the reference keeps them, silently)
            if index is not None:
                shutil.rmtree(path)
            else:
                os.unlink(path)
    if not args.quiet and args.verbose:
        print(f"{count} uploaded, {len(files) - count} already stored")
    buffers.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(lambda: _main(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
