"""seamless-store: every subcommand, its output, exit codes and --help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from seamless import Buffer
from seamless.cli.store import main
from seamless.database import ResultDB
from seamless.hashserver import BufferStore


@pytest.fixture
def folder(tmp_path):
    store = BufferStore(tmp_path / "buffers")
    for i in range(12):
        store.put(bytes([i]) * 100)
    store.close()
    return tmp_path / "buffers"


@pytest.mark.parametrize("command", [[], ["verify"], ["stats"], ["gc"], ["import"], ["export"]])
def test_help(command, capsys):
    """Every command has --help text."""
    with pytest.raises(SystemExit) as info:
        main(command + ["--help"])
    assert info.value.code == 0 and "usage" in capsys.readouterr().out


def test_stats(folder, capsys):
    """stats prints counts and sizes, as text and JSON."""
    assert main(["stats", str(folder)]) == 0
    assert capsys.readouterr().out.startswith("12 files, 1.2 KiB (1200 bytes)")
    assert main(["stats", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 12 and sum(s["count"] for s in data["shards"].values()) == 12


def test_verify_finds_and_quarantines(folder, capsys):
    """verify exits 1 and quarantines a corrupted buffer; 0 afterwards."""
    victim = next(p for p in folder.rglob("*") if p.is_file() and len(p.name) == 64)
    os.chmod(victim, 0o644)
    victim.write_bytes(b"tampered")
    assert main(["verify", str(folder), "--no-quarantine"]) == 1
    assert victim.exists() and f"corrupt: {victim}" in capsys.readouterr().out
    assert main(["verify", str(folder)]) == 1
    assert not victim.exists() and main(["verify", str(folder)]) == 0


def test_gc_dry_run_then_apply(folder, tmp_path, capsys):
    """gc reports by default and removes only with --apply; buffers reached
    through the database (a transformation and everything its dict names)
    are kept."""
    store = BufferStore(folder)
    input_cs = store.put(b"an input")
    result_cs = store.put(b"a result")
    identity = Buffer({"a": ["mixed", None, input_cs.hex()], "__language__": "python"}, "plain")
    tf_cs = store.put(identity.content)
    with ResultDB(tmp_path / "seamless.db") as db:
        db.set_transformation(tf_cs, result_cs)
    day_and_more = time.time() - 90000
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (day_and_more, day_and_more))
    stray = store.put(b"uploaded a moment ago; its record is on the way")
    args = ["gc", str(folder), "--database", str(tmp_path / "seamless.db")]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "would remove (dry run; --apply to remove): 12 buffers" in out
    assert "kept: 1 buffers the database does not reach, written in the last 24h00m (--min-age)" in out
    assert len(list(BufferStore(folder))) == 16
    assert main(args + ["--apply"]) == 0
    assert set(BufferStore(folder)) == {input_cs, result_cs, tf_cs, stray}
    assert main(args + ["--apply", "--min-age", "0"]) == 0
    assert set(BufferStore(folder)) == {input_cs, result_cs, tf_cs}


@pytest.mark.parametrize("age", ["-1", "soon", "5x", "inf", ""])
def test_gc_refuses_a_min_age_that_is_not_a_duration(folder, tmp_path, age, capsys):
    with pytest.raises(SystemExit) as info:
        main(["gc", str(folder), "--database", str(tmp_path / "s.db"), "--min-age", age])
    assert info.value.code == 2 and "is not a duration" in capsys.readouterr().err


def test_gc_scratch_list(folder, tmp_path, capsys):
    """A scratch list (comments allowed) names buffers to remove."""
    victim = next(iter(BufferStore(folder)))
    listing = tmp_path / "scratch.txt"
    listing.write_text(f"# scratch results\n{victim}\n")
    assert main(["gc", str(folder), "--scratch", str(listing), "--apply"]) == 0
    assert victim not in set(BufferStore(folder))
    listing.write_text("not a checksum\n")
    assert main(["gc", str(folder), "--scratch", str(listing)]) == 2
    assert "not a checksum" in capsys.readouterr().err


def test_gc_needs_something_to_collect(folder, capsys):
    """gc without a database or scratch list refuses with a usage error."""
    assert main(["gc", str(folder)]) == 2
    assert "nothing to collect" in capsys.readouterr().err


def test_import_and_export(folder, tmp_path, capsys):
    """Buffers move between folders and layouts."""
    assert main(["export", str(folder), str(tmp_path / "flat"), "--target-layout", "flat"]) == 0
    assert "exported 12 new buffers" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "again"), str(tmp_path / "flat")]) == 0
    assert set(BufferStore(tmp_path / "again")) == set(BufferStore(folder))


def test_errors_are_one_line(tmp_path, capsys):
    """A missing folder is an error message and exit code, not a traceback."""
    assert main(["stats", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err


@pytest.mark.parametrize("command", [["verify"], ["stats"], ["gc", "--scratch", "-"], ["export", "TARGET"]])
def test_a_missing_folder_is_an_error_and_is_not_created(tmp_path, capsys, command):
    missing = tmp_path / "missing"
    args = [command[0], str(missing), *[str(tmp_path / "t") if c == "TARGET" else c for c in command[1:]]]
    assert main(args) == 1
    assert "error: buffer folder" in capsys.readouterr().err and not missing.exists()


def test_stats_counts_buffers_only(folder, capsys):
    """Files named after a checksum with another suffix are not buffers: an
    upload's temporary file, a download's partial one, an outside lock."""
    some = next(iter(BufferStore(folder))).hex()
    shard = folder / some[:2] if (folder / some[:2]).is_dir() else folder
    for suffix in (".tmp", ".part-123-ab", ".LOCK"):
        (shard / (some + suffix)).write_bytes(b"x")
    assert main(["stats", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["count"] == 12 and data["compressed"] == 0


def test_installed_script(folder):
    """The seamless-store script runs as a real process."""
    result = subprocess.run([sys.executable, "-m", "seamless.cli.store", "stats", str(folder)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "12 files" in result.stdout


def test_verify_says_what_it_could_not_quarantine(folder, capsys):
    victim = next(p for p in folder.rglob("*") if p.is_file() and len(p.name) == 64)
    os.chmod(victim, 0o644)
    victim.write_bytes(b"tampered")
    (folder / ".quarantine").write_text("in the way")
    assert main(["verify", str(folder)]) == 1
    out = capsys.readouterr().out
    assert f"corrupt: {victim}" in out and f"not quarantined: {victim}: " in out and victim.exists()
