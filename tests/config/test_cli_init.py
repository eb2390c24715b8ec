"""seamless-init's command line: help, exit codes, messages."""

from __future__ import annotations

import json
import subprocess
import sys

SEAMLESS_INIT = [sys.executable, "-m", "seamless.cli.init"]


def run_init(setup, *args, **env):
    return subprocess.run(SEAMLESS_INIT + list(args), cwd=setup.project, env=setup.env(**env),
                          capture_output=True, text=True, timeout=120)


def test_help(setup):
    result = run_init(setup, "--help")
    assert result.returncode == 0
    for option in ("--stage", "--status", "--stop", "--all", "--dry-run", "--workdir"):
        assert option in result.stdout


def test_bad_command_lines_exit_2(setup):
    assert run_init(setup, "--stage", ":gpu").returncode == 2
    assert "the stage cannot be empty" in run_init(setup, "--stage", ":gpu").stderr
    assert run_init(setup, "--all").returncode == 2
    assert run_init(setup, "--status", "--stop").returncode == 2


def test_malformed_yaml_names_file_and_line(setup):
    setup.write("seamless.yaml", "- project: p\n- execution: [unclosed\n")
    result = run_init(setup)
    assert result.returncode == 1
    assert f"{setup.project / 'seamless.yaml'}:" in result.stderr and "invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr


def test_wrong_field_type_names_file_cluster_and_field(setup):
    setup.write_clusters("""\
        local:
          type: local
          frontends:
            - hashserver: {bufferdir: /tmp/x, port_start: "55100", port_end: 55199}
              database: {database_dir: /tmp/y}
        """)
    setup.write_seed_project()
    result = run_init(setup)
    assert result.returncode == 1
    assert str(setup.clusters_yaml) in result.stderr
    assert "cluster 'local', frontends[0].hashserver.port_start: expected a port number" in result.stderr


def test_bad_execution_value_names_file_and_line(setup):
    setup.write("seamless.yaml", "- project: p\n- execution: local\n")
    result = run_init(setup)
    assert result.returncode == 1
    assert f"{setup.project / 'seamless.yaml'}:2: 'execution': execution must be one of" in result.stderr


def test_nothing_to_start(setup):
    setup.write("seamless.yaml", "- project: p\n- execution: process\n")
    result = run_init(setup)
    assert result.returncode == 0
    assert "nothing to start: no cluster is selected" in result.stdout


def test_seamless_cache_starts_nothing(setup):
    result = run_init(setup, SEAMLESS_CACHE=str(setup.root / "cache"))
    assert result.returncode == 0
    assert f"SEAMLESS_CACHE={setup.root / 'cache'}" in result.stdout and "no services" in result.stdout


def test_dry_run_starts_nothing(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    result = run_init(setup, "--dry-run")
    assert result.returncode == 0
    assert "hashserver-local-rw-my-project: " in result.stdout and "--writable" in result.stdout
    assert not (setup.home / ".remote-http-launcher" / "server").exists()


def test_remote_clients_are_checked_not_started(setup):
    clients = {"buffer": [{"url": "http://127.0.0.1:9", "readonly": True}], "database": []}
    result = run_init(setup, SEAMLESS_REMOTE_CLIENTS=json.dumps(clients))
    assert result.returncode == 1
    assert "http://127.0.0.1:9 does NOT answer" in result.stdout


def test_import_does_not_pull_in_clients_or_servers(setup):
    code = ("import sys, seamless.config, seamless.cli.init; "
            "bad = [m for m in ('aiohttp', 'seamless.remote', 'seamless.hashserver.store', 'numpy') "
            "if m in sys.modules]; print(bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=setup.env())
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
