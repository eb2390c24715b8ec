"""seamless-store: look after a buffer folder.

    seamless-store verify DIR           re-hash every buffer, quarantine corrupt ones
    seamless-store stats DIR            count, bytes, and the same per shard
    seamless-store gc DIR [...]         remove scratch/unreferenced buffers (dry run
                                        unless --apply)
    seamless-store import DIR SOURCE    copy the buffers of another folder in
    seamless-store export DIR TARGET    copy this folder's buffers out
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..checksum.sidecar import parse_sidecar_text
from ..exceptions import InvalidChecksumError
from ..hashserver import BufferStore, gc
from ..hashserver.layout import detect_layout
from .common import Progress, duration, human_bytes, human_duration, run


def _open(args: argparse.Namespace, writable: bool, create: bool = False) -> BufferStore:
    """The buffer folder; only ``import`` may create it (for the others a
    missing folder is a typing error, not an empty store)."""
    if not create and not os.path.isdir(args.directory):
        raise FileNotFoundError(f"buffer folder '{args.directory}' does not exist or is not a folder")
    layout = args.layout or detect_layout(args.directory)
    return BufferStore(args.directory, layout, args.hash_algorithm, durability="batch" if writable else "none",
                       writable=writable)


def _verify(args: argparse.Namespace) -> int:
    store = _open(args, writable=not args.no_quarantine)
    progress = Progress("verify", quiet=args.quiet)
    report = store.verify(quarantine=not args.no_quarantine,
                          progress=lambda n, b: progress.update(f"{n} buffers, {human_bytes(b)}"))
    progress.done()
    for path in report.corrupt:
        print(f"corrupt: {path}")
    for path in report.unreadable:
        print(f"unreadable: {path}")
    for path in report.quarantined:
        print(f"quarantined: {path}")
    for path, reason in report.not_quarantined:
        print(f"not quarantined: {path}: {reason}")
    print(f"{report.checked} buffers ({human_bytes(report.bytes)}) checked, "
          f"{len(report.corrupt)} corrupt, {len(report.unreadable)} unreadable, "
          f"{len(report.temp_files_removed)} leftover temporary files removed")
    return 0 if report.ok else 1


def _stats(args: argparse.Namespace) -> int:
    stats = _open(args, writable=False).stats()
    if args.json:
        print(json.dumps({"count": stats.count, "bytes": stats.bytes, "compressed": stats.compressed,
                          "shards": {k: {"count": c, "bytes": b} for k, (c, b) in sorted(stats.shards.items())}}))
        return 0
    print(f"{stats.count} files, {human_bytes(stats.bytes)} ({stats.bytes} bytes), "
          f"{stats.compressed} compressed")
    if args.shards:
        for shard, (count, size) in sorted(stats.shards.items()):
            print(f"  {shard or '(flat)'}: {count} files, {human_bytes(size)}")
    return 0


def _read_scratch(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        checksum = parse_sidecar_text(line)
        if checksum is None:
            raise InvalidChecksumError(f"{path}:{number}: not a checksum: {line.strip()!r}")
        found.append(checksum.hex())
    return found


def _gc(args: argparse.Namespace) -> int:
    if not args.scratch and not args.database:
        print("error: nothing to collect: give --scratch FILE and/or --database FILE", file=sys.stderr)
        return 2
    store = _open(args, writable=args.apply)
    referenced = None
    if args.database:
        from ..database import ResultDB

        with ResultDB(args.database, readonly=True) as db:
            referenced = db.referenced_checksums()
    scratch = _read_scratch(args.scratch) if args.scratch else []
    result = gc.plan(store, referenced=referenced, scratch=scratch, min_age=args.min_age)
    verb = "removing" if args.apply else "would remove (dry run; --apply to remove)"
    print(f"{verb}: {len(result.candidates)} buffers, {human_bytes(result.bytes)}")
    if result.young:
        print(f"kept: {result.young} buffers the database does not reach, written in the last {human_duration(args.min_age)}"
              " (--min-age)")
    if args.verbose:
        for checksum in result.candidates:
            print(f"  {checksum}")
    removed = gc.collect(store, result, apply=args.apply)
    if args.apply:
        store.flush()
        print(f"removed {removed} buffers")
    return 0


def _import(args: argparse.Namespace) -> int:
    store = _open(args, writable=True, create=True)
    progress = Progress("import", quiet=args.quiet)
    new = store.import_folder(args.source, progress=lambda n: progress.update(f"{n} buffers"))
    progress.done()
    store.close()
    print(f"imported {new} new buffers from {args.source}")
    return 0


def _export(args: argparse.Namespace) -> int:
    store = _open(args, writable=False)
    progress = Progress("export", quiet=args.quiet)
    new = store.export_folder(args.target, layout=args.target_layout,
                              progress=lambda n: progress.update(f"{n} buffers"))
    progress.done()
    print(f"exported {new} new buffers to {args.target}")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seamless-store", description="Look after a buffer folder.")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("directory", help="the buffer folder")
        c.add_argument("--layout", choices=["prefix", "flat"],
                       help="its layout (default: detected from the .HASHSERVER_PREFIX marker)")
        c.add_argument("--hash-algorithm", default="sha-256", choices=["sha-256", "sha3-256"],
                       help="checksum algorithm of the folder (default sha-256)")
        c.add_argument("-q", "--quiet", action="store_true", help="no progress line")
        return c

    c = command("verify", "re-hash every buffer; move corrupt ones to DIR/.quarantine")
    c.add_argument("--no-quarantine", action="store_true", help="report only, change nothing")
    c.set_defaults(func=_verify)
    c = command("stats", "count the buffers and their bytes")
    c.add_argument("--shards", action="store_true", help="also per shard folder")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.set_defaults(func=_stats)
    c = command("gc", "remove scratch buffers and/or buffers the database does not reach (dry run by default)")
    c.add_argument("--database", help="seamless.db: remove buffers it does not reach")
    c.add_argument("--scratch", help="a file of checksums (one per line) to remove")
    c.add_argument("--apply", action="store_true", help="really remove (default: only report)")
    c.add_argument("--min-age", type=duration, default=gc.MIN_AGE, metavar="AGE",
                   help="keep buffers the database does not reach if written more recently than this: "
                        "their records may still be on the way, a job may still be running "
                        f"(seconds, or with s, m, h or d; default {human_duration(gc.MIN_AGE)}; 0 keeps none)")
    c.add_argument("-v", "--verbose", action="store_true", help="list the checksums")
    c.set_defaults(func=_gc)
    c = command("import", "copy (and verify) the buffers of another folder into this one")
    c.add_argument("source", help="the folder to copy from (any layout)")
    c.set_defaults(func=_import)
    c = command("export", "copy this folder's buffers into another folder")
    c.add_argument("target", help="the folder to copy to (created if missing)")
    c.add_argument("--target-layout", choices=["prefix", "flat"], default="prefix",
                   help="layout of the target folder (default prefix)")
    c.set_defaults(func=_export)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of seamless-store."""
    args = parser().parse_args(argv)
    return run(lambda: args.func(args), debug=args.debug)


if __name__ == "__main__":
    sys.exit(main())
