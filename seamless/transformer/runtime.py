"""The transformation cache and where transformations run (cli.md §6.3).

Lookup order: the in-memory cache of this process, then the result
database of the configuration (``seamless.config.init()``), then an
execution of the same checksum already running in this process (waited
for, not repeated), then execution. After an execution the result buffer
goes to the buffer store (only to memory when scratch), and the
transformation -> result record, its reverse lookup and an execution record
(wall and CPU time, peak memory) to the database.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from typing import Any, Iterable, Sequence

from ..buffer_class import Buffer
from ..caching import resolve as _resolve
from ..caching.buffer_cache import get_buffer_cache
from ..checksum_class import Checksum
from ..exceptions import CacheMissError, ConflictError
from . import execute
from .errors import TransformationError
from .identity import dunder_envelope, identity_buffer
from .record import Measurement, minimal_record

LOGGER = logging.getLogger(__name__)


def _stores() -> Any:
    """The stores connected by seamless.config.init(), or None (memory only)."""
    from ..config.session import SESSION

    return SESSION.stores


def execution_mode() -> str:
    from ..config.session import SESSION

    return SESSION.config.execution if SESSION.config is not None else "process"


def _store_source(checksum: Checksum) -> Buffer | None:
    """A buffer source for seamless.caching: the configured buffer store."""
    stores = _stores()
    if stores is None or stores.buffers is None:
        return None
    try:
        return Buffer(stores.buffers.get(checksum), checksum=checksum)
    except CacheMissError:
        return None


def store_path(checksum: Checksum) -> str | None:
    """The file of a buffer in the configured store, when that store is a
    folder on this machine (bash transformations copy it from there)."""
    stores = _stores()
    store = getattr(stores.buffers, "store", None) if stores is not None else None
    return store.get_path(checksum) if store is not None else None


def _workspace_root() -> str | None:
    """Where bash workspaces go: inside a writable store folder on this
    machine (so that inputs can be hard-linked from it), else the system's
    temporary folder."""
    stores = _stores()
    store = getattr(stores.buffers, "store", None) if stores is not None else None
    if store is None or not store.writable:
        return None
    return os.path.join(store.directory, ".workspaces")


class Runtime:
    """The per-process transformation cache and executor."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results: dict[Checksum, Checksum] = {}
        self.reverse: dict[Checksum, set[Checksum]] = {}
        self.dicts: dict[Checksum, dict[str, Any]] = {}
        self.active: dict[Checksum, Future[Checksum]] = {}
        self.stored: set[Checksum] = set()  # buffers known to be in the buffer store below
        self._stored_in: Any = None
        _resolve.register_source(_store_source)

    # -- buffers -------------------------------------------------------------

    def resolve(self, checksum: Checksum) -> Buffer:
        """The buffer of checksum (cache, then the stores), else CacheMissError."""
        buffer = _resolve.resolve_buffer(checksum)
        if buffer is None:
            raise CacheMissError(checksum)
        return buffer

    def resolvable(self, checksum: Checksum) -> bool:
        if get_buffer_cache().get(checksum) is not None:
            return True
        stores = _stores()
        if stores is not None and stores.buffers is not None:
            return stores.buffers.has([checksum])[0]
        return False

    def keep(self, buffers: Iterable[Buffer], scratch: bool = False) -> None:
        """Keep buffers: in memory (temporarily), and in the buffer store
        unless scratch. The store is asked once which it lacks, and gets only
        those."""
        stores = _stores()
        target = stores.buffers if stores is not None else None
        if target is not self._stored_in:  # another store (a stage change, a new init())
            self.stored.clear()
            self._stored_in = target
        cache = get_buffer_cache()
        pending: dict[Checksum, Buffer] = {}
        for buffer in buffers:
            checksum = buffer.get_checksum()
            cache.tempref(checksum, buffer)
            if not scratch and checksum not in self.stored:
                pending[checksum] = buffer
        if not pending or target is None:
            return
        wanted = list(pending)
        present = target.has(wanted)  # one batched look first: most buffers are there already
        missing = [pending[cs] for cs, ok in zip(wanted, present) if not ok]
        if missing:
            target.put_many([b.content for b in missing])
        self.stored.update(wanted)

    # -- lookups -------------------------------------------------------------

    def cached(self, tf: Checksum, require_value: bool = False) -> Checksum | None:
        """The known result of tf (memory, then the database), or None."""
        result = self.results.get(tf)
        if result is not None and (not require_value or self.resolvable(result)):
            return result
        stores = _stores()
        if stores is not None and stores.results is not None:
            result = stores.results.get_transformation(tf)
            if result is not None and (not require_value or self.resolvable(result)):
                self._remember(tf, result)
                return result
        return None

    def cached_many(self, tfs: Sequence[Checksum]) -> list[Checksum | None]:
        """cached() for many at once: one database query for all misses."""
        found: list[Checksum | None] = [self.results.get(tf) for tf in tfs]
        missing = [i for i, r in enumerate(found) if r is None]
        stores = _stores()
        if missing and stores is not None and stores.results is not None:
            answers = stores.results.get_transformations([tfs[i] for i in missing])
            for i, result in zip(missing, answers):
                if result is not None:
                    self._remember(tfs[i], result)
                    found[i] = result
        return found

    def _remember(self, tf: Checksum, result: Checksum) -> None:
        with self.lock:
            self.results[tf] = result
            self.reverse.setdefault(result, set()).add(tf)

    # -- computing -----------------------------------------------------------

    def compute(self, tf_dict: dict[str, Any], tf: Checksum, *, scratch: bool = False,
                require_value: bool = False, local: bool = False) -> Checksum:
        """The result checksum of tf: from a cache, from an execution already
        running, or from a new execution."""
        self.dicts.setdefault(tf, tf_dict)
        result = self.cached(tf, require_value)
        if result is not None:
            return result
        with self.lock:
            # an execution that finished since the lookup above left its result here
            # before it left self.active: look again under the lock
            done = self.results.get(tf)
            if done is not None and (not require_value or self.resolvable(done)):
                return done
            future = self.active.get(tf)
            owner = future is None
            if owner:
                future = self.active[tf] = Future()
        assert future is not None
        if not owner:
            return future.result()
        try:
            result = self._execute(tf_dict, tf, scratch=scratch, local=local)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(result)
            return result
        finally:
            with self.lock:
                self.active.pop(tf, None)

    def _execute(self, tf_dict: dict[str, Any], tf: Checksum, *, scratch: bool, local: bool,
                 record: bool = True) -> Checksum:
        forced_local = local or bool((tf_dict.get("__meta__") or {}).get("local"))
        from .pool import has_spawned

        mode = "process" if forced_local else ("spawn" if has_spawned() else execution_mode())
        if mode == "remote":
            raise TransformationError("execution 'remote' is not available in this version: use "
                                      "'execution: process' or 'execution: spawn'")
        if mode == "spawn":
            from .pool import get_pool

            result_buffer, leaves, figures = get_pool().run(tf_dict, self.resolve)
        else:
            with Measurement() as measurement:
                result_buffer, leaves = execute.run(tf_dict, self.resolve, store_path, _workspace_root())
            figures = measurement.as_dict()
        result = result_buffer.get_checksum()
        self.keep(leaves)  # the leaves of a deep result are kept even when scratch, as in the reference
        self.keep([result_buffer], scratch=scratch)
        self._remember(tf, result)
        stores = _stores()
        if stores is not None and stores.results is not None:
            stores.results.set_transformation(tf, result)
            if record:
                entry = minimal_record(tf.hex(), result.hex(), mode, figures)
                envelope = replay_envelope(tf_dict)
                if envelope:
                    # what the identity leaves out but a recomputation needs
                    # (META__ pins, the environment): kept so that fingertipping
                    # in another process can run it (the reference loses it)
                    buffer = Buffer(envelope, "plain")
                    self.keep([buffer])
                    entry[ENVELOPE_FIELD] = buffer.get_checksum().hex()
                try:
                    stores.results.set_metadata(tf, result, entry)
                except ConflictError as exc:  # a record from an earlier run: evidence, not identity
                    LOGGER.info("execution record of %s not replaced: %s", tf.hex(), exc)
        return result

    # -- fingertipping -------------------------------------------------------

    def _recorded_envelope(self, tf: Checksum, active: set[Checksum]) -> dict[str, Any]:
        """The replay envelope that the execution record of tf points to."""
        stores = _stores()
        if stores is None or stores.results is None:
            return {}
        record = stores.results.get_metadata(tf) or {}
        envelope = record.get(ENVELOPE_FIELD) if isinstance(record, dict) else None
        if not envelope:
            return {}
        value = self.fingertip(Checksum(envelope), active).get_value("plain")
        return value if isinstance(value, dict) else {}

    def fingertip(self, checksum: Checksum, _active: set[Checksum] | None = None) -> Buffer:
        """The buffer of checksum; if no store has it, recompute it from a
        transformation that produced it (recursively through its inputs),
        checking that the result matches. A mismatch is recorded as
        irreproducible."""
        buffer = _resolve.resolve_buffer(checksum)
        if buffer is not None:
            return buffer
        active = _active if _active is not None else set()
        if checksum in active:
            raise CacheMissError(checksum)
        active.add(checksum)
        candidates = set(self.reverse.get(checksum, ()))
        stores = _stores()
        if stores is not None and stores.results is not None:
            candidates.update(stores.results.get_rev_transformations(checksum))
        for tf in sorted(candidates):
            tf_dict = self.dicts.get(tf)
            if tf_dict is None:
                try:
                    tf_dict = self.fingertip(tf, active).get_value("plain")
                    tf_dict.update(self._recorded_envelope(tf, active))
                except CacheMissError:
                    continue
            try:
                result_buffer, leaves = execute.run(tf_dict, lambda cs: self.fingertip(cs, active))
            except (TransformationError, CacheMissError) as exc:
                LOGGER.warning("recomputing %s for %s failed: %s", tf.hex(), checksum.hex(), exc)
                continue
            if result_buffer.get_checksum() == checksum:
                self.keep(leaves)
                self.keep([result_buffer], scratch=True)
                return result_buffer
            LOGGER.warning("transformation %s gave %s, not %s: irreproducible", tf.hex(),
                           result_buffer.get_checksum().hex(), checksum.hex())
            if stores is not None and stores.results is not None:
                try:
                    stores.results.set_irreproducible(tf, checksum)
                except (ConflictError, OSError) as exc:
                    LOGGER.warning("could not record %s as irreproducible: %s", tf.hex(), exc)
            with self.lock:
                if self.results.get(tf) == checksum:
                    del self.results[tf]
        raise CacheMissError(checksum)


_RUNTIME: Runtime | None = None
_RUNTIME_LOCK = threading.Lock()


def get_runtime() -> Runtime:
    global _RUNTIME
    if _RUNTIME is None:
        with _RUNTIME_LOCK:
            if _RUNTIME is None:
                _RUNTIME = Runtime()
    return _RUNTIME


_resolve.register_fingertipper(lambda checksum: get_runtime().fingertip(checksum))


#: The field of an execution record that names the replay envelope.
ENVELOPE_FIELD = "replay_envelope"


def replay_envelope(tf_dict: dict[str, Any]) -> dict[str, Any]:
    """The keys of tf_dict outside its identity that a recomputation needs:
    META__ pins and the environment."""
    return {k: v for k, v in tf_dict.items() if k.startswith("META__") or k == "__env__"}


def reset_runtime() -> None:
    """Forget the in-memory caches of this process (the stores keep what
    they have); for tests and notebooks."""
    global _RUNTIME
    with _RUNTIME_LOCK:
        if _RUNTIME is not None:
            _resolve.unregister_source(_store_source)
            _RUNTIME = None


def store_definition(tf_dict: dict[str, Any], pin_buffers: Iterable[Buffer]) -> Checksum:
    """Keep the pins' buffers and the identity buffer (so that the
    transformation can be fingertipped and run elsewhere); its checksum."""
    identity = identity_buffer(tf_dict)
    get_runtime().keep([*pin_buffers, identity])
    return identity.get_checksum()


__all__ = ["Runtime", "get_runtime", "reset_runtime", "store_definition", "dunder_envelope"]
