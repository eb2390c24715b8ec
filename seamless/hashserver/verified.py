"""Which large files of a buffer folder were found to match their names.

A GET never sends a file whose content does not have the checksum of its
name: small files are hashed as they are read (a few microseconds), large
ones before their first byte goes out. So that a large file is hashed once
and not at every GET, this remembers the versions already found correct, by
identity: device, inode, size, modification and change time. Anything that
rewrites a file (an outside writer, a copy over it, a restore) changes its
change time, which no user can set, and so makes it a version to hash again;
files this server wrote itself are remembered from their upload, which was
verified while it was written. Bytes that rot on the device without any
write are for ``seamless-store verify``.
"""

from __future__ import annotations

import os
from collections import OrderedDict

#: Versions remembered (least recently served forgotten first): a few MB.
CAPACITY = 16_384

Identity = tuple[int, int, int, int, int]


def identity(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class VerifiedFiles:
    """A bounded, least-recently-used set of file versions found correct."""

    def __init__(self, capacity: int = CAPACITY):
        self.capacity = capacity
        self._known: OrderedDict[Identity, None] = OrderedDict()

    def __contains__(self, info: os.stat_result) -> bool:
        key = identity(info)
        if key not in self._known:
            return False
        self._known.move_to_end(key)
        return True

    def add(self, info: os.stat_result) -> None:
        key = identity(info)
        self._known[key] = None
        self._known.move_to_end(key)
        if len(self._known) > self.capacity:
            self._known.popitem(last=False)

    def __len__(self) -> int:
        return len(self._known)
