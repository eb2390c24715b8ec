"""Starting a server process the way the launcher does, and knowing its port.

A status file holding a JSON object is written first; the server is given
``--status-file`` and ``--port 0`` (any free port) unless a port was asked
for, and reports ``running`` with its port there once it listens, or
``failed`` with the reason. Nothing guesses a port, so nothing races for one.
Works for the reference's servers too (they speak the same status-file
protocol).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

MODULES = {"hashserver": "seamless.hashserver", "seamless-database": "seamless.database"}


class LaunchError(RuntimeError):
    """The server did not start (its status, or its last words, say why)."""


class LaunchedServer:
    """A server process started by launch()."""

    def __init__(self, command: Sequence[str], cwd: str | os.PathLike[str] | None = None,
                 env: dict[str, str] | None = None, wait: float = 60.0,
                 status_file: str | os.PathLike[str] | None = None,
                 log_file: str | os.PathLike[str] | None = None):
        self.command = list(command)
        if status_file is None:
            fd, name = tempfile.mkstemp(prefix="seamless-status-", suffix=".json")
            os.close(fd)
            status_file = name
            self._own_status = True
        else:
            self._own_status = False
        self.status_file = Path(status_file)
        self.status_file.write_text(json.dumps({"workdir": os.fspath(cwd or os.getcwd())}))
        if "--port" not in self.command and "--port-range" not in self.command:
            self.command += ["--port", "0"]
        self.command += ["--status-file", str(self.status_file)]
        # The server's output goes to a file, never to a pipe: a pipe nobody
        # reads fills up, and the server would block on its next log line.
        self.log_file = Path(log_file) if log_file is not None else Path(f"{self.status_file}.log")
        self._own_log = log_file is None
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=cwd, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.port = self._wait_running(wait)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, size: int = 2000) -> str:
        """The end of the server's output."""
        try:
            with open(self.log_file, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_file) - size))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_file.read_text())
        except (OSError, ValueError):
            return {}

    def _wait_running(self, wait: float) -> int:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            status = self.status()
            if status.get("status") == "running":
                return int(status["port"])
            if status.get("status") == "failed" or self.process.poll() is not None:
                self.process.wait(timeout=10)
                raise LaunchError(f"{self.command[0]} did not start: {status.get('error') or self.log_tail()}")
            time.sleep(0.02)
        self.stop()
        raise LaunchError(f"{self.command[0]} did not start within {wait} s")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Stop the server (gracefully, unless sig says otherwise); its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._own_status:
            self.status_file.unlink(missing_ok=True)
        if self._own_log:
            self.log_file.unlink(missing_ok=True)
        return self.process.returncode

    def __enter__(self) -> "LaunchedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch(kind: str, args: Sequence[str], **options: Any) -> LaunchedServer:
    """Start our ``hashserver`` or ``seamless-database`` with this Python."""
    return LaunchedServer([sys.executable, "-m", MODULES[kind], *args], **options)
