"""The facade answers the same, in process or over HTTP: every test here runs
against both, on real stores (a folder and a seamless.db), the HTTP ones
behind real servers on loopback."""

from __future__ import annotations

import gzip
import hashlib
import os
import subprocess
import sys
import urllib.request

import pytest

from seamless import Checksum
from seamless.exceptions import (CacheMissError, ChecksumMismatchError, ConflictError, InvalidChecksumError,
                                 MalformedRecordError, ReadOnlyStoreError)
from seamless.remote import (DatabaseClient, LocalBuffers, LocalResults, RemoteBuffers, RemoteResults, open_buffers,
                             open_results)
from seamless.remote.partial import open_partial
from server_process import ServerProcess


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("facade")
    with ServerProcess("hashserver", [str(root / "buffers"), "--writable"], root) as hs, \
            ServerProcess("seamless-database", [str(root / "seamless.db"), "--writable"], root) as db:
        yield root, hs, db


@pytest.fixture(params=["local", "http"])
def buffers(request, servers):
    root, hs, _ = servers
    if request.param == "local":
        access = open_buffers(directory=root / "buffers")
        assert isinstance(access, LocalBuffers)
    else:
        access = open_buffers(url=hs.url, directory=root / "elsewhere-not-here")
        assert isinstance(access, RemoteBuffers)
    yield access
    access.close()


@pytest.fixture(params=["local", "http"])
def results(request, servers):
    root, _, db = servers
    if request.param == "local":
        access = open_results(database=root / "seamless.db")
        assert isinstance(access, LocalResults)
    else:
        access = open_results(url=db.url)
        assert isinstance(access, RemoteResults)
    yield access
    access.close()


def test_put_get_has_lengths(buffers):
    data = [os.urandom(n) for n in (0, 1, 5000, 3 << 20)]
    checksums = [buffers.put(d) for d in data]
    assert checksums == [Checksum(hashlib.sha256(d).digest()) for d in data]
    assert [buffers.get(c) for c in checksums] == data
    missing = Checksum(os.urandom(32))
    assert buffers.has(checksums + [missing]) == [True] * 4 + [False]
    assert buffers.lengths(checksums + [missing]) == [0, 1, 5000, 3 << 20, None]
    with pytest.raises(CacheMissError):
        buffers.get(missing)


def test_a_strided_view_is_stored_as_its_bytes_in_order(buffers):
    view = memoryview(b"0123456789")[::2]
    cs = buffers.put(view)
    assert cs.hex() == hashlib.sha256(b"02468").hexdigest() and buffers.get(cs) == b"02468"
    assert buffers.put_many([memoryview(b"abcdefgh")[1::2]]) == [Checksum(hashlib.sha256(b"bdfh").hexdigest())]


def test_put_with_wrong_checksum(buffers):
    with pytest.raises(ChecksumMismatchError):
        buffers.put(b"abc", hashlib.sha256(b"abd").hexdigest())


def test_put_many_and_files(buffers, tmp_path):
    data = [os.urandom(100 + i) for i in range(50)]
    checksums = buffers.put_many(data)
    assert checksums == [Checksum(hashlib.sha256(d).digest()) for d in data]
    assert buffers.has(checksums) == [True] * 50
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom((4 << 20) + 3))
    seen = []
    cs = buffers.put_file(source, progress=lambda done, total: seen.append(done))
    assert cs == Checksum(hashlib.sha256(source.read_bytes()).digest()) and seen[-1] == (4 << 20) + 3
    buffers.get_to_file(cs, tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == source.read_bytes()
    with pytest.raises(CacheMissError):
        buffers.get_to_file(Checksum(os.urandom(32)), tmp_path / "nothing.bin")
    assert not (tmp_path / "nothing.bin").exists()


def test_corrupt_buffer_is_never_returned(buffers, servers):
    root = servers[0]
    data = os.urandom(10_000)
    cs = buffers.put(data)
    path = root / "buffers" / cs.hex()[:2] / cs.hex()
    os.chmod(path, 0o644)
    original = path.read_bytes()
    path.write_bytes(bytes([original[0] ^ 0xFF]) + original[1:])  # rot behind the store's back
    try:
        with pytest.raises(ChecksumMismatchError):
            buffers.get(cs)
    finally:
        path.write_bytes(original)


def test_read_only(servers, tmp_path):
    root, hs, _ = servers
    with ServerProcess("hashserver", [str(root / "buffers")], tmp_path) as ro:
        for access in (open_buffers(directory=root / "buffers", writable=False), open_buffers(url=ro.url)):
            with access, pytest.raises(ReadOnlyStoreError):
                access.put(b"not allowed")


def test_read_only_results(servers, tmp_path):
    """Every kind of write is refused by a read-only database, in process
    (by the file's read-only connection) and over HTTP (by the client,
    before a request, and by the read-only server)."""
    root, _, _ = servers
    cs = Checksum(os.urandom(32))
    writes = [
        lambda r: r.set_transformation(cs, cs),
        lambda r: r.set_transformations([(cs, cs)]),
        lambda r: r.set_metadata(cs, cs, {"schema_version": 1, "tf_checksum": cs.hex(), "result_checksum": cs.hex()}),
        lambda r: r.set_irreproducible(cs, cs),
        lambda r: r.set_buffer_info(cs, {"length": 1}),
        lambda r: r.set_bucket_probe("node", "x", cs, {}, "2026-11-24T00:00:00Z"),
        lambda r: r.set_expression(cs, [], "mixed", "int", cs),
        lambda r: r.set_semantic_to_syntactic(cs, "python", "transformer", [cs]),
        lambda r: r.set_buffer_info(cs, {"length": -1}),  # malformed too: read-only is said first
    ]
    with ServerProcess("seamless-database", [str(root / "seamless.db")], tmp_path) as ro:
        for access in (open_results(database=root / "seamless.db", writable=False), open_results(url=ro.url),
                       RemoteResults(DatabaseClient(ro.url), writable=True)):  # the server refuses
            with access:
                for write in writes:
                    with pytest.raises(ReadOnlyStoreError):
                        write(access)
                assert access.get_transformation(cs) is None


def test_transformations(results):
    tf, res = Checksum(os.urandom(32)), Checksum(os.urandom(32))
    assert results.get_transformation(tf) is None
    results.set_transformation(tf, res)
    results.set_transformation(tf, res)  # idempotent
    assert results.get_transformation(tf) == res
    assert results.get_rev_transformations(res) == [tf]
    with pytest.raises(ConflictError):
        results.set_transformation(tf, Checksum(os.urandom(32)))
    assert results.get_transformation(tf) == res


def test_batches(results):
    pairs = [(Checksum(os.urandom(32)), Checksum(os.urandom(32))) for _ in range(300)]
    known = pairs[0]
    results.set_transformation(*known)
    clash = (known[0], Checksum(os.urandom(32)))
    outcomes = results.set_transformations(pairs[1:] + [clash])
    assert outcomes[:-1] == [None] * 299 and isinstance(outcomes[-1], ConflictError)
    unknown = Checksum(os.urandom(32))
    assert results.get_transformations([p[0] for p in pairs] + [unknown]) == [p[1] for p in pairs] + [None]


def test_records_and_irreproducible(results):
    tf, res = Checksum(os.urandom(32)), Checksum(os.urandom(32))
    record = {"schema_version": 1, "tf_checksum": tf.hex(), "result_checksum": res.hex(), "wall_time_seconds": 1.5}
    assert results.get_metadata(tf) is None
    results.set_metadata(tf, res, record)
    results.set_metadata(tf, res, record)
    assert results.get_metadata(tf) == record
    with pytest.raises(ConflictError, match="Execution record already exists with different metadata"):
        results.set_metadata(tf, res, {**record, "wall_time_seconds": 2})
    with pytest.raises(MalformedRecordError):
        results.set_metadata(tf, res, {**record, "tf_checksum": "00" * 32})
    results.set_irreproducible(tf, res)
    assert results.get_transformation(tf) is None and results.get_metadata(tf) is None
    assert results.get_irreproducible(tf) == [{"checksum": tf.hex(), "result": res.hex(), "metadata": record}]
    assert results.get_irreproducible(tf, Checksum(os.urandom(32))) == []
    with pytest.raises(ConflictError):
        results.set_transformation(tf, res)


def test_buffer_info_and_probes(results):
    cs = Checksum(os.urandom(32))
    assert results.get_buffer_info(cs) is None
    results.set_buffer_info(cs, {"length": 3})
    results.set_buffer_info(cs, {"is_utf8": True})
    assert results.get_buffer_info(cs) == {"length": 3, "is_utf8": True}
    with pytest.raises(MalformedRecordError):
        results.set_buffer_info(cs, {"length": -1})
    label = os.urandom(4).hex()
    assert results.get_bucket_probe("node", label) is None
    results.set_bucket_probe("node", label, cs, {"t": 1}, "2026-11-24T00:00:00Z")
    assert results.get_bucket_probe("node", label)["bucket_checksum"] == cs.hex()


def test_expressions_and_code_checksums(results):
    cs, res, other = (Checksum(os.urandom(32)) for _ in range(3))
    path = ["a", 1]
    assert results.get_expression(cs, path, "mixed", "int") is None
    results.set_expression(cs, path, "mixed", "int", res)
    assert results.get_expression(cs, path, "mixed", "int") == res
    assert results.get_expression(cs, ["a", 2], "mixed", "int") is None
    assert results.get_rev_expression(res) == [
        {"checksum": cs.hex(), "path": path, "celltype": "mixed", "target_celltype": "int", "result": res.hex()}]
    results.set_expression(cs, path, "mixed", "int", other)  # replaces
    assert results.get_expression(cs, path, "mixed", "int") == other and results.get_rev_expression(res) == []

    semantic, syntactic = Checksum(os.urandom(32)), [Checksum(os.urandom(32)) for _ in range(2)]
    assert results.get_semantic_to_syntactic(semantic, "python", "transformer") == []
    results.set_semantic_to_syntactic(semantic, "python", "transformer", syntactic)
    results.set_semantic_to_syntactic(semantic, "python", "transformer", syntactic[:1])  # idempotent
    assert sorted(results.get_semantic_to_syntactic(semantic, "python", "transformer")) == sorted(syntactic)
    assert results.get_semantic_to_syntactic(semantic, "python", "reactor") == []
    assert results.get_syntactic_to_semantic(syntactic[1], "python", "transformer") == [semantic]


ODD_INPUTS = {
    "a null checksum": (InvalidChecksumError, lambda r, cs: r.get_transformation(None)),
    "a null result": (InvalidChecksumError, lambda r, cs: r.set_irreproducible(cs, None)),
    "a null checksum in a batch": (InvalidChecksumError, lambda r, cs: r.set_transformations([(None, cs)])),
    "a celltype that is not a string": (MalformedRecordError,
                                        lambda r, cs: r.get_semantic_to_syntactic(cs, 5, "transformer")),
    "an expression's celltype that is not a string": (MalformedRecordError,
                                                      lambda r, cs: r.get_expression(cs, [], 5, "plain")),
    "a bucket kind that is not a string": (MalformedRecordError, lambda r, cs: r.get_bucket_probe(5, "label")),
    "NaN in an execution record": (MalformedRecordError, lambda r, cs: r.set_metadata(
        cs, cs, {"schema_version": 1, "tf_checksum": cs.hex(), "result_checksum": cs.hex(), "t": float("nan")})),
    "Infinity in freshness tokens": (MalformedRecordError, lambda r, cs: r.set_bucket_probe(
        "node", cs.hex(), cs, {"t": float("inf")}, "2026-11-24T00:00:00Z")),
    "NaN in buffer info": (MalformedRecordError, lambda r, cs: r.set_buffer_info(cs, {"x": float("nan")})),
    "bytes in buffer info": (TypeError, lambda r, cs: r.set_buffer_info(cs, {"x": b"ab"})),
}


@pytest.mark.parametrize("case", ODD_INPUTS)
def test_odd_inputs_are_refused_alike(results, case):
    """The same exception type in process and over HTTP, before anything
    is stored (NaN used to reach SQLite's json() locally, a None checksum was
    a TypeError over HTTP, a non-string key an empty answer)."""
    expected, call = ODD_INPUTS[case]
    cs = Checksum(os.urandom(32))
    with pytest.raises(expected) as info:
        call(results, cs)
    assert type(info.value) is expected
    assert results.get_metadata(cs) is None and results.get_buffer_info(cs) is None
    assert results.get_bucket_probe("node", cs.hex()) is None


def test_open_needs_something_usable(tmp_path):
    with pytest.raises(ValueError, match="not a buffer folder"):
        open_buffers(directory=tmp_path / "nothing", writable=False)
    with pytest.raises(ValueError, match="needs a url"):
        open_results()


def test_clients_left_open_are_closed_quietly(servers):
    """A script that never calls close(), on objects kept to the end or
    dropped at once: no warning about unclosed connections at exit."""
    _, hs, db = servers
    script = (
        "import gc\n"
        "from seamless.remote import open_buffers, open_results\n"
        f"kept = open_buffers(url={hs.url!r}); assert kept.has(['ab' * 32]) == [False]\n"
        f"assert open_buffers(url={hs.url!r}).has(['ab' * 32]) == [False]\n"
        f"results = open_results(url={db.url!r}); assert results.get_transformation('ab' * 32) is None\n"
        "gc.collect()\n"
    )
    done = subprocess.run([sys.executable, "-W", "error::ResourceWarning", "-c", script],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Unclosed" not in done.stderr and done.stderr == ""


def test_promise_is_checked_alike(buffers, servers, tmp_path):
    """A bad checksum, and a promise to a store that takes no writes."""
    root, hs, _ = servers
    buffers.promise("ab" * 32)
    with pytest.raises(InvalidChecksumError):
        buffers.promise("zz")
    with ServerProcess("hashserver", [str(root / "buffers")], tmp_path) as ro:
        for access in (open_buffers(directory=root / "buffers", writable=False), open_buffers(url=ro.url)):
            with access, pytest.raises(ReadOnlyStoreError):
                access.promise("ab" * 32)


def test_no_list_is_a_type_error_alike(buffers):
    for call in (buffers.has, buffers.lengths):
        with pytest.raises(TypeError):
            call(None)
        for one in ("ab" * 32, Checksum("ab" * 32), bytes(32)):  # not taken character by character
            with pytest.raises(TypeError, match="put it in a list"):
                call(one)


def test_download_progress_has_its_total_alike(buffers, tmp_path):
    data = os.urandom(3 << 20)
    cs = buffers.put(data)
    calls: list = []
    buffers.get_to_file(cs, tmp_path / "out", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(data), len(data)) and all(total == len(data) for _, total in calls)
    assert (tmp_path / "out").read_bytes() == data and os.listdir(tmp_path) == ["out"]


def test_download_progress_of_a_buffer_stored_compressed(buffers, servers, tmp_path):
    """Its total is the buffer's length both ways, though over HTTP the wire
    carries no such length (ours streams it decompressed, chunked): there it
    is 0 (unknown) until /buffer-length, asked beside the download, told it."""
    _, hs, _ = servers
    data = os.urandom(1 << 20) * 3
    cs = hashlib.sha256(data).hexdigest()
    put = urllib.request.Request(f"{hs.url}/{cs}", data=gzip.compress(data, 1), method="PUT",
                                 headers={"Content-Encoding": "gzip"})
    with urllib.request.urlopen(put) as answer:
        assert answer.status in (200, 201)
    calls: list = []
    buffers.get_to_file(cs, tmp_path / "out", progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(data), len(data)) and all(total in (0, len(data)) for _, total in calls)
    if buffers.transport == "local":
        assert all(total == len(data) for _, total in calls)
    assert (tmp_path / "out").read_bytes() == data


def test_partial_files_have_names_of_their_own(tmp_path):
    target = str(tmp_path / "out")
    (fd1, name1), (fd2, name2) = open_partial(target), open_partial(target)
    os.close(fd1)
    os.close(fd2)
    mask = os.umask(0o022)
    os.umask(mask)
    assert name1 != name2 and name1.startswith(target + ".part-")
    assert os.stat(name1).st_mode & 0o777 == 0o666 & ~mask
