"""The database server's native front against its pure-Python twin.

The front (csrc/front.c, seamless/database/front.py) answers single-record
transformation requests in C and passes everything else to the Python
server. Every test here sends the same bytes to a server with the front and
to one without it (``--no-front``) and wants the same answers, byte for
byte apart from the Date header: hot requests, requests that only look hot,
pipelines that mix both, requests the front must hand over whole (chunked,
Expect, large, odd heads), and the cases where the front must not write
itself (a known transformation, an irreproducible one, a busy lock).
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import threading
import time

import pytest

from seamless.database.app import make_app
from seamless.database.front import _native, sqlite_library
from seamless.database.store import ResultDB
from server_process import ServerProcess, ThreadedServer

pytestmark = pytest.mark.skipif(_native() is None or sqlite_library() is None,
                                reason="no native front here (pure-Python backend, or no shared SQLite library)")

DATE = re.compile(rb"Date: [^\r]*\r\n")


def cs(n: int) -> str:
    return f"{n:064x}"


def request(method: str, body: object | bytes, *, path: str = "/", headers: str = "",
            version: str = "HTTP/1.1") -> bytes:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (f"{method} {path} {version}\r\nHost: x\r\nContent-Length: {len(data)}\r\n{headers}\r\n").encode() + data


def get(tf: str, **kw) -> bytes:
    return request("GET", {"type": "transformation", "checksum": tf}, **kw)


def put(tf: str, result: str, **kw) -> bytes:
    return request("PUT", {"type": "transformation", "checksum": tf, "value": result}, **kw)


def exchange(port: int, data: bytes, *, answers: int, timeout: float = 10) -> bytes:
    """Send data on a fresh connection; read until `answers` responses are
    complete or the server closes. Date headers removed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        deadline = time.monotonic() + timeout
        while _complete(out) < answers and time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
    return DATE.sub(b"", out)


def _complete(data: bytes) -> int:
    count, pos = 0, 0
    while True:
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            return count
        match = re.search(rb"Content-Length: (\d+)", data[pos:end])
        length = int(match.group(1)) if match else 0
        if len(data) < end + 4 + length:
            return count
        pos = end + 4 + length
        count += 1


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """A server with the front and one without, each with its own file."""
    root = tmp_path_factory.mktemp("twins")
    with ServerProcess("seamless-database", [str(root / "front.db"), "--writable"], root) as front, \
            ServerProcess("seamless-database", [str(root / "python.db"), "--writable", "--no-front"], root) as python:
        front.path, python.path = root / "front.db", root / "python.db"
        yield front, python


def same(twins, data: bytes, answers: int = 1) -> bytes:
    front, python = twins
    ours = exchange(front.port, data, answers=answers)
    theirs = exchange(python.port, data, answers=answers)
    assert ours == theirs
    assert _complete(ours) == answers, ours
    return ours


def test_lookups_and_writes(twins):
    tf, res = cs(10), cs(11)
    assert same(twins, get(tf)).endswith(b"\r\n\r\nERROR: Unknown key")
    assert same(twins, put(tf, res)).endswith(b"\r\n\r\nOK")
    assert same(twins, get(tf)).endswith(res.encode())
    same(twins, put(tf, res))  # the same record again: OK, nothing new
    assert b" 409 " in same(twins, put(tf, cs(12)))  # a conflict (Python answers)
    assert same(twins, request("GET", {"type": "rev_transformations", "checksum": res})).endswith(
        json.dumps([tf]).encode())


def test_the_date_header_is_a_real_date(twins):
    """The front writes its own Date header, in HTTP's format."""
    import email.utils

    front, _ = twins
    with socket.create_connection(("127.0.0.1", front.port), timeout=5) as s:
        s.sendall(get(cs(10)))
        head = s.recv(4096).split(b"\r\n\r\n")[0].decode()
    date = dict(line.split(": ", 1) for line in head.split("\r\n")[1:])["Date"]
    assert abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 5
    assert date == email.utils.formatdate(email.utils.parsedate_to_datetime(date).timestamp(), usegmt=True)


def test_irreproducible_transformations_are_not_cached_again(twins):
    tf, res = cs(20), cs(21)
    for server in twins:
        with sqlite3.connect(server.path) as con:
            con.execute('INSERT INTO "irreproducible_transformation" ("result", "checksum", "metadata") '
                        "VALUES (?, ?, '{}')", (res, tf))
    assert b" 409 " in same(twins, put(tf, res))
    assert b" 404 " in same(twins, get(tf))


@pytest.mark.parametrize("body", [
    b'{"type": "transformation", "checksum": "%s"}' % cs(1).upper().encode(),  # upper-case hex
    b'{"type": "transformation", "checksum": "%s", "extra": 1}' % cs(1).encode(),
    b'{"type": "transformation", "checksum": "%s", "checksum": "%s"}' % (cs(1).encode(), cs(2).encode()),
    b'{"type": "transformation", "checksum": "\\u0030%s"}' % cs(1).encode()[1:],  # an escape
    b'{"type": "transformation", "checksum": null}',
    b'{"type": "transformation"}',
    b'{"type": "transformation", "checksum": "abc"}',
    b' \n{ "checksum" :"%s" , "type":"transformation" }\t' % cs(1).encode(),  # whitespace, order
    b'{"type": "transformation", "checksum": "%s"' % cs(1).encode(),  # truncated
    b'[]',
    b'',
    b'\xef\xbb\xbf{"type": "transformation", "checksum": "%s"}' % cs(1).encode(),  # a BOM
])
def test_bodies_that_look_hot(twins, body):
    same(twins, request("GET", body))
    same(twins, request("PUT", body))


@pytest.mark.parametrize("head", [
    "Connection: close\r\n",
    "Connection: keep-alive, Close\r\n",
    "Content-Type: application/json\r\nAccept: */*\r\n",
    "X-Odd: a\x01b\r\n",  # a control character
    "Bad Header: x\r\n",  # not a token
    "Content-Length: 5\r\n",  # two lengths
])
def test_heads(twins, head):
    front, python = twins
    data = get(cs(10), headers=head)
    assert exchange(front.port, data, answers=1) == exchange(python.port, data, answers=1)


def test_other_paths_versions_and_methods(twins):
    same(twins, get(cs(10), path="/some/where"))
    same(twins, get(cs(10), path="/?x=1"))
    front, python = twins
    for data in (get(cs(10), version="HTTP/1.0"), request("POST", {"type": "transformation", "checksum": cs(10)}),
                 request("HEAD", {"type": "transformation", "checksum": cs(10)}),
                 b"GET /healthcheck HTTP/1.1\r\nHost: x\r\n\r\n"):
        assert exchange(front.port, data, answers=1) == exchange(python.port, data, answers=1)


def test_pipelines_keep_their_order(twins):
    """Hot and passed-on requests in one send: answers in request order."""
    tfs = [cs(1000 + i) for i in range(20)]
    data = b""
    for i, tf in enumerate(tfs):
        data += put(tf, cs(2000 + i))
        if i % 3 == 0:
            data += request("GET", {"type": "protocol"})
        data += get(tf)
        if i % 5 == 0:
            data += request("GET", {"type": "rev_transformations", "checksum": cs(2000 + i)})
    count = len(tfs) * 2 + len(range(0, 20, 3)) + len(range(0, 20, 5))
    answers = same(twins, data, answers=count)
    for i in range(len(tfs)):
        assert cs(2000 + i).encode() in answers


def test_a_long_pipeline_with_backpressure(twins):
    """Thousands of requests in one stream, more than the front keeps of a
    connection's input: it reads on as it answers, and every answer comes,
    in order, the same as Python's."""
    tfs = [cs(5000 + i) for i in range(3000)]
    data = b"".join(put(tf, cs(9000 + i)) + get(tf) for i, tf in enumerate(tfs))
    outputs = []
    for server in twins:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            sender = threading.Thread(target=s.sendall, args=(data,))
            sender.start()
            out = b""
            while _complete(out) < 2 * len(tfs):
                chunk = s.recv(1 << 20)
                assert chunk, "the server closed the connection"
                out += chunk
            sender.join()
        outputs.append(DATE.sub(b"", out))
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b" 200 OK") == 2 * len(tfs)


def test_bodies_the_front_hands_over(twins):
    front, python = twins
    body = json.dumps({"type": "transformation", "checksum": cs(10)}).encode()
    chunked = (b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
    expect = (b"PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)) + body
    padded = json.dumps({"type": "transformation", "checksum": cs(10), "pad": "x" * 100_000}).encode()
    large = request("GET", padded)
    long_head = get(cs(10), headers="X-Long: " + "y" * 20_000 + "\r\n")
    for data in (chunked, expect, large, long_head, chunked + get(cs(10))):
        answers = 2 if data.endswith(get(cs(10))) else 1
        assert exchange(front.port, data, answers=answers) == exchange(python.port, data, answers=answers)


def test_incomplete_requests_on_a_closed_connection(twins):
    """A client that sends half a request and closes gets nothing, and the
    server goes on."""
    data = get(cs(10))[:-10]
    for server in twins:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            assert s.recv(100) == b""
    same(twins, get(cs(10)))


def test_shutdown_does_not_wait_for_a_head_that_never_ends(tmp_path):
    """A client in the middle of a request head is idle to a stopping
    server (as in Python): SIGTERM ends it at once, not after the grace."""
    import signal

    with ServerProcess("seamless-database", [str(tmp_path / "s.db"), "--writable"], tmp_path) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Le")
            time.sleep(0.2)
            start = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(10) == 0
            assert time.monotonic() - start < 3
            assert s.recv(100) == b""


def test_a_busy_write_lock_sends_the_write_to_python(twins):
    """The front never waits for SQLite's lock: with another writer holding
    it, the PUT goes to the Python workers, which wait, and it lands."""
    front, _ = twins
    tf, res = cs(30), cs(31)
    holder = sqlite3.connect(front.path, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")
    answer: list[bytes] = []
    sender = threading.Thread(target=lambda: answer.append(exchange(front.port, put(tf, res), answers=1)))
    sender.start()
    time.sleep(0.5)
    assert not answer  # waiting for the lock, in a worker thread
    assert exchange(front.port, get(cs(10)), answers=1)  # lookups go on meanwhile
    holder.execute("ROLLBACK")
    holder.close()
    sender.join(10)
    assert answer and answer[0].endswith(b"\r\n\r\nOK")
    assert exchange(front.port, get(tf), answers=1).endswith(res.encode())


def test_the_front_answers_hot_requests_itself(tmp_path):
    """In process: the front's counters show who answered what, and its
    writes count for the checkpoint thread and the inactivity clock."""
    db = ResultDB(tmp_path / "seamless.db")
    app = make_app(db, writable=True)
    with ThreadedServer(app) as server:
        front = server.http.front
        assert front is not None
        before = app.activity.last
        for i in range(50):
            assert server.request("PUT", "/", {"type": "transformation", "checksum": cs(i), "value": cs(i + 1)}) \
                == (200, b"OK")
            assert server.request("GET", "/", {"type": "transformation", "checksum": cs(i)}) \
                == (200, cs(i + 1).encode())
        assert server.request("GET", "/", {"type": "protocol"})[0] == 200
        answered, forwarded, changes = front.stats()
        assert answered == 100 and forwarded == 1
        assert changes == 100  # a row and its reverse row per write
        time.sleep(0.3)
        assert app.activity.last > before
        assert db._db._checkpoints._changes >= 100 or db._db._checkpoints.count
    assert db.get_transformation(cs(7)).hex() == cs(8)
    db.close()


def test_the_front_runs_with_the_settings_it_is_given(tmp_path, monkeypatch, caplog):
    """The front runs the connection settings of seamless/database/
    connection.py on its own connection (csrc/tests/test_front.c reads them
    back there); settings SQLite refuses keep it from starting, with the
    reason in the log, and the Python server answers everything."""
    import seamless.database.front as front_module

    monkeypatch.setattr(front_module, "connection_settings", lambda synchronous: ["PRAGMA no_such_table_x",
                                                                                 "SELECT * FROM no_such_table_x"])
    db = ResultDB(tmp_path / "seamless.db")
    with caplog.at_level("INFO", logger="seamless.database"):
        with ThreadedServer(make_app(db, writable=True)) as server:
            assert server.http.front is None
            assert server.request("PUT", "/", {"type": "transformation", "checksum": cs(1), "value": cs(2)}) \
                == (200, b"OK")
    assert "cannot apply the database settings" in caplog.text and "no_such_table_x" in caplog.text
    assert db.get_transformation(cs(1)).hex() == cs(2)
    db.close()


def test_read_only_database(tmp_path):
    path = tmp_path / "seamless.db"
    with ResultDB(path) as db:
        db.set_transformation(cs(1), cs(2))
    with ServerProcess("seamless-database", [str(path)], tmp_path) as ro, \
            ServerProcess("seamless-database", [str(path), "--no-front"], tmp_path) as ro_python:
        for data in (get(cs(1)), get(cs(3)), put(cs(4), cs(5))):
            assert exchange(ro.port, data, answers=1) == exchange(ro_python.port, data, answers=1)
        assert exchange(ro.port, get(cs(1)), answers=1).endswith(cs(2).encode())


# ---- the front's memory of records (csrc/front_cache.c) ----------------------


def test_the_memory_answers_repeated_lookups_and_forgets_on_any_commit(tmp_path):
    """In process: lookups of records the front wrote or read come from its
    memory; a commit by the Python server (here: an irreproducible mark)
    makes it forget, and the lookup after it sees the change."""
    db = ResultDB(tmp_path / "seamless.db")
    app = make_app(db, writable=True)
    with ThreadedServer(app) as server:
        front = server.http.front
        lookup = {"type": "transformation", "checksum": cs(1)}
        assert server.request("PUT", "/", {**lookup, "value": cs(2)}) == (200, b"OK")
        for _ in range(5):
            assert server.request("GET", "/", lookup) == (200, cs(2).encode())
        hits, forgotten = front.cache_stats()
        assert hits == 5
        assert server.request("PUT", "/", {"type": "irreproducible", "checksum": cs(1), "result": cs(2)}) \
            == (200, b"OK")
        assert server.request("GET", "/", lookup) == (404, b"ERROR: Unknown key")
        assert front.cache_stats() == (hits, forgotten + 1)
    db.close()


def test_the_memory_sees_other_processes_commits(twins):
    """The test process is another process to the servers: its changes to
    the file are seen by the very next lookup, exactly as without the front."""
    tf = cs(40)
    same(twins, put(tf, cs(41)))
    for _ in range(3):
        assert same(twins, get(tf)).endswith(cs(41).encode())
    for value in (cs(42), None, cs(43)):
        for server in twins:
            with sqlite3.connect(server.path) as con:
                if value is None:
                    con.execute('DELETE FROM "transformation" WHERE "checksum" = ?', (tf,))
                else:
                    con.execute('INSERT OR REPLACE INTO "transformation" VALUES (?, ?)', (tf, value))
            con.close()
        answer = same(twins, get(tf))
        assert answer.endswith(b"ERROR: Unknown key" if value is None else value.encode())


WRITER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
end = time.monotonic() + float(sys.argv[3])
k = 0
while time.monotonic() < end:
    k += 1
    con.execute('UPDATE "transformation" SET "result" = ? WHERE "checksum" = ?', (f"{k:064x}", sys.argv[2]))
    time.sleep(0.0005)  # room for the client's writes between
print(k)
"""


def test_the_memory_is_never_stale_under_concurrent_writers(tmp_path):
    """Another process rewrites one record as fast as it can while a client
    writes new records through the front and looks that one up: every
    answer is at least as new as what was committed before it was asked,
    and the memory did answer some of them."""
    import subprocess
    import sys

    path = tmp_path / "seamless.db"
    db = ResultDB(path)
    db.set_transformation(cs(1), cs(0))
    app = make_app(db, writable=True)
    with ThreadedServer(app) as server:
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), cs(1), "3"], stdout=subprocess.PIPE)
        reader = sqlite3.connect(path, timeout=10)
        lookup = {"type": "transformation", "checksum": cs(1)}
        checked = 0
        while writer.poll() is None:
            checked += 1
            assert server.request("PUT", "/", {**lookup, "checksum": cs(10_000 + checked), "value": cs(1)}) \
                == (200, b"OK")
            for _ in range(3):
                committed = int(reader.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?',
                                               (cs(1),)).fetchone()[0], 16)
                status, answer = server.request("GET", "/", lookup)
                assert status == 200 and int(answer, 16) >= committed
        reader.close()
        assert writer.wait(10) == 0 and int(writer.stdout.read()) > 100
        assert checked > 100
        hits, forgotten = server.http.front.cache_stats()
        assert hits > 0 and forgotten > 100
    db.close()


# ---- the front's log writes, one call per commit (csrc/front_vfs.c) -----------

def test_answered_writes_are_in_the_file_at_once_and_survive_a_kill(tmp_path):
    """The front writes a commit's log frames with one call, before SQLite
    publishes the commit. Against a server in its own process, while a
    third process rewrites a record (its commits and checkpoints interleave
    with the front's): every write the front answered, alone or in a
    group commit of eight clients, is in seamless.db for this process at
    once; after the server is killed, all are still there and the file is
    sound."""
    import signal
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "seamless.db"
    with ResultDB(path) as db:
        db.set_transformation(cs(1), cs(0))
    server = ServerProcess("seamless-database", [str(path), "--writable"], tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), cs(1), "4"], stdout=subprocess.PIPE)
    reader = sqlite3.connect(path, timeout=10)
    answered = []
    try:
        def write(n: int) -> int:
            status = server.request("PUT", "/", {"type": "transformation", "checksum": cs(n), "value": cs(n + 7)})
            assert status == (200, b"OK")
            return n

        n = 100
        while writer.poll() is None:
            n += 1
            answered.append(write(n))
            found = reader.execute('SELECT "result" FROM "transformation" WHERE "checksum" = ?', (cs(n),)).fetchone()
            assert found == (cs(n + 7),), f"record {n} answered but not in the file"
            if n % 50 == 0:  # a burst: commits of several records
                burst = list(range(n * 1000, n * 1000 + 64))
                with ThreadPoolExecutor(8) as pool:
                    answered.extend(pool.map(write, burst))
                marks = ",".join("?" * len(burst))
                rows = reader.execute(f'SELECT count(*) FROM "transformation" WHERE "checksum" IN ({marks})',
                                      [cs(b) for b in burst]).fetchone()[0]
                assert rows == len(burst)
        assert writer.wait(10) == 0 and int(writer.stdout.read()) > 100
    finally:
        reader.close()
        server.stop(signal.SIGKILL)
    assert len(answered) > 500
    with ResultDB(path, readonly=True) as db:
        assert db.integrity_check() == "ok"
        assert all(db.get_transformation(cs(a)).hex() == cs(a + 7) for a in answered)
        assert sorted(c.hex() for c in db.get_rev_transformations(cs(answered[0] + 7))) == [cs(answered[0])]
