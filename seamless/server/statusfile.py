"""The status-file protocol of remote-http-launcher (protocol.md §1.2).

The launcher writes a JSON object first; the server waits for it (up to 20
s), then rewrites it keeping every key: ``"status": "running"`` and
``"port"`` once it listens, ``"failed"`` (with an ``"error"`` message) when
start-up fails, and ``"stopped"`` when it shuts down. Every write is a
temporary file plus an atomic rename, one JSON line and a newline.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from typing import Any

from ..exceptions import SeamlessError

WAIT_SECONDS = 20.0


class StatusFileError(SeamlessError, RuntimeError):
    """The status file never appeared, or is not a JSON object."""


class StatusFile:
    """A launcher's status file, read at start and updated as we go."""

    def __init__(self, path: str, wait: float = WAIT_SECONDS):
        self.path = path
        self.contents = self._read(wait)

    def _read(self, wait: float) -> dict[str, Any]:
        """The file's JSON object. A file that is missing, or exists but is
        not yet valid JSON (a launcher that writes it in place, not through
        a rename, may be halfway), is waited for."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(self.path, encoding="utf-8") as f:
                    contents = json.load(f)
                break
            except FileNotFoundError:
                problem = "not found"
            except ValueError:
                problem = "not valid JSON"
            if time.monotonic() > deadline:
                raise StatusFileError(f"Status file '{self.path}' {problem} after {wait:g} seconds")
            time.sleep(0.005)
        if not isinstance(contents, dict):
            raise StatusFileError(f"Status file '{self.path}' must contain a JSON object")
        return contents

    def write(self, status: str, **fields: Any) -> None:
        """Rewrite the file with status and fields added to what was there
        (a ``failed`` drops the port, any other status an earlier run's error).

        Raises:
            StatusFileError: the file cannot be written (the message names
            the file and the reason, never a traceback's worth).
        """
        self.contents = {**self.contents, **fields, "status": status}
        self.contents.pop("port" if status == "failed" else "error", None)
        tmp = f"{self.path}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(json.dumps(self.contents) + "\n")
            os.replace(tmp, self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise StatusFileError(f"cannot write status file '{self.path}': {exc.strerror or exc}") from None

    def running(self, port: int) -> None:
        self.write("running", port=port)

    def failed(self, error: str) -> None:
        self.write("failed", error=error)

    def stopped(self) -> None:
        self.write("stopped")
