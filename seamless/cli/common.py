"""What every command-line tool shares: error reporting and progress lines."""

from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

from .. import errormap
from ..exceptions import SeamlessError


class ToolError(SeamlessError, ValueError):
    """A request a tool cannot carry out as given (one line, exit 1)."""


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(body: Callable[[], int], *, debug: bool = False, stream: TextIO | None = None) -> int:
    """Run a tool's body; turn expected errors into ``error: <message>`` and
    the exit code of seamless.errormap (tracebacks only for the unexpected,
    or with debug). SIGTERM is an interruption, as Ctrl-C: cleanup runs,
    the exit code is 130."""
    import signal
    import threading

    err = stream or sys.stderr
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return body()
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. "| head"): stop quietly, as cat does.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return errormap.EXIT_OK
    except Exception as exc:  # noqa: BLE001 - this is the tool's last line
        if debug or not errormap.is_expected(exc):
            import traceback

            traceback.print_exc(file=err)
        else:
            err.write(f"error: {exc}\n")
        return errormap.exit_code(exc)


class Progress:
    """A one-line progress report, redrawn at most every 0.2 s, shown only on
    a terminal (quiet in pipes and CI) and never with quiet=True."""

    def __init__(self, label: str, *, quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.enabled = not quiet and self.stream.isatty()
        self.label = label
        self._last = 0.0
        self._shown = False

    def update(self, text: str, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if force or now - self._last >= 0.2:
            self.stream.write(f"\r{self.label}: {text}\x1b[K")
            self.stream.flush()
            self._last = now
            self._shown = True

    def report_bytes(self, done: int, total: int) -> None:
        """A progress(done, total) callback for byte counts."""
        self.update(f"{human_bytes(done)} of {human_bytes(total)}")

    def done(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def human_bytes(n: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_duration(seconds: float) -> str:
    """A duration as 45s, 3m07s or 26h00m."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> float:
    """A command-line duration in seconds: 90, 90s, 30m, 12h or 2d (an
    argparse type: a wrong one is a usage error naming it)."""
    import argparse

    number, unit = (text[:-1], text[-1]) if text and text[-1] in _UNITS else (text, "s")
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (seconds, or a number with s, m, h or d)")
    return value
