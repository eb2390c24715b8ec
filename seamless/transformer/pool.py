"""execution: spawn: a pool of worker processes (cli.md §6.6).

Workers have no stores and no database: the parent resolves every buffer a
transformation needs and hands it over, small ones in the request and large
ones (from 64 KiB) through POSIX shared memory, one copy each way instead of
pickled copies; large results come back the same way. A worker that dies
is replaced and its job sent again (twice at most).
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker, shared_memory
from typing import Any, Callable

from ..buffer_class import Buffer
from ..checksum_class import Checksum
from .errors import TransformationError
from .identity import META_PREFIX, is_pin

SHARED_MEMORY_MIN = 64 * 1024
RETRIES = 2


def _needed(tf_dict: dict[str, Any], resolve: Callable[[Checksum], Buffer]) -> list[str]:
    """Every buffer the execution will ask for, once each: the pins, the
    files of folder pins, the environment."""
    needed: dict[str, None] = {}
    formats = tf_dict.get("__format__") or {}
    for key, value in tf_dict.items():
        if not ((is_pin(key) or key.startswith(META_PREFIX)) and isinstance(value, (list, tuple))):
            continue
        needed[value[2]] = None
        if ((formats.get(key) or {}).get("filesystem") or {}).get("mode") == "directory":
            for leaf in resolve(Checksum(value[2])).get_value("plain").values():
                needed[leaf] = None
    if tf_dict.get("__env__"):
        needed[tf_dict["__env__"]] = None
    return list(needed)


def _attach(name: str) -> shared_memory.SharedMemory:
    """Attach to a block the other side owns (and will unlink): not ours
    to track."""
    block = shared_memory.SharedMemory(name=name)
    try:
        resource_tracker.unregister(block._name, "shared_memory")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - only the tracker's bookkeeping
        pass
    return block


def _export(data: bytes) -> tuple[str, Any, int]:
    if len(data) < SHARED_MEMORY_MIN:
        return ("bytes", data, len(data))
    block = shared_memory.SharedMemory(create=True, size=len(data))
    block.buf[:len(data)] = data
    name = block.name
    block.close()
    return ("shm", name, len(data))


def _import(item: tuple[str, Any, int]) -> bytes:
    kind, data, size = item
    if kind == "bytes":
        return data
    block = _attach(data)
    try:
        return bytes(block.buf[:size])
    finally:
        block.close()


def _worker_run(tf_dict: dict[str, Any], payload: dict[str, tuple[str, Any, int]]) -> dict[str, Any]:
    """In the worker: execute with the handed-over buffers."""
    from . import execute
    from .record import Measurement

    buffers = {cs: Buffer(_import(item)) for cs, item in payload.items()}

    def resolve(checksum: Checksum) -> Buffer:
        try:
            return buffers[checksum.hex()]
        except KeyError:
            raise TransformationError(f"buffer {checksum.hex()} was not handed to the worker") from None

    with Measurement(reset_peak=True) as measurement:  # a worker runs one job at a time
        result, leaves = execute.run(tf_dict, resolve)
    figures = measurement.as_dict()
    return {"result": _export(result.content), "leaves": [_export(leaf.content) for leaf in leaves],
            "figures": figures}


def _release(item: tuple[str, Any, int]) -> None:
    if item[0] == "shm":
        block = shared_memory.SharedMemory(name=item[1])
        block.close()
        block.unlink()


class SpawnPool:
    """N worker processes started with the spawn method."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("a spawn pool needs at least one worker")
        self.workers = workers
        self._lock = threading.Lock()
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"))

    def run(self, tf_dict: dict[str, Any], resolve: Callable[[Checksum], Buffer]
            ) -> tuple[Buffer, list[Buffer], dict[str, Any]]:
        """Execute tf_dict in a worker: (result, leaves, figures)."""
        payload: dict[str, tuple[str, Any, int]] = {}
        try:
            for cs in _needed(tf_dict, resolve):
                payload[cs] = _export(resolve(Checksum(cs)).content)
            for attempt in range(RETRIES + 1):
                executor = self._executor
                try:
                    answer = executor.submit(_worker_run, tf_dict, payload).result()
                    break
                except BrokenProcessPool:
                    with self._lock:
                        if self._executor is executor:
                            self._executor = self._new_executor()
                    if attempt == RETRIES:
                        raise TransformationError("the worker process died while running the transformation "
                                                  f"({RETRIES + 1} attempts)") from None
        finally:
            for item in payload.values():
                _release(item)
        try:
            result = Buffer(_import(answer["result"]))
            leaves = [Buffer(_import(item)) for item in answer["leaves"]]
        finally:
            for item in [answer["result"], *answer["leaves"]]:
                _release(item)
        return result, leaves, answer["figures"]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


_POOL: SpawnPool | None = None
_POOL_LOCK = threading.Lock()


def spawn(workers: int | None = None) -> SpawnPool:
    """Start the worker pool (once per process; workers default to
    seamless.config's nparallel, which defaults to the number of cores)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            if multiprocessing.parent_process() is not None:
                raise RuntimeError("spawn() can only be called in the main process")
            if workers is None:
                import seamless.config

                workers = seamless.config.get_nparallel()
            _POOL = SpawnPool(workers)
        return _POOL


def has_spawned() -> bool:
    """True once spawn() started the pool (transformations then go to it)."""
    return _POOL is not None


def get_pool() -> SpawnPool:
    return _POOL if _POOL is not None else spawn()
