"""Progress lines for large files: shown on a terminal (a pseudo-terminal
here), never in pipes, never with --quiet. The inputs are sparse files, so
that nothing large is written to the disk."""

from __future__ import annotations

import hashlib
import os
import pty
import subprocess
import sys

import pytest

from seamless.cli.transfer import PROGRESS_MIN

SIZE = PROGRESS_MIN + (10 << 20)


@pytest.fixture
def big(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    path = work / "big.dat"
    with open(path, "wb") as f:
        f.truncate(SIZE)
    return path


def on_a_terminal(args: list[str], cwd, env=None) -> tuple[int, bytes, str]:
    """(exit code, stdout, what the terminal showed on stderr)."""
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(args, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=follower, timeout=120)
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the terminal is gone: all was read
                break
            if not data:
                break
            shown += data
        return done.returncode, done.stdout, shown.decode(errors="replace")
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)


def zeros_checksum() -> str:
    digest = hashlib.sha256()
    block = bytes(1 << 20)
    for _ in range(SIZE >> 20):
        digest.update(block)
    digest.update(bytes(SIZE & ((1 << 20) - 1)))
    return digest.hexdigest()


def test_seamless_checksum_shows_progress_on_a_terminal_only(big):
    tool = [sys.executable, "-m", "seamless.cli.checksum_tools", str(big)]
    code, out, shown = on_a_terminal(tool, big.parent)
    assert code == 0 and out.decode().strip() == zeros_checksum()
    assert "hash big.dat:" in shown and " of " in shown
    code, out, shown = on_a_terminal(tool[:3] + ["--quiet", str(big)], big.parent)
    assert code == 0 and out.decode().strip() == zeros_checksum() and shown == ""
    piped = subprocess.run(tool, capture_output=True, timeout=120)
    assert piped.returncode == 0 and piped.stderr == b""


def test_seamless_run_shows_the_store_of_a_large_input(big):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(big.parent.parent / "cache"), XDG_CACHE_HOME=str(big.parent.parent / "xdg"),
               HOME=str(big.parent.parent))
    run = [sys.executable, "-m", "seamless.cli.run.main", "wc -c big.dat"]
    code, out, shown = on_a_terminal(run, big.parent, env)
    assert code == 0 and out.split()[0] == str(SIZE).encode()
    assert "store big.dat:" in shown
