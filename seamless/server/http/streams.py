"""Request bodies that arrive while their handler runs, and zero-copy file
responses.

BodyStream holds the pieces of a streamed request body. When more than
HIGH_WATER bytes wait unread, the connection stops reading from the socket
(TCP pushes back on the client) until the handler has taken them: memory
stays bounded whatever the body's size.

sendfile_blocking() writes a file region to a socket with os.sendfile in a
worker thread, so large GETs are zero-copy and never block the event loop;
send_direct_blocking() does the same for files kept out of the page cache,
reading them with direct I/O into aligned blocks of the thread's.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import fcntl
import mmap
import os
import select
import threading
import time
from typing import Any, Callable

HIGH_WATER = 4 << 20
LOW_WATER = 1 << 20
#: Pieces smaller than this are gathered into one (tiny chunks of a chunked
#: body would otherwise cost a Python object each).
SMALL_PIECE = 64 << 10
#: A client that accepts no byte for this long is given up on...
STALL_SECONDS = 60.0
#: ... and so is one that takes less than this many bytes per second (over
#: windows of STALL_SECONDS), so a trickle cannot hold a transfer thread.
MIN_RATE = 16 << 10


class ClientDisconnected(ConnectionResetError):
    """The client went away before the whole body arrived."""


class BodyStream:
    """The body of one request, piece by piece (see the module doc)."""

    def __init__(self, pause: Callable[[], None], resume: Callable[[], None],
                 on_first_read: Callable[[], None] | None = None,
                 hand_over: Callable[[], Any] | None = None):
        self._hand_over = hand_over
        self._pieces: collections.deque[Any] = collections.deque()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._pause = pause
        self._resume = resume
        self._paused = False
        self._on_first_read = on_first_read
        self.received = 0

    # ---- the connection's side ----------------------------------------

    def feed(self, piece: bytes) -> None:
        if not piece:
            return
        pieces = self._pieces
        if len(piece) < SMALL_PIECE:
            if pieces and type(pieces[-1]) is bytearray and len(pieces[-1]) < LOW_WATER:
                pieces[-1] += piece
            else:
                pieces.append(bytearray(piece))
        else:
            pieces.append(piece)
        self._size += len(piece)
        self.received += len(piece)
        if self._size > HIGH_WATER and not self._paused:
            self._paused = True
            self._pause()
        self._wake()

    def end(self) -> None:
        self._done = True
        self._wake()

    def abort(self, error: BaseException) -> None:
        """The body will not arrive whole: error is raised to the reader
        (ClientDisconnected, or an HttpError for a malformed body)."""
        if not self._done:
            self._error = error
        self._wake()

    @property
    def finished(self) -> bool:
        return self._done

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- the handler's side -------------------------------------------

    async def read(self, minimum: int = 1) -> bytes:
        """At least minimum bytes (fewer only at the end of the body; b""
        once it is all read). minimum is capped at HIGH_WATER.

        Raises:
            ClientDisconnected: the client went away mid-body.
        """
        minimum = min(minimum, HIGH_WATER)
        if self._on_first_read is not None:  # e.g. send "100 Continue" now
            self._on_first_read()
            self._on_first_read = None
        while self._size < minimum and not self._done:
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            if self._paused:  # the handler wants more than is buffered
                self._paused = False
                self._resume()
            await self._waiter
            self._waiter = None
        if self._error is not None and not self._done:
            raise self._error
        data = b"".join(self._pieces) if len(self._pieces) != 1 else bytes(self._pieces[0])
        self._pieces.clear()
        self._size = 0
        if self._paused:
            self._paused = False
            self._resume()
        return data

    async def receive_with(self, receive: Callable[[int, bytes, int], Any]) -> Any:
        """Let ``receive(fd, prefix, length)`` take the rest of the body
        straight from the socket, in one of the server's transfer threads:
        prefix is what has arrived and not been read yet, length the size of
        the body not read yet (prefix included; the whole body when nothing
        was read before), fd a duplicate of the socket's descriptor
        (non-blocking) that must be read for exactly length - len(prefix)
        bytes. Returns receive's
        result; raises NotImplementedError (before anything is taken) when
        the body cannot be handed over (chunked, already read, or a server
        without transfer threads): the caller then reads it as usual.

        For large uploads: the bytes no longer pass through the event loop.
        If receive raises, the connection is closed after the answer (the
        body was not read whole).
        """
        handover = self._hand_over() if self._hand_over is not None and not self._done else None
        if handover is None:
            raise NotImplementedError("this body cannot be handed over")
        fd, remaining, run, release = handover
        if self._on_first_read is not None:  # "100 Continue" before the client sends more
            self._on_first_read()
            self._on_first_read = None
        prefix = b"".join(self._pieces)
        self._pieces.clear()
        self._size = 0
        self._done = True  # what follows is receive's, not read()'s
        if self._paused:  # lifts only this pause: the hand-over's own holds
            self._paused = False
            self._resume()
        ok = False
        try:
            result = await run(receive, fd, prefix, len(prefix) + remaining)
            ok = True
        finally:
            release(ok)
        self.received += remaining
        return result

    async def read_all(self, limit: int) -> bytes:
        """The whole body, refusing more than limit bytes (ValueError)."""
        parts = []
        total = 0
        while True:
            piece = await self.read(LOW_WATER)
            if not piece:
                return b"".join(parts)
            total += len(piece)
            if total > limit:
                raise ValueError(f"body larger than {limit} bytes")
            parts.append(piece)

    def __aiter__(self) -> "BodyStream":
        return self

    async def __anext__(self) -> bytes:
        piece = await self.read(LOW_WATER)
        if not piece:
            raise StopAsyncIteration
        return piece


def sendfile_blocking(sock_fd: int, file_fd: int, offset: int, count: int,
                      stall: float | None = None) -> int:
    """Send count bytes of file_fd from offset to a non-blocking socket,
    waiting (poll) while the socket is full; return the bytes sent.

    Raises:
        TimeoutError: the client accepted nothing for ``stall`` seconds.
        OSError: the connection broke, or the file is shorter than expected.
    """
    pacer = _Pacer(sock_fd, STALL_SECONDS if stall is None else stall)
    sent_total = 0
    while sent_total < count:
        try:
            sent = os.sendfile(sock_fd, file_fd, offset + sent_total, min(count - sent_total, 1 << 30))
        except BlockingIOError:
            pacer.wait_writable()
            sent = 0
        else:
            if sent == 0:
                raise OSError("file ended before its announced size")
        sent_total += sent
        pacer.count(sent)
    return sent_total


#: Blocks of a direct read (a multiple of any device's logical block size).
DIRECT_BLOCK = 4 << 20
#: Blocks being read while one is sent: the device always has the next
#: read queued, also while a send is slow (two keep it busy at QD 1-2).
DIRECT_AHEAD = 2
_direct_buffers = threading.local()  # DIRECT_AHEAD + 1 aligned blocks per transfer thread


def send_direct_blocking(sock_fd: int, file_fd: int, offset: int, count: int,
                         stall: float | None = None) -> int:
    """As sendfile_blocking, but the file is read around the page cache
    (O_DIRECT) into aligned blocks of this thread's, the next ones read on
    helper threads while the current one is sent.

    For a large file written around the page cache: sendfile would first
    read it into fresh page-cache pages, the slow part on machines whose
    memory is expensive to touch anew, and fill the cache with bytes that
    are sent once. Falls back to sendfile where direct reads are refused
    (tmpfs) or offset is not block-aligned.
    """
    if offset % 4096 or not _set_direct(file_fd):
        return sendfile_blocking(sock_fd, file_fd, offset, count, stall)
    buffers = getattr(_direct_buffers, "blocks", None)
    if buffers is None:
        buffers = _direct_buffers.blocks = [mmap.mmap(-1, DIRECT_BLOCK) for _ in range(DIRECT_AHEAD + 1)]  # page-aligned
    views = [memoryview(b) for b in buffers]
    sender = _Pacer(sock_fd, STALL_SECONDS if stall is None else stall)
    # The device reads the next blocks (helper threads) while this one is sent.
    with concurrent.futures.ThreadPoolExecutor(DIRECT_AHEAD, thread_name_prefix="direct read") as reader:
        pending: collections.deque = collections.deque()
        position, done, slot = offset, 0, 0

        def read_ahead() -> None:
            nonlocal position, slot
            while len(pending) < DIRECT_AHEAD and position < offset + count:
                pending.append((reader.submit(os.preadv, file_fd, [buffers[slot]], position), slot))
                position += DIRECT_BLOCK
                slot = (slot + 1) % len(buffers)

        read_ahead()
        while done < count:
            future, turn = pending.popleft()
            got = future.result()
            if got <= 0:
                raise OSError("file ended before its announced size")
            take = min(got, count - done)
            read_ahead()  # into the blocks not being sent
            sender.send(views[turn][:take])
            done += take
            if take < DIRECT_BLOCK and done < count:
                raise OSError("file ended before its announced size")
    return done


def _set_direct(fd: int) -> bool:
    direct = getattr(os, "O_DIRECT", 0)
    if not direct:
        return False
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | direct)
    except OSError:
        return False
    return True


class _Pacer:
    """The limits of a transfer to a non-blocking socket: wait (poll) while
    it is full, for at most ``stall`` seconds, and give up on a client that
    takes less than MIN_RATE bytes/s over windows of that length."""

    def __init__(self, sock_fd: int, stall: float):
        self.fd, self.stall = sock_fd, stall
        self.poller = select.poll()
        self.poller.register(sock_fd, select.POLLOUT)
        self.window_start, self.window_sent = time.monotonic(), 0

    def wait_writable(self) -> None:
        if not self.poller.poll(self.stall * 1000):
            raise TimeoutError("client stopped reading")

    def count(self, sent: int) -> None:
        self.window_sent += sent
        now = time.monotonic()
        if now - self.window_start > self.stall:
            if self.window_sent < MIN_RATE * self.stall:
                raise TimeoutError("client reads too slowly")
            self.window_start, self.window_sent = now, 0

    def send(self, data: memoryview) -> None:
        """All of data, as the limits allow."""
        while data:
            try:
                sent = os.write(self.fd, data)
            except BlockingIOError:
                self.wait_writable()
                sent = 0
            data = data[sent:]
            self.count(sent)


def socket_fd(transport: Any) -> int:
    """The file descriptor of a transport's socket."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        raise OSError("transport has no socket")
    return sock.fileno()


def shutdown_socket(fd: int) -> None:
    """Shut a socket down for both directions through one of its descriptors
    (a sendfile blocked on it returns at once)."""
    import socket

    sock = socket.socket(fileno=os.dup(fd))
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
