"""The hashserver and database services of a cluster: keys, start, reuse, stop.

A service is named by the reference launcher's key scheme
(``hashserver-<cluster>-<mode>-<project>[--<sub>][--STAGE-<stage>]``) and
keeps its state where remote-http-launcher keeps it, in the same formats
(``~/.remote-http-launcher/server/<key>.json``, the server's status file,
and ``client/<key>.json``, ``{"hostname", "port"}``), so that services
started by either implementation are found and reused by the other.

Fixed against the reference launcher: a lock per key (two processes starting
one cluster at once get one service each, not two), a configuration
fingerprint in the status file (a running service that no longer matches the
configuration is restarted, with a note), the process's start time next to
its PID (a recycled PID is never signalled), the cause and the end of the
service's log in every start-up error, and ``REMOTE_HTTP_LAUNCHER_DIR``
honoured as the folder that holds ``server/`` and ``client/``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, NamedTuple

from .clusters import Cluster, ServiceSection
from .errors import ConfigurationError, ServiceStartError

KINDS = ("hashserver", "database")
MODULES = {"hashserver": "seamless.hashserver", "database": "seamless.database"}
INACTIVITY_TIMEOUT = 600
START_WAIT = 60.0
LOCK_WAIT = 120.0
HEALTH_TIMEOUT = 2.0
KEY_PATTERN = re.compile(r"^[A-Za-z0-9._-]+$")

Report = Callable[[str], None]


def launcher_dir() -> str:
    """The launcher's state folder (``server/``, ``client/`` below it)."""
    override = os.environ.get("REMOTE_HTTP_LAUNCHER_DIR", "").strip()
    if override:
        return os.path.abspath(os.path.expanduser(override))
    home = os.environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".remote-http-launcher")


def server_dir() -> str:
    return os.path.join(launcher_dir(), "server")


def client_dir() -> str:
    return os.path.join(launcher_dir(), "client")


class ServiceSpec(NamedTuple):
    """Everything needed to find or start one service."""

    kind: str  # "hashserver" or "database"
    cluster: str
    mode: str  # "rw" or "ro"
    project: str
    subproject: str | None
    stage: str | None
    workdir: str  # absolute, ~ expanded
    section: ServiceSection
    on_this_machine: bool
    hostname: str

    @property
    def key(self) -> str:
        key = f"{self.kind}-{self.cluster}-{self.mode}-{self.project}"
        if self.subproject:
            key += "--" + self.subproject.replace("/", "--")
        if self.stage:
            key += f"--STAGE-{self.stage}"
        return key

    @property
    def data_path(self) -> str:
        """The buffer folder, or the database file."""
        if self.kind == "database":
            return os.path.join(self.workdir, "seamless.db")
        return self.workdir

    @property
    def host(self) -> str:
        return self.section.network_interface or "127.0.0.1"

    @property
    def status_file(self) -> str:
        return os.path.join(server_dir(), f"{self.key}.json")

    @property
    def log_file(self) -> str:
        return os.path.join(server_dir(), f"{self.key}.log")

    @property
    def client_file(self) -> str:
        return os.path.join(client_dir(), f"{self.key}.json")

    def command(self) -> list[str]:
        """Our server, from this Python environment."""
        args = [sys.executable, "-m", MODULES[self.kind]]
        if self.section.port_range is not None:
            args += ["--port-range", str(self.section.port_start), str(self.section.port_end)]
        args += ["--status-file", self.status_file, "--host", self.host,
                 "--timeout", str(INACTIVITY_TIMEOUT), self.data_path]
        if self.kind == "hashserver" and self.section.layout != "prefix":
            args += ["--layout", self.section.layout]
        if self.mode == "rw":
            args.append("--writable")
        return args

    def fingerprint(self) -> str:
        """What a running service must match to be reused (readable, so that
        a status file shows what its service was started with)."""
        port_range = "-".join(map(str, self.section.port_range)) if self.section.port_range else "any"
        return "|".join([self.kind, self.mode, self.data_path, self.host, port_range, self.section.layout])

    def describe(self) -> dict[str, Any]:
        return {"implementation": "seamless", "fingerprint": self.fingerprint(), "service": self.kind,
                "cluster": self.cluster, "project": self.project, "subproject": self.subproject,
                "stage": self.stage, "data": self.data_path,
                "port_range": list(self.section.port_range) if self.section.port_range else None}


def service_spec(kind: str, cluster: Cluster, project: str | None, subproject: str | None,
                 stage: str | None, mode: str = "rw") -> ServiceSpec:
    """The service of kind for this selection."""
    found = cluster.service(kind)
    if found is None:
        raise ConfigurationError(f"No frontend of cluster {cluster.name!r} can support a {kind} "
                                 f"(add a '{kind}:' section to one of its frontends in {cluster.source})")
    if project is None:
        raise ConfigurationError("No project defined: add '- project: NAME' to seamless.yaml "
                                 "(the project names the folders of the cluster's services)")
    frontend, section = found
    assert section.directory is not None
    root = os.path.abspath(os.path.expanduser(section.directory))
    parts = [project, *(subproject.split("/") if subproject else []),
             *([f"STAGE-{stage}"] if stage else [])]
    spec = ServiceSpec(kind, cluster.name, mode, project, subproject, stage, os.path.join(root, *parts),
                       section, cluster.is_on_this_machine(kind), frontend.hostname)
    if not KEY_PATTERN.match(spec.key):
        raise ConfigurationError(f"the service name {spec.key!r} is not a plausible file name: cluster, "
                                 "project, subproject and stage names may only use letters, digits, '.', "
                                 "'_' and '-'")
    return spec


# -- state files ---------------------------------------------------------------

def read_json(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: str, value: dict[str, Any], mode: int = 0o600) -> None:
    """Atomically (temporary file, then rename), readable by the user only."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(json.dumps(value) + "\n")
    os.replace(tmp, path)


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of pid (clock ticks since boot), None if the
    process is gone or a zombie. Recorded with the PID so that a recycled
    PID is never mistaken for the service."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        if not os.path.isdir("/proc"):
            try:
                os.kill(pid, 0)
                return 0
            except OSError:
                return None
        return None
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def is_alive(state: dict[str, Any], key: str | None = None) -> bool:
    """True if the process of a status file still runs and is the same one:
    its start time matches the recorded one, or, for status files without
    one (the reference's launcher writes none), its command line names this
    status file."""
    pid = state.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    started = process_start_time(pid)
    if started is None:
        return False
    recorded = state.get("pid_start_time")
    if recorded is not None and started != 0:
        return recorded == started
    if key is None or started == 0:
        return True
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read().split(b"\0")
    except OSError:
        return False
    return b"--status-file" in args and any(arg.endswith(f"{key}.json".encode()) for arg in args)


def healthcheck(host: str, port: int, timeout: float = HEALTH_TIMEOUT) -> bool:
    """GET /healthcheck answers 2xx. (A plain socket: http.client would add
    its imports, ssl among them, to every seamless-init.)"""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(f"GET /healthcheck HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
                         .encode())
            head = b""
            while b"\r\n" not in head and len(head) < 1024:
                chunk = sock.recv(1024)
                if not chunk:
                    break
                head += chunk
    except OSError:
        return False
    parts = head.split(b" ", 2)
    return len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1][:1] == b"2"


class Endpoint(NamedTuple):
    """A running service."""

    key: str
    host: str
    port: int
    pid: int | None
    how: str  # "started", "reused" or "restarted"

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


_HELD = threading.local()


@contextmanager
def key_lock(key: str, wait: float = LOCK_WAIT) -> Iterator[None]:
    """An exclusive lock per service key, across processes (released if the
    holder dies); re-entrant within a thread."""
    held: set[str] = getattr(_HELD, "keys", None) or set()
    _HELD.keys = held
    if key in held:
        yield
        return
    os.makedirs(server_dir(), exist_ok=True)
    fd = os.open(os.path.join(server_dir(), f"{key}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServiceStartError(f"{key}: another process has been starting this service for "
                                            f"{wait:.0f} s; giving up") from None
                time.sleep(0.02)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)


def running_endpoint(spec: ServiceSpec) -> tuple[Endpoint | None, dict[str, Any] | None]:
    """The running service of spec's key, if any, and its status file.

    On this machine the status file decides (running, its process alive and
    the same one, its port answering); the client file alone is trusted only
    for services elsewhere, whose status file is not here. A client file
    whose service is gone is removed, so that a port now used by another
    service is never taken for this one."""
    state = read_json(spec.status_file)
    client = read_json(spec.client_file)
    if spec.on_this_machine or state is not None:
        if state and state.get("status") == "running" and isinstance(state.get("port"), int) \
                and is_alive(state, spec.key):
            host = state.get("network_interface") or spec.host
            if healthcheck(host, state["port"]):
                return Endpoint(spec.key, host, state["port"], state.get("pid"), "reused"), state
        if client is not None:
            _unlink(spec.client_file)
        return None, state
    if client and isinstance(client.get("port"), int) and client.get("status") != "stale":
        host = client.get("hostname") or spec.host
        if healthcheck(host, client["port"]):
            return Endpoint(spec.key, host, client["port"], None, "reused"), None
    return None, None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def drift(spec: ServiceSpec, state: dict[str, Any] | None) -> str | None:
    """How a running service differs from the configuration (None if it
    matches, or cannot be told)."""
    if not state:
        return None
    meta = state.get("meta") or {}
    if meta.get("fingerprint") == spec.fingerprint():
        return None
    if meta.get("implementation") == "seamless":
        differences = []
        if meta.get("data") != spec.data_path:
            differences.append(f"data {meta.get('data')} -> {spec.data_path}")
        wanted_range = list(spec.section.port_range) if spec.section.port_range else None
        if meta.get("port_range") != wanted_range:
            differences.append(f"port range {meta.get('port_range')} -> {wanted_range}")
        if state.get("network_interface") != spec.host:
            differences.append(f"host {state.get('network_interface')} -> {spec.host}")
        return "; ".join(differences) or "its settings changed"
    workdir = state.get("workdir")
    if isinstance(workdir, str) and os.path.abspath(os.path.expanduser(workdir)) != spec.workdir:
        return f"workdir {workdir} -> {spec.workdir}"
    return None


def reusable(spec: ServiceSpec) -> Endpoint | None:
    """The running service of spec if it matches the configuration (no lock
    taken: the quick path of a warm start)."""
    if not spec.on_this_machine:
        return None
    endpoint, state = running_endpoint(spec)
    if endpoint is not None and drift(spec, state if state is not None else read_json(spec.status_file)) is None:
        return endpoint
    return None


def ensure(spec: ServiceSpec, report: Report | None = None) -> Endpoint:
    """The running service of spec: reused if it runs and matches, else
    (re)started. Safe against other processes doing the same at once."""
    if not spec.on_this_machine:
        endpoint, _ = running_endpoint(spec)
        if endpoint is not None:
            return endpoint
        raise ConfigurationError(
            f"{spec.key}: the {spec.kind} of cluster {spec.cluster!r} runs on {spec.hostname!r}, not on this "
            "machine, and is not reachable; starting services over SSH is not supported by this version. "
            "Start it there, or point this process at it with SEAMLESS_REMOTE_CLIENTS")
    endpoint = reusable(spec)
    if endpoint is not None:
        return endpoint
    with key_lock(spec.key):
        endpoint, state = running_endpoint(spec)  # someone may have started it meanwhile
        if endpoint is not None:
            difference = drift(spec, state)
            if difference is None:
                return endpoint
            if report:
                report(f"{spec.key}: the running service does not match the configuration ({difference}); "
                       "restarting it")
            stop_key(spec.key)
            return start(spec, report, how="restarted")
        if state and state.get("status") in ("starting", "running") and is_alive(state, spec.key):
            # Alive but not answering: left over from a start that was cut
            # short (starts happen under this lock). Never two on one folder.
            stop_key(spec.key)
        return start(spec, report)


def _conda_prefix(spec: ServiceSpec, report: Report | None) -> list[str]:
    """``conda run -n ENV`` when the section names an existing environment;
    otherwise the service runs from this environment, and a note says so."""
    env = spec.section.conda
    if not env:
        return []
    import shutil

    conda = os.environ.get("CONDA_EXE") or shutil.which("conda")
    if conda:
        base = os.path.dirname(os.path.dirname(conda))
        if os.path.isdir(os.path.join(base, "envs", env)) or (env == "base" and os.path.isdir(base)):
            return [conda, "run", "--no-capture-output", "-n", env]
        reason = f"conda has no environment {env!r}"
    else:
        reason = "conda is not installed"
    if report:
        report(f"{spec.key}: {reason}; running the {spec.kind} from this Python environment ({sys.prefix})")
    return []


def start(spec: ServiceSpec, report: Report | None = None, how: str = "started") -> Endpoint:
    """Start the service (the caller holds the key's lock)."""
    try:
        os.makedirs(spec.workdir, exist_ok=True)
    except OSError as exc:
        field = "bufferdir" if spec.kind == "hashserver" else "database_dir"
        raise ServiceStartError(f"{spec.key}: cannot create the folder {spec.workdir} (from the {field} of "
                                f"cluster {spec.cluster!r}): {exc.strerror or exc}") from None
    os.makedirs(server_dir(), exist_ok=True)
    for path in (spec.status_file, spec.client_file):
        _unlink(path)
    prefix = _conda_prefix(spec, report)
    if prefix:
        command = prefix + [spec.kind if spec.kind == "hashserver" else "seamless-database"] + spec.command()[3:]
    else:
        command = spec.command()
    with open(spec.log_file, "wb") as log:
        process = subprocess.Popen(command, cwd=spec.workdir, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    # Reap the child when it exits, so that a dead service is never a zombie
    # that still looks alive to this process.
    threading.Thread(target=process.wait, daemon=True, name=f"reap-{spec.key}").start()
    state = {"workdir": spec.workdir, "log": spec.log_file, "command": shlex.join(command),
             "uid": os.getuid(), "pid": process.pid, "pid_start_time": process_start_time(process.pid),
             "status": "starting", "network_interface": spec.host, "started_at": time.time(),
             "meta": spec.describe()}
    try:
        write_json(spec.status_file, state)
        port = _wait_running(spec, process, command)
    except BaseException:
        _abandon(process, spec)
        raise
    write_json(spec.client_file, {"hostname": spec.host, "port": port})
    return Endpoint(spec.key, spec.host, port, process.pid, how)


def _wait_running(spec: ServiceSpec, process: subprocess.Popen[bytes], command: list[str]) -> int:
    """The port, once the service says running and answers; else
    ServiceStartError with the cause and the end of its log."""
    deadline = time.monotonic() + START_WAIT
    while True:
        current = read_json(spec.status_file) or {}
        status = current.get("status")
        if status == "running" and isinstance(current.get("port"), int):
            if healthcheck(spec.host, current["port"], timeout=5.0):
                return current["port"]
            cause = "it reported running but does not answer its health check"
        elif status == "failed":
            cause = current.get("error") or "it reported a failed start"
        elif process.poll() is not None:
            cause = f"it exited with code {process.returncode}"
        elif time.monotonic() > deadline:
            cause = f"it did not report running within {START_WAIT:.0f} s"
        else:
            time.sleep(0.005)
            continue
        raise ServiceStartError(f"{spec.key}: the {spec.kind} did not start: {cause}\n"
                                f"command: {shlex.join(command)}\nlog ({spec.log_file}), last lines:\n"
                                f"{log_tail(spec.log_file)}")


def _abandon(process: subprocess.Popen[bytes], spec: ServiceSpec) -> None:
    if process.poll() is None:
        _signal_group(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    state = read_json(spec.status_file) or {}
    if state.get("status") != "failed":
        state["status"] = "failed"
        write_json(spec.status_file, state)


def log_tail(path: str, lines: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - 8192))
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join("  " + line for line in tail) if tail else "  (the log is empty)"


def _signal_group(pid: int, sig: int) -> None:
    """Signal the service's process group when it leads one (it does when
    we started it: a wrapper such as ``conda run`` does not pass signals
    on), else the process; a process that is gone is not an error."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_key(key: str, wait: float = 10.0) -> str:
    """Stop one service cleanly (SIGTERM, then SIGKILL after wait seconds):
    'stopped', 'killed', 'not running', 'unknown', or 'not permitted' (the
    process belongs to another user). Holds the key's lock, so a service
    that another process is starting is stopped after it started."""
    status_path = os.path.join(server_dir(), f"{key}.json")
    client_path = os.path.join(client_dir(), f"{key}.json")
    with key_lock(key, wait=START_WAIT):
        state = read_json(status_path)
        _unlink(client_path)
        if state is None:
            return "unknown"
        if not is_alive(state, key):
            if state.get("status") in ("running", "starting"):
                state["status"] = "stale"
                write_json(status_path, state)
            return "not running"
        pid = state["pid"]
        try:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + wait
            while is_alive(state, key) and time.monotonic() < deadline:
                time.sleep(0.02)
            outcome = "stopped"
            if is_alive(state, key):
                _signal_group(pid, signal.SIGKILL)
                while is_alive(state, key):
                    time.sleep(0.02)
                outcome = "killed"
        except PermissionError:
            return "not permitted"
        state = read_json(status_path) or state
        if state.get("status") != "stopped":
            state["status"] = "stopped"
            write_json(status_path, state)
        return outcome


class ServiceRow(NamedTuple):
    """One line of ``seamless-init --status``."""

    key: str
    service: str
    cluster: str
    status: str
    port: int | None
    pid: int | None
    directory: str
    uptime: float | None


def list_services() -> list[ServiceRow]:
    """Every service with a status file, its status checked against its
    process (a 'running' service whose process is gone shows as 'dead')."""
    rows = []
    directory = server_dir()
    if not os.path.isdir(directory):
        return rows
    now = time.time()
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        state = read_json(os.path.join(directory, name))
        if state is None:
            continue
        key = name[:-5]
        meta = state.get("meta") or {}
        status = state.get("status", "?")
        if status in ("running", "starting") and not is_alive(state, key):
            status = "dead"
        service = meta.get("service") or key.split("-", 1)[0]
        cluster = meta.get("cluster") or (key.split("-")[1] if key.count("-") >= 2 else "?")
        started = state.get("started_at")
        uptime = now - started if status == "running" and isinstance(started, (int, float)) else None
        rows.append(ServiceRow(key, service, cluster, status, state.get("port"), state.get("pid"),
                               meta.get("data") or state.get("workdir", ""), uptime))
    return rows
