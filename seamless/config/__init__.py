"""Configuration: clusters, projects, stages, execution modes and services.

::

    import seamless.config
    seamless.config.init()           # read seamless.yaml / seamless.profile.yaml
    seamless.config.get_execution()  # 'process', 'spawn' or 'remote'
    seamless.config.get_stores()     # the connected buffer store and database

Where the configuration comes from, first match wins:

1. ``SEAMLESS_CACHE=DIR``: buffers and results in DIR, in process (no
   servers, no ports, no files read);
2. ``SEAMLESS_REMOTE_CLIENTS`` (or ``set_remote_clients``): the running
   services it names;
3. ``seamless.yaml`` then ``seamless.profile.yaml`` in the working folder
   (``init(workdir=...)``, else the current directory), with the clusters of
   ``~/.seamless/clusters.yaml`` and ``~/.seamless/clusters/*.yaml``;
4. nothing: the in-memory cache only.

Selections made in code (``select_execution("spawn")`` ...) win over the
files. The file formats, the command language and the defaults are those of
the reference (seamless-config); see docs/CONFIGURATION.md.
"""

from __future__ import annotations

import os
from typing import Any

from .errors import (
    ClusterDefinitionError,
    ConfigFileError,
    ConfigurationError,
    ServiceStartError,
)
from .selection import Configuration
from .session import SESSION, default_cache_dir, get_seamless_cache
from .stores import Stores

__all__ = [
    "ConfigurationError", "ConfigFileError", "ClusterDefinitionError", "ServiceStartError",
    "Configuration", "Stores", "init", "init_for_tool", "set_stage", "set_substage", "set_workdir", "get_current",
    "get_stores", "close", "reset", "select_cluster", "select_project", "select_subproject",
    "select_execution", "select_persistent", "select_record", "select_queue", "select_remote",
    "select_node", "set_nparallel", "get_nparallel", "get_execution", "get_persistent", "get_queue",
    "get_remote", "get_record", "get_node", "get_selected_cluster", "get_selected_project", "get_stage",
    "get_substage", "get_workers", "get_seamless_cache", "default_cache_dir", "set_remote_clients",
    "collect_remote_clients",
]


def init(workdir: str | os.PathLike[str] | None = None, *, start_services: bool = True) -> Configuration:
    """Load the configuration and connect the stores (idempotent).

    Starts the cluster's hashserver and database if they are not running,
    reuses them if they are. With workdir, the files are read there instead
    of in the current directory.

    Raises:
        ConfigurationError: a file is malformed (the message names the file,
            line and field), or the configuration cannot work (remote
            execution without a jobserver or daskserver ...).
        ServiceStartError: a service did not start (with its log's tail).
    """
    return SESSION.init(workdir, start_services=start_services)


def init_for_tool(tool: str, workdir: str | os.PathLike[str] | None = None) -> Configuration:
    """init() for a command-line tool: when nothing is configured (no
    SEAMLESS_CACHE, no SEAMLESS_REMOTE_CLIENTS, no seamless.yaml or
    seamless.profile.yaml in the working folder), the embedded store at
    default_cache_dir() is used, and one line on stderr says so."""
    import sys

    SESSION.fallback_cache = default_cache_dir()
    if workdir is not None:
        SESSION.workdir = os.path.abspath(os.fspath(workdir))
    if not SESSION.configured(SESSION.resolved_workdir()):
        sys.stderr.write(f"{tool}: no configuration here; using the embedded store in {SESSION.fallback_cache} "
                         "(set SEAMLESS_CACHE or write a seamless.yaml to choose)\n")
    return SESSION.init()


def set_stage(stage: str | None = None, substage: str | None = None, *,
              workdir: str | os.PathLike[str] | None = None) -> Configuration:
    """Switch to a stage (its own folders and services); reloads the files."""
    return SESSION.set_stage(stage, substage, workdir=workdir)


def set_substage(substage: str | None) -> Configuration:
    return SESSION.set_stage(SESSION.stage, substage)


def set_workdir(path: str | os.PathLike[str] | None) -> None:
    """Where the command files are read (None: the current directory)."""
    if SESSION.remote_clients is not None:
        raise RuntimeError("remote clients already set; workdir cannot be changed")
    SESSION.workdir = os.path.abspath(os.fspath(path)) if path is not None else None


def get_current() -> Configuration:
    """The configuration in force (loading it, without starting services,
    if init() was not called)."""
    if SESSION.config is not None:
        return SESSION.config
    return SESSION.load()


def get_stores() -> Stores | None:
    """The stores connected by init() (None before init())."""
    return SESSION.stores


def close() -> None:
    """Close the stores' files and connections (services keep running)."""
    SESSION.close()


def reset() -> None:
    """Forget every selection and close the stores (for tests and notebooks)."""
    SESSION.reset()


def _selector(item: str):
    def select(value: Any) -> None:
        SESSION.select(item, value)

    select.__name__ = f"select_{item}"
    select.__doc__ = f"Select the {item} in code; wins over the configuration files."
    return select


select_cluster = _selector("cluster")
select_project = _selector("project")
select_subproject = _selector("subproject")
select_execution = _selector("execution")
select_persistent = _selector("persistent")
select_record = _selector("record")
select_queue = _selector("queue")
select_remote = _selector("remote")
select_node = _selector("node")


def set_nparallel(n: int) -> None:
    """How many transformations run at once (spawn workers, parallel())."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError("nparallel must be a positive integer")
    SESSION.select("nparallel", n)


def get_nparallel() -> int:
    """The nparallel setting; by default the number of cores."""
    value = get_current().nparallel
    return value if value is not None else get_workers()


def get_workers() -> int:
    """The worker count for execution: spawn (local processes): the
    'workers' of the selected cluster when it is this machine, else of the
    local_cluster, else the number of cores (the reference needs a
    local_cluster here)."""
    config = get_current()
    candidates = [config.cluster] if config.cluster is not None and config.cluster.is_on_this_machine("hashserver") else []
    if config.local_cluster is not None:
        candidates.append(config.clusters.get(config.local_cluster))
    for cluster in candidates:
        if cluster is not None and cluster.workers:
            return cluster.workers
    return os.cpu_count() or 1


def get_execution() -> str:
    return get_current().execution


def get_persistent() -> bool:
    return get_current().persistent


def get_queue() -> str | None:
    config = get_current()
    if config.queue is not None:
        return config.queue
    return config.cluster.default_queue if config.cluster is not None else None


def get_remote() -> str | None:
    return get_current().remote


def get_record() -> bool:
    return get_current().record


def get_node() -> str | None:
    return get_current().node


def get_selected_cluster() -> str | None:
    return get_current().cluster_name


def get_selected_project() -> str | None:
    return get_current().project


def get_stage() -> str | None:
    return SESSION.stage


def get_substage() -> str | None:
    return SESSION.substage


def set_remote_clients(clients: Any, in_remote: bool = False) -> None:
    """Use these running services (the SEAMLESS_REMOTE_CLIENTS JSON, as a
    string or a mapping); must come before init()."""
    SESSION.set_remote_clients(clients, in_remote)


def collect_remote_clients() -> dict[str, Any]:
    """The SEAMLESS_REMOTE_CLIENTS mapping of the services in force (for
    handing them to other processes and workers); starts them if needed."""
    import json

    from . import remote_clients
    from .activate import ensure_services, storage_specs

    config = init()
    if SESSION.remote_clients is not None:
        return json.loads(remote_clients.to_json(SESSION.remote_clients))
    stores = SESSION.stores
    if config.seamless_cache is not None and stores is not None:  # folders only: no servers, no ports
        folder = stores.buffers.store.directory
        return json.loads(remote_clients.to_json([remote_clients.ClientEntry("buffer", None, folder, False)]))
    endpoints = ensure_services(storage_specs(config))
    entries = []
    if "hashserver" in endpoints:
        spec = storage_specs(config)[0]
        entries.append(remote_clients.ClientEntry("buffer", endpoints["hashserver"].url, spec.data_path, False))
    if "database" in endpoints:
        entries.append(remote_clients.ClientEntry("database", endpoints["database"].url, None, False))
    return json.loads(remote_clients.to_json(entries))
