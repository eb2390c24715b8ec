"""Cluster definitions: ``~/.seamless/clusters.yaml`` and ``clusters/*.yaml``.

Every field of the reference's schema is accepted and validated when the
files are loaded, and every error names the file, the cluster and the field.
Fixed against the reference: an empty file is an empty mapping, ``conda`` is
optional everywhere, ``job_script_prologue`` is a valid queue field, queue
defaults are applied, and a cluster whose frontends are this machine is run
locally even without a ``local_cluster:`` line (the seed's minimal example).
``hashserver.layout`` (``prefix`` or ``flat``) is an addition.
"""

from __future__ import annotations

import os
import socket
from typing import Any, Mapping, NamedTuple

from .errors import ClusterDefinitionError, ConfigFileError
from .yamlfile import load_yaml

CLUSTER_TYPES = ("local", "slurm", "oar")
LOCAL_HOSTNAMES = {"localhost", "127.0.0.1", "::1", "localhost.localdomain"}
FORBIDDEN_IN_NAMES = ("--", "STAGE-", "/")

QUEUE_FIELDS = (
    "conda", "walltime", "cores", "memory", "tmpdir", "unknown_task_duration", "target_duration",
    "lifetime_stagger", "lifetime", "maximum_jobs", "interactive", "exclusive", "project", "partition",
    "extra_dask_config", "job_extra_directives", "dask_resources", "worker_threads", "processes",
    "job_cores", "job_script_prologue",
)
QUEUE_DEFAULTS = {"lifetime_stagger": "4m", "interactive": False, "exclusive": False}


def config_dir() -> str:
    """The folder of clusters.yaml: $SEAMLESS_CONFIG_DIR, else ~/.seamless
    ($HOME first, as the reference, so tests can isolate themselves)."""
    override = os.environ.get("SEAMLESS_CONFIG_DIR", "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    home = os.environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".seamless")


class ServiceSection(NamedTuple):
    """One service of a frontend: hashserver, database, jobserver or daskserver."""

    kind: str
    directory: str | None = None  # bufferdir / database_dir (storage services only)
    conda: str | None = None
    network_interface: str | None = None
    port_start: int | None = None
    port_end: int | None = None
    layout: str = "prefix"  # hashserver only

    @property
    def port_range(self) -> tuple[int, int] | None:
        if self.port_start is None or self.port_end is None:
            return None
        return self.port_start, self.port_end


class Frontend(NamedTuple):
    hostname: str
    ssh_hostname: str | None
    services: Mapping[str, ServiceSection]


class Queue(NamedTuple):
    name: str
    fields: Mapping[str, Any]


class Cluster(NamedTuple):
    name: str
    source: str  # the file that defined it (or "seamless.yaml 'clusters'")
    frontends: tuple[Frontend, ...]
    type: str | None = None
    tunnel: bool = False
    workers: int | None = None
    queues: Mapping[str, Queue] = {}  # never mutated
    default_queue: str | None = None
    memory_per_core_property_name: str | None = None
    designated_local: bool = False

    def service(self, kind: str) -> tuple[Frontend, ServiceSection] | None:
        """The first frontend with a section for kind, and that section."""
        for frontend in self.frontends:
            if kind in frontend.services:
                return frontend, frontend.services[kind]
        return None

    def is_on_this_machine(self, kind: str) -> bool:
        """True when kind's frontend is this machine: the designated local
        cluster, or a frontend whose hostname names this host."""
        found = self.service(kind)
        if found is None:
            return False
        return self.designated_local or is_local_hostname(found[0].hostname)


def is_local_hostname(hostname: str) -> bool:
    if hostname in LOCAL_HOSTNAMES:
        return True
    try:
        return hostname in (socket.gethostname(), socket.getfqdn())
    except OSError:
        return False


def check_name(kind: str, name: object, where: str = "") -> str:
    """A cluster, project or stage name: a non-empty string without '--',
    'STAGE-' or '/' (they would be ambiguous in service keys and paths)."""
    if not isinstance(name, str) or not name:
        raise ConfigFileError(f"{where}{kind} must be a non-empty string, not {name!r}")
    if name in (".", ".."):
        raise ConfigFileError(f"{where}{kind} cannot be {name!r} (it names a folder)")
    for bad in FORBIDDEN_IN_NAMES:
        if bad in name:
            raise ConfigFileError(f"{where}{kind} cannot contain {bad!r}: {name!r}")
    return name


class _Context:
    """Builds messages like ``<file>: cluster 'c', frontends[0].hashserver: ...``."""

    def __init__(self, source: str, cluster: str):
        self.source = source
        self.cluster = cluster

    def error(self, where: str, message: str) -> ClusterDefinitionError:
        location = f"cluster {self.cluster!r}" + (f", {where}" if where else "")
        return ClusterDefinitionError(f"{location}: {message}", self.source)

    def mapping(self, value: object, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(where, f"expected a mapping, got {_kind(value)}")
        return value

    def fields(self, value: dict[str, Any], where: str, allowed: tuple[str, ...],
               required: tuple[str, ...] = ()) -> None:
        for key in value:
            if key not in allowed:
                raise self.error(where, f"unknown field {key!r} (known fields: {', '.join(allowed)})")
        for key in required:
            if value.get(key) is None:
                raise self.error(where, f"the field {key!r} is required")

    def typed(self, value: dict[str, Any], key: str, where: str, kinds: tuple[type, ...],
              what: str) -> Any:
        item = value.get(key)
        if item is None:
            return None
        if not isinstance(item, kinds) or (bool not in kinds and isinstance(item, bool)):
            raise self.error(f"{where}.{key}" if where else key, f"expected {what}, got {_kind(item)} {item!r}")
        return item


def _kind(value: object) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__)


STORAGE_FIELDS = ("conda", "network_interface", "port_start", "port_end")


def _parse_service(ctx: _Context, kind: str, raw: object, where: str) -> ServiceSection:
    value = ctx.mapping(raw, where)
    if kind == "hashserver":
        ctx.fields(value, where, ("bufferdir", "layout", *STORAGE_FIELDS), ("bufferdir",))
    elif kind == "database":
        ctx.fields(value, where, ("database_dir", *STORAGE_FIELDS), ("database_dir",))
    elif kind == "jobserver":
        ctx.fields(value, where, STORAGE_FIELDS, ("network_interface", "port_start", "port_end"))
    else:
        ctx.fields(value, where, STORAGE_FIELDS[1:], ("network_interface", "port_start", "port_end"))
    directory = None
    if kind in ("hashserver", "database"):
        key = "bufferdir" if kind == "hashserver" else "database_dir"
        directory = ctx.typed(value, key, where, (str,), "a path")
        if not directory.strip():
            raise ctx.error(f"{where}.{key}", "must not be empty")
    conda = ctx.typed(value, "conda", where, (str,), "the name of a conda environment")
    interface = ctx.typed(value, "network_interface", where, (str,), "a host name or IP address")
    start = ctx.typed(value, "port_start", where, (int,), "a port number")
    end = ctx.typed(value, "port_end", where, (int,), "a port number")
    if (start is None) != (end is None):
        raise ctx.error(where, "'port_start' and 'port_end' must both be set or both be omitted")
    if start is not None:
        for key, port in (("port_start", start), ("port_end", end)):
            if not 1 <= port <= 65535:
                raise ctx.error(f"{where}.{key}", f"{port} is not a port number (1-65535)")
        if start > end:
            raise ctx.error(where, f"port_start ({start}) is greater than port_end ({end})")
    layout = ctx.typed(value, "layout", where, (str,), "'prefix' or 'flat'") or "prefix"
    if layout not in ("prefix", "flat"):
        raise ctx.error(f"{where}.layout", f"expected 'prefix' or 'flat', got {layout!r}")
    return ServiceSection(kind, directory, conda, interface, start, end, layout)


def _parse_frontend(ctx: _Context, raw: object, where: str, cluster_type: str | None) -> Frontend:
    value = ctx.mapping(raw, where)
    kinds = ("hashserver", "database", "jobserver", "daskserver")
    ctx.fields(value, where, ("hostname", "ssh_hostname", *kinds))
    hostname = ctx.typed(value, "hostname", where, (str,), "a host name")
    if hostname is None:
        if cluster_type != "local":
            raise ctx.error(where, "the field 'hostname' is required (it may be omitted only "
                                   "in a cluster of 'type: local')")
        hostname = "localhost"
    ssh_hostname = ctx.typed(value, "ssh_hostname", where, (str,), "a host name")
    services = {kind: _parse_service(ctx, kind, value[kind], f"{where}.{kind}")
                for kind in kinds if kind in value}
    return Frontend(hostname, ssh_hostname, services)


def _parse_queues(ctx: _Context, raw: object, cluster_type: str | None,
                  workers: int | None) -> dict[str, Queue]:
    queues: dict[str, Queue] = {}
    for name, entry in ctx.mapping(raw, "queues").items():
        where = f"queues.{name}"
        value = {str(k).replace("-", "_"): v for k, v in ctx.mapping(entry, where).items()}
        template = value.pop("TEMPLATE", None)
        if template is not None and not isinstance(template, str):
            raise ctx.error(f"{where}.TEMPLATE", f"expected the name of a queue, got {template!r}")
        ctx.fields(value, where, QUEUE_FIELDS)
        fields: dict[str, Any] = dict(QUEUE_DEFAULTS)
        if template is not None:
            if template not in queues:
                raise ctx.error(f"{where}.TEMPLATE", f"unknown queue {template!r} (a template must be "
                                                    "defined earlier in the same cluster)")
            fields.update(queues[template].fields)
        fields.update(value)
        for key in ("cores", "job_cores", "maximum_jobs", "worker_threads", "processes"):
            ctx.typed(fields, key, where, (int,), "an integer")
        for key in ("interactive", "exclusive"):
            ctx.typed(fields, key, where, (bool,), "true or false")
        if fields.get("exclusive"):
            if fields.get("job_cores") is not None:
                raise ctx.error(where, "'job_cores' must not be set in exclusive mode")
            if cluster_type == "local" and fields.get("cores") is None:
                raise ctx.error(where, "'cores' is required for local cluster exclusive mode")
        elif cluster_type != "local" and fields.get("cores") is None:
            raise ctx.error(where, "'cores' is required when 'exclusive' is not set")
        if cluster_type == "local" and fields.get("cores") is None and workers is not None:
            fields["cores"] = workers
        queues[name] = Queue(name, fields)
    return queues


def parse_cluster(name: str, raw: object, source: str, designated_local: bool = False) -> Cluster:
    """One cluster definition, validated."""
    ctx = _Context(source, name)
    try:
        check_name("cluster name", name)
    except ConfigFileError as exc:
        raise ClusterDefinitionError(str(exc), source) from None
    value = ctx.mapping(raw, "")
    ctx.fields(value, "", ("type", "frontends", "tunnel", "workers", "queues", "default_queue",
                           "memory_per_core_property_name"), ("frontends",))
    cluster_type = ctx.typed(value, "type", "", (str,), "one of: local, slurm, oar")
    if cluster_type is not None and cluster_type not in CLUSTER_TYPES:
        raise ctx.error("type", f"expected one of: local, slurm, oar, got {cluster_type!r}")
    raw_frontends = value["frontends"]
    if not isinstance(raw_frontends, list) or not raw_frontends:
        raise ctx.error("frontends", "expected a non-empty list of frontends")
    frontends = tuple(_parse_frontend(ctx, item, f"frontends[{i}]", cluster_type)
                      for i, item in enumerate(raw_frontends))
    tunnel = ctx.typed(value, "tunnel", "", (bool,), "true or false") or False
    workers = ctx.typed(value, "workers", "", (int,), "a positive integer")
    if workers is not None and workers < 1:
        raise ctx.error("workers", f"expected a positive integer, got {workers}")
    queues = _parse_queues(ctx, value["queues"], cluster_type, workers) if value.get("queues") is not None else {}
    default_queue = ctx.typed(value, "default_queue", "", (str,), "a queue name")
    if default_queue is not None and default_queue not in queues:
        raise ctx.error("default_queue", f"no queue {default_queue!r} in 'queues'")
    memory_name = ctx.typed(value, "memory_per_core_property_name", "", (str,), "a string")
    return Cluster(name, source, frontends, cluster_type, tunnel, workers, queues, default_queue,
                   memory_name, designated_local)


class ClusterFiles:
    """The raw cluster mappings of the global files, each with its source file."""

    def __init__(self) -> None:
        self.raw: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.local_cluster: str | None = None
        self.local_cluster_source: str | None = None

    def merge(self, mapping: object, source: str) -> None:
        """Shallow-merge one file's (or one 'clusters' command's) mapping:
        a later definition of a cluster replaces the whole earlier one."""
        if mapping is None:
            return
        if not isinstance(mapping, dict):
            raise ConfigFileError(f"expected a mapping of cluster names to definitions, got {_kind(mapping)}",
                                  source)
        for name, definition in mapping.items():
            if name == "local_cluster":
                if not isinstance(definition, str):
                    raise ClusterDefinitionError(f"'local_cluster' must be the name of a cluster, "
                                                 f"got {definition!r}", source)
                self.local_cluster, self.local_cluster_source = definition, source
                continue
            if not isinstance(name, str):
                raise ClusterDefinitionError(f"cluster names must be strings, got {name!r}", source)
            self.raw[name] = definition
            self.sources[name] = source

    def build(self) -> dict[str, Cluster]:
        """Validate every definition; the clusters by name."""
        if self.local_cluster is not None and self.local_cluster not in self.raw:
            known = ", ".join(sorted(self.raw)) or "none"
            raise ClusterDefinitionError(f"'local_cluster' names {self.local_cluster!r}, which is not "
                                         f"defined (defined clusters: {known})", self.local_cluster_source)
        return {name: parse_cluster(name, raw, self.sources[name], name == self.local_cluster)
                for name, raw in self.raw.items()}


def read_cluster_files(directory: str | None = None) -> ClusterFiles:
    """clusters.yaml, then clusters/*.yaml in sorted order (the reference's
    order is the file system's, which is not reproducible)."""
    directory = directory or config_dir()
    files = ClusterFiles()
    main = os.path.join(directory, "clusters.yaml")
    paths = [main] if os.path.isfile(main) else []
    folder = os.path.join(directory, "clusters")
    if os.path.isdir(folder):
        paths += [os.path.join(folder, name) for name in sorted(os.listdir(folder)) if name.endswith(".yaml")]
    for path in paths:
        files.merge(load_yaml(path), path)
    return files
