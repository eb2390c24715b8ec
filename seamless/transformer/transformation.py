"""Transformation: one computation, identified by its checksum.

An immutable definition (the transformation dict, with dependencies on
other Transformations for pins not known yet) plus a mutable promise (the
result, or the exception). Sync methods block; the async ones run the same
work in a thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Mapping

from ..buffer_class import Buffer
from ..checksum_class import Checksum
from ..exceptions import CacheMissError
from .errors import TransformationError
from .identity import transformation_checksum
from .runtime import get_runtime, store_definition


class Transformation:
    """A transformation that may or may not have run yet."""

    def __init__(self, tf_dict: dict[str, Any], *, dependencies: Mapping[str, "Transformation"] | None = None,
                 pin_buffers: list[Buffer] | None = None, result_celltype: str = "mixed",
                 scratch: bool = False, meta: Mapping[str, Any] | None = None, local: bool = False,
                 allow_input_fingertip: bool = False):
        self._dict = tf_dict
        self._dependencies = dict(dependencies or {})
        self._pin_buffers = list(pin_buffers or [])
        self._celltype = result_celltype
        self._scratch = scratch
        self._meta = dict(meta or {})
        self._local = local
        self.allow_input_fingertip = allow_input_fingertip
        self._tf_checksum: Checksum | None = None
        self._result_checksum: Checksum | None = None
        self._exception: str | None = None
        self._canceled = False
        self._lock = threading.Lock()
        self._background: Future[Any] | None = None

    # -- the steps -------------------------------------------------------------

    def construct(self) -> Checksum | None:
        """Compute the dependencies, then the transformation checksum (None
        on error: see .exception)."""
        try:
            return self._construct()
        except Exception as exc:  # noqa: BLE001 - recorded, not lost
            self._fail(exc)
            return None

    def _construct(self) -> Checksum:
        with self._lock:
            if self._tf_checksum is not None:
                return self._tf_checksum
            for pin, upstream in self._dependencies.items():
                result = upstream._compute(require_value=True)
                celltype, subcelltype, _ = self._dict[pin]
                self._dict[pin] = (celltype, subcelltype, result.hex())
            self._tf_checksum = store_definition(self._dict, self._pin_buffers)
            return self._tf_checksum

    def compute(self) -> Checksum | None:
        """The result checksum (None on error: see .exception)."""
        try:
            return self._compute()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            return None

    def _compute(self, require_value: bool = False) -> Checksum:
        if self._canceled:
            raise TransformationError("the transformation was canceled")
        if self._result_checksum is not None and not require_value:
            return self._result_checksum
        tf = self._construct()
        result = get_runtime().compute(self._dict, tf, scratch=self._scratch, require_value=require_value,
                                       local=self._local)
        self._result_checksum = result
        self._exception = None
        return result

    def run(self) -> Any:
        """The value (computing, or recomputing a scratch result, as needed)."""
        try:
            result = self._compute()
            buffer = get_runtime().fingertip(result)
        except TransformationError as exc:
            self._fail(exc)
            raise
        except CacheMissError as exc:
            self._fail(exc)
            raise TransformationError(f"the result {exc.args[0]} cannot be found or recomputed") from None
        return buffer.get_value(self._celltype)

    def is_cached(self) -> bool:
        """True if the result is known (in memory or in the database); runs
        nothing."""
        tf = self._construct()
        return get_runtime().cached(tf) is not None

    def _fail(self, exc: BaseException) -> None:
        self._exception = str(exc) if isinstance(exc, TransformationError) else f"{type(exc).__name__}: {exc}"

    def clear_exception(self) -> None:
        self._exception = None

    # -- background and async ------------------------------------------------

    def start(self) -> "Transformation":
        """Compute in the background (a thread); returns self."""
        if self._background is None:
            future: Future[Any] = Future()
            self._background = future

            def work() -> None:
                future.set_result(self.compute())

            threading.Thread(target=work, daemon=True, name="seamless-transformation").start()
        return self

    def cancel(self, recursive: bool = False) -> None:
        self._canceled = True
        self._exception = "canceled"
        if recursive:
            for upstream in self._dependencies.values():
                upstream.cancel(recursive=True)

    async def construction(self) -> Checksum | None:
        import asyncio  # only for the async forms: it is slow to import

        return await asyncio.to_thread(self.construct)

    async def computation(self, require_value: bool = False) -> Checksum | None:
        import asyncio

        if require_value:
            return await asyncio.to_thread(lambda: self._compute(require_value=True))
        return await asyncio.to_thread(self.compute)

    async def task(self) -> Any:
        import asyncio

        return await asyncio.to_thread(self.run)

    async def is_cached_async(self) -> bool:
        import asyncio

        return await asyncio.to_thread(self.is_cached)

    # -- properties --------------------------------------------------------------

    @property
    def transformation_checksum(self) -> Checksum:
        if self._tf_checksum is None:
            if self._dependencies:
                raise TransformationError("the transformation checksum is not known before construct()")
            return transformation_checksum(self._dict)
        return self._tf_checksum

    @property
    def result_checksum(self) -> Checksum:
        if self._result_checksum is None:
            raise TransformationError(self._exception or "the transformation has not been computed")
        return self._result_checksum

    @property
    def buffer(self) -> Buffer:
        return get_runtime().fingertip(self.result_checksum)

    @property
    def value(self) -> Any:
        return self.buffer.get_value(self._celltype)

    @property
    def celltype(self) -> str:
        return self._celltype

    @property
    def exception(self) -> str | None:
        return self._exception

    @property
    def status(self) -> str:
        if self._canceled:
            return "Status: canceled"
        if self._exception is not None:
            return "Status: exception"
        if self._result_checksum is not None:
            return "Status: OK"
        if self._tf_checksum is not None:
            return "Status: ready"
        return "Status: pending"

    @property
    def meta(self) -> Mapping[str, Any]:
        return dict(self._meta)

    @property
    def scratch(self) -> bool:
        return self._scratch

    @property
    def logs(self) -> str:
        raise NotImplementedError("logs are not kept")

    @property
    def dict(self) -> dict[str, Any]:
        """The transformation dict (pins of dependencies filled in once constructed)."""
        return dict(self._dict)

    def __repr__(self) -> str:
        tf = self._tf_checksum.hex()[:16] + "..." if self._tf_checksum else "?"
        return f"<Transformation {tf} {self.status}>"
