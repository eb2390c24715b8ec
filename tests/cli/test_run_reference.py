"""One cluster (buffer folder and seamless.db) used by our seamless-run and
the reference's: what one computed, the other finds by identity, in both
directions."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from reference_servers import REFERENCE_PYTHON

pytestmark = pytest.mark.reference


def _reference_bin() -> str:
    if not REFERENCE_PYTHON:
        pytest.skip("set SEAMLESS_REFERENCE_PYTHON to the interpreter of a virtualenv with the reference")
    folder = os.path.dirname(REFERENCE_PYTHON)
    if not os.path.exists(os.path.join(folder, "seamless-run")):
        pytest.skip(f"no seamless-run next to {REFERENCE_PYTHON}")
    return folder


def test_both_implementations_share_one_cache(tmp_path):
    reference_bin = _reference_bin()
    home, project = tmp_path / "home", tmp_path / "project"
    (home / ".seamless").mkdir(parents=True)
    project.mkdir()
    (home / ".seamless" / "clusters.yaml").write_text(textwrap.dedent(f"""\
        local_cluster: local
        local:
          type: local
          frontends:
            - hashserver: {{bufferdir: {tmp_path / 'buffers'}, port_start: 47100, port_end: 47199}}
              database: {{database_dir: {tmp_path / 'db'}, port_start: 47200, port_end: 47299}}
        """))
    (project / "seamless.yaml").write_text("- project: shared\n- execution: process\n- cluster: local\n")
    (project / "input.txt").write_text("some input\n")
    marker = tmp_path / "runs"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_") and k != "PYTHONPATH"}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    ours = [sys.executable, "-m", "seamless.cli.run.main"]
    theirs = [os.path.join(reference_bin, "seamless-run")]
    reference_env = dict(env, PATH=reference_bin + os.pathsep + env["PATH"])
    ours_stop = [sys.executable, "-m", "seamless.cli.init", "--stop", "--all", "-q"]

    def run(command, environment, text):
        done = subprocess.run(command + ["-y", "--prologue", f"echo ran >> {marker}", text], cwd=project,
                              env=environment, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        return done.stdout

    try:
        assert run(ours, env, "wc -c input.txt").split()[0] == "11"
        subprocess.run(ours_stop, env=env, cwd=project, check=True)
        assert run(theirs, reference_env, "wc -c input.txt").split()[0] == "11"
        assert marker.read_text().count("ran") == 1  # the reference found our result
        assert run(theirs, reference_env, "wc -w input.txt").split()[0] == "2"
        subprocess.run(ours_stop, env=env, cwd=project, check=True)
        assert run(ours, env, "wc -w input.txt").split()[0] == "2"
        assert marker.read_text().count("ran") == 2  # and we found the reference's
    finally:
        subprocess.run(ours_stop, env=env, cwd=project)
