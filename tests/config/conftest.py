"""A private HOME, project folder and launcher folder for every test, and
every service a test started stopped at its end."""

from __future__ import annotations

import os
import random
import textwrap
from pathlib import Path

import pytest

import seamless.config
from seamless.config import services

ENV_VARIABLES = ("SEAMLESS_CACHE", "SEAMLESS_REMOTE_CLIENTS", "SEAMLESS_CONFIG_DIR",
                 "REMOTE_HTTP_LAUNCHER_DIR", "XDG_CACHE_HOME", "CONDA_EXE")


class Setup:
    """The folders of one test, and writers for the seed's files."""

    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.project = root / "project"
        self.buffers = root / "buffers"
        self.databases = root / "db"
        for folder in (self.home / ".seamless", self.project):
            folder.mkdir(parents=True)

    @property
    def clusters_yaml(self) -> Path:
        return self.home / ".seamless" / "clusters.yaml"

    def write_clusters(self, text: str) -> Path:
        self.clusters_yaml.write_text(textwrap.dedent(text))
        return self.clusters_yaml

    def write_seed_cluster(self, name: str = "local", extra: str = "") -> tuple[int, int]:
        """The seed's cluster, with port ranges drawn at random (the servers
        pick a free port inside them); returns the two range starts."""
        hs, db = random.sample(range(20000, 40000, 100), 2)
        self.write_clusters(f"""\
            {name}:
              type: local
              frontends:
                - hashserver:
                    bufferdir: {self.buffers}
                    conda: hashserver
                    network_interface: 127.0.0.1
                    port_start: {hs}
                    port_end: {hs + 99}
                  database:
                    database_dir: {self.databases}
                    conda: seamless-database
                    network_interface: 127.0.0.1
                    port_start: {db}
                    port_end: {db + 99}
            {textwrap.dedent(extra)}""")
        return hs, db

    def write(self, name: str, text: str, folder: Path | None = None) -> Path:
        path = (folder or self.project) / name
        path.write_text(textwrap.dedent(text))
        return path

    def write_seed_project(self, execution: str | None = "process", cluster: str = "local") -> None:
        self.write("seamless.profile.yaml", f"- cluster: {cluster}\n")
        self.write("seamless.yaml", "- project: my-project\n" + (f"- execution: {execution}\n" if execution else ""))

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a subprocess of this test."""
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARIABLES}
        env["HOME"] = str(self.home)
        env.update(extra)
        return env


@pytest.fixture
def setup(tmp_path, monkeypatch):
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    root = tmp_path
    s = Setup(root)
    monkeypatch.setenv("HOME", str(s.home))
    monkeypatch.chdir(s.project)
    seamless.config.reset()
    yield s
    seamless.config.reset()
    for row in services.list_services():
        if row.status in ("running", "starting"):
            services.stop_key(row.key)
