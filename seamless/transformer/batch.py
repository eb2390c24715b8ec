"""Many transformations at once: one database query for all of them, then
the misses computed with at most nparallel in flight (cli.md §6.1)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterable, Iterator

from ..checksum_class import Checksum
from .runtime import get_runtime
from .transformation import Transformation


def _nparallel(nparallel: int | None) -> int:
    if nparallel is not None:
        if nparallel < 1:
            raise ValueError("nparallel must be a positive integer")
        return nparallel
    import seamless.config

    return seamless.config.get_nparallel()


def parallel(transformations: Iterable[Transformation], nparallel: int | None = None) -> Iterator[Transformation]:
    """Compute all transformations; yield them in input order, each as soon
    as it and all before it are done (look at .result_checksum / .exception).

    The known results are looked up in one batch; the others are computed
    with at most nparallel in flight (default: seamless.config's nparallel,
    which defaults to the number of cores)."""
    items = list(transformations)
    tfs = [t.construct() for t in items]
    known = get_runtime().cached_many([tf for tf in tfs if tf is not None])
    answers = iter(known)
    pending = []
    for t, tf in zip(items, tfs):
        result = next(answers) if tf is not None else None
        if result is not None:
            t._result_checksum = result
        elif tf is not None:
            pending.append(t)
    if not pending:
        yield from items
        return
    with ThreadPoolExecutor(_nparallel(nparallel)) as pool:
        futures = {id(t): pool.submit(t.compute) for t in pending}
        for t in items:
            future = futures.get(id(t))
            if future is not None:
                future.result()
            yield t


class TransformationList(list):
    """A list of transformations computed together, with a progress line on
    a terminal and the errors counted.

    on_error: None (keep going, see .errors), "print" (print each error as
    it comes) or "raise" (stop at the first one)."""

    def __init__(self, transformations: Iterable[Transformation], show_progress: bool = True,
                 on_error: str | None = None, nparallel: int | None = None):
        super().__init__(transformations)
        if on_error not in (None, "print", "raise"):
            raise ValueError("on_error must be None, 'print' or 'raise'")
        self.show_progress = show_progress
        self.on_error = on_error
        self.nparallel = nparallel
        self.errors: dict[int, str] = {}

    def compute(self) -> list[Checksum | None]:
        """The result checksums (None where the transformation failed)."""
        from ..cli.common import Progress

        progress = Progress("transformations", quiet=not self.show_progress)
        results: list[Checksum | None] = []
        for i, t in enumerate(parallel(self, self.nparallel)):
            if t.exception is not None:
                self.errors[i] = t.exception
                if self.on_error == "raise":
                    progress.done()
                    from .errors import TransformationError

                    raise TransformationError(f"transformation {i}: {t.exception}")
                if self.on_error == "print":
                    print(f"transformation {i}: {t.exception}")
                results.append(None)
            else:
                results.append(t.result_checksum)
            progress.update(f"{i + 1}/{len(self)} done, {len(self.errors)} failed")
        progress.done()
        return results
