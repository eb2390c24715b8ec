"""Deep checksums of directories: the golden example and the walk rules."""

from __future__ import annotations

import gzip
import hashlib
import os

import pytest

from seamless.checksum.directory import build_index, directory_checksum, index_buffer, write_index


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def indir(tmp_path):
    """The example directory of identity.md, section 8."""
    root = tmp_path / "indir"
    (root / "sub").mkdir(parents=True)
    (root / "x.txt").write_text("hello\n")
    (root / "sub" / "y.txt").write_text("world\n")
    return root


def test_golden_example(indir):
    """The index buffer and directory checksum of identity.md."""
    assert index_buffer(build_index(indir)) == (
        b'{\n  "sub/y.txt": "e258d248fda94c63753607f7c4494ee0fcbe92f1a76bfdac795c9d84101eb317",\n'
        b'  "x.txt": "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"\n}\n'
    )
    assert directory_checksum(indir) == "6952daf0820b60dd6d5393905095c284d45cf55a2574cdb4ab07c4a7e9de1efb"


def test_walk_rules(indir, tmp_path):
    """Hidden and sidecar files count; file links are followed, directory
    links are not descended; empty directories and FIFOs do not appear."""
    (indir / ".hidden").write_bytes(b"h")
    (indir / "x.txt.CHECKSUM").write_bytes(b"c")
    (indir / "empty").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "z").write_bytes(b"z")
    os.symlink(outside / "z", indir / "link-to-file")
    os.symlink(outside, indir / "link-to-dir")
    os.mkfifo(indir / "fifo")
    index = build_index(indir)
    assert set(index) == {".hidden", "x.txt.CHECKSUM", "link-to-file", "sub/y.txt", "x.txt"}
    assert index["link-to-file"] == sha(b"z")


def test_empty_directory(tmp_path):
    """An empty directory has the trivial checksum of b"{}\\n"."""
    assert directory_checksum(tmp_path) == sha(b"{}\n")


def test_decompress(indir):
    """With decompress, x.gz is entered as x with the decompressed checksum."""
    (indir / "z.txt.gz").write_bytes(gzip.compress(b"hello\n"))
    plain = build_index(indir)
    assert plain["z.txt.gz"] == sha((indir / "z.txt.gz").read_bytes())
    index = build_index(indir, decompress=True)
    assert index["z.txt"] == sha(b"hello\n") and "z.txt.gz" not in index
    (indir / "z.txt").write_bytes(b"clash")
    with pytest.raises(ValueError, match="z.txt"):
        build_index(indir, decompress=True)


def test_errors(tmp_path):
    """Missing roots, files as roots, and dangling links are reported."""
    with pytest.raises(FileNotFoundError):
        build_index(tmp_path / "missing")
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(NotADirectoryError):
        build_index(tmp_path / "f")
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling")
    with pytest.raises(FileNotFoundError, match="dangling"):
        build_index(tmp_path)


def test_write_index(indir):
    """write_index leaves D.INDEX and D.CHECKSUM next to the directory."""
    checksum = write_index(indir)
    assert checksum.hex() == "6952daf0820b60dd6d5393905095c284d45cf55a2574cdb4ab07c4a7e9de1efb"
    assert (indir.parent / "indir.INDEX").read_bytes() == index_buffer(build_index(indir))
    assert (indir.parent / "indir.CHECKSUM").read_text() == checksum.hex() + "\n"
