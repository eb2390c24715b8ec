"""SEAMLESS_REMOTE_CLIENTS: pointing a process at running services.

The JSON is the reference's (config.md §4.11)::

    {"database": [{"readonly": false, "url": "http://localhost:55256",
                   "remote_url": "http://localhost:55256"}],
     "buffer":   [{"readonly": false, "url": "http://localhost:55121",
                   "remote_url": "...", "directory": "/home/u/buffers/p",
                   "remote_directory": "~/buffers/p"}]}

``url``/``directory`` are valid where the services were set up,
``remote_url``/``remote_directory`` inside the cluster (workers). A buffer
entry whose directory is reachable from here is used in process.
"""

from __future__ import annotations

import json
import os
from typing import Any, NamedTuple

from .errors import ConfigurationError

ENV = "SEAMLESS_REMOTE_CLIENTS"


class ClientEntry(NamedTuple):
    kind: str  # "buffer" or "database"
    url: str | None
    directory: str | None
    readonly: bool

    def to_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"readonly": self.readonly, "url": self.url, "remote_url": self.url}
        if self.kind == "buffer" and self.directory is not None:
            entry["directory"] = self.directory
            if not self.readonly:
                entry["remote_directory"] = self.directory
        return entry


def parse(value: Any, in_remote: bool = True, source: str = ENV) -> list[ClientEntry]:
    """The entries of a SEAMLESS_REMOTE_CLIENTS value (a JSON string or the
    decoded mapping). in_remote picks remote_url/remote_directory where
    given (the view from inside the cluster)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigurationError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{source}: expected a JSON object with 'buffer' and 'database' lists")
    unknown = set(value) - {"buffer", "database", "record"}
    if unknown:
        raise ConfigurationError(f"{source}: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                                 "(expected 'buffer', 'database')")
    entries = []
    for kind in ("buffer", "database"):
        items = value.get(kind) or []
        if not isinstance(items, list):
            raise ConfigurationError(f"{source}: '{kind}' must be a list")
        for i, item in enumerate(items):
            where = f"{source}: {kind}[{i}]"
            if not isinstance(item, dict):
                raise ConfigurationError(f"{where}: expected an object")
            url = item.get("remote_url") if in_remote and item.get("remote_url") else item.get("url")
            directory = None
            if kind == "buffer":
                directory = (item.get("remote_directory") if in_remote and item.get("remote_directory")
                             else item.get("directory"))
            if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
                raise ConfigurationError(f"{where}: url must be an http:// URL, got {url!r}")
            if directory is not None and not isinstance(directory, str):
                raise ConfigurationError(f"{where}: directory must be a path, got {directory!r}")
            if url is None and directory is None:
                raise ConfigurationError(f"{where}: needs a 'url'" + (" or a 'directory'" if kind == "buffer"
                                                                        else ""))
            readonly = item.get("readonly", False)
            if not isinstance(readonly, bool):
                raise ConfigurationError(f"{where}: readonly must be true or false")
            entries.append(ClientEntry(kind, url, os.path.expanduser(directory) if directory else None,
                                       readonly))
    return entries


def from_env() -> list[ClientEntry] | None:
    """The entries of $SEAMLESS_REMOTE_CLIENTS, None when it is unset."""
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        return None
    return parse(raw)


def primary(entries: list[ClientEntry], kind: str) -> ClientEntry | None:
    """The entry used for kind: the first writable one, else the first."""
    of_kind = [e for e in entries if e.kind == kind]
    for entry in of_kind:
        if not entry.readonly:
            return entry
    return of_kind[0] if of_kind else None


def to_json(entries: list[ClientEntry]) -> str:
    return json.dumps({kind: [e.to_json() for e in entries if e.kind == kind] for kind in ("database", "buffer")})
