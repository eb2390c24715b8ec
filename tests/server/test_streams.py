"""The blocking senders of large files (seamless/server/http/streams.py),
on a real socket pair: every byte in order, whatever the block boundaries,
and an error, never a short answer, when the file is shorter than said."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from seamless.server.http import streams


def _direct_capable(path) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        return streams._set_direct(fd)
    finally:
        os.close(fd)


def _send_direct(path, count: int) -> tuple[bytes, Exception | None]:
    """Send count bytes of the file at path through a socket pair; what the
    other end received, and what the sender raised."""
    if not _direct_capable(path):
        pytest.skip("no direct I/O on this file system")
    a, b = socket.socketpair()
    out = bytearray()

    def receive() -> None:
        while chunk := b.recv(1 << 20):
            out.extend(chunk)

    reader = threading.Thread(target=receive)
    reader.start()
    fd = os.open(path, os.O_RDONLY)
    error = None
    try:
        a.setblocking(False)
        assert streams.send_direct_blocking(a.fileno(), fd, 0, count) == count
    except OSError as exc:
        error = exc
    finally:
        os.close(fd)
        a.close()
    reader.join(10)
    b.close()
    return bytes(out), error


@pytest.mark.parametrize("size", [
    4096,  # less than a block
    streams.DIRECT_BLOCK,  # exactly one
    (streams.DIRECT_AHEAD + 2) * streams.DIRECT_BLOCK + 123,  # more blocks than buffers, a partial last one
])
def test_send_direct_sends_every_byte_in_order(tmp_path, size):
    path = tmp_path / "big.bin"
    data = os.urandom(size)
    path.write_bytes(data)
    assert _send_direct(path, size) == (data, None)


def test_send_direct_refuses_a_file_shorter_than_announced(tmp_path):
    path = tmp_path / "short.bin"
    path.write_bytes(os.urandom(streams.DIRECT_BLOCK + 4096))
    out, error = _send_direct(path, 3 * streams.DIRECT_BLOCK)
    assert isinstance(error, OSError) and "file ended" in str(error)
    assert len(out) < 3 * streams.DIRECT_BLOCK
