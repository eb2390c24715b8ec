"""Which buffer store a command-line tool works on: the options and the
opener shared by the tools."""

from __future__ import annotations

import argparse


def add_storage_options(p: argparse.ArgumentParser, destination_help: str | None = None) -> None:
    """--project, --stage and (if destination_help) --destination."""
    p.add_argument("--project", help="PROJECT[:SUBPROJECT] of the configuration")
    p.add_argument("--stage", help="STAGE[:SUBSTAGE] of the configuration")
    if destination_help:
        p.add_argument("--destination", metavar="DIR", help=destination_help)


def open_store(tool: str, args: argparse.Namespace):
    """The buffers of --destination, or of the configuration."""
    if getattr(args, "destination", None):
        from ..hashserver.layout import detect_layout
        from ..hashserver.store import BufferStore
        from ..remote.facade import LocalBuffers

        return LocalBuffers(BufferStore(args.destination, detect_layout(args.destination)))
    import warnings

    from .. import config

    if getattr(args, "project", None):
        project, _, sub = args.project.partition(":")
        config.select_project(project)
        if sub:
            config.select_subproject(sub)
    if getattr(args, "stage", None):
        stage, _, substage = args.stage.partition(":")
        config.session.SESSION.stage, config.session.SESSION.substage = stage, substage or None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        config.init_for_tool(tool)
    stores = config.get_stores()
    if stores is None or stores.buffers is None:
        from .common import ToolError

        raise ToolError("no buffer store is configured (select a cluster, or set SEAMLESS_CACHE)")
    return stores.buffers
