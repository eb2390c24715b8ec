"""seamless-run: identities (the golden ones of identity.md §12), caching
across processes, outputs, exit codes, errors. Real processes, a private
SEAMLESS_CACHE per test."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from seamless import Buffer

RUN = [sys.executable, "-m", "seamless.cli.run.main"]
ECHO_TF = "706b247db5f69ec5dc5b452a1a9164089faed42eaab3d461b8dfdf3217a36550"


@pytest.fixture
def folder(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    return work


def run(folder, *args, input_=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(folder.parent / "cache"), XDG_CACHE_HOME=str(folder.parent / "xdg"),
               HOME=str(folder.parent))
    return subprocess.run(RUN + list(args), cwd=folder, env=env, capture_output=True, timeout=120, input=input_)


def database(folder):
    return sqlite3.connect(folder.parent / "cache" / "__TOPLEVEL__" / "seamless.db")


def test_golden_echo_hello(folder):
    dry = run(folder, "--dry", "-vvv", "echo", "hello")
    assert dry.returncode == 0 and dry.stdout.decode().strip() == ECHO_TF
    result = run(folder, "echo", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hello\n"
    row = database(folder).execute("SELECT result FROM transformation WHERE checksum = ?", (ECHO_TF,)).fetchone()
    assert row == (Buffer(b"hello\n").get_checksum().hex(),)


def test_golden_identity_buffer_of_paste_awk(folder):
    data = folder / "data"
    data.mkdir()
    (data / "a.txt").write_text("1 apple\n")
    (data / "b.txt").write_text("20 pears\n")
    command = "paste data/b.txt data/a.txt | awk 'NF == 2 && $1 > 10{print $2}' "
    job = run(folder, "--dry", "-j", "job", command)
    assert job.returncode == 0, job.stderr
    identity = json.loads((folder / "job" / "transformation.json").read_text())
    assert identity["code"] == ["text", None, "158840e8292054f14768d973d3630069697896202b18b1e487ed2874618a1525"]
    assert identity["__format__"] == {name: {"filesystem": {"mode": "file", "optional": True}}
                                      for name in ("data/a.txt", "data/b.txt")}
    assert identity["data/a.txt"] == ["bytes", None, Buffer(b"1 apple\n").get_checksum().hex()]
    assert identity["__output__"] == ["result", "bytes", None] and identity["__language__"] == "bash"


def test_golden_code_of_a_directory_input_with_captures(folder):
    (folder / "indir" / "sub").mkdir(parents=True)
    (folder / "indir" / "x.txt").write_text("x\n")
    (folder / "indir" / "sub" / "y.txt").write_text("y\n")
    command = "ls -R indir/ > listing.txt; mkdir -p outdir; cp -r indir/* outdir/; echo done"
    job = run(folder, "--dry", "-j", "job", "-cp", "outdir", "-cp", ":log.txt", command)
    assert job.returncode == 0, job.stderr
    assert (folder / "job" / "command.txt").read_text() == (
        "mkdir -p RESULT/\n(\nls -R indir > listing.txt; mkdir -p outdir; cp -r indir/* outdir/; echo done\n"
        ") > STDOUT\nmv outdir RESULT/\nmv STDOUT RESULT/\n")
    identity = json.loads((folder / "job" / "transformation.json").read_text())
    assert identity["indir"][:2] == ["mixed", None]
    assert identity["__format__"]["indir"] == {"celltype": "deepfolder",
                                               "filesystem": {"mode": "directory", "optional": True}}
    assert identity["__output__"] == ["result", "deepfolder", None]
    done = run(folder, "-cp", "outdir", "-cp", ":log.txt", command)
    assert done.returncode == 0, done.stderr
    assert (folder / "log.txt").read_text() == "done\n"
    assert (folder / "outdir" / "sub" / "y.txt").read_text() == "y\n"
    index = json.loads((folder / "outdir.INDEX").read_text())
    assert set(index) == {"x.txt", "sub/y.txt"}
    assert (folder / "outdir.CHECKSUM").read_text().strip() == Buffer(index, "plain").get_checksum().hex()


def test_a_second_run_is_cached(folder):
    (folder / "in.txt").write_text("abc\n")
    marker = folder.parent / "ran"
    command = "wc -c in.txt > count.txt"
    first = run(folder, "--prologue", f"echo ran >> {marker}", command)
    assert first.returncode == 0, first.stderr
    assert (folder / "count.txt").read_text() == "4 in.txt\n"
    (folder / "count.txt").unlink()
    second = run(folder, "--prologue", f"echo ran >> {marker}", command)
    assert second.returncode == 0, second.stderr
    assert (folder / "count.txt").read_text() == "4 in.txt\n"
    assert marker.read_text() == "ran\n"  # executed once
    (folder / "in.txt").write_text("abcd\n")  # another input: another transformation
    assert run(folder, "--prologue", f"echo ran >> {marker}", command).returncode == 0
    assert (folder / "count.txt").read_text() == "5 in.txt\n"  # replaced, as its sidecar
    assert (folder / "count.txt.CHECKSUM").read_text().strip() == Buffer(b"5 in.txt\n").get_checksum().hex()


def test_the_commands_exit_code_and_no_cache_entry(folder):
    failed = run(folder, "-c", "echo partial; echo problem >&2; exit 7")
    assert failed.returncode == 7
    assert failed.stdout == b"partial\n" and b"problem" in failed.stderr
    assert b"exit code 7" in failed.stderr
    assert database(folder).execute("SELECT count(*) FROM transformation").fetchone() == (0,)


def test_stdout_is_byte_exact(folder):
    result = run(folder, "-c", "printf '\\n\\nx\\n\\n\\n'")
    assert result.stdout == b"\n\nx\n\n\n"
    binary = run(folder, "-c", "printf '\\377\\000'")
    assert binary.stdout == b"\xff\x00"


def test_vars_and_input_redirections(folder):
    (folder / "numbers.txt").write_text("3\n1\n2\n")
    result = run(folder, "--var", "seed=42", "-c", "sort < numbers.txt; echo $seed; cat seed")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"1\n2\n3\n42\n42\n"
    assert run(folder, "--dry", "-j", "job", "--var", "seed=42", "-c", "sort < numbers.txt").returncode == 0
    identity = json.loads((folder / "job" / "transformation.json").read_text())
    assert identity["seed"] == ["str", None, Buffer(b'"42"\n').get_checksum().hex()]
    assert "numbers.txt" in identity  # an input, not an output


def test_argument_typing_errors(folder):
    missing = run(folder, "cat", "missing.txt")
    assert missing.returncode == 1
    assert b"Argument #2 'missing.txt' has an extension, so it must exist" in missing.stderr
    assert b"-g1" in missing.stderr and b"Traceback" not in missing.stderr
    (folder / "plain").write_text("x")
    rule2 = run(folder, "cat", "plain")
    assert rule2.returncode == 1 and b"-g2" in rule2.stderr
    outside = run(folder, "cat", "../outside.txt", "-g1")
    assert outside.returncode == 1
    bad = run(folder, "-c", "cat <<EOF\nx\nEOF")
    assert bad.returncode == 1 and b"here-documents" in bad.stderr


def test_a_command_that_writes_its_input_is_caught(folder):
    (folder / "data.txt").write_text("original\n")
    result = run(folder, "-c", "truncate -s 3 data.txt; echo x")
    assert result.returncode == 1
    assert b"changed while the command ran" in result.stderr
    assert (folder / "data.txt").read_text() == "original\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can write through the store's 0444")
def test_a_command_that_overwrites_a_large_input_in_place_is_caught(folder):
    """A large input is checked by its stat signature (ctime), not by hashing."""
    data = os.urandom(5 << 20)
    (folder / "big.dat").write_bytes(data)
    overwrite = "printf X | dd of=\"$1\" bs=1 seek=10 conv=notrunc 2>/dev/null"
    result = run(folder, "-c", f"sh -c '{overwrite}' _ big.dat; echo x")
    assert result.returncode == 1
    assert b"changed while the command ran" in result.stderr
    assert (folder / "big.dat").read_bytes() == data
    again = run(folder, "wc -c big.dat")  # the damaged copy left the store: stored again, and right
    assert again.returncode == 0, again.stderr
    assert again.stdout.split()[0] == str(5 << 20).encode()


def test_help_and_usage(folder):
    help_ = run(folder, "--help")
    assert help_.returncode == 0 and b"--capture" in help_.stdout and b"--scratch" in help_.stdout
    assert run(folder).returncode == 2
    late = run(folder, "cat", "x.txt", "--capture", "y", "-g1")
    assert b"comes after the command" in late.stderr


def test_mappings_lists_and_metafiles(folder):
    (folder / "m").mkdir()
    (folder / "m" / "a.txt").write_text("1\n")
    (folder / "m" / "b.dat").write_text("2\n")
    strip = run(folder, "--dry", "-j", "js", "-ms", "cat m/a.txt m/b.dat")
    assert strip.returncode == 0, strip.stderr
    assert "cat a.txt b.dat" in (folder / "js" / "command.txt").read_text()
    extension = run(folder, "-mx", "cat m/a.txt m/b.dat; ls")
    assert extension.stdout.decode().split() == ["1", "2", "RESULT", "file1.txt", "file2.dat", "transform.sh"]
    (folder / "list.txt").write_text("m/a.txt\n\nm/b.dat\n")  # the empty line is skipped
    listed = run(folder, "-I", "list.txt", "--metafile", "m/a.txt", "cat m/a.txt m/b.dat")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == b"1\n2\n"
    job = run(folder, "--dry", "-j", "jm", "--metafile", "m/b.dat", "-g1", "echo x")
    assert job.returncode == 0
    identity = json.loads((folder / "jm" / "transformation.json").read_text())
    assert not any(key.startswith("META__") for key in identity)  # not part of the identity


def test_environment_is_not_identity(folder):
    plain = run(folder, "--dry", "-vvv", "echo", "hello").stdout
    with_env = run(folder, "--dry", "-vvv", "--docker", "ubuntu", "echo", "hello").stdout
    assert plain == with_env == (ECHO_TF + "\n").encode()
    no_conda = run(folder, "--conda", "nope", "echo hi")
    assert no_conda.returncode == 1 and b"conda" in no_conda.stderr


def test_a_job_with_meta_variables_replays(folder):
    job = run(folder, "--dry", "--upload", "-j", "job", "--metavar", "T=4", "echo $T hello")
    assert job.returncode == 0, job.stderr
    assert "META__T" in json.loads((folder / "job" / "dunder.json").read_text())  # kept (the reference loses it)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(folder.parent / "cache"), XDG_CACHE_HOME=str(folder.parent / "xdg"))
    replay = subprocess.run([sys.executable, "-m", "seamless.cli.run_transformation",
                             "job/transformation.json.CHECKSUM", "-o", "out.txt"], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=120)
    assert replay.returncode == 0, replay.stderr
    assert (folder / "out.txt").read_text() == "4 hello\n"


def test_a_stale_future_is_an_error(folder):
    (folder / "in.txt").write_text("x\n")
    future = folder / "in.txt.FUTURE"
    future.write_text("abc.in.txt\n")
    os.utime(future, (0, 0))  # nobody touched it for ages: its job is gone
    stale = run(folder, "cat", "in.txt")
    assert stale.returncode == 1 and b"Stale future" in stale.stderr and b"in.txt.FUTURE" in stale.stderr
    future.unlink()
    assert run(folder, "cat", "in.txt").stdout == b"x\n"


def test_compressed_inputs_and_folders_with_compressed_files(folder):
    import gzip

    (folder / "a.txt.gz").write_bytes(gzip.compress(b"zipped\n"))
    (folder / "indir").mkdir()
    (folder / "indir" / "p.txt.gz").write_bytes(gzip.compress(b"inner\n"))
    result = run(folder, "zcat", "a.txt.gz")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"zipped\n"
    listing = run(folder, "ls", "indir/")
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout == b"p.txt\n"  # folders are given by content: the decompressed file


def test_a_signal_gives_128_plus_its_number(folder):
    killed = run(folder, "-c", "kill -9 $$")
    assert killed.returncode == 137


def test_cancel_stops_a_running_command(folder):
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(folder.parent / "cache"), XDG_CACHE_HOME=str(folder.parent / "xdg"),
               HOME=str(folder.parent))
    tf = run(folder, "--dry", "-vvv", "sleep 30; echo never").stdout.decode().strip()
    process = subprocess.Popen(RUN + ["sleep 30; echo never"], cwd=folder, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    running = folder.parent / ".seamless" / "running"
    deadline = time.time() + 30
    while not (running.exists() and any(n.startswith(tf) for n in os.listdir(running))) and time.time() < deadline:
        time.sleep(0.05)
    cancel = subprocess.run([sys.executable, "-m", "seamless.cli.cancel", tf], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=60)
    assert cancel.returncode == 0 and "canceled" in cancel.stdout
    assert process.wait(timeout=20) == 130
    assert b"never" not in process.stdout.read()
    again = subprocess.run([sys.executable, "-m", "seamless.cli.cancel", tf], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2
    assert database(folder).execute("SELECT count(*) FROM transformation").fetchone() == (0,)


def test_a_job_with_meta_variables_can_be_fingertipped_in_a_new_process(folder):
    done = run(folder, "--metavar", "N=3", "seq 1 $N")
    assert done.returncode == 0 and done.stdout == b"1\n2\n3\n", done.stderr
    result = Buffer(b"1\n2\n3\n").get_checksum().hex()
    stored = folder.parent / "cache" / "__TOPLEVEL__" / result[:2] / result
    os.chmod(stored, 0o644)
    stored.unlink()  # as if it had been scratch
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(folder.parent / "cache"), XDG_CACHE_HOME=str(folder.parent / "xdg"))
    again = subprocess.run([sys.executable, "-m", "seamless.cli.resolve", result], cwd=folder, env=env,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1  # resolve does not recompute
    tip = subprocess.run([sys.executable, "-c", "import sys; from seamless.cli.resolve import fingertip_main; "
                          f"sys.exit(fingertip_main(['{result}']))"], cwd=folder, env=env, capture_output=True,
                         text=True, timeout=60)
    assert tip.returncode == 0, tip.stderr
    assert tip.stdout == "1\n2\n3\n"  # META__N came from the execution record's replay envelope


def test_write_remote_job_writes_a_runnable_job_folder_and_caches_nothing(folder):
    (folder / "data.txt").write_text("abcdef\n")
    written = run(folder, "--dry", "--write-remote-job", "job", "--var", "N=3", "--",
                  "head -c $N data.txt; wc -c < data.txt")
    assert written.returncode == 0, written.stderr
    job = folder / "job"
    assert str(job) in written.stdout.decode()
    script = job / "transform.sh"
    assert os.access(script, os.X_OK) and "\nexport N=3\n" in script.read_text()
    copy = job / "data.txt"
    assert copy.read_text() == "abcdef\n" and copy.stat().st_nlink == 1  # a copy: the job cannot harm the store
    done = subprocess.run(["job/transform.sh"], cwd=folder, capture_output=True, timeout=60)  # from anywhere
    assert done.returncode == 0, done.stderr
    assert (job / "RESULT").read_text() == "abc7\n"
    assert database(folder).execute("SELECT count(*) FROM transformation").fetchone() == (0,)
    data_checksum = Buffer(b"abcdef\n").get_checksum().hex()
    stored = folder.parent / "cache" / "__TOPLEVEL__" / data_checksum[:2] / data_checksum
    assert stored.exists()  # --write-remote-job implies --upload


def test_write_remote_job_needs_dry_and_a_new_folder(folder):
    without_dry = run(folder, "--write-remote-job", "job", "echo hi")
    assert without_dry.returncode == 2 and b"need --dry" in without_dry.stderr
    (folder / "job").mkdir()
    exists = run(folder, "--dry", "--write-remote-job", "job", "echo hi")
    assert exists.returncode == 1 and b"exists already" in exists.stderr
    assert b"Traceback" not in exists.stderr
    empty = run(folder, "--dry", "--write-remote-job", "", "echo hi")
    assert empty.returncode == 2 and b"needs a folder" in empty.stderr


def test_inputs_named_like_the_workspaces_own_files_are_refused(folder):
    """The script and the result of a bash workspace are not inputs: an
    input named transform.sh would be overwritten by the script (through
    a hard link, in the store)."""
    (folder / "transform.sh").write_text("echo mine\n")
    for args in (["bash transform.sh"], ["--dry", "--write-remote-job", "job", "bash transform.sh"]):
        refused = run(folder, *args)
        assert refused.returncode == 1 and b"may not be named 'transform.sh'" in refused.stderr
        assert b"Traceback" not in refused.stderr
    assert (folder / "transform.sh").read_text() == "echo mine\n" and not (folder / "job").exists()


def test_write_remote_job_is_refused_before_any_upload_under_remote_execution(folder, monkeypatch, capsys):
    import seamless.config
    import seamless.transformer.runtime as runtime
    from seamless.cli.run.main import main

    (folder / "data.txt").write_text("abc\n")
    monkeypatch.chdir(folder)
    for name in [k for k in os.environ if k.startswith("SEAMLESS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SEAMLESS_CACHE", str(folder.parent / "cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder.parent / "xdg"))
    monkeypatch.setattr(runtime, "execution_mode", lambda: "remote")
    seamless.config.reset()
    runtime.reset_runtime()
    try:
        assert main(["--dry", "--write-remote-job", "job", "wc -c data.txt"]) == 1
    finally:
        seamless.config.reset()
        runtime.reset_runtime()
    assert "execution 'remote' has no backend" in capsys.readouterr().err
    data_checksum = Buffer(b"abc\n").get_checksum().hex()
    assert not (folder.parent / "cache" / "__TOPLEVEL__" / data_checksum[:2] / data_checksum).exists()
    assert not (folder / "job").exists()
