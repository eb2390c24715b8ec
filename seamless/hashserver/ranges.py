"""Range requests on GET /{checksum} (RFC 9110 §14), as the reference answers them.

A buffer never changes under its checksum, so a range is always of the same
bytes: ``If-Range`` needs no check. One range gets ``206`` with
``Content-Range``; a range that starts at or past the end gets ``416`` with
``Content-Range: bytes */SIZE``; a header that is not a byte range at all
gets the reference's ``400``s. Several ranges in one header get the whole
buffer (``200``), which RFC 9110 allows, where the reference would send a
multipart answer; no client of the protocol asks for that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RangeRefused(Exception):
    """The answer to a Range header that cannot be served."""

    status: int
    message: str = ""
    size: int = 0


def requested_range(header: str, size: int) -> tuple[int, int] | None:
    """The (start, end) bytes, end exclusive, that a Range header asks of a
    buffer of size bytes; None for the whole buffer.

    Raises:
        RangeRefused: 400 for a header that is no byte range, 416 for a
        range that starts at or past the end.
    """
    unit, sep, specs = header.partition("=")
    if not sep:
        raise RangeRefused(400, "Malformed range header.")
    if unit.strip().lower() != "bytes":
        raise RangeRefused(400, "Only support bytes range")
    ranges = [r for r in (_one(spec, size) for spec in specs.split(",")) if r is not None]
    if not ranges:
        raise RangeRefused(400, "Range header: range must be requested")
    if any(not 0 <= start < size for start, _ in ranges):
        raise RangeRefused(416, size=size)
    if any(start >= end for start, end in ranges):
        raise RangeRefused(400, "Range header: start must be less than end")
    return ranges[0] if len(ranges) == 1 else None


def _one(spec: str, size: int) -> tuple[int, int] | None:
    """One ``first-last``, ``first-`` or ``-suffix``; None for a part that
    is not one (ignored, as the reference ignores it)."""
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or not (first or last):
        return None
    try:
        if not first:  # the last `last` bytes
            return max(size - int(last), 0), size
        start = int(first)
        return start, (min(int(last) + 1, size) if last else size)
    except ValueError:
        return None


def content_range(start: int, end: int, size: int) -> str:
    return f"bytes {start}-{end - 1}/{size}"
