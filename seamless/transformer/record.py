"""Execution records: wall and CPU time and peak memory of one execution,
in the reference's minimal record format (protocol.md §3.7)."""

from __future__ import annotations

import resource
import threading
import time
from typing import Any

from .._version import __version__

SCHEMA_VERSION = 1
_THREAD = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
_local = threading.local()


class _ChildUsage:
    """The resource usage of the child processes this thread reaped."""

    def __init__(self) -> None:
        self.user = self.system = 0.0
        self.peak_kib = 0


def _children() -> _ChildUsage:
    usage = getattr(_local, "children", None)
    if usage is None:
        usage = _local.children = _ChildUsage()
    return usage


def note_child(usage: resource.struct_rusage) -> None:
    """Count a command this thread ran (its os.wait4 usage, which includes
    whatever it started and waited for) into this thread's measurement:
    process-wide RUSAGE_CHILDREN would mix in the commands of the jobs
    running beside it."""
    children = _children()
    children.user += usage.ru_utime
    children.system += usage.ru_stime
    children.peak_kib = max(children.peak_kib, usage.ru_maxrss)


def _reset_peak() -> None:
    """Lower the process's peak memory mark to its current size (Linux)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _process_peak_kib() -> int:
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class Measurement:
    """The figures of one job, started at creation; ``stop()`` (or the end
    of a ``with`` block, also on an error) freezes them.

    CPU time is this thread's plus that of the commands it ran (reaped with
    os.wait4, so jobs running side by side are told apart). Peak memory is
    the command's when the job ran one (a bash transformation; as the
    kernel counts it, that includes the size this process had when it
    started the command, the memory a child has before its exec), else this
    process's peak. A process that runs one job at a time (a spawn worker)
    passes ``reset_peak=True``: its peak mark is lowered to its current
    size first, so that the figure is the job's own. Elsewhere the mark is
    left alone: lowering it would also hide the process's earlier peak
    from whoever waits for the process (a shell's time, a scheduler)."""

    def __init__(self, reset_peak: bool = False) -> None:
        if reset_peak:
            _reset_peak()
        children = _children()
        self._start_children = (children.user, children.system, children.peak_kib)
        children.peak_kib = 0
        self._wall = time.perf_counter()
        self._thread = resource.getrusage(_THREAD)
        self._running = True
        self.wall = self.user = self.system = 0.0
        self.peak = 0

    def stop(self) -> "Measurement":
        """Freeze the figures (a second call changes nothing)."""
        if not self._running:
            return self
        self._running = False
        thread = resource.getrusage(_THREAD)
        self.wall = time.perf_counter() - self._wall
        children = _children()
        user0, system0, peak0 = self._start_children
        self.user = thread.ru_utime - self._thread.ru_utime + children.user - user0
        self.system = thread.ru_stime - self._thread.ru_stime + children.system - system0
        peak_kib = children.peak_kib or _process_peak_kib()
        children.peak_kib = max(peak0, children.peak_kib)
        self.peak = peak_kib * 1024
        return self

    def __enter__(self) -> "Measurement":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def as_dict(self) -> dict[str, Any]:
        return {"wall_time_seconds": self.wall, "cpu_time_user_seconds": self.user,
                "cpu_time_system_seconds": self.system, "memory_peak_bytes": self.peak}


def minimal_record(tf_checksum: str, result_checksum: str, execution_mode: str,
                   figures: dict[str, Any]) -> dict[str, Any]:
    """The minimal execution record, exactly the reference's fields."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tf_checksum": tf_checksum,
        "result_checksum": result_checksum,
        "seamless_version": __version__,
        "execution_mode": execution_mode,
        "remote_target": None,
        "wall_time_seconds": figures.get("wall_time_seconds"),
        "cpu_time_user_seconds": figures.get("cpu_time_user_seconds"),
        "cpu_time_system_seconds": figures.get("cpu_time_system_seconds"),
        "memory_peak_bytes": figures.get("memory_peak_bytes"),
        "gpu_memory_peak_bytes": None,
    }
