"""Sidecar names and the tolerant command-line reader."""

from __future__ import annotations

import pytest

from seamless import Checksum
from seamless.checksum.sidecar import parse_sidecar_text, read_sidecar, sidecar_path, write_sidecar

HEX = "ab" * 32


@pytest.mark.parametrize("path,sidecar", [
    ("x.txt", "x.txt.CHECKSUM"),
    ("file.npy.zst", "file.npy.CHECKSUM"),
    ("file.npy.gz", "file.npy.CHECKSUM"),
    ("dir/", "dir.CHECKSUM"),
    ("dir.INDEX", "dir.CHECKSUM"),
    ("x.CHECKSUM", "x.CHECKSUM"),
])
def test_names(path, sidecar):
    """Compression suffixes and trailing slashes are stripped; INDEX maps to CHECKSUM."""
    assert sidecar_path(path) == sidecar


@pytest.mark.parametrize("text,valid", [
    (HEX, True), (HEX + "\n", True), ("\n  " + HEX + "  \n\n", True),
    ("# made by hand\n" + HEX + "\n", True), ("  # note\n" + HEX, True),
    ("", False), (HEX[:-2], False), (HEX + "\n" + HEX, False), ("zz" * 32, False),
])
def test_reader(text, valid):
    """Whitespace and comment lines are allowed; anything else is no checksum."""
    result = parse_sidecar_text(text)
    assert (result == Checksum(HEX)) if valid else result is None


def test_write_and_read(tmp_path):
    """write_sidecar writes hex + newline; read_sidecar finds it from the data path."""
    target = write_sidecar(tmp_path / "data.bin.gz", HEX)
    assert target.endswith("data.bin.CHECKSUM")
    assert (tmp_path / "data.bin.CHECKSUM").read_text() == HEX + "\n"
    assert read_sidecar(tmp_path / "data.bin") == Checksum(HEX)
    assert read_sidecar(tmp_path / "other") is None
