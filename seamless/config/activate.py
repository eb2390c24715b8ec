"""Turning a Configuration into connected stores.

Separate from session.py so that loading a configuration never imports the
stores or the HTTP clients: ``import seamless.config`` stays cheap, and
``seamless-init`` never needs them.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .errors import ConfigurationError
from .remote_clients import ClientEntry, primary
from .selection import Configuration
from .services import Endpoint, ServiceSpec, ensure, reusable, service_spec
from .stores import Stores

Report = Callable[[str], None]


def storage_specs(config: Configuration, mode: str = "rw") -> list[ServiceSpec]:
    """The hashserver and database services of config's cluster."""
    if config.cluster is None:
        return []
    return [service_spec(kind, config.cluster, config.project, config.subproject, config.stage, mode)
            for kind in ("hashserver", "database")]


def ensure_services(specs: list[ServiceSpec], report: Report | None = None) -> dict[str, Endpoint]:
    """Reuse every running service (one health check each); start the others
    at the same time, each in a thread."""
    endpoints: dict[str, Endpoint] = {}
    missing = []
    for spec in specs:
        endpoint = reusable(spec)
        if endpoint is not None:
            endpoints[spec.kind] = endpoint
        else:
            missing.append(spec)
    if len(missing) == 1:
        endpoints[missing[0].kind] = ensure(missing[0], report)
    elif missing:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(missing)) as pool:
            futures = {spec.kind: pool.submit(ensure, spec, report) for spec in missing}
            endpoints.update((kind, future.result()) for kind, future in futures.items())
    return {spec.kind: endpoints[spec.kind] for spec in specs}


def cluster_stores(config: Configuration, *, start_services: bool = True,
                   report: Report | None = None) -> Stores:
    """The cluster's stores: in process when its folders are on this
    machine, over HTTP otherwise; its services started or reused."""
    from ..remote.facade import open_buffers, open_results

    specs = storage_specs(config)
    endpoints = ensure_services(specs, report) if start_services else {}
    buffers_spec, database_spec = specs
    buffers = _open(open_buffers, buffers_spec, endpoints.get("hashserver"))
    results = _open(open_results, database_spec, endpoints.get("database"))
    where = "in process" if buffers.transport == "local" else "over HTTP"
    return Stores(buffers, results, endpoints,
                  f"cluster {config.cluster_name!r}, project {config.project!r} ({where})")


def _open(opener: Callable[..., Any], spec: ServiceSpec, endpoint: Endpoint | None) -> Any:
    """The store of spec: its folder or file when it is on this machine,
    else its running service over HTTP."""
    if spec.on_this_machine:
        return opener(endpoint.url if endpoint else None, spec.data_path)
    if endpoint is None:
        raise ConfigurationError(f"{spec.key}: not on this machine and not started")
    return opener(endpoint.url)


def seamless_cache_stores(config: Configuration) -> Stores:
    """SEAMLESS_CACHE=DIR: buffers and seamless.db in DIR/<project>[/STAGE-s],
    in process; no servers, no ports."""
    from ..database.store import ResultDB
    from ..hashserver.store import BufferStore
    from ..remote.facade import LocalBuffers, LocalResults

    assert config.seamless_cache is not None and config.project is not None
    parts = [config.project, *(config.subproject.split("/") if config.subproject else []),
             *([f"STAGE-{config.stage}"] if config.stage else [])]
    directory = os.path.join(config.seamless_cache, *parts)
    os.makedirs(directory, exist_ok=True)
    return Stores(LocalBuffers(BufferStore(directory)), LocalResults(ResultDB(os.path.join(directory, "seamless.db"))),
                  {}, f"SEAMLESS_CACHE={config.seamless_cache} (in process)")


def remote_client_stores(entries: list[ClientEntry]) -> Stores:
    """The stores named by SEAMLESS_REMOTE_CLIENTS (or set_remote_clients)."""
    from ..remote.facade import open_buffers, open_results

    buffer_entry, database_entry = primary(entries, "buffer"), primary(entries, "database")
    buffers = results = None
    if buffer_entry is not None:
        buffers = open_buffers(buffer_entry.url, buffer_entry.directory, writable=not buffer_entry.readonly)
    if database_entry is not None:
        results = open_results(database_entry.url, writable=not database_entry.readonly)
    return Stores(buffers, results, {}, "SEAMLESS_REMOTE_CLIENTS")
