"""The reference's seamless-init (seamless-config 0.3.2 with
remote-http-launcher 0.4.5) and ours share one HOME: each reuses the
services the other started, through the launcher's state files."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from reference_servers import REFERENCE_PYTHON

pytestmark = pytest.mark.reference


def reference_init() -> str:
    if not REFERENCE_PYTHON:
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to the interpreter of a virtualenv with the reference")
    path = os.path.join(os.path.dirname(REFERENCE_PYTHON), "seamless-init")
    if not os.path.exists(path):
        pytest.skip(f"no seamless-init next to {REFERENCE_PYTHON} (install seamless-remote, seamless-transformer)")
    return path


def state(setup, kind: str) -> dict:
    path = setup.home / ".remote-http-launcher" / "server" / f"{kind}-local-rw-my-project.json"
    return json.loads(path.read_text())


def run(setup, command, bin_dir):
    env = setup.env(PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
    env.pop("PYTHONPATH", None)
    result = subprocess.run(command, cwd=setup.project, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    return result


def test_each_implementation_reuses_the_others_services(setup):
    theirs = reference_init()
    ours = [sys.executable, "-m", "seamless.cli.init"]
    # The reference needs a local_cluster line and no conda fields without conda.
    setup.write_seed_cluster(extra="local_cluster: local\n")
    setup.clusters_yaml.write_text("".join(line for line in setup.clusters_yaml.read_text().splitlines(True)
                                           if "conda:" not in line))
    setup.write_seed_project()
    reference_bin = os.path.dirname(theirs)

    run(setup, ours, reference_bin)
    started = {kind: state(setup, kind)["pid"] for kind in ("hashserver", "database")}
    run(setup, [theirs], reference_bin)
    assert {kind: state(setup, kind)["pid"] for kind in started} == started  # reused, not relaunched

    assert "stopped" in run(setup, ours + ["--stop"], reference_bin).stdout
    run(setup, [theirs], reference_bin)
    launched = {kind: state(setup, kind) for kind in ("hashserver", "database")}
    assert all(s["status"] == "running" and s["pid"] not in started.values() for s in launched.values())
    assert "meta" not in launched["hashserver"] or launched["hashserver"]["meta"].get("implementation") != "seamless"
    again = run(setup, ours, reference_bin)
    assert again.stdout.count(": reused") == 2
    assert {kind: state(setup, kind)["pid"] for kind in launched} == {k: s["pid"] for k, s in launched.items()}
