"""seamless-init: start (or find) the services of the configuration.

    seamless-init                  start or reuse the hashserver and database
    seamless-init --stage prod     the same for stage prod (prod:gpu: substage)
    seamless-init --status         list the services on this machine
    seamless-init --stop           stop this configuration's services
    seamless-init --stop --all     stop every service on this machine
    seamless-init --dry-run        say what would be started, start nothing

Reads seamless.yaml and seamless.profile.yaml in the current directory (or
--workdir) and ~/.seamless/clusters.yaml. Exit codes: 0 success, 1 a
configuration or start-up error (the message says which file and field, or
shows the end of the service's log), 2 bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from . import common


def parse_stage(text: str) -> tuple[str, str | None]:
    stage, _, substage = text.partition(":")
    if not stage:
        raise argparse.ArgumentTypeError("the stage cannot be empty (use STAGE or STAGE:SUBSTAGE)")
    return stage, substage or None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="seamless-init", description="Start, or reuse, the hashserver and database of the configured "
        "cluster (seamless.yaml, seamless.profile.yaml, ~/.seamless/clusters.yaml).")
    p.add_argument("--stage", type=parse_stage, metavar="STAGE[:SUBSTAGE]", help="select a stage (and substage)")
    p.add_argument("--workdir", help="read the configuration files here (default: the current directory)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="list the services on this machine and exit")
    action.add_argument("--stop", action="store_true", help="stop the services of this configuration")
    action.add_argument("--dry-run", action="store_true", help="show what would be started, start nothing")
    p.add_argument("--all", action="store_true", help="with --stop: stop every service on this machine")
    p.add_argument("--json", action="store_true", help="with --status: print JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.all and not args.stop:
        build_parser().error("--all goes with --stop")
    return common.run(lambda: _main(args), debug=args.debug)


def _say(args: argparse.Namespace, line: str) -> None:
    if not args.quiet:
        print(line, flush=True)


def _main(args: argparse.Namespace) -> int:
    from .. import config
    from ..config import services

    if args.status:
        return _status(args)
    if args.stop and args.all:
        for row in services.list_services():
            if row.status in ("running", "starting"):
                _say(args, f"{row.key}: {services.stop_key(row.key)}")
        return 0
    warnings.simplefilter("default")
    warnings.showwarning = lambda message, *rest: sys.stderr.write(f"seamless: warning: {message}\n")
    session = config.session.SESSION
    if args.workdir:
        session.workdir = os.path.abspath(args.workdir)
    if args.stage:
        session.stage, session.substage = args.stage
    cache = config.get_seamless_cache()
    entries = config.remote_clients.from_env() if cache is None else None
    if entries is not None:
        return _check_remote_clients(args, entries)
    # Stopping, or showing what would start, must work for a configuration
    # that cannot run as it stands: the services are named by cluster and
    # project alone.
    configuration = session.load(check=not (args.stop or args.dry_run))
    if cache is not None:
        _say(args, f"SEAMLESS_CACHE={cache}: buffers and results are kept in process there; no services to "
                   "start")
        return 0
    if configuration.cluster is None or not configuration.persistent:
        why = "no cluster is selected" if configuration.cluster is None else "persistent: false"
        _say(args, f"nothing to start: {why} (transformations are cached in memory only)")
        return 0
    from ..config.activate import ensure_services, storage_specs

    specs = storage_specs(configuration)
    if args.dry_run:
        for spec in specs:
            where = "here" if spec.on_this_machine else f"on {spec.hostname}"
            _say(args, f"{spec.key}: {spec.data_path} ({where})\n  {' '.join(spec.command())}")
        return 0
    if args.stop:
        for spec in specs:
            _say(args, f"{spec.key}: {services.stop_key(spec.key)}")
        return 0
    report = None if args.quiet else (lambda line: print(f"seamless-init: {line}", file=sys.stderr, flush=True))
    endpoints = ensure_services(specs, report)
    for spec in specs:
        endpoint = endpoints[spec.kind]
        _say(args, f"{spec.key}: {endpoint.how}, {endpoint.url} (pid {endpoint.pid}), {spec.data_path}")
    if configuration.remote is not None:
        print(f"seamless-init: note: the {configuration.remote} of cluster {configuration.cluster_name!r} is not "
              "started: remote execution is not available in this version", file=sys.stderr)
    return 0


def _check_remote_clients(args: argparse.Namespace, entries: list) -> int:
    """SEAMLESS_REMOTE_CLIENTS set: nothing to start; say whether they answer."""
    from urllib.parse import urlsplit

    from ..config.services import healthcheck

    failures = 0
    for entry in entries:
        if entry.url is None:
            _say(args, f"{entry.kind}: {entry.directory} (in process)")
            continue
        parts = urlsplit(entry.url)
        ok = healthcheck(parts.hostname or "127.0.0.1", parts.port or 80)
        failures += not ok
        _say(args, f"{entry.kind}: {entry.url} {'answers' if ok else 'does NOT answer'} (SEAMLESS_REMOTE_CLIENTS)")
    return 1 if failures else 0


def _status(args: argparse.Namespace) -> int:
    from ..config.services import list_services

    rows = list_services()
    if args.json:
        print(json.dumps([row._asdict() for row in rows], indent=1))
        return 0
    if not rows:
        print("no services")
        return 0
    header = ("CLUSTER", "SERVICE", "STATUS", "PORT", "PID", "UPTIME", "DIRECTORY", "KEY")
    table = [header] + [(row.cluster, row.service, row.status, str(row.port or "-"), str(row.pid or "-"),
                         "-" if row.uptime is None else common.human_duration(row.uptime), row.directory, row.key)
                        for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[-1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
