"""Where a buffer lives in a buffer folder, the reference hashserver's way.

* ``prefix``: ``DIR/ab/abcd...`` (the first two hex characters), marked by
  a ``DIR/.HASHSERVER_PREFIX`` file holding ``1\\n``;
* ``flat``: ``DIR/abcd...``.

Next to a buffer there may be compressed forms, ``<cs>.zst`` and
``<cs>.gz``, and a ``<cs>.BUFFERLENGTH`` sidecar with the decompressed
length (decimal, no newline). The checksum is always that of the
decompressed bytes.
"""

from __future__ import annotations

import os
from typing import Literal, Union

from ..checksum_class import Checksum
from ..exceptions import SeamlessError

Layout = Literal["prefix", "flat"]
LAYOUTS = ("prefix", "flat")
MARKER = ".HASHSERVER_PREFIX"
MARKER_CONTENT = b"1\n"
COMPRESSED_SUFFIXES = (".zst", ".gz")
LENGTH_SUFFIX = ".BUFFERLENGTH"


class LayoutError(SeamlessError, ValueError):
    """A buffer folder whose layout is not the one asked for."""


def as_checksum(value: Union[Checksum, str, bytes]) -> Checksum:
    """A checksum argument, validated before any path is built from it.

    Raises:
        InvalidChecksumError: not 64 hex characters (so "../x" never reaches
            the file system).
        TypeError: not a str, bytes or Checksum.
    """
    return value if isinstance(value, Checksum) else Checksum(value)


def relative_path(checksum: Checksum, layout: Layout) -> str:
    """The path of a buffer inside its folder."""
    name = checksum.hex()
    return os.path.join(name[:2], name) if layout == "prefix" else name


def detect_layout(directory: str) -> Layout:
    """The layout of a folder: prefix if it has the marker, flat if it has
    content but no marker, prefix (the default) if it is new or empty."""
    if os.path.exists(os.path.join(directory, MARKER)):
        return "prefix"
    try:
        has_content = any(not name.startswith(".") for name in os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        has_content = False
    return "flat" if has_content else "prefix"


def check_layout(directory: str, layout: Layout) -> None:
    """Refuse to treat a prefix-marked folder as flat.

    Raises:
        LayoutError: the folder has the prefix marker but layout is "flat".
    """
    if layout not in LAYOUTS:
        raise LayoutError(f"layout must be 'prefix' or 'flat', not {layout!r}")
    if layout == "flat" and os.path.exists(os.path.join(directory, MARKER)):
        raise LayoutError(
            f"{directory!r} is a prefix-layout buffer folder (it has {MARKER}); "
            "open it with layout='prefix'"
        )


def write_marker(directory: str) -> None:
    """Create the prefix marker if it is missing (atomically)."""
    path = os.path.join(directory, MARKER)
    if os.path.exists(path):
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(MARKER_CONTENT)
    os.replace(tmp, path)


def is_checksum_name(name: str) -> bool:
    """True for a 64-character lowercase hex file name."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)
