"""seamless-upload, -download, -checksum(-file/-index), -resolve,
-fingertip: real processes, a private SEAMLESS_CACHE."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from seamless import Buffer


@pytest.fixture
def work(tmp_path):
    folder = tmp_path / "work"
    (folder / "d" / "s").mkdir(parents=True)
    (folder / "d" / "a.txt").write_text("hi\n")
    (folder / "d" / "s" / "b.txt").write_text("yo\n")
    (folder / "f.txt").write_text("file\n")
    (folder / "f.txt.gz").write_bytes(gzip.compress(b"file\n"))
    return folder


def tool(work, module: str, function: str, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(work.parent / "cache"), XDG_CACHE_HOME=str(work.parent / "xdg"))
    code = f"import sys; from seamless.cli.{module} import {function}; sys.exit({function}(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], cwd=work, env=env, capture_output=True, text=True,
                          timeout=120)


FILE_CS = Buffer(b"file\n").get_checksum().hex()


def test_checksum_tools(work):
    assert tool(work, "checksum_tools", "checksum_main", "f.txt").stdout.strip() == FILE_CS
    raw = tool(work, "checksum_tools", "checksum_main", "f.txt.gz").stdout.strip()
    assert raw != FILE_CS  # as the reference: the compressed bytes
    assert tool(work, "checksum_tools", "checksum_main", "--decompress", "f.txt.gz").stdout.strip() == FILE_CS
    assert tool(work, "checksum_tools", "checksum_file_main", "f.txt").returncode == 0
    assert (work / "f.txt.CHECKSUM").read_text().strip() == FILE_CS
    assert tool(work, "checksum_tools", "checksum_index_main", "d/").returncode == 0
    index = json.loads((work / "d.INDEX").read_text())
    assert index == {"a.txt": Buffer(b"hi\n").get_checksum().hex(), "s/b.txt": Buffer(b"yo\n").get_checksum().hex()}
    assert (work / "d.CHECKSUM").read_text().strip() == Buffer(index, "plain").get_checksum().hex()
    missing = tool(work, "checksum_tools", "checksum_main", "nope.txt")
    assert missing.returncode == 1 and "nope.txt" in missing.stderr and "Traceback" not in missing.stderr


def test_upload_then_download(work):
    up = tool(work, "upload", "main", "-v", "d", "f.txt")
    assert up.returncode == 0, up.stderr
    assert "2 already stored" not in up.stdout and "3 uploaded" in up.stdout
    again = tool(work, "upload", "main", "-v", "d", "f.txt")
    assert "0 uploaded, 3 already stored" in again.stdout
    for name in ("d/a.txt", "d/s/b.txt", "f.txt"):
        os.unlink(work / name)
    (work / "d" / "stray.txt").write_text("not in the index\n")
    down = tool(work, "download", "main", "d", "f.txt")
    assert down.returncode == 1 and "not in its index" in down.stderr
    assert (work / "f.txt").read_text() == "file\n" and (work / "d" / "s" / "b.txt").read_text() == "yo\n"
    assert tool(work, "download", "main", "--dest-rm", "d").returncode == 0
    assert not (work / "d" / "stray.txt").exists()
    (work / "f.txt").write_text("changed\n")  # a stale file is replaced
    assert tool(work, "download", "main", "f.txt").returncode == 0
    assert (work / "f.txt").read_text() == "file\n"
    out = tool(work, "download", "main", FILE_CS, "-o", "copy.txt")
    assert out.returncode == 0 and (work / "copy.txt").read_text() == "file\n"


def test_resolve_and_fingertip(work):
    tool(work, "upload", "main", "f.txt")
    assert tool(work, "resolve", "resolve_main", "f.txt").stdout == "file\n"
    assert tool(work, "resolve", "resolve_main", FILE_CS, "--output", "o.bin").returncode == 0
    assert (work / "o.bin").read_bytes() == b"file\n"
    unknown = tool(work, "resolve", "fingertip_main", "00" * 32)
    assert unknown.returncode == 1 and "cannot be found or recomputed" in unknown.stderr
    missing = tool(work, "resolve", "resolve_main", "00" * 32, "--output", "none.bin")
    assert missing.returncode == 1 and "cannot be found" in missing.stderr
    assert not any(p.name.startswith((".none.bin", "none.bin")) for p in work.iterdir())  # nothing left behind


SCRATCH = """
import seamless.config
seamless.config.init()
from seamless.transformer import delayed

@delayed
def shout(text):
    return text.upper()

shout.scratch = True
tf = shout("file")
tf.compute()
print(tf.result_checksum)
"""


def test_fingertip_output_recomputes_a_scratch_result(work):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEAMLESS_")}
    env.update(SEAMLESS_CACHE=str(work.parent / "cache"), XDG_CACHE_HOME=str(work.parent / "xdg"))
    (work.parent / "scratch.py").write_text(SCRATCH)  # a file: the function's source is captured from it
    script = subprocess.run([sys.executable, str(work.parent / "scratch.py")], cwd=work, env=env,
                            capture_output=True, text=True, timeout=120)
    assert script.returncode == 0, script.stderr
    checksum = script.stdout.split()[-1]
    assert tool(work, "resolve", "resolve_main", checksum, "--output", "got.txt").returncode == 1  # not kept
    got = tool(work, "resolve", "fingertip_main", checksum, "--output", "got.txt")
    assert got.returncode == 0, got.stderr
    assert (work / "got.txt").read_bytes() == Buffer("FILE", "mixed").content


def test_help_of_every_tool(work):
    for module, function in (("upload", "main"), ("download", "main"), ("checksum_tools", "checksum_main"),
                             ("checksum_tools", "checksum_file_main"), ("checksum_tools", "checksum_index_main"),
                             ("resolve", "resolve_main"), ("resolve", "fingertip_main"), ("run.main", "main"),
                             ("run_transformation", "main"), ("cancel", "main"),
                             ("init", "main")):
        result = tool(work, module, function, "--help")
        assert result.returncode == 0 and "usage:" in result.stdout, (module, function)


def test_upload_move_and_download_index(work):
    moved = tool(work, "upload", "main", "--move", "d", "f.txt")
    assert moved.returncode == 0, moved.stderr
    assert not (work / "d").exists() and not (work / "f.txt").exists()
    assert (work / "d.INDEX").exists() and (work / "f.txt.CHECKSUM").exists()
    index_only = tool(work, "download", "main", "--index", "d")
    assert index_only.returncode == 0, index_only.stderr
    assert (work / "d" / "s" / "b.txt.CHECKSUM").read_text().strip() == Buffer(b"yo\n").get_checksum().hex()
    assert not (work / "d" / "s" / "b.txt").exists()
    assert tool(work, "download", "main", "d", "f.txt").returncode == 1  # the sidecars count as stray files
    assert tool(work, "download", "main", "--dest-rm", "d", "f.txt").returncode == 0
    assert (work / "d" / "a.txt").read_text() == "hi\n" and (work / "f.txt").read_text() == "file\n"


def test_download_compressed(work):
    import zstandard

    assert tool(work, "upload", "main", "d", "f.txt").returncode == 0
    os.unlink(work / "f.txt")
    done = tool(work, "download", "main", "--compression", "gz", "f.txt")
    assert done.returncode == 0, done.stderr
    assert gzip.decompress((work / "f.txt.gz").read_bytes()) == b"file\n" and not (work / "f.txt").exists()
    import shutil

    shutil.rmtree(work / "d")
    folder = tool(work, "download", "main", "--compression", "zst", "d")
    assert folder.returncode == 0, folder.stderr
    data = (work / "d" / "s" / "b.txt.zst").read_bytes()
    assert zstandard.ZstdDecompressor().decompressobj().decompress(data) == b"yo\n"


def test_upload_by_links_into_a_buffer_folder(work, tmp_path):
    from seamless.hashserver.store import BufferStore

    folder = tmp_path / "buffers"
    BufferStore(str(folder))  # a prefix-layout folder
    linked = tool(work, "upload", "main", "--destination", str(folder), "--hardlink", "d", "f.txt")
    assert linked.returncode == 0, linked.stderr
    stored = folder / FILE_CS[:2] / FILE_CS
    assert os.path.samefile(stored, work / "f.txt")  # the same file, no copy
    again = tool(work, "upload", "main", "--destination", str(folder), "--hardlink", "--incremental", "-v", "f.txt")
    assert again.returncode == 0 and "0 uploaded" in again.stdout
    other = tmp_path / "other"
    BufferStore(str(other))
    assert tool(work, "upload", "main", "--destination", str(other), "--symlink", "f.txt").returncode == 0
    assert os.path.islink(other / FILE_CS[:2] / FILE_CS)
    refused = tool(work, "upload", "main", "--incremental", "f.txt")
    assert refused.returncode == 1 and "--incremental goes with --hardlink" in refused.stderr
