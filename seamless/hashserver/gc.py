"""Garbage collection of a buffer folder: what may go, and removing it.

Two kinds of candidates:

* buffers named in a *scratch list* (their results are recorded in the
  database, so fingertipping can recompute them);
* buffers the database does not reach: starting from every checksum the
  database refers to, any stored JSON buffer (a transformation's identity
  dict, a directory index, a deep cell...) that is reached makes every
  checksum inside it reached too. This is conservative: a buffer is kept if
  any reached JSON mentions it.

Nothing is removed unless asked (``collect(..., apply=True)``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Iterable

from .store import BufferStore

#: JSON buffers larger than this are not parsed (they are kept, as leaves).
MAX_JSON_SIZE = 16 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class GcPlan:
    """Buffers that may be removed, and their total size."""

    candidates: list[str] = field(default_factory=list)
    bytes: int = 0
    reached: int = 0


def _checksums_in(value: object) -> Iterable[str]:
    if isinstance(value, str):
        if len(value) == 64 and _HEX64.fullmatch(value):
            yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _checksums_in(key)
            yield from _checksums_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _checksums_in(item)


def reachable(store: BufferStore, roots: Iterable[str]) -> set[str]:
    """Every checksum reached from roots through stored JSON buffers."""
    seen = set(roots)
    pending = list(seen)
    while pending:
        path = store.get_path(pending.pop())
        if path is None:
            continue
        try:
            with open(path, "rb") as f:
                head = f.read(1)
                if head not in (b"{", b"["):
                    continue
                data = head + f.read(MAX_JSON_SIZE)
            value = json.loads(data)
        except (OSError, ValueError):
            continue
        for checksum in _checksums_in(value):
            if checksum not in seen:
                seen.add(checksum)
                pending.append(checksum)
    return seen


def plan(store: BufferStore, *, referenced: Iterable[str] | None = None,
         scratch: Iterable[str] = ()) -> GcPlan:
    """What gc would remove: scratch buffers, and (when referenced is given)
    buffers not reachable from the database's references."""
    stored = {cs.hex() for cs in store}
    candidates = stored & {s.lower() for s in scratch}
    result = GcPlan()
    if referenced is not None:
        reached = reachable(store, referenced)
        result.reached = len(reached & stored)
        candidates |= stored - reached
    result.candidates = sorted(candidates)
    result.bytes = sum(size or 0 for size in store.lengths(result.candidates)) if candidates else 0
    return result


def collect(store: BufferStore, gc_plan: GcPlan, *, apply: bool = False) -> int:
    """Remove the planned buffers if apply; return how many were removed."""
    if not apply:
        return 0
    return sum(store.delete(cs) for cs in gc_plan.candidates)
