"""seamless.config.init(): the stores it connects, for every source of
configuration, with real services and real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import seamless.config
from seamless.config import ConfigurationError
from seamless.config.services import list_services
from seamless.hashserver.store import ReadOnlyStoreError
from seamless.remote.facade import open_buffers, open_results


def test_nothing_configured_means_in_memory(setup):
    with pytest.warns(UserWarning) as caught:
        config = seamless.config.init()
    messages = [str(w.message) for w in caught]
    assert any("falls back to 'process'" in m for m in messages)
    assert any("No cluster defined; running without persistence" in m for m in messages)
    assert config.cluster is None and config.execution == "process" and not config.persistent
    stores = seamless.config.get_stores()
    assert stores.buffers is None and stores.results is None and stores.description == "in memory"
    assert list_services() == []


def test_seed_cluster_uses_the_folders_in_process_and_serves_them(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    config = seamless.config.init()
    assert (config.cluster_name, config.project, config.execution) == ("local", "my-project", "process")
    stores = seamless.config.get_stores()
    assert stores.buffers.transport == "local" and stores.results.__class__.__name__ == "LocalResults"
    assert set(stores.endpoints) == {"hashserver", "database"}
    # What this process writes in process, the servers serve at once, and the other way round.
    checksum = stores.buffers.put(b"written in process")
    with open_buffers(stores.endpoints["hashserver"].url) as http_buffers:
        assert http_buffers.get(checksum) == b"written in process"
        other = http_buffers.put(b"written over HTTP")
    assert stores.buffers.get(other) == b"written over HTTP"
    stores.results.set_transformation(checksum, other)
    with open_results(stores.endpoints["database"].url) as http_results:
        assert http_results.get_transformation(checksum) == other
    # init() is idempotent
    assert seamless.config.init() is config


def test_a_second_process_finds_the_same_services(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    seamless.config.init()
    mine = {k: e.url for k, e in seamless.config.get_stores().endpoints.items()}
    code = ("import json, seamless.config as c; c.init(); "
            "print(json.dumps({k: e.url for k, e in c.get_stores().endpoints.items()}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=setup.project, env=setup.env(), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == mine


def test_init_reads_the_files_of_workdir(setup, tmp_path):
    setup.write_seed_cluster()
    elsewhere = setup.root / "elsewhere"
    elsewhere.mkdir()
    setup.write("seamless.yaml", "- project: p2\n- cluster: local\n- execution: spawn\n", folder=elsewhere)
    config = seamless.config.init(workdir=elsewhere)
    assert config.project == "p2" and config.execution == "spawn"
    assert (setup.buffers / "p2").is_dir()


def test_seamless_cache_is_in_process_without_services(setup, monkeypatch):
    setup.write_seed_cluster()
    setup.write_seed_project()  # ignored under SEAMLESS_CACHE
    monkeypatch.setenv("SEAMLESS_CACHE", str(setup.root / "cache"))
    config = seamless.config.init()
    assert (config.cluster_name, config.project, config.execution) == ("__SEAMLESS_CACHE__", "__TOPLEVEL__",
                                                                       "process")
    stores = seamless.config.get_stores()
    checksum = stores.buffers.put(b"cached")
    stores.results.set_transformation(checksum, checksum)
    folder = setup.root / "cache" / "__TOPLEVEL__"
    assert (folder / checksum.hex()[:2] / checksum.hex()).exists()
    assert (folder / "seamless.db").exists()
    assert stores.endpoints == {} and list_services() == []
    seamless.config.reset()
    monkeypatch.setenv("SEAMLESS_CACHE", str(setup.root / "cache"))
    seamless.config.set_stage("s1")
    assert (setup.root / "cache" / "__TOPLEVEL__" / "STAGE-s1" / "seamless.db").exists()


def test_remote_clients_from_the_environment(setup, monkeypatch):
    setup.write_seed_cluster()
    setup.write_seed_project()
    clients = seamless.config.collect_remote_clients()
    assert set(clients) == {"buffer", "database"}
    assert clients["buffer"][0]["directory"] == str(setup.buffers / "my-project")
    seamless.config.reset()
    worker = setup.root / "worker"
    worker.mkdir()
    monkeypatch.chdir(worker)  # no files here
    # Without the directory: over HTTP.
    del clients["buffer"][0]["directory"], clients["buffer"][0]["remote_directory"]
    monkeypatch.setenv("SEAMLESS_REMOTE_CLIENTS", json.dumps(clients))
    config = seamless.config.init()
    assert config.execution == "process" and config.persistent
    stores = seamless.config.get_stores()
    assert stores.buffers.transport == "http"
    checksum = stores.buffers.put(b"from a worker")
    stores.results.set_transformation(checksum, checksum)
    assert (setup.buffers / "my-project" / checksum.hex()[:2] / checksum.hex()).exists()
    seamless.config.reset()
    # Read-only clients read but never write.
    for entry in clients["buffer"] + clients["database"]:
        entry["readonly"] = True
    monkeypatch.setenv("SEAMLESS_REMOTE_CLIENTS", json.dumps(clients))
    seamless.config.init()
    stores = seamless.config.get_stores()
    assert stores.buffers.get(checksum) == b"from a worker"
    assert stores.results.get_transformation(checksum) == checksum
    with pytest.raises(ReadOnlyStoreError):
        stores.buffers.put(b"refused")


def test_malformed_remote_clients_are_a_clear_error(setup, monkeypatch):
    monkeypatch.setenv("SEAMLESS_REMOTE_CLIENTS", '{"buffer": [{"url": "ftp://x"}]}')
    with pytest.raises(ConfigurationError, match=r"SEAMLESS_REMOTE_CLIENTS: buffer\[0\]: url must be an http"):
        seamless.config.init()


def test_tools_fall_back_to_the_embedded_store(setup, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(setup.root / "xdg"))
    config = seamless.config.init_for_tool("seamless-run")
    assert config.seamless_cache == str(setup.root / "xdg" / "seamless")
    assert "using the embedded store in" in capsys.readouterr().err
    stores = seamless.config.get_stores()
    assert stores.buffers.transport == "local"
    seamless.config.reset()
    setup.write_seed_project(cluster="nope")  # a configuration here: no fallback
    with pytest.raises(ConfigurationError, match="cluster 'nope' is not defined"):
        seamless.config.init_for_tool("seamless-run")


def test_select_in_code_wins_and_reloads(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    seamless.config.init()
    seamless.config.select_execution("spawn")
    assert seamless.config.get_execution() == "spawn"
    seamless.config.set_nparallel(3)
    assert seamless.config.get_nparallel() == 3


def test_set_remote_clients_after_init_is_refused(setup):
    with pytest.warns(UserWarning):
        seamless.config.init()
    with pytest.raises(RuntimeError, match="after initialization"):
        seamless.config.set_remote_clients({"buffer": [], "database": []})


def test_a_failed_stage_change_changes_nothing(setup):
    setup.write("seamless.yaml", "- project: p\n- execution: process\n- stage prod:\n  - execution: nowhere\n")
    with pytest.warns(UserWarning):
        seamless.config.init()
    for _ in range(2):
        with pytest.raises(ConfigurationError, match="execution must be one of"):
            seamless.config.set_stage("prod")
        assert seamless.config.get_stage() is None and seamless.config.get_current().stage is None


def test_names_that_would_leave_the_folders_are_refused(setup):
    setup.write_seed_cluster()
    for line in ("- project: ..", "- project: p\n- subproject: a/../../etc"):
        setup.write("seamless.yaml", line + "\n- cluster: local\n- execution: process\n")
        with pytest.raises(ConfigurationError, match="folder"):
            seamless.config.init()
        seamless.config.reset()


def test_a_queue_in_the_files_follows_the_cluster_selected_in_code(setup):
    setup.write_clusters("""\
        hpc:
          type: local
          frontends:
            - hashserver: {bufferdir: /tmp/b}
          queues:
            gpu: {cores: 2}
        """)
    setup.write("seamless.yaml", "- queue: gpu\n- execution: process\n- persistent: false\n")
    seamless.config.select_cluster("hpc")
    assert seamless.config.get_queue() == "gpu"
