"""The store-write functions of both backends give the same files, results
and errors."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import socket
import threading

import pytest

from seamless._native import _args
from seamless.exceptions import ChecksumMismatchError
from support import BACKEND_MODULES


@pytest.fixture
def config(tmp_path, backend):
    root = tmp_path / "store"
    (root / ".tmp").mkdir(parents=True)
    return _args.StoreConfig(str(root), "1@test@", "prefix")


def test_outcomes_and_layout(backend, config):
    """Created, then existed; the file is at ab/abcd... and read-only."""
    digest, size, outcome = backend.store_put(config, b"hello")
    assert digest == hashlib.sha256(b"hello").digest() and size == 5
    assert outcome == _args.PUT_CREATED
    assert backend.store_put(config, bytearray(b"hello"))[2] == _args.PUT_EXISTED
    path = os.path.join(config.root, digest.hex()[:2], digest.hex())
    assert open(path, "rb").read() == b"hello"
    assert os.stat(path).st_mode & 0o777 == 0o444
    assert os.listdir(os.path.join(config.root, ".tmp")) == []
    assert backend.store_stat(config, digest + bytes(32)) == [5, -1]


@pytest.mark.parametrize("suffix", [".zst", ".gz"])
def test_stat_sees_compressed_forms(backend, config, suffix):
    """Only a compressed form: STAT_COMPRESSED; a plain file wins over it."""
    digest = hashlib.sha256(b"packed").digest()
    shard = os.path.join(config.root, digest.hex()[:2])
    os.makedirs(shard, exist_ok=True)
    with open(os.path.join(shard, digest.hex() + suffix), "wb") as f:
        f.write(b"whatever")
    assert backend.store_stat(config, digest) == [_args.STAT_COMPRESSED]
    backend.store_put(config, b"packed")
    assert backend.store_stat(config, digest) == [6]


def test_replaces_a_truncated_file(backend, config):
    """A file of the wrong size at the final path is replaced atomically."""
    digest = hashlib.sha256(b"complete").digest()
    shard = os.path.join(config.root, digest.hex()[:2])
    os.makedirs(shard, exist_ok=True)
    with open(os.path.join(shard, digest.hex()), "wb") as f:
        f.write(b"comp")
    assert backend.store_put(config, b"complete")[2] == _args.PUT_REPLACED


def test_mismatch_is_the_same_error(config):
    """Both backends name expected and actual checksums alike."""
    messages = set()
    for backend in BACKEND_MODULES:
        with pytest.raises(ChecksumMismatchError) as info:
            backend.store_put(config, b"data", b"\x01" * 32)
        messages.add(str(info.value))
    assert len(messages) == 1 and hashlib.sha256(b"data").hexdigest() in messages.pop()


def test_put_file_and_its_errors(backend, config, tmp_path):
    """Files stream in; a missing source or a directory raise as open() would."""
    source = tmp_path / "src"
    source.write_bytes(b"x" * 100_000)
    assert backend.store_put_file(config, source)[0] == hashlib.sha256(b"x" * 100_000).digest()
    with pytest.raises(FileNotFoundError):
        backend.store_put_file(config, tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        backend.store_put_file(config, tmp_path)


@pytest.mark.parametrize("size", [0, 4096, 100_000, (5 << 20) + 4097])
def test_direct_writes_give_the_same_files(backend, config, tmp_path, size):
    """direct=True (O_DIRECT where the file system allows it: whole aligned
    blocks, the rest normally) changes nothing but the speed."""
    import dataclasses

    data = os.urandom(size)
    source = tmp_path / "src"
    source.write_bytes(data)
    direct = dataclasses.replace(config, direct=True)
    digest, length, outcome = backend.store_put_file(direct, source)
    assert digest == hashlib.sha256(data).digest() and length == size and outcome == _args.PUT_CREATED
    with open(os.path.join(config.root, digest.hex()[:2], digest.hex()), "rb") as f:
        assert f.read() == data
    # from memory: a bytearray is copied into aligned blocks, bytes are written from where they are
    for other in (bytearray(os.urandom(size)), os.urandom(size)):
        digest, _, outcome = backend.store_put(direct, other)
        assert digest == hashlib.sha256(other).digest() and (outcome == _args.PUT_CREATED or size == 0)
        with open(os.path.join(config.root, digest.hex()[:2], digest.hex()), "rb") as f:
            assert f.read() == other
    assert os.listdir(os.path.join(config.root, ".tmp")) == []


def test_store_folder_missing(backend, tmp_path):
    """A store whose folder vanished reports an OSError naming it."""
    config = _args.StoreConfig(str(tmp_path / "gone"), "1@test@", "flat")
    with pytest.raises(FileNotFoundError, match="gone"):
        backend.store_put(config, b"x")


def test_sync(backend, config):
    """store_sync flushes the file system without error."""
    backend.store_sync(config.root)


def test_streaming_writer(backend, config):
    """Pieces fed to a writer give the one-shot digest; a mismatch or an
    abandoned writer leaves no temporary file."""
    data = os.urandom(300_000)
    writer = backend.StoreWriter(config, hashlib.sha256(data).digest())
    for i in range(0, len(data), 65536):
        writer.feed(memoryview(data)[i : i + 65536])
    assert writer.finish() == (hashlib.sha256(data).digest(), len(data), _args.PUT_CREATED)
    wrong = backend.StoreWriter(config, b"\x02" * 32)
    wrong.feed(b"abc")
    with pytest.raises(ChecksumMismatchError):
        wrong.finish()
    abandoned = backend.StoreWriter(config)
    abandoned.feed(b"half of an upload")
    abandoned.close()
    assert os.listdir(os.path.join(config.root, ".tmp")) == []
    with pytest.raises(ValueError, match="closed"):
        abandoned.feed(b"more")


@pytest.mark.parametrize("pieces", [[1 << 20], [4095, 1, 3 << 20], [5 << 20]])
def test_direct_writer_gives_the_same_file(backend, tmp_path, pieces):
    """Direct I/O (where the file system allows it; the fallback and tmpfs
    stay buffered) writes the same bytes, with an unaligned tail."""
    data = os.urandom((9 << 20) + 12345)
    root = tmp_path / "store"
    (root / ".tmp").mkdir(parents=True)
    config = _args.StoreConfig(str(root), "1@test@", "prefix")
    writer = backend.StoreWriter(config, hashlib.sha256(data).digest(), direct=True)
    done, k = 0, 0
    while done < len(data):
        n = pieces[k % len(pieces)]
        writer.feed(memoryview(data)[done : done + n])
        done, k = done + n, k + 1
    assert writer.finish() == (hashlib.sha256(data).digest(), len(data), _args.PUT_CREATED)
    cs = hashlib.sha256(data).hexdigest()
    assert (root / cs[:2] / cs).read_bytes() == data


# ---- stream puts (a server's large upload, straight from its socket) ------

def _send_later(sock, data: bytes, close: bool = False):
    """Send data from a thread, as a client would."""

    def run():
        view = memoryview(data)
        while view:
            sent = sock.send(view[: 1 << 20])
            view = view[sent:]
        if close:
            sock.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("size,prefix_len", [(0, 0), (1000, 1000), (100_000, 3), ((9 << 20) + 17, 70_000)])
def test_stream_put_reads_exactly_its_length(backend, config, size, prefix_len):
    """Prefix, then the rest from a non-blocking socket: the file is right,
    and the bytes after the announced length stay in the socket."""
    data = os.urandom(size)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        sender = _send_later(theirs, data[prefix_len:] + b"NEXT REQUEST")
        digest, got, outcome = backend.store_put_stream(config, ours.fileno(), size, data[:prefix_len])
        sender.join()
        assert digest == hashlib.sha256(data).digest() and got == size and outcome == _args.PUT_CREATED
        ours.setblocking(True)
        assert ours.recv(100) == b"NEXT REQUEST"
    with open(os.path.join(config.root, digest.hex()[:2], digest.hex()), "rb") as f:
        assert f.read() == data
    assert os.listdir(os.path.join(config.root, ".tmp")) == []


def test_stream_put_direct_matches(backend, config):
    data = os.urandom((6 << 20) + 5)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        _send_later(theirs, data)
        direct = dataclasses.replace(config, direct=True)
        digest = backend.store_put_stream(direct, ours.fileno(), len(data))[0]
    with open(os.path.join(config.root, digest.hex()[:2], digest.hex()), "rb") as f:
        assert f.read() == data


def test_stream_put_of_a_known_buffer_is_verified(backend, config):
    data = os.urandom(200_000)
    digest = backend.store_put(config, data)[0]
    for expected, body in ((digest, data), (digest, data[:-1] + b"?")):
        ours, theirs = socket.socketpair()
        with ours, theirs:
            _send_later(theirs, body)
            if body == data:
                assert backend.store_put_stream(config, ours.fileno(), len(body), b"", expected)[2] == _args.PUT_EXISTED
            else:
                with pytest.raises(ChecksumMismatchError):
                    backend.store_put_stream(config, ours.fileno(), len(body), b"", expected)


def test_stream_put_early_end_stores_nothing(backend, config):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        _send_later(theirs, os.urandom(3 << 20), close=True)
        with pytest.raises(ConnectionResetError, match="ended before"):
            backend.store_put_stream(config, ours.fileno(), 5 << 20)
    assert os.listdir(os.path.join(config.root, ".tmp")) == []
    assert sorted(os.listdir(config.root)) == [".tmp"]


def test_stream_put_stall_and_trickle_time_out(backend, config):
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        theirs.send(b"x" * 100)
        with pytest.raises(TimeoutError):
            backend.store_put_stream(config, ours.fileno(), 1000, stall=0.2)
    # A trickle: a few bytes every 50 ms never stalls for 0.3 s, but stays
    # far below the minimum rate over that window.
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.setblocking(False)
        stop = threading.Event()

        def trickle():
            while not stop.wait(0.05):
                try:
                    theirs.send(b"y" * 10)
                except OSError:
                    return

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        try:
            with pytest.raises(TimeoutError):
                backend.store_put_stream(config, ours.fileno(), 1 << 20, stall=0.3, min_rate=1 << 20)
        finally:
            stop.set()
            sender.join()
    assert os.listdir(os.path.join(config.root, ".tmp")) == []


@pytest.mark.parametrize("bad", [dict(fd=-1), dict(length=3, prefix=b"four"), dict(length="5"), dict(stall=-1)])
def test_stream_put_bad_arguments(backend, config, bad):
    args = dict(fd=0, length=5, prefix=b"", stall=1.0)
    args.update(bad)
    with pytest.raises((TypeError, ValueError)):
        backend.store_put_stream(config, args["fd"], args["length"], args["prefix"], None, args["stall"])
