"""Start-up, status file, inactivity timeout and shutdown of both servers,
as real processes (the launcher's protocol, protocol.md §1.2)."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from server_process import MODULES, ServerProcess

KINDS = {
    "hashserver": lambda tmp: [str(tmp / "buffers"), "--writable"],
    "seamless-database": lambda tmp: [str(tmp / "seamless.db"), "--writable"],
}


def run(kind, args, status=None, timeout=60):
    """Run a server to completion; (exit code, stderr, status file contents)."""
    command = [sys.executable, "-m", MODULES[kind], *args]
    if status is not None:
        command += ["--status-file", str(status)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    contents = json.loads(status.read_text()) if status is not None and status.exists() else None
    return done.returncode, done.stderr, contents


@pytest.mark.parametrize("kind", KINDS)
def test_status_running_then_stopped(tmp_path, kind):
    srv = ServerProcess(kind, KINDS[kind](tmp_path), tmp_path)
    status = srv.status()
    assert status["status"] == "running" and status["workdir"] == str(tmp_path)  # keys kept
    assert srv.request("GET", "/healthcheck")[0] == 200
    assert " INFO " not in srv.log_tail()  # the default level is WARNING
    assert srv.stop(signal.SIGTERM) == 0
    final = srv.status()
    assert final["status"] == "stopped" and final["workdir"] == str(tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_inactivity_timeout(tmp_path, kind):
    status = tmp_path / "status.json"
    status.write_text("{}")
    started = time.monotonic()
    code, _, contents = run(kind, [*KINDS[kind](tmp_path), "--timeout", "1.5", "--port", "0"], status)
    assert code == 0 and contents["status"] == "stopped"
    assert 1.4 < time.monotonic() - started < 30


@pytest.mark.parametrize("kind", KINDS)
def test_port_range(tmp_path, kind):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        base = probe.getsockname()[1]
    start, end = (base, base + 3) if base < 65000 else (base - 3, base)
    srv = ServerProcess(kind, [*KINDS[kind](tmp_path), "--port-range", str(start), str(end)], tmp_path)
    try:
        assert start <= srv.port <= end
    finally:
        srv.stop()


@pytest.mark.parametrize("kind", KINDS)
def test_busy_port_writes_failed(tmp_path, kind):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = tmp_path / "status.json"
        status.write_text('{"a": 1}')
        code, err, contents = run(kind, [*KINDS[kind](tmp_path), "--port", str(port)], status)
    assert code == 1 and "already in use" in err
    assert contents["status"] == "failed" and contents["a"] == 1 and "already in use" in contents["error"]


@pytest.mark.parametrize("kind, args, message", [
    ("hashserver", lambda tmp: [str(tmp / "missing")], "does not exist"),
    ("hashserver", lambda tmp: [str(tmp), "--writable", "--layout", "spiral"], "Layout must be"),
    ("seamless-database", lambda tmp: [str(tmp / "missing.db")], "must exist when --writable is not set"),
    ("seamless-database", lambda tmp: [str(tmp / "no" / "dir.db"), "--writable"], "does not exist"),
    ("seamless-database", lambda tmp: [str(tmp / "x.db"), "--writable", "--timeout", "0"], "--timeout must be"),
    ("hashserver", lambda tmp: [str(tmp), "--timeout", "-1"], "--timeout must be a positive number"),
    ("hashserver", lambda tmp: [str(tmp), "--timeout", "nan"], "--timeout must be a positive number"),
    ("hashserver", lambda tmp: [str(tmp), "--lock-timeout", "0"], "--lock-timeout must be a positive number"),
])
def test_start_up_failures_write_failed(tmp_path, kind, args, message):
    status = tmp_path / "status.json"
    status.write_text("{}")
    code, err, contents = run(kind, [*args(tmp_path), "--port", "0"], status)
    assert code == 1 and message in err
    assert contents["status"] == "failed" and message in contents["error"]
    assert "Traceback" not in err


def test_corrupt_database_file_writes_failed(tmp_path):
    db = tmp_path / "seamless.db"
    db.write_bytes(b"this is not a database" * 100)
    status = tmp_path / "status.json"
    status.write_text("{}")
    code, err, contents = run("seamless-database", [str(db), "--writable", "--port", "0"], status)
    assert code == 1 and contents["status"] == "failed"
    assert "Traceback" not in err


@pytest.mark.slow
def test_missing_status_file_fails_after_waiting(tmp_path):
    code, err, _ = run("hashserver", [str(tmp_path), "--port", "0", "--status-file", str(tmp_path / "never.json")],
                       timeout=60)
    assert code == 1 and "not found" in err


def _start_then_write_status(tmp_path, status, text: str, delay: float) -> dict:
    """Start a hashserver on status, write text into the file after delay
    (in place, not through a rename), and return the file's content once it
    says running (or after 20 s); the server must then stop cleanly."""
    command = [sys.executable, "-m", "seamless.hashserver", str(tmp_path / "b"), "--writable", "--port", "0",
               "--status-file", str(status)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    contents: dict = {}
    try:
        time.sleep(delay)
        status.write_text(text)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and contents.get("status") != "running":
            time.sleep(0.05)
            try:
                contents = json.loads(status.read_text() or "{}")
            except ValueError:
                contents = {}
    finally:
        process.terminate()
        assert process.wait(20) == 0
    return contents


def test_status_file_written_later_is_waited_for(tmp_path):
    contents = _start_then_write_status(tmp_path, tmp_path / "late.json", '{"late": true}', 1.0)
    assert contents["status"] == "running" and contents["late"] is True


@pytest.mark.parametrize("kind", KINDS)
def test_help(kind):
    done = subprocess.run([sys.executable, "-m", MODULES[kind], "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--status-file" in done.stdout and "--port-range" in done.stdout


@pytest.mark.parametrize("kind, args, message", [
    ("hashserver", ["--lock-timeout", "soon"], "argument --lock-timeout: invalid float value"),
    ("hashserver", ["--hash-algorithm", "md5"], "argument --hash-algorithm"),
    ("seamless-database", ["--timeout", "never"], "argument --timeout: invalid float value"),
    ("hashserver", ["--log-level", "chatty"], "unknown log level 'chatty'"),
    ("seamless-database", ["--log-level", "chatty"], "unknown log level 'chatty'"),
    ("seamless-database", ["--port", "eighty"], "argument --port: invalid int value"),
    ("seamless-database", ["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_bad_flags_write_failed(tmp_path, kind, args, message):
    """A usage error is a start-up failure: the launcher reads it in the
    status file (exit status 2, as argparse's)."""
    status = tmp_path / "status.json"
    status.write_text('{"a": 1}')
    code, err, contents = run(kind, [*KINDS[kind](tmp_path), "--port", "0", *args], status)
    assert code == 2 and message in err and "usage:" in err
    assert contents["status"] == "failed" and contents["a"] == 1 and message in contents["error"]


@pytest.mark.parametrize("spelling", [["--status-file={}"], ["--status", "{}"], ["--status-file", "elsewhere",
                                                                              "--status-file", "{}"]])
def test_status_file_flag_as_argparse_reads_it(tmp_path, spelling):
    """With an equals sign, abbreviated, or given twice (the last counts)."""
    status = tmp_path / "status.json"
    status.write_text("{}")
    flags = [part.format(status) for part in spelling]
    code, _, _ = run("hashserver", [str(tmp_path), *flags, "--timeout", "never"])
    assert code == 2 and json.loads(status.read_text())["status"] == "failed"


@pytest.mark.parametrize("variable, value, message", [
    ("HASHSERVER_LOCK_TIMEOUT", "soon", "HASHSERVER_LOCK_TIMEOUT must be a number"),
    ("HASHSERVER_LOCK_TIMEOUT", "0", "--lock-timeout must be a positive number"),
    ("HASHSERVER_HASH_ALGORITHM", "md5", "--hash-algorithm must be one of: sha3-256, sha-256"),
])
def test_bad_environment_writes_failed(tmp_path, monkeypatch, variable, value, message):
    """The reference's messages; exit 1 and failed, as for other start-up errors."""
    monkeypatch.setenv(variable, value)
    status = tmp_path / "status.json"
    status.write_text("{}")
    code, err, contents = run("hashserver", [str(tmp_path), "--port", "0"], status)
    assert code == 1 and message in err and "Traceback" not in err
    assert contents["status"] == "failed" and message in contents["error"]


@pytest.mark.parametrize("kind", KINDS)
def test_requests_postpone_the_inactivity_timeout(tmp_path, kind):
    """Requests keep a server with --timeout alive; once they stop, it
    stops after about the timeout and says so in its status file."""
    srv = ServerProcess(kind, [*KINDS[kind](tmp_path), "--timeout", "1.5"], tmp_path)
    try:
        busy_until = time.monotonic() + 4.0
        while time.monotonic() < busy_until:
            assert srv.request("GET", "/healthcheck")[0] == 200
            time.sleep(0.3)
        assert srv.process.poll() is None  # 4 s > the timeout, but never idle for 1.5 s
        quiet = time.monotonic()
        assert srv.process.wait(30) == 0
        assert 1.2 < time.monotonic() - quiet < 20
        assert srv.status()["status"] == "stopped"
    finally:
        srv.stop()


def test_old_flag_names_log_level_and_host(tmp_path):
    """--encoding is the old name of --hash-algorithm; --log-level takes any
    case (the default, WARNING, hides the start-up line); --host is where the
    server listens."""
    with ServerProcess("hashserver", [str(tmp_path / "b"), "--writable", "--encoding", "sha3-256",
                                      "--log-level", "debug", "--host", "127.0.0.1"], tmp_path) as srv:
        data = b"old flags"
        checksum = hashlib.sha3_256(data).hexdigest()
        assert srv.request("PUT", f"/{checksum}", raw=data)[0] == 200
        assert srv.request("PUT", f"/{hashlib.sha256(data).hexdigest()}", raw=data)[0] == 400
        assert " INFO seamless.server: hashserver: listening on 127.0.0.1 port " in srv.log_tail()


@pytest.mark.parametrize("kind", KINDS)
def test_console_script(kind):
    """The commands by the names the reference's launcher calls."""
    script = Path(sys.executable).parent / kind
    if not script.exists():
        pytest.skip(f"{kind} is not installed next to {sys.executable}")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith(f"usage: {kind} ")


def test_relative_database_path(tmp_path):
    with ServerProcess("seamless-database", ["rel.db", "--writable"], tmp_path) as srv:
        assert srv.request("PUT", "/", {"type": "transformation", "checksum": "aa" * 32, "value": "bb" * 32})[0] == 200
    assert (tmp_path / "rel.db").exists()


def test_a_status_file_written_in_place_is_waited_for(tmp_path):
    """A launcher that writes the file in place, not through a rename: the
    server may find it empty, and must wait for its content."""
    status = tmp_path / "inplace.json"
    status.write_text("")
    contents = _start_then_write_status(tmp_path, status, '{"written": "late"}', 0.5)
    assert contents.get("status") == "running" and contents["written"] == "late"


@pytest.mark.parametrize("kind", KINDS)
def test_a_status_file_that_cannot_be_written_is_an_error_line(tmp_path, kind):
    """Once the server listens it cannot say so (a directory where the
    temporary file must go stands for a read-only folder): it stops, exit 1,
    with one line naming the file."""
    status = tmp_path / "status.json"
    status.write_text("{}")
    (tmp_path / "status.json.tmp").mkdir()
    code, err, contents = run(kind, [*KINDS[kind](tmp_path), "--port", "0"], status)
    assert code == 1 and f"error: cannot write status file '{status}'" in err
    assert "Traceback" not in err and contents == {}


def test_a_start_up_failure_with_an_unwritable_status_file(tmp_path):
    """Both errors are said, each in one line."""
    status = tmp_path / "status.json"
    status.write_text("{}")
    (tmp_path / "status.json.tmp").mkdir()
    code, err, _ = run("hashserver", [str(tmp_path / "missing"), "--port", "0"], status)
    assert code == 1 and "Traceback" not in err
    assert "error: Directory" in err and "does not exist" in err and "error: cannot write status file" in err


@pytest.mark.parametrize("host, reason", [("256.1.1.1", "cannot listen on 256.1.1.1"),
                                          ("192.0.2.1", "Cannot assign requested address")])
def test_a_host_that_cannot_be_listened_on_fails_at_once(tmp_path, host, reason):
    """Not a search through the whole port range, and not 'no free port'."""
    status = tmp_path / "status.json"
    status.write_text("{}")
    started = time.monotonic()
    code, err, contents = run("hashserver", [str(tmp_path), "--host", host, "--port-range", "50000", "60000"], status)
    assert code == 1 and reason in err and "No free port" not in err
    assert contents["status"] == "failed" and reason in contents["error"]
    assert time.monotonic() - started < 20


def test_a_later_run_drops_an_earlier_error(tmp_path):
    status = tmp_path / "status.json"
    status.write_text("{}")
    assert run("hashserver", [str(tmp_path / "missing"), "--port", "0"], status)[2]["status"] == "failed"
    code, _, contents = run("hashserver", [str(tmp_path), "--port", "0", "--timeout", "0.5"], status)
    assert code == 0 and contents["status"] == "stopped" and "error" not in contents
