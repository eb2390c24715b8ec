"""The database front: single-record requests answered in C, the rest here.

A lookup or a write of one transformation record is nearly all of a
database server's traffic, and in Python most of its cost is the HTTP
machinery, not SQLite. The native front (csrc/front.c) takes the listening
socket and every connection on a thread of its own and answers those
requests itself, on its own SQLite connection to the same file (with the
settings of connection.py); every other request, and every connection it
is not sure of, reaches the Python server through this bridge, which
answers exactly as without the front:

* a REQUEST event carries one whole request: it is fed to the connection's
  HttpConnection (made on first use, with a FrontTransport), whose answer
  goes back as SEND commands, followed by a DONE when it is out;
* a RAW event carries bytes of a connection that is Python's from then on
  (chunked bodies, ``Expect``, large bodies, anything unusual), EOF and
  CLOSED what a socket would tell.

The front never waits for SQLite's write lock and never writes anything
but the plain case (a new, reproducible record): the rest goes to the
Python workers, which keep the protocol's answers (conflicts, irreproducible
records, read-only refusals). It remembers the records it wrote or read, and
answers a lookup from that memory while the database's WAL-index header
shows that nobody, in this process or another, has committed since.
Without the native core, or with ``--no-front``, the Python server does
everything, as before.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import threading
import time
from typing import TYPE_CHECKING, Any

from ..server.http.connection import BODY_TIMEOUT, HEAD_TIMEOUT, IDLE_TIMEOUT, WRITE_TIMEOUT, HttpConnection
from .connection import settings as connection_settings

if TYPE_CHECKING:  # pragma: no cover
    from ..server.http import HttpServer
    from .store import ResultDB

LOGGER = logging.getLogger("seamless.database")
#: Events taken from the front at a time.
BATCH = 256
#: Seconds between looks at the front's counters (activity, checkpoints).
POLL = 0.1
#: Microseconds the front polls its sockets after a turn before it sleeps: a
#: client's next request then usually arrives while it is still awake
#: (waking a sleeping thread costs tens of microseconds on a virtual
#: machine). At most this much CPU per burst of requests; none when idle.
SPIN_US = 50
#: Transformation records the front remembers for lookups (about 132 bytes
#: each): a lookup of one it wrote or read is answered without SQLite for
#: as long as nobody changed the database since (csrc/front_cache.c).
CACHE_RECORDS = 1 << 17
#: The front's connection writes the frames of a commit to the WAL with one
#: call instead of two per page (csrc/front_vfs.c).
WAL_BATCHING = True
#: Seconds beyond the grace period that a stop waits for the front's thread.
STOP_MARGIN = 5.0


def _native() -> Any:
    """The native module, or None: not built, or the pure-Python backend
    chosen (SEAMLESS_NATIVE=fallback), where the front is not used either."""
    from .. import _native as backends

    if backends.backend != "native":
        return None
    try:
        from .._native import _seamless_native as native
    except ImportError:
        return None
    return native if hasattr(native.lib, "seamless_front_new") else None


def sqlite_library() -> str | None:
    """The path of the SQLite library that Python's sqlite3 module uses, if
    it is a shared library of its own: the front must use that very copy
    (two copies in one process would not see each other's POSIX locks)."""
    import ctypes

    import _sqlite3

    assert sqlite3.sqlite_version  # the module, and so its library, is loaded
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            paths = {line.rstrip("\n").split(" ", 5)[-1].strip() for line in maps}
    except OSError:
        return None
    for path in sorted(p for p in paths if "/libsqlite3" in p):
        try:
            ours = ctypes.cast(ctypes.CDLL(path).sqlite3_open_v2, ctypes.c_void_p).value
            # dlsym through the module finds the copy it is linked with.
            theirs = ctypes.cast(ctypes.CDLL(_sqlite3.__file__).sqlite3_open_v2, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
        if ours == theirs:
            return path
    return None


class FrontTransport:
    """The transport of an HttpConnection whose socket is the front's."""

    def __init__(self, front: "DatabaseFront", conn: int):
        self._front = front
        self._conn = conn
        self._closing = False
        self.closed = False

    def _command(self, kind: int, data: bytes = b"") -> None:
        if not self.closed:
            self._front.command(self._conn, kind, data)

    def write(self, data: bytes) -> None:
        if data and not self._closing:
            self._command(self._front.lib.SEAMLESS_FRONT_SEND, bytes(data))

    def writelines(self, pieces: Any) -> None:
        self.write(b"".join(pieces))

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            self._command(self._front.lib.SEAMLESS_FRONT_CLOSE)

    def abort(self) -> None:
        self._closing = True
        self._command(self._front.lib.SEAMLESS_FRONT_ABORT)

    def is_closing(self) -> bool:
        return self._closing or self.closed

    def pause_reading(self) -> None:
        self._command(self._front.lib.SEAMLESS_FRONT_PAUSE)

    def resume_reading(self) -> None:
        self._command(self._front.lib.SEAMLESS_FRONT_RESUME)

    def done(self) -> None:
        """One request passed whole has its answer out."""
        self._command(self._front.lib.SEAMLESS_FRONT_DONE)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default  # no socket object on this side

    def get_write_buffer_size(self) -> int:
        return 0  # the front holds what waits (and drops clients that stop reading)

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass


class FrontConnection(HttpConnection):
    """An HttpConnection fed by the front: whole requests, or (raw) the
    connection's bytes as they arrive."""

    raw = False
    transport: FrontTransport

    def _finish(self) -> None:
        super()._finish()
        if not self.closed:
            self.transport.done()

    def check_timeouts(self, now: float) -> None:
        if self.raw:  # otherwise the front keeps the clocks
            super().check_timeouts(now)


class DatabaseFront:
    """The native front of one server: its thread, and the bridge."""

    def __init__(self, server: "HttpServer", sock: socket.socket, db: "ResultDB", *, writes: bool,
                 cache_records: int = CACHE_RECORDS):
        native = _native()
        library = sqlite_library()
        if native is None or library is None:
            raise RuntimeError("the native front is not available here")
        self.ffi, self.lib = native.ffi, native.lib
        self.server = server
        self.sock = sock
        self.db = db
        config = self.ffi.new("seamless_front_config *")
        settings = "; ".join(connection_settings(db.synchronous))
        self._keep = [self.ffi.new("char[]", text.encode()) for text in (library, db.path, settings)]
        config.listen_fd = sock.fileno()
        config.sqlite_library, config.database, config.settings = self._keep
        config.readonly = int(db.readonly)
        config.writes = int(writes)
        config.head_timeout_ms = int(HEAD_TIMEOUT * 1000)
        config.body_timeout_ms = int(BODY_TIMEOUT * 1000)
        config.idle_timeout_ms = int(IDLE_TIMEOUT * 1000)
        config.write_timeout_ms = int(WRITE_TIMEOUT * 1000)
        config.spin_us = SPIN_US
        config.cache_records = cache_records
        config.wal_batching = int(WAL_BATCHING)
        out = self.ffi.new("seamless_front **")
        message = self.ffi.new("char[]", 512)
        rc = self.lib.seamless_front_new(config, out, message, 512)
        if rc != 0:
            raise RuntimeError(self.ffi.string(message).decode(errors="replace") or f"front error {rc}")
        self._front = out[0]
        self._events = self.ffi.new("seamless_front_event[]", BATCH)
        self._stats = self.ffi.new("uint64_t[3]")
        self._cache_stats = self.ffi.new("uint64_t[2]")
        self._connections: dict[int, FrontConnection] = {}
        self._thread = threading.Thread(target=self._run, name="database front", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poller: asyncio.TimerHandle | None = None
        self._seen = (0, 0)  # answered, changes
        self.error: int = 0

    # ---- life ------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.lib.seamless_front_event_fd(self._front), self._take_events)
        self._thread.start()
        self._poller = self._loop.call_later(POLL, self._poll)

    def _run(self) -> None:
        self.error = self.lib.seamless_front_run(self._front)  # the GIL is released meanwhile

    async def stop(self, grace: float) -> None:
        """Stop accepting; let answers in progress finish (up to grace
        seconds); then release everything."""
        if self._front is None:
            return
        self.lib.seamless_front_stop(self._front, int(grace * 1000))
        deadline = time.monotonic() + grace + STOP_MARGIN
        while self._thread.is_alive():  # the loop keeps serving the bridge meanwhile
            if time.monotonic() > deadline:
                # Never free what a running thread uses: leave it to the exit.
                LOGGER.error("the database front did not stop within %.0f s", grace + STOP_MARGIN)
                self.sock.close()
                return
            await asyncio.sleep(0.01)
        if self._poller is not None:
            self._poller.cancel()
        self._poll(again=False)
        self._take_events()
        assert self._loop is not None
        self._loop.remove_reader(self.lib.seamless_front_event_fd(self._front))
        for protocol in list(self._connections.values()):
            protocol.transport.closed = True
            protocol.connection_lost(None)
        self._connections.clear()
        self.lib.seamless_front_free(self._front)
        self._front = None
        self.sock.close()
        if self.error:
            LOGGER.error("the database front stopped with error %d", self.error)

    def command(self, conn: int, kind: int, data: bytes = b"") -> None:
        if self._front is not None:
            self.lib.seamless_front_command(self._front, conn, kind, data, len(data))

    def stats(self) -> tuple[int, int, int]:
        """(requests answered by the front, passed to Python, rows written)."""
        self.lib.seamless_front_stats(self._front, self._stats, self._stats + 1, self._stats + 2)
        return self._stats[0], self._stats[1], self._stats[2]

    def cache_stats(self) -> tuple[int, int]:
        """(lookups answered from the front's memory, times it was forgotten
        because the database changed)."""
        self.lib.seamless_front_cache_stats(self._front, self._cache_stats, self._cache_stats + 1)
        return self._cache_stats[0], self._cache_stats[1]

    # ---- the bridge ---------------------------------------------------------------

    def _take_events(self) -> None:
        lib, ffi = self.lib, self.ffi
        while self._front is not None:
            n = lib.seamless_front_events(self._front, self._events, BATCH)
            if not n:
                return
            try:
                for i in range(n):
                    event = self._events[i]
                    data = ffi.buffer(event.data, event.len)[:] if event.len else b""
                    self._dispatch(event.conn, event.kind, data)
            finally:
                lib.seamless_front_release(self._events, n)

    def _dispatch(self, conn: int, kind: int, data: bytes) -> None:
        lib = self.lib
        protocol = self._connections.get(conn)
        if kind == lib.SEAMLESS_FRONT_CLOSED:
            if protocol is not None:
                del self._connections[conn]
                protocol.transport.closed = True
                protocol.connection_lost(None)
            return
        if protocol is None:
            protocol = FrontConnection(self.server)
            self._connections[conn] = protocol
            protocol.connection_made(FrontTransport(self, conn))
        try:
            if kind == lib.SEAMLESS_FRONT_EOF:
                protocol.eof_received()
                return
            if kind == lib.SEAMLESS_FRONT_RAW:
                protocol.raw = True
            protocol.data_received(data)
        except Exception:  # noqa: BLE001 - one connection's failure never stops the bridge
            LOGGER.exception("database front: a connection failed")
            protocol.transport.abort()

    def _poll(self, again: bool = True) -> None:
        """The front's requests count as activity (for --timeout), and its
        writes as this process's (for the checkpoint thread)."""
        answered, _, changes = self.stats()
        seen_answered, seen_changes = self._seen
        if answered != seen_answered:
            self.server.app.activity.last = time.monotonic()
        if changes != seen_changes:
            self.db.note_writes(changes - seen_changes)
        self._seen = (answered, changes)
        if again and self._loop is not None:
            self._poller = self._loop.call_later(POLL, self._poll)


def make_front(server: "HttpServer", sock: socket.socket, db: "ResultDB", *, writable: bool) -> DatabaseFront | None:
    """The front for a database server, or None where it cannot run (the
    server then answers everything in Python)."""
    try:
        return DatabaseFront(server, sock, db, writes=writable and db.synchronous == "NORMAL")
    except RuntimeError as exc:
        LOGGER.info("database front not used: %s", exc)
        return None
