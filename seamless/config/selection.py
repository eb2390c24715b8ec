"""Evaluating the commands into one Configuration.

Every load starts from a clean slate (the reference keeps "sticky" values
from earlier loads, so a cluster chosen in one stage leaks into the next);
the commands run in file order, last one wins; then the selections made in
code (``select_*``, command-line flags) are applied on top, so they win over
the files (in the reference the files win). The derived defaults are the
reference's: execution is ``remote`` when a cluster is selected and nothing
else is said, ``process`` otherwise; persistence is on exactly when a
cluster is selected.
"""

from __future__ import annotations

import warnings
from typing import Any, Mapping, NamedTuple

from .clusters import Cluster, ClusterFiles, check_name
from .commands import Invocation
from .errors import ConfigFileError, ConfigurationError

EXECUTION_MODES = ("process", "spawn", "remote")
REMOTE_TARGETS = (None, "daskserver", "jobserver")
SEAMLESS_CACHE_CLUSTER = "__SEAMLESS_CACHE__"
TOPLEVEL_PROJECT = "__TOPLEVEL__"

#: The items a command (or select_*) can set.
ITEMS = ("cluster", "project", "subproject", "execution", "queue", "remote", "persistent", "record",
         "node", "nparallel")


class Configuration(NamedTuple):
    """What the files, the environment and the code selected, with the
    derived defaults filled in."""

    workdir: str
    files: tuple[str, ...]
    clusters: Mapping[str, Cluster]
    local_cluster: str | None
    cluster: Cluster | None
    project: str | None
    subproject: str | None
    stage: str | None
    substage: str | None
    execution: str
    execution_given: bool
    persistent: bool
    queue: str | None
    remote: str | None
    record: bool
    node: str | None
    nparallel: int | None
    explicit: frozenset[str] = frozenset()  # the items a command or the code set
    seamless_cache: str | None = None

    @property
    def cluster_name(self) -> str | None:
        return self.cluster.name if self.cluster is not None else None


def _string(inv: Invocation, allow_none: bool = False) -> str | None:
    if inv.argument is None and allow_none:
        return None
    if not isinstance(inv.argument, str):
        raise inv.error("expects a string value" + (" or null" if allow_none else "") +
                        f", got {inv.argument!r}")
    return inv.argument


def _bool(inv: Invocation) -> bool:
    if not isinstance(inv.argument, bool):
        raise inv.error(f"expects a boolean value (true or false), got {inv.argument!r}")
    return inv.argument


def check_value(item: str, value: Any, where: str = "") -> Any:
    """Validate a value for item (shared by the commands and select_*)."""
    if item == "execution":
        if value not in EXECUTION_MODES:
            raise ConfigFileError(f"{where}execution must be one of: process, spawn, remote; got {value!r}")
    elif item == "remote":
        if value not in REMOTE_TARGETS:
            raise ConfigFileError(f"{where}remote must be one of: None, daskserver, jobserver; got {value!r}")
    elif item in ("cluster", "project"):
        if value is not None or item == "project":
            check_name(item, value, where)
    elif item == "subproject":
        if not isinstance(value, str) or not value or "--" in value or "STAGE-" in value \
                or any(part in ("", ".", "..") for part in value.split("/")):
            raise ConfigFileError(f"{where}subproject must be a non-empty string without '--' or 'STAGE-', "
                                  "made of folder names (no empty, '.' or '..' parts)")
    elif item == "nparallel":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigFileError(f"{where}nparallel must be a positive integer, got {value!r}")
    elif item == "node":
        if value is not None and (not isinstance(value, str) or not value):
            raise ConfigFileError(f"{where}node must be a non-empty string or null")
    elif item in ("persistent", "record"):
        if not isinstance(value, bool):
            raise ConfigFileError(f"{where}{item} must be true or false, got {value!r}")
    return value


def _argument(inv: Invocation) -> Any:
    """The validated argument of a command."""
    name = inv.name
    if name in ("project", "subproject", "queue"):
        value = _string(inv)
    elif name in ("cluster", "node", "remote"):
        value = _string(inv, allow_none=True)
    elif name == "execution":
        value = _string(inv)
    elif name in ("persistent", "record"):
        value = _bool(inv)
    elif name == "nparallel":
        value = inv.argument
    else:
        value = inv.argument
    try:
        return check_value(name, value)
    except ConfigFileError as exc:
        raise inv.error(str(exc)) from None


class Selector:
    """Applies commands and code selections, then derives the defaults."""

    def __init__(self, clusters: dict[str, Cluster], local_cluster: str | None):
        self.clusters = clusters
        self.local_cluster = local_cluster
        self.values: dict[str, Any] = {}
        self.queue_cluster: str | None = None  # the cluster the queue was chosen for
        self.origin: dict[str, Invocation] = {}

    def set(self, item: str, value: Any, where: Invocation | None = None) -> None:
        if item == "cluster" and value != self.values.get("cluster"):
            self.values.pop("queue", None)
        if item == "queue":
            self._check_queue(value, where)
            self.queue_cluster = self.values.get("cluster")
        self.values[item] = value
        if where is not None:
            self.origin[item] = where

    def _check_queue(self, queue: str, where: Invocation | None) -> None:
        def fail(message: str) -> ConfigFileError:
            return where.error(message) if where is not None else ConfigFileError(message)

        cluster_name = self.values.get("cluster")
        if cluster_name is None:
            raise fail("cannot select a queue without selecting a cluster first")
        cluster = self.clusters.get(cluster_name)
        if cluster is None:
            raise fail(f"unknown cluster {cluster_name!r}")
        if not cluster.queues:
            raise fail(f"cluster {cluster_name!r} has no queues")
        if queue not in cluster.queues:
            raise fail(f"cluster {cluster_name!r} has no queue {queue!r} "
                       f"(its queues: {', '.join(cluster.queues)})")

    def run(self, invocations: list[Invocation]) -> None:
        for inv in invocations:
            if inv.name != "clusters":
                self.set(inv.name, _argument(inv), inv)

    def result(self, workdir: str, files: tuple[str, ...], stage: str | None, substage: str | None,
               seamless_cache: str | None = None) -> Configuration:
        values = self.values
        cluster_name = values.get("cluster")
        cluster = None
        if cluster_name is not None:
            cluster = self.clusters.get(cluster_name)
            if cluster is None:
                known = ", ".join(sorted(self.clusters)) or "none are defined"
                origin = self.origin.get("cluster")
                message = f"cluster {cluster_name!r} is not defined (known clusters: {known})"
                raise origin.error(message) if origin is not None else ConfigurationError(message)
        execution_given = "execution" in values
        execution = values.get("execution") or ("remote" if cluster is not None else "process")
        persistent = values.get("persistent", cluster is not None)
        queue = values.get("queue") if self.queue_cluster == cluster_name else None
        remote = values.get("remote")
        if cluster is not None and remote is None and execution == "remote":
            # As in the reference, the backend is derived (and a cluster with
            # both a jobserver and a daskserver is ambiguous) only when
            # transformations run remotely.
            remote = remote_target(cluster)
        return Configuration(
            workdir=workdir, files=files, clusters=self.clusters, local_cluster=self.local_cluster,
            cluster=cluster, project=values.get("project"), subproject=values.get("subproject"),
            stage=stage, substage=substage, execution=execution, execution_given=execution_given,
            persistent=persistent, queue=queue, remote=remote, record=values.get("record", False),
            node=values.get("node"), nparallel=values.get("nparallel"), explicit=frozenset(values),
            seamless_cache=seamless_cache)


def remote_target(cluster: Cluster) -> str | None:
    """jobserver or daskserver, whichever the cluster has (both is an error
    unless a 'remote:' command picks one)."""
    found = set()
    for frontend in cluster.frontends:
        both = {"jobserver", "daskserver"} <= set(frontend.services)
        if both:
            raise ConfigurationError(
                f"cluster {cluster.name!r} frontend {frontend.hostname!r} has both jobserver and daskserver; "
                "in your seamless.profile.yaml, specify 'remote: jobserver' or 'remote: daskserver'")
        found |= {"jobserver", "daskserver"} & set(frontend.services)
    if len(found) > 1:
        raise ConfigurationError(
            f"cluster {cluster.name!r} exposes both jobserver and daskserver; in your seamless.profile.yaml, "
            "specify 'remote: jobserver' or 'remote: daskserver'")
    return found.pop() if found else None


def evaluate(workdir: str, invocations: list[Invocation], files: tuple[str, ...],
             cluster_files: ClusterFiles, manual: Mapping[str, Any], stage: str | None,
             substage: str | None) -> Configuration:
    """The Configuration of these commands, with manual selections on top."""
    for inv in invocations:
        if inv.name == "clusters":
            if not isinstance(inv.argument, dict):
                raise inv.error(f"expects a mapping of cluster definitions, got {inv.argument!r}")
            cluster_files.merge(inv.argument, f"{inv.path}:{inv.line} ('clusters' command)")
    selector = Selector(cluster_files.build(), cluster_files.local_cluster)
    if "cluster" in manual:  # so that a file's queue: command is checked against the cluster in force
        selector.set("cluster", manual["cluster"])
    selector.run(invocations)
    for item in ITEMS:
        if item in manual:
            selector.set(item, manual[item])
    return selector.result(workdir, files, stage, substage)


def seamless_cache_configuration(directory: str, workdir: str, manual: Mapping[str, Any],
                                 stage: str | None, substage: str | None) -> Configuration:
    """SEAMLESS_CACHE=DIR: a synthetic local cluster with buffers and
    seamless.db under DIR, execution process, persistence on; no file is
    read. Served in process: no servers, no ports."""
    files = ClusterFiles()
    section = {"bufferdir": directory}
    files.merge({"local_cluster": SEAMLESS_CACHE_CLUSTER,
                 SEAMLESS_CACHE_CLUSTER: {"type": "local", "frontends": [
                     {"hashserver": section, "database": {"database_dir": directory}}]}},
                "SEAMLESS_CACHE")
    selector = Selector(files.build(), SEAMLESS_CACHE_CLUSTER)
    selector.set("cluster", SEAMLESS_CACHE_CLUSTER)
    selector.set("project", TOPLEVEL_PROJECT)
    selector.set("execution", "process")
    selector.set("persistent", True)
    for item in ITEMS:
        if item in manual and item not in ("cluster", "persistent"):
            selector.set(item, manual[item])
    return selector.result(workdir, (), stage, substage, seamless_cache=directory)


def post_load_check(config: Configuration) -> None:
    """The reference's warnings and errors after a load (same substrings),
    plus ours: remote execution without a remote backend is an error here,
    not a failure at the first transformation."""
    if not config.execution_given:
        if config.cluster is not None:
            message = ("No 'execution' command found; Seamless defaults to 'remote' because a cluster is "
                       "defined")
        else:
            message = "No 'execution' command found; Seamless falls back to 'process'"
        warnings.warn(message, UserWarning, stacklevel=3)
    if config.execution == "remote":
        if config.cluster is None:
            raise ConfigurationError("Execution is 'remote' but no cluster was defined")
        if config.remote is None:
            hint = ("add '- execution: process' (or spawn) to seamless.yaml or seamless.profile.yaml"
                    if not config.execution_given else "use 'execution: process' or 'execution: spawn'")
            how = "is the default when a cluster is selected" if not config.execution_given else "was selected"
            raise ConfigurationError(
                f"Execution is 'remote' ({how}), but cluster {config.cluster.name!r} has no jobserver or "
                f"daskserver to run transformations on; {hint}")
    elif config.cluster is None:
        if "persistent" not in config.explicit:
            warnings.warn("No cluster defined; running without persistence (define a cluster when using "
                          "'execution: remote')", UserWarning, stacklevel=3)
        elif config.persistent:
            raise ConfigurationError("Persistence was explicitly enabled but no cluster was defined")
