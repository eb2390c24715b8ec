"""Helpers to run the reference hashserver and seamless-database for
interoperability tests. They come from the virtualenv of the interpreter
named by SEAMLESS_REFERENCE_PYTHON (never from this project's)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from server_process import HttpClientMixin

REFERENCE_PYTHON = os.environ.get("SEAMLESS_REFERENCE_PYTHON", "")


def reference_tool(name: str) -> str:
    """Path of a reference command-line tool, or skip the test."""
    if not REFERENCE_PYTHON:
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to the interpreter of a virtualenv with the reference")
    path = Path(REFERENCE_PYTHON).parent / name
    if not path.exists():
        pytest.skip(f"the reference virtualenv has no {name}")
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReferenceServer(HttpClientMixin):
    """A reference server process on a free loopback port."""

    def __init__(self, tool: str, args: list[str], cwd: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
        self.process = subprocess.Popen(
            [reference_tool(tool), *args, "--port", str(self.port)] + (["--host", "127.0.0.1"] if tool == "seamless-database" else []),
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{tool} exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                urllib.request.urlopen(self.url + "/healthcheck", timeout=1).read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{tool} did not become healthy")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def has_reference() -> bool:
    return bool(REFERENCE_PYTHON) and shutil.which(REFERENCE_PYTHON) is not None
