"""What garbage collection keeps (gc.py): every buffer a reached JSON buffer
names, whatever that buffer's size and however it is stored."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import time

import pytest

from seamless.hashserver import BufferStore
from seamless.hashserver.gc import SCAN_PIECE, _named_in, plan, reachable


@pytest.fixture
def store(tmp_path):
    return BufferStore(str(tmp_path / "b"), "prefix", "sha-256", "none", writable=True)


def _put(store, data: bytes) -> str:
    return store.put(data).hex()


def test_plain_and_nested_json_reach_their_children(store):
    leaf = _put(store, b"leaf")
    middle = _put(store, json.dumps({"x": leaf}).encode())
    top = _put(store, json.dumps([middle, {"k": 1}]).encode())
    stray = _put(store, b"nobody names me")
    assert {top, middle, leaf} <= reachable(store, [top])
    assert plan(store, referenced=[top], min_age=0).candidates == [stray]


def test_a_compressed_json_buffer_is_read_decompressed(store):
    child = _put(store, b"child of a compressed index")
    index = json.dumps({"child": child}).encode()
    cs = hashlib.sha256(index).hexdigest()
    writer = store.compressed_writer(cs, "gzip")
    try:
        writer.feed(gzip.compress(index))
        writer.finish()
    finally:
        writer.close()
    assert store.get_path(cs) is None and cs in store  # only the compressed form
    assert child in reachable(store, [cs])
    assert plan(store, referenced=[cs]).candidates == []


def test_a_json_buffer_larger_than_a_piece_is_scanned_whole(store):
    children = [_put(store, f"child {i}".encode()) for i in range(3)]
    filler = "x" * (SCAN_PIECE - 30)  # the second checksum straddles the first piece's end
    index = json.dumps({"a": children[0], "pad": filler, "b": children[1], "pad2": filler * 3,
                        "c": children[2]}).encode()
    assert len(index) > 4 * SCAN_PIECE
    top = _put(store, index)
    assert set(children) <= reachable(store, [top])
    assert plan(store, referenced=[top]).candidates == []


def test_only_json_is_scanned_and_longer_hex_runs_are_not_checksums():
    cs = "ab" * 32
    assert _named_in(io.BytesIO(f'["{cs}"]'.encode())) == {cs}
    assert _named_in(io.BytesIO(f'"{cs}"'.encode())) == set()  # not an object or array: a leaf
    assert _named_in(io.BytesIO(f'["{cs}0"]'.encode())) == set()
    assert _named_in(io.BytesIO(b"\x00binary " + cs.encode())) == set()


def test_young_buffers_the_database_does_not_reach_are_kept(store):
    """A buffer written less than min_age ago may be an input or result whose
    record is still on the way: kept, and counted."""
    old, young = _put(store, b"written long ago"), _put(store, b"just written")
    then = time.time() - 7200
    os.utime(store.get_path(old), (then, then))
    result = plan(store, referenced=[], min_age=3600)
    assert result.candidates == [old] and result.young == 1
    assert plan(store, referenced=[], min_age=0).candidates == sorted([old, young])
    assert plan(store, referenced=[], scratch=[young], min_age=3600).candidates == sorted([old, young])
