"""Starting, reusing, restarting and stopping services: real processes on
loopback ports from random ranges, the launcher's state files in a private
HOME."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import seamless.config
from seamless.config import ServiceStartError, services
from seamless.config.activate import ensure_services, storage_specs

SEAMLESS_INIT = [sys.executable, "-m", "seamless.cli.init"]


def run_init(setup, *args, env=None):
    return subprocess.run(SEAMLESS_INIT + list(args), cwd=setup.project, env=env or setup.env(),
                          capture_output=True, text=True, timeout=120)


def endpoints(result) -> dict[str, str]:
    """key -> url from seamless-init's output lines."""
    found = {}
    for line in result.stdout.splitlines():
        key, _, rest = line.partition(": ")
        found[key] = rest.split(",")[1].split()[0]
    return found


def server_processes(setup) -> list[int]:
    """The PIDs of the servers whose status file lies in this test's HOME."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    args = f.read().split(b"\0")
            except OSError:
                continue
            if b"--status-file" in args and any(a.startswith(str(setup.home).encode()) for a in args):
                pids.append(int(entry))
    return pids


def test_seed_files_start_both_services_then_reuse_them(setup):
    hs, db = setup.write_seed_cluster()
    setup.write_seed_project()
    first = run_init(setup)
    assert first.returncode == 0, first.stderr
    assert "hashserver-local-rw-my-project: started" in first.stdout
    assert "database-local-rw-my-project: started" in first.stdout
    # conda is named but absent: the services run from this environment, with a note
    assert "conda is not installed" in first.stderr
    urls = endpoints(first)
    hs_port = int(urls["hashserver-local-rw-my-project"].rsplit(":", 1)[1])
    db_port = int(urls["database-local-rw-my-project"].rsplit(":", 1)[1])
    assert hs <= hs_port <= hs + 99 and db <= db_port <= db + 99
    assert (setup.buffers / "my-project" / ".HASHSERVER_PREFIX").exists()
    assert (setup.databases / "my-project" / "seamless.db").exists()
    # the launcher's formats: server status file and client file
    server = json.loads((setup.home / ".remote-http-launcher/server/hashserver-local-rw-my-project.json").read_text())
    assert server["status"] == "running" and server["port"] == hs_port and server["pid"] > 0
    assert server["workdir"] == str(setup.buffers / "my-project")
    client = json.loads((setup.home / ".remote-http-launcher/client/hashserver-local-rw-my-project.json").read_text())
    assert client == {"hostname": "127.0.0.1", "port": hs_port}

    second = run_init(setup)
    assert second.returncode == 0, second.stderr
    assert "reused" in second.stdout and "started" not in second.stdout
    assert endpoints(second) == urls


def test_two_processes_starting_one_cluster_get_one_service_each(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    procs = [subprocess.Popen(SEAMLESS_INIT, cwd=setup.project, env=setup.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    urls = [endpoints(type("R", (), {"stdout": out})()) for out, _ in outputs]
    assert urls[0] == urls[1] == urls[2]
    started = sum(out.count(": started") for out, _ in outputs)
    assert started == 2  # one hashserver, one database, over all three processes
    assert len(server_processes(setup)) == 2


def test_a_killed_service_is_detected_and_restarted(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    first = run_init(setup)
    state_path = setup.home / ".remote-http-launcher/server/hashserver-local-rw-my-project.json"
    pid = json.loads(state_path.read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.time() + 10
    while services.process_start_time(pid) is not None and time.time() < deadline:
        time.sleep(0.02)
    status = run_init(setup, "--status")
    assert "dead" in status.stdout
    second = run_init(setup)
    assert second.returncode == 0, second.stderr
    assert "hashserver-local-rw-my-project: started" in second.stdout
    assert "database-local-rw-my-project: reused" in second.stdout
    assert json.loads(state_path.read_text())["pid"] != pid
    assert endpoints(first)["database-local-rw-my-project"] == endpoints(second)["database-local-rw-my-project"]


def test_status_and_stop(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    assert run_init(setup, "--status").stdout.strip() == "no services"
    run_init(setup)
    status = run_init(setup, "--status")
    lines = status.stdout.splitlines()
    assert lines[0].split()[:6] == ["CLUSTER", "SERVICE", "STATUS", "PORT", "PID", "UPTIME"]
    assert len(lines) == 3 and all(" running " in line for line in lines[1:])
    assert str(setup.buffers / "my-project") in status.stdout
    rows = json.loads(run_init(setup, "--status", "--json").stdout)
    pids = [row["pid"] for row in rows]
    stop = run_init(setup, "--stop")
    assert stop.returncode == 0
    assert "hashserver-local-rw-my-project: stopped" in stop.stdout
    assert all(services.process_start_time(pid) is None for pid in pids)
    assert all(row["status"] == "stopped" for row in json.loads(run_init(setup, "--status", "--json").stdout))
    assert not (setup.home / ".remote-http-launcher/client/hashserver-local-rw-my-project.json").exists()
    assert run_init(setup, "--stop").stdout.count("not running") == 2


def test_stop_all_stops_every_project(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    run_init(setup)
    other = setup.root / "other"
    other.mkdir()
    setup.write("seamless.yaml", "- cluster: local\n- project: other\n- execution: process\n", folder=other)
    assert subprocess.run(SEAMLESS_INIT, cwd=other, env=setup.env(), capture_output=True).returncode == 0
    assert len([r for r in services.list_services() if r.status == "running"]) == 4
    result = run_init(setup, "--stop", "--all")
    assert result.stdout.count(": stopped") == 4


def test_configuration_drift_restarts_the_service(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    seamless.config.init()
    before = seamless.config.get_stores().endpoints
    seamless.config.reset()
    # the same key (cluster, project) now with another bufferdir
    text = setup.clusters_yaml.read_text().replace(str(setup.buffers), str(setup.root / "moved"))
    setup.clusters_yaml.write_text(text)
    messages = []
    config = seamless.config.session.SESSION.load()
    after = ensure_services(storage_specs(config), messages.append)
    assert after["hashserver"].how == "restarted" and after["database"].how == "reused"
    assert after["hashserver"].pid != before["hashserver"].pid
    assert any("does not match the configuration" in m and "moved" in m for m in messages)
    assert (setup.root / "moved" / "my-project" / ".HASHSERVER_PREFIX").exists()


def test_a_service_that_cannot_start_says_why_with_its_log(setup):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        setup.write_clusters(f"""\
            local:
              type: local
              frontends:
                - hashserver:
                    bufferdir: {setup.buffers}
                    port_start: {port}
                    port_end: {port}
                  database:
                    database_dir: {setup.databases}
            """)
        setup.write_seed_project()
        result = run_init(setup)
    finally:
        holder.close()
    assert result.returncode == 1
    assert "hashserver-local-rw-my-project: the hashserver did not start" in result.stderr
    assert "log (" in result.stderr and str(port) in result.stderr
    assert "Traceback" not in result.stderr
    state = json.loads((setup.home / ".remote-http-launcher/server/hashserver-local-rw-my-project.json").read_text())
    assert state["status"] == "failed"


def test_service_start_error_in_python(setup):
    (setup.root / "blocked").write_text("a file where a folder should be")
    setup.write_clusters(f"""\
        local:
          type: local
          frontends:
            - hashserver:
                bufferdir: {setup.root / "blocked"}
              database:
                database_dir: {setup.databases}
        """)
    setup.write_seed_project()
    with pytest.raises((ServiceStartError, OSError)):
        seamless.config.init()


def test_a_frontend_elsewhere_is_reported_not_ssh_ed(setup):
    setup.write_clusters(f"""\
        hpc:
          type: slurm
          frontends:
            - hostname: login.hpc.example.org
              hashserver: {{bufferdir: {setup.buffers}}}
              database: {{database_dir: {setup.databases}}}
        """)
    setup.write_seed_project(cluster="hpc")
    result = run_init(setup)
    assert result.returncode == 1
    assert "runs on 'login.hpc.example.org', not on this machine" in result.stderr
    assert "SEAMLESS_REMOTE_CLIENTS" in result.stderr


def test_remote_execution_without_a_backend_is_an_error(setup):
    setup.write_seed_cluster()
    setup.write_seed_project(execution=None)
    result = run_init(setup)
    assert result.returncode == 1
    assert "has no jobserver or daskserver" in result.stderr and "execution: process" in result.stderr
    assert not any(r.status == "running" for r in services.list_services())


def test_stages_have_their_own_services(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    result = run_init(setup, "--stage", "prod")
    assert result.returncode == 0, result.stderr
    assert "hashserver-local-rw-my-project--STAGE-prod: started" in result.stdout
    assert (setup.buffers / "my-project" / "STAGE-prod").is_dir()
    assert (setup.databases / "my-project" / "STAGE-prod" / "seamless.db").exists()


def test_a_pid_reused_by_another_process_is_not_signalled(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    run_init(setup)
    path = setup.home / ".remote-http-launcher/server/hashserver-local-rw-my-project.json"
    state = json.loads(path.read_text())
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        # pretend the service died and its PID now belongs to the sleeper
        services.stop_key("hashserver-local-rw-my-project")
        state.update(pid=sleeper.pid, status="running")
        path.write_text(json.dumps(state))
        assert services.stop_key("hashserver-local-rw-my-project") == "not running"
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_port_taken_over_by_another_server_is_not_reused(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    first = run_init(setup)
    url = endpoints(first)["hashserver-local-rw-my-project"]
    state = json.loads((setup.home / ".remote-http-launcher/server/hashserver-local-rw-my-project.json").read_text())
    os.kill(state["pid"], signal.SIGKILL)
    while services.process_start_time(state["pid"]) is not None:
        time.sleep(0.02)
    # another server takes the port; the client file still names it
    port = url.rsplit(":", 1)[1]
    squatter = subprocess.Popen([sys.executable, "-m", "seamless.hashserver", str(setup.root / "other"),
                                 "--writable", "--port", port], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while not services.healthcheck("127.0.0.1", int(port)) and time.time() < deadline:
            time.sleep(0.05)
        assert services.healthcheck("127.0.0.1", int(port))
        second = run_init(setup)
        assert "hashserver-local-rw-my-project: started" in second.stdout
        assert endpoints(second)["hashserver-local-rw-my-project"] != url
    finally:
        squatter.terminate()
        squatter.wait()


def test_stop_reaches_a_server_behind_a_wrapper(setup, tmp_path):
    """conda run does not pass SIGTERM on; the process group is signalled."""
    base = tmp_path / "conda"
    (base / "envs" / "hashserver").mkdir(parents=True)
    (base / "envs" / "seamless-database").mkdir(parents=True)
    (base / "bin").mkdir()
    fake = base / "bin" / "conda"
    # like 'conda run': the command runs as a child, and SIGTERM stays with the wrapper
    fake.write_text("#!/bin/bash\nshift 4\ntrap '' TERM\n\"$@\" &\nwait\n")
    fake.chmod(0o755)
    setup.write_seed_cluster()
    setup.write_seed_project()
    env = setup.env(CONDA_EXE=str(fake), PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    started = run_init(setup, env=env)
    assert started.returncode == 0, started.stderr
    assert "conda is not installed" not in started.stderr
    assert len(server_processes(setup)) == 4  # two wrappers, two servers
    stop = run_init(setup, "--stop", env=env)
    assert stop.returncode == 0
    deadline = time.time() + 15
    while server_processes(setup) and time.time() < deadline:
        time.sleep(0.05)
    assert server_processes(setup) == []


def test_a_status_file_without_start_time_protects_other_processes(setup):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        path = setup.home / ".remote-http-launcher" / "server" / "hashserver-x-rw-p.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"pid": sleeper.pid, "status": "running", "port": 1, "workdir": "/tmp"}))
        assert services.stop_key("hashserver-x-rw-p") == "not running"
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_stop_works_for_a_configuration_that_cannot_run(setup):
    setup.write_seed_cluster()
    setup.write_seed_project()
    run_init(setup)
    setup.write_seed_project(execution=None)  # now an error: remote without a backend
    assert run_init(setup).returncode == 1
    stop = run_init(setup, "--stop")
    assert stop.returncode == 0 and stop.stdout.count(": stopped") == 2
