"""One HTTP/1.1 connection: bytes in, requests to handlers, responses out.

The common request (a small body, a handler that answers at once) is
served inside ``data_received`` without creating a task: parse, route,
call, write. Handlers that return a coroutine run as a task, and the
connection waits for it before it reads the next pipelined request, so
answers always go out in order.

Bodies of ordinary routes are buffered whole (up to the route's
``max_body``, else 413). Streaming routes get a BodyStream while the body is
still arriving; reading from the socket pauses while too much of it waits
unread. If the handler answers before the body is fully read, the
connection is closed after the answer (the rest is never parsed).

Clients that stall are dropped by the server's once-a-second sweep
(``HttpServer.sweep``): an incomplete head after HEAD_TIMEOUT, a stalled
body after BODY_TIMEOUT, an idle keep-alive connection after IDLE_TIMEOUT.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from .messages import FileBody, Request, Response, StreamBody
from .parser import MAX_HEAD, ChunkedDecoder, HttpError, body_framing, parse_head
from .streams import BodyStream, ClientDisconnected, sendfile_blocking, shutdown_socket, socket_fd

if TYPE_CHECKING:  # pragma: no cover
    from .server import HttpServer

LOGGER = logging.getLogger("seamless.server.http")

HEAD_TIMEOUT = 30.0
BODY_TIMEOUT = 60.0
IDLE_TIMEOUT = 75.0
#: Buffered, unprocessed input beyond this pauses reading.
READ_PAUSE = 2 << 20


class HttpConnection(asyncio.Protocol):
    def __init__(self, server: "HttpServer"):
        self.server = server
        self.app = server.app
        self.transport: Any = None
        self.buffer = bytearray()
        self.busy = False  # a handler or a response is in progress
        self.closing = False  # close once the current response is out
        self.closed = False
        self.pending: tuple[Request, Any, Any] | None = None  # awaiting a buffered body
        self.pending_parts: list[bytes] = []  # decoded pieces of a chunked pending body
        self.sink: tuple[Any, BodyStream] | None = None  # feeding a streamed body
        self.reading_paused = False
        self.writing_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        self.last_activity = time.monotonic()
        self.head_started: float | None = None
        self.sendfile_fd: int | None = None  # our duplicate, while a sendfile runs

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
        if self.sendfile_fd is not None:  # stop a transfer in progress at once
            shutdown_socket(self.sendfile_fd)
        self.server.connections.discard(self)
        if self.sink is not None:
            self.sink[1].abort(ClientDisconnected("client disconnected during the upload"))
            self.sink = None
        self.pending = None
        self._wake_drain()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        self._wake_drain()
        if not self.busy:
            self._process()

    def data_received(self, data: bytes) -> None:
        self.last_activity = time.monotonic()
        sink = self.sink
        if sink is not None:
            if not self.buffer and isinstance(sink[0], int) and len(data) <= sink[0]:
                # The usual piece of an upload: handed over without a copy.
                self.sink = (sink[0] - len(data), sink[1])
                sink[1].feed(data)
                if self.sink[0] == 0:
                    self.sink = None
                    sink[1].end()
                return
            self.buffer += data
            self._feed_sink()
            return
        if not self.buffer and self.head_started is None:
            self.head_started = self.last_activity
        self.buffer += data
        if not self.busy:
            self._process()
        if (self.busy or self.writing_paused) and len(self.buffer) > READ_PAUSE:
            self._pause_reading()

    # ---- flow control -------------------------------------------------------

    def _pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.reading_paused and not self.closed:
            self.reading_paused = False
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

    # ---- requests -------------------------------------------------------------

    def _process(self) -> None:
        """Serve every complete request in the buffer, in order."""
        while not self.busy and not self.closed and not self.writing_paused:
            if self.pending is not None:
                if not self._complete_pending():
                    self._resume_reading()  # the body is not all here yet
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
                if not buffer:
                    self.head_started = None
                self._resume_reading()  # the head is not all here yet
                return
            if end > MAX_HEAD:
                self._fail(HttpError(431, "Request header fields too large"))
                return
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            self.head_started = time.monotonic() if buffer else None
            try:
                request = parse_head(head)
                kind, length = body_framing(request)
            except HttpError as exc:
                self._fail(exc)
                return
            self._start(request, kind, length)

    def _start(self, request: Request, kind: str, length: int) -> None:
        match = self.app.router.resolve(request.method, request.path, request.segments)
        route = match.route
        request.params = match.params
        request.peer = self.transport.get_extra_info("peername")
        if route is None:
            answer = self.app.no_route(request, match.allowed)
            if not self._skip_body(kind, length):
                self.closing = True
            self._respond(request, answer)
            return
        if route.streaming and not (kind == "length" and length <= route.max_body):
            stream = BodyStream(self._pause_reading, self._resume_reading)
            request.body = None
            request.stream = stream
            decoder = ChunkedDecoder() if kind == "chunked" else length
            self.sink = (decoder, stream)
            self._expect_continue(request, kind, length)
            self._feed_sink()
            self._dispatch(request, route)
            return
        if kind == "length" and length > route.max_body:
            self.closing = True
            self._respond(request, self.app.too_large(request, route.max_body))
            return
        self.pending = (request, route, ChunkedDecoder() if kind == "chunked" else length)
        self.pending_parts: list[bytes] = []
        if not self._complete_pending():
            self._expect_continue(request, kind, length)

    def _expect_continue(self, request: Request, kind: str, length: int) -> None:
        if request.headers.get("expect", "").lower() == "100-continue" and (
            kind == "chunked" or len(self.buffer) < length
        ):
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
                self.pending_parts.extend(framing.feed(self.buffer))
            except HttpError as exc:
                self.pending = None
                self._fail(exc)
                return False
            if sum(map(len, self.pending_parts)) > route.max_body:
                self.pending = None
                self.closing = True
                self._respond(request, self.app.too_large(request, route.max_body))
                return True
            if not framing.done:
                return False
            request.body = b"".join(self.pending_parts)
        self.pending = None
        self.pending_parts = []
        self._dispatch(request, route)
        return True

    def _feed_sink(self) -> None:
        decoder, stream = self.sink  # type: ignore[misc]
        buffer = self.buffer
        if isinstance(decoder, int):
            take = min(decoder, len(buffer))
            if take:
                stream.feed(bytes(buffer[:take]) if take < len(buffer) else bytes(buffer))
                del buffer[:take]
            decoder -= take
            self.sink = (decoder, stream)
            finished = decoder == 0
        else:
            try:
                for piece in decoder.feed(buffer):
                    stream.feed(piece)
            except HttpError as exc:
                stream.abort(ClientDisconnected(exc.message))
                self.sink = None
                self.closing = True
                return
            finished = decoder.done
        if finished:
            self.sink = None
            stream.end()
            if buffer and not self.busy:
                self._process()

    def _skip_body(self, kind: str, length: int) -> bool:
        """Drop an unwanted body if it is already here; False otherwise."""
        if kind == "length" and length <= len(self.buffer):
            del self.buffer[:length]
            return True
        return kind == "length" and length == 0

    # ---- handlers and responses -------------------------------------------

    def _dispatch(self, request: Request, route: Any) -> None:
        app = self.app
        app.activity.begin()
        try:
            answer = app.call(request, route)
        except Exception as exc:  # noqa: BLE001 - mapped to a response
            answer = app.on_error(request, exc)
        if isinstance(answer, Response):
            if request.stream is not None and self.sink is not None:
                self.sink = None  # answered before the body was read
                self.closing = True
            self._respond(request, answer)
            app.activity.end()
        elif isinstance(answer, asyncio.Future):
            # A result computed elsewhere (a worker thread): no task needed.
            self.busy = True
            answer.add_done_callback(functools.partial(self._future_done, request))
        else:
            self.busy = True
            asyncio.ensure_future(self._finish_async(request, answer))

    def _future_done(self, request: Request, future: "asyncio.Future[Response]") -> None:
        try:
            response = future.result()
        except Exception as exc:  # noqa: BLE001 - mapped to a response
            response = self.app.on_error(request, exc)
        if not isinstance(response.body, bytes) or self.closed:
            # (still busy) _finish_async takes over and ends the activity
            asyncio.ensure_future(self._finish_async(request, _ready(response)))
            return
        try:
            if self.sink is not None and self.sink[1] is request.stream:
                self.sink = None
                self.closing = True
            self._respond(request, response)
        finally:
            self.app.activity.end()
            self.busy = False
            self.last_activity = time.monotonic()
        if not self.closed:
            if self.buffer or self.pending is not None or self.closing:
                self._process()
            else:
                self._resume_reading()

    async def _finish_async(self, request: Request, answer: Any) -> None:
        try:
            try:
                response = await answer
            except Exception as exc:  # noqa: BLE001 - mapped to a response
                response = self.app.on_error(request, exc)
            if self.closed:
                _discard(response)
            else:
                if self.sink is not None and self.sink[1] is request.stream:
                    # Answered before the body was read: do not parse the rest.
                    self.sink = None
                    self.closing = True
                await self._respond_async(request, response)
        except (ClientDisconnected, ConnectionError, TimeoutError) as exc:
            LOGGER.debug("%s %s: connection lost: %s", request.method, request.path, exc)
            self._abort()
        except Exception:  # noqa: BLE001 - never leave the connection hanging
            LOGGER.exception("%s %s: response failed", request.method, request.path)
            self._abort()
        finally:
            self.app.activity.end()
            self.busy = False
            self.last_activity = time.monotonic()
        if not self.closed:
            if self.buffer or self.pending is not None or self.closing:
                self._process()
            else:
                self._resume_reading()

    def _respond(self, request: Request, response: Response) -> None:
        """Write a bytes response now; other bodies continue as a task."""
        if not isinstance(response.body, bytes):
            self.busy = True
            self.app.activity.begin()
            asyncio.ensure_future(self._finish_async(request, _ready(response)))
            return
        self.app.finalize(request, response)
        keep_alive = request.keep_alive and not self.closing and not response.close
        head = response.head(keep_alive, self.server.date_header)
        if request.method == "HEAD" or not response.body:
            self.transport.write(head)
        elif len(response.body) <= 65536:
            self.transport.write(head + response.body)
        else:
            self.transport.writelines((head, response.body))
        if not keep_alive:
            self.closing = True
            self.transport.close()

    async def _respond_async(self, request: Request, response: Response) -> None:
        if isinstance(response.body, bytes):
            self._respond(request, response)
            return
        self.app.finalize(request, response)
        keep_alive = request.keep_alive and not self.closing and not response.close
        body = response.body
        try:
            self.transport.write(response.head(keep_alive, self.server.date_header))
            if request.method != "HEAD":
                if isinstance(body, FileBody):
                    await self._send_file(body)
                else:
                    await self._send_stream(body)
        finally:
            if isinstance(body, FileBody):
                os.close(body.fd)
        if not keep_alive:
            self.closing = True
            self.transport.close()

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
            transport.set_write_buffer_limits()
        if self.closed:
            raise ClientDisconnected("client disconnected")
        # The thread works on its own duplicate of the socket's descriptor:
        # if the connection closes meanwhile, the event loop closes its
        # descriptor, and that number may at once be reused by a new
        # connection, which the transfer must never reach.
        self.sendfile_fd = os.dup(socket_fd(transport))
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self.server.io_pool, sendfile_blocking, self.sendfile_fd,
                                       body.fd, body.offset, body.size)
        finally:
            fd, self.sendfile_fd = self.sendfile_fd, None
            os.close(fd)

    async def _send_stream(self, body: StreamBody) -> None:
        chunked = body.length is None
        async for piece in body.pieces:
            if not piece:
                continue
            if chunked:
                self.transport.writelines((b"%x\r\n" % len(piece), piece, b"\r\n"))
            else:
                self.transport.write(piece)
            await self.drain()
        if chunked:
            self.transport.write(b"0\r\n\r\n")

    def _fail(self, error: HttpError) -> None:
        """Answer a broken request and close the connection."""
        self.closing = True
        response = self.app.protocol_error(error)
        self.transport.write(response.head(False, self.server.date_header) + response.body)  # type: ignore[operator]
        self.transport.close()

    def _abort(self) -> None:
        if not self.closed and self.transport is not None:
            self.transport.abort()

    # ---- the server's sweep ---------------------------------------------------

    def check_timeouts(self, now: float) -> None:
        if self.closed:
            return
        if self.sink is not None or self.pending is not None:  # a body is arriving
            # (unless we paused reading ourselves: then the handler is slow, not the client)
            if not self.reading_paused and now - self.last_activity > BODY_TIMEOUT:
                LOGGER.info("dropping a client that stopped sending its body")
                if self.sink is not None:
                    self.sink[1].abort(ClientDisconnected("client stopped sending"))
                self._abort()
        elif self.busy:  # the handler's own business
            return
        elif self.head_started is not None:
            if now - self.head_started > HEAD_TIMEOUT:
                self._fail(HttpError(408, "Request timeout"))
        elif now - self.last_activity > IDLE_TIMEOUT:
            self.transport.close()

    def shut_down(self) -> None:
        """Close when idle; otherwise after the response in progress."""
        self.closing = True
        if not self.busy and self.sink is None and self.pending is None:
            self.transport.close()


async def _ready(response: Response) -> Response:
    return response


def _discard(response: Response) -> None:
    """Release what an unsent response holds."""
    if isinstance(response.body, FileBody):
        os.close(response.body.fd)
