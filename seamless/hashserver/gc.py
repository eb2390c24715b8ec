"""Garbage collection of a buffer folder: what may go, and removing it.

Two kinds of candidates:

* buffers named in a *scratch list* (their results are recorded in the
  database, so fingertipping can recompute them);
* buffers the database does not reach: starting from every checksum the
  database refers to, any stored JSON buffer (a transformation's identity
  dict, a directory index, a deep cell...) that is reached makes every
  checksum inside it reached too. This is conservative: a buffer is kept if
  any reached JSON mentions it. JSON buffers are not parsed but scanned for
  checksums (64 lowercase hex digits), whatever their size, stored plain or
  compressed, in bounded memory; text that merely looks like a checksum
  keeps a buffer, never removes one.

Buffers the database does not reach are kept while they are young
(``min_age``): a client uploads a transformation's inputs and its result
before it records the result, and a job may run for hours in between. Only
new files count as young: a buffer stored long ago and used again now (a
client does not upload what the server has) is not protected by this.

Nothing is removed unless asked (``collect(..., apply=True)``).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import IO, Iterable

from .store import BufferStore

#: Seconds a buffer the database does not reach is kept after it is written.
MIN_AGE = 86400.0
#: Bytes of a JSON buffer scanned at a time.
SCAN_PIECE = 1 << 20
#: A checksum in JSON text: 64 hex digits, not part of a longer run.
_NAMED = re.compile(rb"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass
class GcPlan:
    """Buffers that may be removed, and their total size."""

    candidates: list[str] = field(default_factory=list)
    bytes: int = 0
    reached: int = 0
    #: Buffers the database does not reach, kept as younger than min_age.
    young: int = 0


def reachable(store: BufferStore, roots: Iterable[str]) -> set[str]:
    """Every checksum reached from roots through stored JSON buffers."""
    seen = set(roots)
    pending = list(seen)
    while pending:
        checksum = pending.pop()
        if checksum not in store:
            continue
        try:
            with store.open(checksum) as stream:
                named = _named_in(stream)
        except (OSError, LookupError, ValueError):
            continue
        for checksum in named - seen:
            seen.add(checksum)
            pending.append(checksum)
    return seen


def _named_in(stream: IO[bytes]) -> set[str]:
    """The checksums a buffer that starts as JSON does ({ or [) names; none
    for other buffers. Read piece by piece: a piece keeps the last 64 bytes
    of the one before, so that no checksum is cut in two (one at the end of
    the buffer so far counts even if more hex digits follow: keeping too
    much is harmless)."""
    first = stream.read(1)
    if first not in (b"{", b"["):
        return set()
    found: set[str] = set()
    text = first
    while True:
        piece = stream.read(SCAN_PIECE)
        text += piece
        found.update(m.decode() for m in _NAMED.findall(text))
        if not piece:
            return found
        text = text[-64:]


def plan(store: BufferStore, *, referenced: Iterable[str] | None = None,
         scratch: Iterable[str] = (), min_age: float = MIN_AGE) -> GcPlan:
    """What gc would remove: scratch buffers, and (when referenced is given)
    buffers not reachable from the database's references whose files are at
    least min_age seconds old."""
    written = store.modified()
    stored = set(written)
    candidates = stored & {s.lower() for s in scratch}
    result = GcPlan()
    if referenced is not None:
        reached = reachable(store, referenced)
        result.reached = len(reached & stored)
        cutoff = time.time() - min_age
        unreached = stored - reached
        old = {cs for cs in unreached if written[cs] <= cutoff}
        result.young = len(unreached - old - candidates)
        candidates |= old
    result.candidates = sorted(candidates)
    result.bytes = sum(size or 0 for size in store.lengths(result.candidates)) if candidates else 0
    return result


def collect(store: BufferStore, gc_plan: GcPlan, *, apply: bool = False) -> int:
    """Remove the planned buffers if apply; return how many were removed."""
    if not apply:
        return 0
    return sum(store.delete(cs) for cs in gc_plan.candidates)
