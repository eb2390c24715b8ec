"""Each test: a private SEAMLESS_CACHE (or none), the configuration and the
transformation caches of this process forgotten before and after."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import seamless.config
from seamless.transformer.runtime import reset_runtime

ENV_VARIABLES = ("SEAMLESS_CACHE", "SEAMLESS_REMOTE_CLIENTS", "SEAMLESS_CONFIG_DIR", "REMOTE_HTTP_LAUNCHER_DIR")


@pytest.fixture
def memory(tmp_path, monkeypatch):
    """No configuration: the in-memory cache only."""
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    seamless.config.reset()
    reset_runtime()
    yield tmp_path
    seamless.config.reset()
    reset_runtime()


@pytest.fixture
def cache(memory, monkeypatch):
    """SEAMLESS_CACHE in a temporary folder, initialized; the folder."""
    folder = memory / "cache"
    monkeypatch.setenv("SEAMLESS_CACHE", str(folder))
    seamless.config.init()
    return folder


@pytest.fixture
def run_script():
    """run_script(folder, code, **env): the code in a new Python process."""
    return _run_script


def _run_script(folder, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run code in a new Python process with SEAMLESS_CACHE=folder/cache."""
    script = folder / "script.py"
    script.write_text(textwrap.dedent(code))
    environment = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
    environment.update(SEAMLESS_CACHE=str(folder / "cache"), **env)
    return subprocess.run([sys.executable, str(script)], cwd=folder, env=environment, capture_output=True,
                          text=True, timeout=300)
