"""BufferStore: writes, reads, batches, layouts, durability modes, integrity."""

from __future__ import annotations

import gzip
import hashlib
import os
import stat
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamless import CacheMissError, Checksum
from seamless.exceptions import ChecksumMismatchError, InvalidChecksumError
from seamless.hashserver import BufferStore, LayoutError, ReadOnlyStoreError


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["prefix", "flat"])
def layout(request):
    return request.param


@pytest.fixture(params=["fsync", "batch", "none"])
def durability(request):
    return request.param


@pytest.fixture
def store(tmp_path, layout, durability):
    with BufferStore(tmp_path / "buffers", layout, durability=durability) as s:
        yield s


class TestWriteAndRead:
    def test_round_trip(self, store):
        """put returns the checksum; get, open, has and lengths agree."""
        cs = store.put(b"hello")
        assert cs.hex() == sha(b"hello")
        assert store.get(cs) == b"hello" == store.get(cs.hex(), verify=True)
        with store.open(cs) as f:
            assert f.read() == b"hello"
        assert store.has([cs, "00" * 32]) == [True, False] and store.has(cs) is True
        assert store.lengths([cs, "00" * 32]) == [5, None] and cs in store

    def test_empty_buffer(self, store):
        """Zero-length buffers are stored, and have length 0 (not None)."""
        cs = store.put(b"")
        assert store.get(cs) == b"" and store.lengths([cs]) == [0]

    def test_bytes_like_inputs(self, store):
        """bytearray, memoryview and numpy arrays are stored as their bytes."""
        arr = np.arange(1000, dtype=np.int32)
        assert store.put(arr).hex() == sha(arr.tobytes())
        assert store.put(memoryview(b"mv")).hex() == sha(b"mv")
        assert store.put(bytearray(b"ba")).hex() == sha(b"ba")
        assert store.get(store.put(arr)) == arr.tobytes()

    def test_buffers_are_verified_against_their_checksum(self, store):
        """A Buffer with a (trusted) checksum is checked when stored."""
        from seamless import Buffer

        assert store.put(Buffer(b"ok")).hex() == sha(b"ok")
        with pytest.raises(ChecksumMismatchError):
            store.put(Buffer(b"lie", checksum="00" * 32))

    def test_write_reports_creation(self, store):
        """write() says whether a file was created or already there."""
        first, second = store.write(b"x"), store.write(b"x")
        assert first.created and not second.created and first.checksum == second.checksum

    def test_expected_checksum(self, store):
        """A wrong expected checksum is refused and nothing is stored."""
        with pytest.raises(ChecksumMismatchError, match=sha(b"abc")):
            store.put(b"abc", "ab" * 32)
        assert not store.has(["ab" * 32])[0] and not store.has([sha(b"abc")])[0]
        assert store.put(b"abc", sha(b"abc")).hex() == sha(b"abc")
        with pytest.raises(ChecksumMismatchError):  # existing buffer, wrong data
            store.put(b"abd", sha(b"abc"))

    def test_large_buffer_and_file(self, store, tmp_path):
        """Buffers above the threaded-copy threshold, from memory and files."""
        data = os.urandom(9 << 20)
        cs = store.put(bytearray(data))
        assert cs.hex() == sha(data) and store.get(cs) == data
        source = tmp_path / "source.bin"
        source.write_bytes(data + b"!")
        cs2 = store.put_file(source)
        assert cs2.hex() == sha(data + b"!") and store.lengths([cs2]) == [len(data) + 1]

    def test_put_many(self, store):
        """put_many stores a group (with one sync) and returns checksums in order."""
        buffers = [os.urandom(100) for _ in range(50)]
        assert [c.hex() for c in store.put_many(buffers)] == [sha(b) for b in buffers]
        assert all(store.has(buffers and [sha(b) for b in buffers]))

    def test_delete_and_iterate(self, store):
        """Iteration lists stored checksums; delete removes one."""
        checksums = {store.put(bytes([i])) for i in range(20)}
        assert set(store) == checksums
        victim = checksums.pop()
        assert store.delete(victim) and not store.delete(victim)
        assert set(store) == checksums

    def test_missing(self, store):
        """Reading an absent buffer is a CacheMissError."""
        with pytest.raises(CacheMissError):
            store.get("12" * 32)
        assert store.get_path("12" * 32) is None


class TestValidation:
    @pytest.mark.parametrize("bad", ["../../etc/passwd", "ab" * 31, "zz" * 32, "", 5, None])
    def test_bad_checksums_rejected_before_the_file_system(self, tmp_path, bad):
        """Path-like or malformed checksums never reach a path."""
        store = BufferStore(tmp_path / "b")
        before = sorted(os.listdir(tmp_path / "b"))
        calls = [store.get, store.has, store.lengths, store.delete]
        if bad is not None:  # put(data, None) means "compute the checksum"
            calls.append(lambda c: store.put(b"x", c))
        for call in calls:
            with pytest.raises((InvalidChecksumError, TypeError)):
                call(bad)
        assert sorted(os.listdir(tmp_path / "b")) == before

    def test_read_only(self, tmp_path):
        """A read-only store refuses writes and creates nothing."""
        BufferStore(tmp_path / "b").put(b"x")
        ro = BufferStore(tmp_path / "b", writable=False)
        assert ro.get(sha(b"x")) == b"x"
        with pytest.raises(ReadOnlyStoreError):
            ro.put(b"y")
        with pytest.raises(FileNotFoundError):
            BufferStore(tmp_path / "missing", writable=False)

    def test_layout_marker(self, tmp_path):
        """A prefix store writes the marker; opening it as flat is refused."""
        BufferStore(tmp_path / "p", "prefix")
        assert (tmp_path / "p" / ".HASHSERVER_PREFIX").read_bytes() == b"1\n"
        with pytest.raises(LayoutError, match="prefix"):
            BufferStore(tmp_path / "p", "flat")
        with pytest.raises(NotADirectoryError):
            (tmp_path / "file").write_bytes(b"")
            BufferStore(tmp_path / "file")

    def test_bad_options(self, tmp_path):
        """Unknown layouts, algorithms and durabilities are refused."""
        for kwargs in ({"layout": "tree"}, {"hash_algorithm": "md5"}, {"durability": "maybe"}):
            with pytest.raises(ValueError):
                BufferStore(tmp_path / "x", **kwargs)


class TestFolders:
    def test_reference_layout_on_disk(self, tmp_path):
        """Files are where the reference hashserver looks: ab/abcd... or flat."""
        prefix = BufferStore(tmp_path / "p", "prefix")
        cs = prefix.put(b"hello").hex()
        assert (tmp_path / "p" / cs[:2] / cs).read_bytes() == b"hello"
        flat = BufferStore(tmp_path / "f", "flat")
        flat.put(b"hello")
        assert (tmp_path / "f" / cs).read_bytes() == b"hello"
        assert oct((tmp_path / "f" / cs).stat().st_mode & 0o777) == "0o444"

    def test_compressed_forms_and_sidecars(self, tmp_path):
        """.gz forms written by others are read, verified and measured."""
        store = BufferStore(tmp_path / "b")
        cs = sha(b"hello\n")
        (tmp_path / "b" / cs[:2]).mkdir()
        (tmp_path / "b" / cs[:2] / f"{cs}.gz").write_bytes(gzip.compress(b"hello\n"))
        assert store.has([cs]) == [True] and store.get(cs) == b"hello\n"
        assert store.lengths([cs]) == [6]
        (tmp_path / "b" / cs[:2] / f"{cs}.BUFFERLENGTH").write_text("6")
        assert store.lengths([cs]) == [6] and Checksum(cs) in set(store)
        bad = sha(b"other")
        (tmp_path / "b" / bad[:2]).mkdir()
        (tmp_path / "b" / bad[:2] / f"{bad}.gz").write_bytes(gzip.compress(b"not other"))
        with pytest.raises(ChecksumMismatchError):
            store.get(bad)

    def test_extra_dirs(self, tmp_path):
        """Extra folders are searched in their own layouts, read-only."""
        BufferStore(tmp_path / "flat-extra", "flat").put(b"in flat")
        BufferStore(tmp_path / "prefix-extra", "prefix").put(b"in prefix")
        store = BufferStore(tmp_path / "main", extra_dirs=[tmp_path / "flat-extra", tmp_path / "prefix-extra"])
        assert store.get(sha(b"in flat")) == b"in flat" and store.get(sha(b"in prefix")) == b"in prefix"
        assert store.has([sha(b"in flat"), sha(b"in prefix")]) == [True, True]
        assert store.lengths([sha(b"in prefix")]) == [9]
        assert set(store) == set()  # iteration is of the folder itself

    def test_import_export(self, tmp_path):
        """Buffers move between folders of either layout, verified."""
        flat = BufferStore(tmp_path / "flat", "flat")
        checksums = {flat.put(os.urandom(64)) for _ in range(10)}
        target = BufferStore(tmp_path / "prefix")
        assert target.import_folder(tmp_path / "flat") == 10
        assert target.import_folder(tmp_path / "flat") == 0
        assert target.export_folder(tmp_path / "exported", layout="flat") == 10
        assert set(BufferStore(tmp_path / "exported", "flat")) == checksums


class TestIntegrity:
    def test_verify_and_quarantine(self, tmp_path):
        """verify() finds files whose content does not match their name and
        moves them to .quarantine; good files are untouched."""
        store = BufferStore(tmp_path / "b")
        good = store.put(b"good")
        bad = store.put(b"bad")
        path = store.get_path(bad)
        os.chmod(path, 0o644)
        with open(path, "wb") as f:
            f.write(b"evil")
        report = store.verify()
        assert report.checked == 2 and report.corrupt == [path] and not report.ok
        assert not os.path.exists(path) and len(report.quarantined) == 1
        assert store.has([good, bad]) == [True, False]
        assert store.verify().ok

    def test_verify_reads_compressed_buffers(self, tmp_path):
        """A buffer kept only compressed is decompressed and hashed: a good
        one counts, one with other content or that does not decompress is
        corrupt and goes to quarantine (its length sidecar with it)."""
        import zstandard

        store = BufferStore(tmp_path / "b")
        forms = {}
        for tag, suffix, pack in [("good gz", ".gz", gzip.compress), ("good zst", ".zst", zstandard.compress),
                                  ("other content", ".gz", lambda d: gzip.compress(b"not " + d)),
                                  ("damaged", ".zst", lambda d: zstandard.compress(d)[:-9] + b"garbage!!"),
                                  ("not gzip", ".gz", lambda d: b"plain text, no gzip")]:
            data = tag.encode() * 1000
            cs = store.put(data)
            plain = store.get_path(cs)
            with open(plain + suffix, "wb") as f:
                f.write(pack(data))
            with open(plain + ".BUFFERLENGTH", "w") as f:
                f.write(str(len(data)))
            os.chmod(plain, 0o644)
            os.unlink(plain)
            forms[tag] = plain + suffix
        report = store.verify()
        assert report.checked == 5 and not report.unreadable
        assert sorted(report.corrupt) == sorted(forms[t] for t in ("other content", "damaged", "not gzip"))
        assert len(report.quarantined) == 3 and not report.not_quarantined
        assert os.path.exists(forms["good gz"]) and os.path.exists(forms["good zst"])
        assert not os.path.exists(forms["damaged"][: -len(".zst")] + ".BUFFERLENGTH")
        assert os.path.exists(forms["good zst"][: -len(".zst")] + ".BUFFERLENGTH")
        assert store.verify().ok and store.verify().checked == 2

    def test_verify_goes_on_past_a_file_it_cannot_quarantine(self, tmp_path):
        """Every corrupt file is reported, though none can be moved (here
        the quarantine folder's name is taken by a file)."""
        store = BufferStore(tmp_path / "b")
        paths = []
        for data in (b"one", b"two", b"three"):
            path = store.get_path(store.put(data))
            os.chmod(path, 0o644)
            with open(path, "wb") as f:
                f.write(b"evil " + data)
            paths.append(path)
        (tmp_path / "b" / ".quarantine").write_text("in the way")
        report = store.verify()
        assert sorted(report.corrupt) == sorted(paths) and report.checked == 3 and not report.quarantined
        assert sorted(p for p, _ in report.not_quarantined) == sorted(paths)
        assert all(reason for _, reason in report.not_quarantined) and all(os.path.exists(p) for p in paths)

    def test_stats(self, tmp_path):
        """stats() counts files and bytes, per shard."""
        store = BufferStore(tmp_path / "b")
        for i in range(10):
            store.put(bytes(i))
        stats = store.stats()
        assert stats.count == 10 and stats.bytes == sum(range(10))
        assert sum(c for c, _ in stats.shards.values()) == 10

    def test_leftover_temp_files_are_cleaned(self, tmp_path):
        """Temp files of dead processes on this host go; live ones stay."""
        store = BufferStore(tmp_path / "b")
        tmp_dir = tmp_path / "b" / ".tmp"
        dead = tmp_dir / "999999999@{}@1-1".format(os.uname().nodename.replace("@", "_"))
        alive = tmp_dir / f"{os.getpid()}@{os.uname().nodename.replace('@', '_')}@1-1"
        dead.write_bytes(b"partial")
        alive.write_bytes(b"in progress")
        BufferStore(tmp_path / "b")
        assert not dead.exists() and alive.exists()
        del store


class TestConcurrency:
    def test_threads_same_and_different_buffers(self, tmp_path):
        """Many threads writing the same and different buffers all succeed."""
        store = BufferStore(tmp_path / "b", durability="none")
        payloads = [os.urandom(2000) for _ in range(20)]
        errors = []

        def work(i):
            try:
                for j in range(50):
                    store.put(payloads[(i + j) % len(payloads)])
                    store.put(bytes([i]) * (j + 1))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        assert store.verify().ok and all(store.has([sha(p) for p in payloads]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=3000), max_size=10))
def test_put_get_round_trip_property(tmp_path_factory, buffers):
    """Any bytes put can be read back unchanged, under their SHA-256."""
    store = BufferStore(tmp_path_factory.mktemp("prop"), durability="none")
    for data in buffers:
        cs = store.put(data)
        assert cs.hex() == sha(data) and store.get(cs) == data


def test_direct_io_uploads(tmp_path):
    """A large upload with direct_io gives the same buffer as a buffered one."""
    from seamless.hashserver.store import DIRECT_IO_MIN

    data = os.urandom(DIRECT_IO_MIN + 4097)
    store = BufferStore(tmp_path / "direct", durability="none", direct_io=True)
    upload = store.writer(hashlib.sha256(data).hexdigest(), size_hint=len(data))
    for i in range(0, len(data), 1 << 20):
        upload.feed(memoryview(data)[i : i + (1 << 20)])
    result = upload.finish()
    assert result.created and result.size == len(data)
    assert store.get(result.checksum, verify=True) == data


def test_put_file_of_a_kept_file_goes_around_the_page_cache(tmp_path, monkeypatch):
    """cache=False: a large file is written with direct I/O (one native
    call, or the chunked writer when progress is reported), with the
    store's durability; a small one, or the default, normally."""
    from seamless import _native
    from seamless.hashserver.store import DIRECT_IO_MIN

    store = BufferStore(tmp_path / "store", durability="fsync")
    calls = []
    real_put_file, real_writer = _native.store_put_file, _native.StoreWriter

    def put_file(config, path, expected=None):
        calls.append(("put_file", config.direct, config.sync))
        return real_put_file(config, path, expected)

    def writer(config, expected=None, direct=False):
        calls.append(("writer", direct, config.sync))
        return real_writer(config, expected, direct=direct)

    monkeypatch.setattr(_native, "store_put_file", put_file)
    monkeypatch.setattr(_native, "StoreWriter", writer)
    large, small = tmp_path / "large.dat", tmp_path / "small.dat"
    large.write_bytes(os.urandom(DIRECT_IO_MIN + 4097))
    small.write_bytes(os.urandom(1000))
    sync = store._config.sync
    assert sync != 0
    checksum = store.put_file(large, cache=False)
    with open(store.get_path(checksum), "rb") as f:
        assert f.read() == large.read_bytes()
    store.delete(checksum)
    store.put_file(large, cache=False, progress=lambda *_: None)
    store.put_file(small, cache=False)
    store.put_file(large, cache=True)
    store.delete(checksum)
    store.put_file(large)  # the default in fsync mode: around the cache
    store.delete(checksum)
    BufferStore(tmp_path / "store", durability="none").put_file(large)  # ... in the other modes: through it
    assert calls == [("put_file", True, sync), ("writer", True, sync), ("put_file", False, sync),
                     ("put_file", False, sync), ("put_file", True, sync), ("put_file", False, 0)]


def _in_page_cache(path) -> bool:
    """Whether the first page of a file is in the page cache (a read that
    must not wait for the device fails when it is not)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.preadv(fd, [bytearray(4096)], 0, os.RWF_NOWAIT)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _takes_direct_io(folder) -> bool:
    try:
        os.close(os.open(os.path.join(folder, "probe"), os.O_WRONLY | os.O_CREAT | os.O_DIRECT))
        return True
    except OSError:
        return False
    finally:
        if os.path.exists(os.path.join(folder, "probe")):
            os.unlink(os.path.join(folder, "probe"))


@pytest.mark.parametrize("durability, direct_io, around", [
    ("fsync", None, True), ("none", None, False), ("batch", None, False), ("none", True, True),
    ("fsync", False, False),
])
def test_large_puts_go_around_the_page_cache_when_direct_io_is_on(tmp_path, durability, direct_io, around):
    """direct_io (on by default in fsync mode): a large put from memory,
    even from an unaligned address (the bytes of a bytes object), is written
    with direct I/O and leaves nothing in the page cache; the stored buffer
    is the same either way, including its unaligned tail."""
    from seamless import _native
    from seamless.hashserver.store import DIRECT_IO_MIN

    store = BufferStore(tmp_path / "store", durability=durability, direct_io=direct_io)
    data = os.urandom(DIRECT_IO_MIN + 12345)
    array = np.frombuffer(data, dtype=np.uint8)[1:]  # another unaligned view, not bytes
    for value, expected in ((data, data), (array, data[1:])):
        checksum = store.put(value)
        assert checksum.hex() == hashlib.sha256(expected).hexdigest()
        if _native.backend == "native" and hasattr(os, "RWF_NOWAIT") and _takes_direct_io(tmp_path):
            assert _in_page_cache(store.get_path(checksum)) is not around  # (before the read below)
        with open(store.get_path(checksum), "rb") as f:
            assert f.read() == expected


def test_put_many_in_fsync_mode_syncs_its_folders_not_the_file_system(tmp_path, monkeypatch):
    """A file-system-wide sync would also wait for every unrelated dirty
    byte (such as a large unsynced input copy)."""
    from seamless import _native

    store = BufferStore(tmp_path / "store", durability="fsync")
    monkeypatch.setattr(_native, "store_sync", lambda *_: pytest.fail("synced the whole file system"))
    synced = []
    real_fsync = os.fsync

    def recording(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):  # (a pure-Python writer syncs its files the same way)
            synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    data = [os.urandom(100) for _ in range(5)]
    checksums = store.put_many(data)
    assert [store.get(cs) for cs in checksums] == data
    assert set(synced) == {str(tmp_path / "store")} | {os.path.dirname(store.get_path(cs)) for cs in checksums}


def test_put_file_around_the_page_cache(tmp_path):
    """cache=False: a large file goes through the direct-I/O writer (or the
    buffered one where the file system refuses direct I/O), verified and
    published like any other; a wrong expected checksum leaves nothing."""
    from seamless.hashserver.store import DIRECT_IO_MIN

    data = os.urandom(DIRECT_IO_MIN + 12345)  # not a multiple of the block size
    source = tmp_path / "big.dat"
    source.write_bytes(data)
    store = BufferStore(tmp_path / "store", durability="fsync")
    with pytest.raises(ChecksumMismatchError):
        store.put_file(source, hashlib.sha256(b"other").hexdigest(), cache=False)
    assert list(store) == []
    checksum = store.put_file(source, cache=False)
    assert checksum.hex() == hashlib.sha256(data).hexdigest()
    with open(store.get_path(checksum), "rb") as f:
        assert f.read() == data
    assert sorted(p.name for p in (tmp_path / "store" / checksum.hex()[:2]).iterdir()) == [checksum.hex()]


def test_put_file_reports_progress_as_the_bytes_go_in(tmp_path):
    from seamless.hashserver.store import PUT_CHUNK

    data = os.urandom(2 * PUT_CHUNK + 100)
    source = tmp_path / "input.dat"
    source.write_bytes(data)
    store = BufferStore(tmp_path / "store")
    reports = []
    checksum = store.put_file(source, progress=lambda done, total: reports.append((done, total)))
    assert store.get(checksum) == data
    assert reports[:3] == [(PUT_CHUNK, len(data)), (2 * PUT_CHUNK, len(data)), (len(data), len(data))]
    assert reports[-1] == (len(data), len(data))
    small = tmp_path / "small.dat"
    small.write_bytes(b"abc")
    reports.clear()
    store.put_file(small, progress=lambda done, total: reports.append((done, total)))
    assert reports == [(3, 3)]


def test_put_many_of_many_folders_syncs_the_file_system_once(tmp_path, monkeypatch):
    """Each folder's fsync flushes the device: for many, one sync is cheaper."""
    from seamless import _native
    from seamless.hashserver.store import SYNC_FOLDERS_MAX

    store = BufferStore(tmp_path / "store", durability="fsync")
    syncs = []
    real = _native.store_sync
    monkeypatch.setattr(_native, "store_sync", lambda directory: (syncs.append(directory), real(directory)))
    data = [os.urandom(100) for _ in range(10 * SYNC_FOLDERS_MAX)]
    checksums = store.put_many(data)
    assert len({cs.hex()[:2] for cs in checksums}) > SYNC_FOLDERS_MAX
    assert syncs == [store.directory] and [store.get(cs) for cs in checksums] == data
