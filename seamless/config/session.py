"""The configuration of this process: what was selected, and the stores.

One Session per process holds the selections made in code, the evaluated
Configuration and the connected stores. ``init()`` loads the files (or the
environment), starts or reuses the cluster's services and connects: in
process straight into the cluster's folders when they are on this machine
(the servers go on serving other processes), over HTTP otherwise.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

from . import remote_clients as _remote_clients
from .clusters import check_name, read_cluster_files
from .commands import collect, command_files
from .selection import (
    ITEMS,
    TOPLEVEL_PROJECT,
    Configuration,
    check_value,
    evaluate,
    post_load_check,
    seamless_cache_configuration,
)
from .stores import Stores

Report = Callable[[str], None]


def get_seamless_cache() -> str | None:
    """$SEAMLESS_CACHE, stripped, ~-expanded and absolute; None if unset."""
    raw = os.environ.get("SEAMLESS_CACHE", "").strip()
    if not raw:
        return None
    return os.path.abspath(os.path.expanduser(raw))


def default_cache_dir() -> str:
    """Where the command-line tools keep buffers and results when nothing is
    configured: $XDG_CACHE_HOME/seamless, else ~/.cache/seamless."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    if not base:
        home = os.environ.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".cache")
    return os.path.join(os.path.abspath(os.path.expanduser(base)), "seamless")


def stderr_report(line: str) -> None:
    sys.stderr.write(f"seamless: {line}\n")
    sys.stderr.flush()


class Session:
    """The configuration state of one process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.manual: dict[str, Any] = {}
        self.workdir: str | None = None
        self.stage: str | None = None
        self.substage: str | None = None
        self.config: Configuration | None = None
        self.stores: Stores | None = None
        self.remote_clients: list[_remote_clients.ClientEntry] | None = None
        self.initialized = False
        #: For command-line tools: the embedded store used when nothing is
        #: configured (see init_for_tool).
        self.fallback_cache: str | None = None

    # -- loading -------------------------------------------------------------

    def resolved_workdir(self) -> str:
        return os.path.abspath(self.workdir) if self.workdir else os.getcwd()

    def load(self, check: bool = True) -> Configuration:
        """Evaluate the configuration from a clean slate (no side effects
        beyond warnings). check=False skips the post-load checks (to find
        the services of a configuration that cannot run as it stands, e.g.
        to stop them)."""
        workdir = self.resolved_workdir()
        cache = get_seamless_cache()
        if cache is None and self.fallback_cache is not None and not self.configured(workdir):
            cache = self.fallback_cache
        if cache is not None:
            return seamless_cache_configuration(cache, workdir, self.manual, self.stage, self.substage)
        if self.remote_clients is not None or _remote_clients.from_env() is not None:
            return self._remote_clients_configuration(workdir)
        invocations, files = collect(workdir, self.stage)
        config = evaluate(workdir, invocations, tuple(files), read_cluster_files(), self.manual,
                          self.stage, self.substage)
        if check:
            post_load_check(config)
        return config

    def configured(self, workdir: str) -> bool:
        """Whether anything says where to keep results (besides memory)."""
        return bool(get_seamless_cache() or self.remote_clients is not None
                    or _remote_clients.from_env() is not None or command_files(workdir))

    def _remote_clients_configuration(self, workdir: str) -> Configuration:
        manual = dict(self.manual)
        return Configuration(
            workdir=workdir, files=(), clusters={}, local_cluster=None, cluster=None,
            project=manual.get("project", TOPLEVEL_PROJECT), subproject=manual.get("subproject"),
            stage=self.stage, substage=self.substage, execution=manual.get("execution", "process"),
            execution_given=True, persistent=True, queue=None, remote=None,
            record=manual.get("record", False), node=None, nparallel=manual.get("nparallel"),
            explicit=frozenset(manual))

    # -- activation ----------------------------------------------------------

    def activate(self, config: Configuration, start_services: bool = True,
                 report: Report | None = stderr_report) -> Stores:
        """Connect the stores of config (starting the services it needs)."""
        from . import activate as _activate

        entries = self.remote_clients
        if entries is None and config.seamless_cache is None:
            entries = _remote_clients.from_env()
        if config.seamless_cache is not None:
            return _activate.seamless_cache_stores(config)
        if entries is not None:
            return _activate.remote_client_stores(entries)
        if config.execution == "remote" and config.remote is not None:
            import warnings

            warnings.warn(f"execution is 'remote' through the {config.remote} of cluster {config.cluster_name!r}, "
                          "which this version cannot use: transformations will fail; select 'execution: "
                          "process' or 'execution: spawn'", UserWarning, stacklevel=4)
        if config.cluster is None or not config.persistent:
            return Stores()
        return _activate.cluster_stores(config, start_services=start_services, report=report)

    def init(self, workdir: str | os.PathLike[str] | None = None, *, start_services: bool = True,
             report: Report | None = stderr_report) -> Configuration:
        with self.lock:
            if workdir is not None:
                new = os.path.abspath(os.fspath(workdir))
                if self.initialized and new != self.resolved_workdir():
                    self._deactivate()
                self.workdir = new
            if self.initialized and self.config is not None:
                return self.config
            return self._reload(start_services, report)

    def _reload(self, start_services: bool, report: Report | None) -> Configuration:
        config = self.load()
        stores = self.activate(config, start_services=start_services, report=report)
        self._deactivate()
        self.config, self.stores, self.initialized = config, stores, True
        return config

    def _deactivate(self) -> None:
        if self.stores is not None:
            self.stores.close()
        self.stores = None
        self.config = None
        self.initialized = False

    def set_stage(self, stage: str | None = None, substage: str | None = None, *,
                  workdir: str | os.PathLike[str] | None = None,
                  report: Report | None = stderr_report) -> Configuration:
        with self.lock:
            if self.remote_clients is not None:
                raise RuntimeError("remote clients already set; stage cannot be changed")
            for kind, value in (("stage", stage), ("substage", substage)):
                if value is not None:
                    check_name(kind, value)
            new_workdir = os.path.abspath(os.fspath(workdir)) if workdir is not None else self.workdir
            changed = (stage, substage, new_workdir) != (self.stage, self.substage, self.workdir) \
                or not self.initialized
            if not changed and self.config is not None:
                return self.config
            return self._reload_with(report, stage=stage, substage=substage, workdir=new_workdir)

    def _reload_with(self, report: Report | None, **changes: Any) -> Configuration:
        """Reload with some attributes changed; on failure they are put back
        (and the stores of before stay connected)."""
        before = {name: getattr(self, name) for name in changes}
        for name, value in changes.items():
            setattr(self, name, value)
        try:
            return self._reload(True, report)
        except BaseException:
            for name, value in before.items():
                setattr(self, name, value)
            raise

    def select(self, item: str, value: Any) -> None:
        if item not in ITEMS:
            raise ValueError(f"unknown item {item!r}")
        if value is not None or item in ("cluster", "remote", "node"):
            check_value(item, value)
        with self.lock:
            if not self.initialized:
                self.manual[item] = value
                return
            self._reload_with(stderr_report, manual={**self.manual, item: value})

    def set_remote_clients(self, clients: Any, in_remote: bool = False) -> None:
        with self.lock:
            if self.initialized:
                raise RuntimeError("Cannot set remote clients after initialization")
            self.remote_clients = _remote_clients.parse(clients, in_remote=in_remote,
                                                        source="set_remote_clients")

    def close(self) -> None:
        with self.lock:
            self._deactivate()

    def reset(self) -> None:
        """Forget everything (selections, stage, workdir, remote clients)."""
        with self.lock:
            self._deactivate()
            self.__init__()  # type: ignore[misc]


SESSION = Session()

