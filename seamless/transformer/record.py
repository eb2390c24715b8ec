"""Execution records: wall and CPU time and peak memory of one execution,
in the reference's minimal record format (protocol.md §3.7)."""

from __future__ import annotations

import resource
import time
from typing import Any

from .._version import __version__

SCHEMA_VERSION = 1
_THREAD = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)


class Measurement:
    """Started at creation; ``stop()`` freezes the figures. CPU time is
    this thread's plus that of child processes that ended meanwhile (bash
    commands)."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._thread = resource.getrusage(_THREAD)
        self._children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = self.user = self.system = 0.0
        self.peak = 0

    def stop(self) -> "Measurement":
        thread = resource.getrusage(_THREAD)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.wall = time.perf_counter() - self._wall
        self.user = (thread.ru_utime - self._thread.ru_utime) + (children.ru_utime - self._children.ru_utime)
        self.system = (thread.ru_stime - self._thread.ru_stime) + (children.ru_stime - self._children.ru_stime)
        peak_kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, children.ru_maxrss)
        self.peak = peak_kib * 1024
        return self

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
