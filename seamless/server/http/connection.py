"""One HTTP/1.1 connection: bytes in, requests to handlers, responses out.

The common request (a small body, a handler that answers at once) is
served inside ``data_received`` without creating a task: parse, route,
call, write. A handler may also answer with a Future (computed in a worker
thread) or a coroutine (run as a task). Either way the connection is
``busy`` until the answer is out, and reads no further request meanwhile,
so answers to pipelined requests always go out in order.

Bodies of ordinary routes are buffered whole (up to the route's
``max_body``, else 413). Streaming routes get a BodyStream while the body is
still arriving; reading from the socket pauses while too much of it waits
unread (and while too much pipelined input waits behind a busy request). If
the handler answers before the body is fully read, the connection is closed
after the answer (the rest is never parsed). ``Expect: 100-continue`` is
answered when the body is first wanted.

Clients that stall are dropped by the server's once-a-second sweep
(``check_timeouts``): an incomplete head after HEAD_TIMEOUT, a body that
stops arriving after BODY_TIMEOUT, an idle keep-alive connection after
IDLE_TIMEOUT, and a client that stops reading its answer after
WRITE_TIMEOUT. A client that half-closes its side still gets its answers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import struct
import time
from typing import TYPE_CHECKING, Any

from .messages import FileBody, Request, Response, StreamBody
from .parser import MAX_HEAD, ChunkedDecoder, HttpError, body_framing, parse_head
from .streams import (BodyStream, ClientDisconnected, send_direct_blocking, sendfile_blocking, shutdown_socket,
                      socket_fd)

if TYPE_CHECKING:  # pragma: no cover
    from .server import HttpServer

LOGGER = logging.getLogger("seamless.server.http")

HEAD_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
IDLE_TIMEOUT = 75.0
WRITE_TIMEOUT = 60.0
#: Buffered, unprocessed input beyond this pauses reading.
READ_PAUSE = 256 << 10
#: After the answer to a broken request, the connection keeps reading (and
#: discarding) what the client still sends for this long, or this many
#: bytes, before it closes: closing with unread input would send a reset,
#: which can destroy the answer before the client reads it (RFC 9112 §9.6).
LINGER_SECONDS = 2.0
LINGER_BYTES = 1 << 20
#: Connection closed under a write (uvloop raises RuntimeError on a closed handle).
GONE = (ClientDisconnected, ConnectionError, TimeoutError, RuntimeError)


class HttpConnection(asyncio.Protocol):
    def __init__(self, server: "HttpServer"):
        self.server = server
        self.app = server.app
        self.transport: Any = None
        self.buffer = bytearray()
        self.busy = False  # a request is being answered
        self.closing = False  # close once the current answer is out
        self.closed = False
        self.eof = False  # the client closed its sending side
        # A request waiting for its buffered body: (request, route, framing).
        self.pending: tuple[Request, Any, Any] | None = None
        self.pending_body = bytearray()
        # A streamed body being fed: (bytes still due or a ChunkedDecoder, stream).
        self.sink: tuple[Any, BodyStream] | None = None
        self.paused_for: set[str] = set()  # "backlog", "stream", "handed over"
        self.writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.last_activity = time.monotonic()
        self.head_started: float | None = None
        self.sendfile_fd: int | None = None  # our duplicate, while a sendfile runs
        self.handed_over_fd: int | None = None  # our duplicate, while a handler reads the socket
        self._write_mark: tuple[float, int] | None = None  # (when, write buffer size)
        self.lingering: int | None = None  # bytes still to discard before closing, once answered a failure
        self._linger_timer: asyncio.TimerHandle | None = None

    # ---- asyncio.Protocol -------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self._linger_timer is not None:
            self._linger_timer.cancel()
        for fd in (self.sendfile_fd, self.handed_over_fd):  # stop a transfer in progress at once
            if fd is not None:
                shutdown_socket(fd)
        self._abort_sink("client disconnected during the upload")
        self.pending = None
        self._wake_drain()

    def eof_received(self) -> bool:
        """The client will send nothing more; it still gets its answers."""
        self.eof = True
        if self.lingering is not None:
            return False  # it read its answer and is done: close
        if self.sink is not None:
            self._abort_sink("client closed its side before the end of the body")
            self.closing = True
        if self.pending is not None:
            self.pending = None
            self.closing = True
        if not self.busy:
            self._process()
        return True  # keep the transport open for the answers

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_drain()
        if not self.busy:
            self._process()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        if self.lingering is not None:
            self.lingering -= len(data)
            if self.lingering <= 0:
                self.transport.close()
            return
        sink = self.sink
        if sink is not None:
            if not self.buffer and isinstance(sink[0], int) and len(data) <= sink[0]:
                # The usual piece of an upload: handed over without a copy.
                remaining = sink[0] - len(data)
                self.sink = (remaining, sink[1]) if remaining else None
                sink[1].feed(data)
                if not remaining:
                    sink[1].end()
                return
            self.buffer += data
            self._feed_sink()
            return
        self.buffer += data
        if not self.busy and not self.writing_paused:
            self._process()
        if (self.busy or self.writing_paused) and len(self.buffer) > READ_PAUSE:
            self._pause("backlog")

    # ---- flow control -------------------------------------------------------

    def _pause(self, reason: str) -> None:
        if not self.paused_for and not self.closed:
            self.transport.pause_reading()
        self.paused_for.add(reason)

    def _resume(self, reason: str) -> None:
        if reason not in self.paused_for:
            return
        self.paused_for.discard(reason)
        if not self.paused_for and not self.closed:
            self.last_activity = time.monotonic()  # the client's clock restarts now
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Wait until the transport's buffer is below its high-water mark."""
        while self.writing_paused and not self.closed:
            self._drain_waiter = asyncio.get_running_loop().create_future()
            await self._drain_waiter
        if self.closed:
            raise ClientDisconnected("client disconnected")

    def _wake_drain(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # ---- reading requests -------------------------------------------------------

    def _process(self) -> None:
        """Serve every complete request in the buffer, in order."""
        while not self.busy and not self.closed and not self.writing_paused and self.lingering is None:
            if self.pending is not None:
                if not self._complete_pending():
                    self._wait_for_input()
                    return
                continue
            if self.closing:
                self.transport.close()
                return
            buffer = self.buffer
            while buffer[:2] == b"\r\n":  # empty lines between requests
                del buffer[:2]
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD:
                    self._fail(HttpError(431, "Request header fields too large"))
                    return
                if buffer:
                    self.head_started = self.head_started or time.monotonic()
                else:
                    self.head_started = None
                self._wait_for_input()
                return
            if end > MAX_HEAD:
                self._fail(HttpError(431, "Request header fields too large"))
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            self.head_started = None
            try:
                request = parse_head(head)
                kind, length = body_framing(request)
            except HttpError as exc:
                self._fail(exc)
                return
            self._start(request, kind, length)

    def _wait_for_input(self) -> None:
        """Nothing more can be done with what arrived: read on, or close if
        the client will send nothing more."""
        if self.eof:
            self.transport.close()
        else:
            self._resume("backlog")

    def _start(self, request: Request, kind: str, length: int) -> None:
        match = self.app.router.resolve(request.method, request.path, request.segments)
        route = match.route
        request.params = match.params
        request.peer = self.transport.get_extra_info("peername")
        if route is None:
            if not self._skip_body(kind, length):
                self.closing = True
            self._answer_now(request, self.app.no_route(request, match.allowed))
            return
        if route.streaming and not (kind == "length" and length <= route.max_body):
            self.busy = True  # before any feeding: nothing else is parsed meanwhile
            stream = BodyStream(functools.partial(self._pause, "stream"),
                                functools.partial(self._resume, "stream"),
                                on_first_read=functools.partial(self._continue, request, kind, length),
                                hand_over=self._hand_over_body)
            request.body = None
            request.stream = stream
            self.sink = (ChunkedDecoder() if kind == "chunked" else length, stream)
            if kind == "length" and length == 0:
                self.sink = None
                stream.end()
            else:
                self._feed_sink()
            self._dispatch(request, route)
            if not self.closed:
                self._resume("backlog")  # input paused behind an earlier request
            return
        if kind == "length" and length > route.max_body:
            self.closing = True
            self._answer_now(request, self.app.too_large(request, route.max_body))
            return
        self.pending = (request, route, ChunkedDecoder() if kind == "chunked" else length)
        self.pending_body = bytearray()
        if not self._complete_pending() and self.pending is not None:  # (None: it failed)
            self._continue(request, kind, length)

    def _continue(self, request: Request, kind: str, length: int) -> None:
        """Answer ``Expect: 100-continue`` (HTTP/1.1 only) if the body has
        not all arrived yet."""
        if (request.version == "HTTP/1.1" and not self.closed and self.lingering is None
                and request.headers.get("expect", "").lower() == "100-continue"
                and (kind == "chunked" or self.sink is not None or len(self.buffer) < length)):
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def _complete_pending(self) -> bool:
        """Dispatch the pending request if its whole body is here."""
        request, route, framing = self.pending  # type: ignore[misc]
        if isinstance(framing, int):
            if len(self.buffer) < framing:
                return False
            request.body = bytes(self.buffer[:framing])
            del self.buffer[:framing]
        else:
            try:
                framing.feed(self.buffer, into=self.pending_body)
            except HttpError as exc:
                self.pending = None
                self._fail(exc)
                return False
            if len(self.pending_body) > route.max_body:
                self.pending = None
                self.closing = True
                self._answer_now(request, self.app.too_large(request, route.max_body))
                return True
            if not framing.done:
                return False
            request.body = bytes(self.pending_body)
        self.pending = None
        self.pending_body = bytearray()
        self._dispatch(request, route)
        return True

    def _feed_sink(self) -> None:
        """Move what the buffer holds of a streamed body into its stream."""
        decoder, stream = self.sink  # type: ignore[misc]
        buffer = self.buffer
        if isinstance(decoder, int):
            take = min(decoder, len(buffer))
            if take:
                stream.feed(bytes(buffer[:take]))
                del buffer[:take]
            decoder -= take
            self.sink = (decoder, stream)
            finished = decoder == 0
        else:
            try:
                for piece in decoder.feed(buffer):
                    stream.feed(piece)
            except HttpError as exc:
                stream.abort(exc)  # the handler answers it (400)
                self.sink = None
                self.closing = True
                return
            finished = decoder.done
        if finished:
            self.sink = None
            stream.end()
        # Pipelined input after the body waits in the buffer until the
        # answer to this request is out (see _finish).

    def _hand_over_body(self) -> tuple[int, int, Any, Any] | None:
        """Give the rest of a streamed body (of known length) to its
        handler, to be read straight from the socket (BodyStream.receive_with):
        (fd, bytes still due, run in a transfer thread, release), or None.

        Reading pauses meanwhile. The handler's thread reads a duplicate of
        the descriptor, closed on the event loop once that thread is done
        with it (not when the handler is cancelled, say at shutdown): a
        number reused by a new connection is never read."""
        sink = self.sink
        if sink is None or not isinstance(sink[0], int) or self.buffer or self.closed:
            return None
        remaining = sink[0]
        fd = os.dup(socket_fd(self.transport))
        self._pause("handed over")
        self.sink = None
        self.handed_over_fd = fd
        loop = asyncio.get_running_loop()

        def run(fn: Any, *args: Any) -> Any:
            try:
                job = self.server.io_pool.submit(fn, *args)
            except RuntimeError:  # the server is shutting down
                self._close_handed_over(fd)
                raise ClientDisconnected("server shutting down") from None
            job.add_done_callback(lambda _: _call_soon(loop, self._close_handed_over, fd))
            return asyncio.wrap_future(job, loop=loop)

        def release(ok: bool) -> None:
            if ok:
                self.last_activity = time.monotonic()
                self._resume("handed over")
                return
            # The body was not read whole: nothing after it can be parsed,
            # and a thread still reading (the handler was cancelled) stops.
            self.closing = True
            if self.handed_over_fd == fd:
                shutdown_socket(fd)

        return fd, remaining, run, release

    def _close_handed_over(self, fd: int) -> None:
        if self.handed_over_fd == fd:
            self.handed_over_fd = None
        os.close(fd)

    def _skip_body(self, kind: str, length: int) -> bool:
        """Drop an unwanted body if it is already here; False otherwise."""
        if kind == "length" and length <= len(self.buffer):
            del self.buffer[:length]
            return True
        return False

    # ---- handlers and answers -----------------------------------------------

    def _dispatch(self, request: Request, route: Any) -> None:
        self.busy = True
        self.app.activity.begin()
        try:
            answer = self.app.call(request, route)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            answer = self._error_answer(request, exc)
        if answer is None or isinstance(answer, Response):
            self._complete(request, answer)
        elif isinstance(answer, asyncio.Future):
            # A result computed elsewhere (a worker thread): no task needed.
            answer.add_done_callback(functools.partial(self._future_done, request))
        else:
            asyncio.ensure_future(self._await_answer(request, answer))

    def _error_answer(self, request: Request, exc: BaseException) -> Response | None:
        """The answer to a failed handler; None when the client is gone."""
        if isinstance(exc, HttpError):  # e.g. a malformed chunked body
            self.closing = True
            return self.app.protocol_error(exc)
        if isinstance(exc, ClientDisconnected):
            LOGGER.debug("%s %s: %s", request.method, request.path, exc)
            return None
        return self.app.on_error(request, exc)  # type: ignore[arg-type]

    def _future_done(self, request: Request, future: "asyncio.Future[Response]") -> None:
        try:
            response: Response | None = future.result()
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            response = self._error_answer(request, exc)
        self._complete(request, response)

    async def _await_answer(self, request: Request, answer: Any) -> None:
        try:
            response: Response | None = await answer
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer
            response = self._error_answer(request, exc)
        self._complete(request, response)

    def _complete(self, request: Request, response: Response | None) -> None:
        """Send the answer to the request in progress (once), then go on."""
        if response is None or self.closed:
            if response is not None:
                _discard(response)
            self._abort()
            self._finish()
            return
        if self.sink is not None and self.sink[1] is request.stream:
            self.sink = None  # answered before the body was read: the rest is never parsed
            self.closing = True
        if isinstance(response.body, bytes):
            try:
                self._write_bytes_response(request, response)
            except GONE:
                self._abort()
            finally:
                self._finish()
        else:
            asyncio.ensure_future(self._send_body(request, response))

    def _answer_now(self, request: Request, response: Response) -> None:
        """An answer decided by the connection itself (404, 413, ...)."""
        self.busy = True
        self.app.activity.begin()
        self._complete(request, response)

    def _finish(self) -> None:
        """The answer is out: the next request may be served."""
        self.app.activity.end()
        self.busy = False
        self.last_activity = time.monotonic()
        if not self.closed:
            self._process()

    def _keep_alive(self, request: Request, response: Response) -> bool:
        return request.keep_alive and not self.closing and not response.close

    def _write_bytes_response(self, request: Request, response: Response) -> None:
        self.app.finalize(request, response)
        keep_alive = self._keep_alive(request, response)
        head = response.head(keep_alive, self.server.date_header)
        body = response.body
        if request.method == "HEAD" or not body or response.status in (204, 304):
            self.transport.write(head)
        elif len(body) <= 65536:  # type: ignore[arg-type]
            self.transport.write(head + body)  # type: ignore[operator]
        else:
            self.transport.writelines((head, body))
        if not keep_alive:
            self.closing = True
            self.transport.close()

    async def _send_body(self, request: Request, response: Response) -> None:
        """A file (sendfile) or a stream, after the head."""
        body = response.body
        try:
            self.app.finalize(request, response)
            keep_alive = self._keep_alive(request, response)
            self.transport.write(response.head(keep_alive, self.server.date_header))
            if request.method != "HEAD":
                if isinstance(body, FileBody):
                    await self._send_file(body)
                else:
                    await self._send_stream(body)  # type: ignore[arg-type]
            if not keep_alive:
                self.closing = True
                self.transport.close()
        except GONE as exc:
            LOGGER.debug("%s %s: connection lost: %s", request.method, request.path, exc)
            self._abort()
        except Exception:  # noqa: BLE001 - never leave the connection hanging
            LOGGER.exception("%s %s: response failed", request.method, request.path)
            self._abort()
        finally:
            _discard(response)
            self._finish()

    async def _send_file(self, body: FileBody) -> None:
        """Zero-copy: once the transport's own buffer is empty, sendfile runs
        in a worker thread straight into the socket."""
        transport = self.transport
        transport.set_write_buffer_limits(high=0)
        try:
            while transport.get_write_buffer_size() and not self.closed:
                self.writing_paused = True
                await self.drain()
        finally:
            if not self.closed:
                transport.set_write_buffer_limits()
        if self.closed:
            raise ClientDisconnected("client disconnected")
        # The thread works on its own duplicate of the socket's descriptor:
        # if the connection closes meanwhile, the event loop closes its
        # descriptor, and that number may at once be reused by a new
        # connection, which the transfer must never reach. The duplicate is
        # closed when the thread is done with it, not before.
        fd = os.dup(socket_fd(transport))
        self.sendfile_fd = fd
        send = send_direct_blocking if body.direct else sendfile_blocking
        transfer = asyncio.get_running_loop().run_in_executor(
            self.server.io_pool, send, fd, body.fd, body.offset, body.size)

        def done(_: Any) -> None:
            if self.sendfile_fd == fd:
                self.sendfile_fd = None
            os.close(fd)

        transfer.add_done_callback(done)
        await transfer

    async def _send_stream(self, body: StreamBody) -> None:
        chunked = body.length is None
        sent = 0
        async for piece in body.pieces:
            if not piece:
                continue
            sent += len(piece)
            if body.length is not None and sent > body.length:
                raise ConnectionError(f"a stream longer than its announced {body.length} bytes")
            if self.closed:
                raise ClientDisconnected("client disconnected")
            if chunked:
                self.transport.writelines((b"%x\r\n" % len(piece), piece, b"\r\n"))
            else:
                self.transport.write(piece)
            await self.drain()
        if body.length is not None and sent != body.length:
            raise ConnectionError(f"a stream of {sent} bytes, not the announced {body.length}")
        if chunked:
            self.transport.write(b"0\r\n\r\n")

    def _fail(self, error: HttpError) -> None:
        """Answer a broken request and close the connection."""
        self.closing = True
        if self.closed:
            return
        response = self.app.protocol_error(error)
        self.transport.write(response.head(False, self.server.date_header) + response.body)  # type: ignore[operator]
        self._linger()

    def _linger(self) -> None:
        """Close after an answer to a broken request: our side at once (the
        client sees the end of the answer), the connection once the client
        closes too, has sent LINGER_BYTES more, or LINGER_SECONDS passed;
        what arrives meanwhile is discarded."""
        self._abort_sink("the request was broken")
        self.pending = None
        self.buffer.clear()
        can_write_eof = getattr(self.transport, "can_write_eof", None)
        if can_write_eof is None or not can_write_eof():  # e.g. the database front's connections
            self.transport.close()
            return
        self.lingering = LINGER_BYTES
        if self.paused_for:
            self.paused_for.clear()
            self.transport.resume_reading()
        try:
            self.transport.write_eof()
        except (OSError, RuntimeError):
            self.transport.close()
            return
        self._linger_timer = asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def _abort_sink(self, reason: str) -> None:
        """End a streamed body being fed, if any: its handler reads the
        disconnection."""
        if self.sink is not None:
            self.sink[1].abort(ClientDisconnected(reason))
            self.sink = None

    def _abort(self) -> None:
        """Drop the connection now: what the kernel still holds for the
        client is discarded too (a reset, not a graceful close)."""
        if not self.closed and self.transport is not None:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            self.transport.abort()

    # ---- the server's sweep ---------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        if self.closed:
            return
        waiting = self.transport.get_write_buffer_size()
        if waiting:  # a client that does not read its answer
            mark = self._write_mark
            if mark is None or waiting < mark[1]:
                self._write_mark = (now, waiting)
            elif now - mark[0] > WRITE_TIMEOUT:
                LOGGER.info("dropping a client that stopped reading")
                self._abort()
                return
        else:
            self._write_mark = None
        if self.lingering is not None:  # closes by itself, once its answer is out
            return
        if self.sink is not None or self.pending is not None:  # a body is arriving
            # (unless we paused reading for the handler: then it is slow, not the client)
            if "stream" not in self.paused_for and now - self.last_activity > BODY_TIMEOUT:
                LOGGER.info("dropping a client that stopped sending its body")
                self._abort_sink("client stopped sending")
                self._abort()
        elif self.busy:  # the handler's own business
            return
        elif self.head_started is not None:
            if now - self.head_started > HEAD_TIMEOUT:
                self._fail(HttpError(408, "Request timeout"))
        elif now - self.last_activity > IDLE_TIMEOUT:
            self.transport.close()

    def shut_down(self) -> None:
        """Close when idle; otherwise after the answer in progress."""
        self.closing = True
        if not self.busy and self.sink is None and self.pending is None:
            self.transport.close()


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Any, *args: Any) -> None:
    """fn(*args) on the loop's thread; right here if the loop is gone."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # closed: nothing else uses the connection any more
        fn(*args)


def _discard(response: Response) -> None:
    """Release what an answer holds (the file of a FileBody), once."""
    body = response.body
    if isinstance(body, FileBody) and body.fd >= 0:
        fd, body.fd = body.fd, -1
        os.close(fd)
