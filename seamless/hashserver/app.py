"""The hashserver's HTTP face: the reference's wire protocol over a BufferStore.

Endpoints (protocol.md §2, released-versions.md §1): ``GET /healthcheck``,
``GET /has``, ``GET /has-now``, ``GET /buffer-length`` (a JSON array of
checksums in the GET body), ``GET|HEAD /{checksum}`` (with single byte
ranges, ranges.py), and when writable ``PUT /{checksum}`` and
``PUT /promise/{checksum}``; status codes and bodies as the reference's,
down to its framework's (a trailing slash is a 307 to the path without it;
a JSON body is parsed as its Content-Type says). GET never sends a file that
does not match its name (the reference's 400): small files are hashed as
they are read, large ones once per version (verified.py; this server's own
uploads are verified while written), then sent with sendfile. Differences,
all of them fixes:

* a PUT is always read and verified: an existing buffer gets 201 only if the
  body matches (else 400 ``Incorrect checksum``); a concurrent PUT of the
  same checksum is processed too (200/201) instead of a 202 that promises
  nothing; nothing is ever deleted on failure;
* buffers stored only compressed are sent decompressed, which every client
  can read;
* HEAD works; a number in a /has body is a 400, not a 500; errors do not
  reveal server paths; several ranges in one request get the whole buffer
  (200), not a multipart answer.

Small requests are answered synchronously inside the event loop (a 1 KiB
GET is an open, a read, a hash and a write); anything that may block for long (an
fsync, a large body, thousands of stats) runs in a thread. PUT bodies above
1 MiB stream through the native core (hash while writing) in bounded memory;
from 16 MiB on, the core reads them straight from the socket.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
import os
import re
import stat
import time
from typing import Any

from .. import _native, errormap
from ..exceptions import ChecksumMismatchError
from ..server.http import (ClientDisconnected, FileBody, HttpApp, Request, Response, Router, StreamBody,
                           json_response, text)
from . import requests
from .compressed import InvalidCompressedPayload, suffix_for
from .locks import DEFAULT_LOCK_TIMEOUT, OutsideLocks
from .promises import Promises
from .ranges import RangeRefused, content_range, requested_range
from .store import DIRECT_IO_MIN, BufferStore
from .verified import VerifiedFiles

LOGGER = logging.getLogger("seamless.hashserver")
#: Bodies up to this size are read whole and stored in one native call.
SMALL_BODY = 1 << 20
#: Bodies of at least this size are read by the native core straight from
#: the socket (a transfer thread reads, writes and hashes them; the event
#: loop never sees the bytes).
SOCKET_BODY = 16 << 20
#: A client that sends a large body for a minute without a byte, or slower
#: than this many bytes/s over a minute, is given up on.
BODY_STALL = 60.0
BODY_MIN_RATE = 16 << 10
#: Buffers up to this size are read and sent from memory; larger ones with sendfile.
SMALL_FILE = 256 * 1024
#: The largest body of a /has-like request: about 500,000 checksums (the
#: reference's client asks about all of its buffers at once when it exits).
LIST_BODY = 32 << 20
#: /has-like requests with more checksums than this run in a thread.
BIG_LIST = 512
OCTET_STREAM = "application/octet-stream"
_HEADER_LIST = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z, \t]*")


def _headers(checksum: str, ranges: bool = True) -> dict[str, str]:
    """The headers of a buffer's bytes (ranges: whether a Range request of
    them would be served)."""
    headers = {"Content-Type": OCTET_STREAM, "Content-Disposition": f'attachment; filename="{checksum}"'}
    if ranges:
        headers["Accept-Ranges"] = "bytes"
    return headers


def _ranged(response: Response, wanted: str) -> Response:
    """The part of a whole buffer's 200 answer that a Range header asks
    for: a 206, or the refusal (416, 400); the whole answer for several
    ranges, and for a buffer sent as a stream (decompressed on the way)."""
    body = response.body
    if response.status != 200 or not isinstance(body, (bytes, FileBody)):
        return response
    size = body.size if isinstance(body, FileBody) else len(body)
    try:
        part = requested_range(wanted, size)
    except RangeRefused as refused:
        if isinstance(body, FileBody):
            os.close(body.fd)
        if refused.status == 416:
            return Response(416, b"", {"Content-Range": f"bytes */{refused.size}"},
                            content_type="text/plain; charset=utf-8")
        return text(refused.message, refused.status)
    if part is None:
        return response
    start, end = part
    if isinstance(body, FileBody):  # sendfile from the page cache: direct reads need aligned offsets
        response.body = FileBody(body.fd, body.offset + start, end - start, False)
    else:
        response.body = body[start:end]
    response.status = 206
    response.headers["Content-Range"] = content_range(start, end, size)
    return response


class HashserverApp(HttpApp):
    """Handlers of one hashserver over one BufferStore."""

    def __init__(self, store: BufferStore, *, writable: bool, lock_timeout: float = DEFAULT_LOCK_TIMEOUT):
        super().__init__(Router())
        self.store = store
        self.writable = writable
        self.promises = Promises()
        self.outside_locks = OutsideLocks(store.directory, store.layout == "prefix", lock_timeout)
        #: Checksums with a PUT in progress -> set when it ends.
        self.uploads: dict[str, asyncio.Event] = {}
        #: Large files found to match their names (hashed once per version).
        self.verified = VerifiedFiles()
        # Durable writes block on fsync: they run in threads, not in the loop.
        # Without one ("batch", "none"), a small write is a few system calls.
        self.inline_writes = store.durability != "fsync"
        self._prefix = store.layout == "prefix"
        # Small files are hashed by the standard library: the same digests,
        # half the time of a call into the native core for 1 KiB.
        self._small_hash = {"sha-256": hashlib.sha256, "sha3-256": hashlib.sha3_256}[store.hash_algorithm]
        router = self.router
        router.add("GET", "/healthcheck", self.healthcheck)
        router.add("GET", "/has", self.has, max_body=LIST_BODY)
        router.add("GET", "/has-now", self.has_now, max_body=LIST_BODY)
        router.add("GET", "/buffer-length", self.buffer_length, max_body=LIST_BODY)
        if writable:
            router.add("PUT", "/promise/{checksum}", self.promise)
            router.add("PUT", "/{checksum}", self.put_buffer, streaming=True, max_body=SMALL_BODY)
        router.add("GET", "/{checksum}", self.get_buffer)

    # ---- the application's answers ------------------------------------

    def on_error(self, request: Request, exc: Exception) -> Response:
        if isinstance(exc, requests.InvalidRequest):
            return exc.response()
        if isinstance(exc, ChecksumMismatchError):
            return Response(400, b"Incorrect checksum")  # no Content-Type, as the reference's
        if isinstance(exc, InvalidCompressedPayload):
            return text("Invalid compressed payload", 400)
        status = errormap.http_status(exc)
        if status >= 500:
            return super().on_error(request, exc)
        if isinstance(exc, OSError):  # the server's own trouble (a folder made read-only): for its log too
            LOGGER.error("%s %s failed: %s", request.method, request.path, exc)
        return json_response({"message": errormap.public_message(exc)}, status)

    def no_route(self, request: Request, allowed: tuple[str, ...]) -> Response:
        if request.method == "OPTIONS" and "access-control-request-method" in request.headers:
            asked = request.headers.get("access-control-request-headers", "*")
            return Response(200, b"OK", {
                "Access-Control-Allow-Origin": "*",
                "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
                # echoed as the reference does, but only a list of header names
                "Access-Control-Allow-Headers": asked if _HEADER_LIST.fullmatch(asked) else "*",
                "Access-Control-Max-Age": "600",
            }, content_type="text/plain; charset=utf-8")
        if len(request.path) > 1 and request.path.endswith("/"):
            return self._without_slash(request)
        return super().no_route(request, allowed)

    def _without_slash(self, request: Request) -> Response:
        """A path with a trailing slash, redirected (307) to the path without
        it if some route has that one (as the reference, whose framework does
        this), else 404. The redirect names the host the client asked for."""
        path = request.path[:-1]
        match = self.router.resolve(request.method, path, request.segments[:-1])
        if match.route is None and not match.allowed:
            return super().no_route(request, ())
        host = request.headers.get("host")
        target = (f"http://{host}" if host else "") + path + (f"?{request.query}" if request.query else "")
        return Response(307, b"", {"Location": target})

    def finalize(self, request: Request, response: Response) -> None:
        """Permissive CORS, as the reference's (no credentials)."""
        if "origin" in request.headers:
            response.headers["Access-Control-Allow-Origin"] = "*"

    async def shutdown(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.store.close)

    # ---- presence and lengths -------------------------------------------

    def healthcheck(self, request: Request) -> Response:
        return Response(200, b"OK")

    def _presence(self, checksums: list[str], include_promises: bool) -> Response:
        found = self.store.has(checksums) if checksums else []
        uploads, promises = self.uploads, self.promises
        return json_response([
            bool(present) or cs in uploads or (include_promises and promises.is_live(cs))
            for cs, present in zip(checksums, found)
        ])

    def has(self, request: Request) -> Any:
        """Booleans: stored, being uploaded, or promised."""
        return self._presence_request(request, include_promises=True)

    def has_now(self, request: Request) -> Any:
        """Booleans, ignoring promises (the reference's /has-now)."""
        return self._presence_request(request, include_promises=False)

    def _presence_request(self, request: Request, include_promises: bool) -> Any:
        checksums = requests.checksum_list(request)
        if len(checksums) <= BIG_LIST:
            return self._presence(checksums, include_promises)
        return self._in_thread(self._presence, checksums, include_promises)

    def buffer_length(self, request: Request) -> Any:
        """Decompressed lengths (0 if absent); ``true`` for promised buffers, as
        the reference answers (its clients accept a boolean there)."""
        checksums = requests.checksum_list(request)
        if len(checksums) <= BIG_LIST and not any(cs in self.uploads for cs in checksums):
            return self._lengths(checksums)
        return self._lengths_later(checksums)

    async def _lengths_later(self, checksums: list[str]) -> Response:
        await self._wait_for_uploads(checksums)
        return await self._in_thread(self._lengths, checksums)

    def _lengths(self, checksums: list[str]) -> Response:
        lengths = self.store.lengths(checksums) if checksums else []
        live = self.promises.is_live
        return json_response([True if live(cs) else (length or 0) for cs, length in zip(checksums, lengths)])

    async def _in_thread(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def _wait_for_uploads(self, checksums: list[str]) -> None:
        for cs in checksums:
            event = self.uploads.get(cs)
            if event is not None:
                await event.wait()

    # ---- reading ----------------------------------------------------------

    def get_buffer(self, request: Request) -> Any:
        """The buffer's bytes, or the range of them that a Range header
        asks for (ranges.py). The common case (a plain file in the main
        folder, no upload of it in progress) is answered right here."""
        cs = requests.path_checksum(request)
        response = self._serve_main_file(cs) if cs not in self.uploads else None
        if response is None:
            response = self._get_slow(cs)
        wanted = request.headers.get("range")
        if wanted is None:
            return response
        if inspect.isawaitable(response):
            return self._ranged_later(response, wanted)
        return _ranged(response, wanted)

    async def _ranged_later(self, response: Any, wanted: str) -> Response:
        return _ranged(await response, wanted)

    def _main_path(self, cs: str) -> str:
        """Where the buffer's plain file is in the main folder."""
        return os.path.join(self.store.directory, cs[:2], cs) if self._prefix else os.path.join(self.store.directory, cs)

    def _serve_main_file(self, cs: str) -> Any:
        try:
            fd = os.open(self._main_path(cs), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        return self._serve_fd(cs, fd, check_locks=True)

    def _serve_fd(self, cs: str, fd: int, check_locks: bool = False) -> Any:
        """The file's bytes, once they are known to have the checksum cs
        (else a 400: the file is corrupt); None for a file that is not a
        regular one, or, with check_locks, one that an outside writer may
        still be writing (recent, and announced by a fresh lock: see
        _get_slow). A large file not yet verified (verified.py) is hashed
        first, in a thread: then this returns a coroutine."""
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or (
                    check_locks and time.time() - info.st_mtime <= self.outside_locks.timeout
                    and self.outside_locks.held(cs)):
                os.close(fd)
                return None
            if info.st_size > SMALL_FILE:
                if info in self.verified:
                    return self._send_file(cs, fd, info)
                return self._verify_then_send(cs, fd, info)
            data = os.read(fd, info.st_size) if info.st_size else b""
            while len(data) < info.st_size:  # pragma: no cover - short reads are rare
                more = os.read(fd, info.st_size - len(data))
                if not more:
                    break
                data += more
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if self._small_hash(data).digest() != bytes.fromhex(cs):
            return self._corrupt(cs)
        return Response(200, data, _headers(cs))

    def _send_file(self, cs: str, fd: int, info: os.stat_result) -> Response:
        """sendfile, or direct reads where uploads were written so."""
        direct = self.store.direct_io and info.st_size >= DIRECT_IO_MIN
        return Response(200, FileBody(fd, 0, info.st_size, direct), _headers(cs))

    async def _verify_then_send(self, cs: str, fd: int, info: os.stat_result) -> Response:
        try:  # the open file itself, whatever its name leads to meanwhile
            digest, _ = await self._in_thread(_native.hash_file, f"/proc/self/fd/{fd}", self.store.hash_algorithm)
        except BaseException:
            os.close(fd)
            raise
        if digest != bytes.fromhex(cs):
            os.close(fd)
            return self._corrupt(cs)
        self.verified.add(info)
        return self._send_file(cs, fd, info)

    def _corrupt(self, cs: str) -> Response:
        LOGGER.error("the file of buffer %s in %s does not have its checksum: not served", cs, self.store.directory)
        return json_response({"message": f"File corruption: buffer {cs} does not have the correct "
                                         f"{self.store.hash_algorithm} checksum."}, 400)

    async def _get_slow(self, cs: str) -> Response:
        """Waits for an upload in progress or a promise; then looks in the
        extra folders and at compressed forms. Where an outside writer's
        lock announces the buffer (seamless.hashserver.locks), a buffer found
        nowhere, or a file that does not match its name yet, is looked for
        again once the lock goes, as the reference does."""
        path = await self._look_up(cs)
        if path is None and cs not in self.store:
            if await self.outside_locks.wait(cs):
                path = await self._look_up(cs)
        elif path is not None and self.outside_locks.held(cs) and not await self._matches(path, cs):
            await self.outside_locks.wait(cs)
            path = await self._look_up(cs)
        if path is not None:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # removed since it was looked up (a garbage collection): as if never found
                fd = None
            response = None if fd is None else self._serve_fd(cs, fd)
            if inspect.isawaitable(response):
                response = await response
            if response is not None:
                return response
        if cs in self.store:  # only a compressed form
            return await self._send_decompressed(cs)
        if os.path.isdir(os.path.join(self.store.directory, cs[:2], cs)):
            return json_response({"message": f"File for {cs} is not a file."}, 400)
        return Response(404, b"Not found")

    async def _matches(self, path: str, cs: str) -> bool:
        """Whether the file's content has the checksum of its name."""
        loop = asyncio.get_running_loop()
        try:
            digest, _ = await loop.run_in_executor(None, _native.hash_file, path, self.store.hash_algorithm)
        except OSError:
            return False
        return digest.hex() == cs

    async def _look_up(self, cs: str) -> str | None:
        """The buffer's plain file, once no upload or promise of it is pending."""
        while True:
            await self._wait_for_uploads([cs])
            path = self.store.get_path(cs)
            if path is not None or not self.promises.is_live(cs):
                return path
            await self.promises.wait(cs)

    async def _send_decompressed(self, cs: str) -> Response:
        """A buffer stored only compressed, sent decompressed (identity),
        which every client can read (the released client cannot decode zstd).

        Small buffers are verified before the first byte goes out (corruption
        is a 400); large ones are streamed (chunked) in bounded memory and
        hashed on the way, and the last piece is held back until the hash
        matched: on a mismatch the connection is cut before the final chunk,
        so the client sees an incomplete body, never a complete wrong one.
        """
        loop = asyncio.get_running_loop()
        length = self.store.lengths([cs])[0]
        if length is not None and length <= SMALL_FILE:
            try:
                data = await loop.run_in_executor(None, self.store.get, cs)
            except ChecksumMismatchError:
                return self._corrupt(cs)
            return Response(200, data, _headers(cs))
        stream = await loop.run_in_executor(None, self.store.open, cs)
        # Chunked: the length comes from a sidecar that nothing verifies, and
        # a wrong Content-Length would desynchronise the client.
        return Response(200, StreamBody(self._verified_pieces(cs, stream), None), _headers(cs, ranges=False))

    async def _verified_pieces(self, cs: str, stream: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            hasher = _native.Hasher(self.store.hash_algorithm)
            held = b""
            while True:
                piece = await loop.run_in_executor(None, stream.read, SMALL_BODY)
                if not piece:
                    break
                hasher.update(piece)
                if held:
                    yield held
                held = piece
            if hasher.digest() != bytes.fromhex(cs):
                LOGGER.error("compressed buffer %s is corrupt: connection cut", cs)
                raise ConnectionResetError(f"corrupt compressed buffer {cs}")
            if held:
                yield held
        finally:
            stream.close()

    # ---- writing ----------------------------------------------------------

    def promise(self, request: Request) -> Response:
        cs = requests.path_checksum(request)
        lifetime = self.promises.promise(cs)
        return json_response({"checksum": cs, "expires_in": lifetime}, 202)

    def put_buffer(self, request: Request) -> Any:
        """Store the body under its checksum, verified while it is written."""
        cs = requests.path_checksum(request)
        encoding = request.headers.get("content-encoding")
        if suffix_for(encoding) is None and request.body is not None and self.inline_writes:
            created = self.store.write(request.body, cs).created  # a small body: right now
            return self._stored(cs, created, remember=len(request.body) > SMALL_FILE)
        return self._put_later(request, cs, encoding)

    def _stored(self, cs: str, created: bool, remember: bool) -> Response:
        """The answer to a PUT that stored its body (remember: as a plain
        file that may be large enough to remember as verified)."""
        if created and remember:
            self._remember_verified(cs)
        self.promises.resolve(cs)
        return Response(200, b"OK") if created else Response(201, b"")

    async def _put_later(self, request: Request, cs: str, encoding: str | None) -> Response:
        event = self.uploads.setdefault(cs, asyncio.Event())
        try:
            if suffix_for(encoding) is not None:
                created = await self._store_compressed(request, cs, encoding)  # type: ignore[arg-type]
            elif request.body is not None:
                created = (await self._in_thread(self.store.write, request.body, cs)).created
            else:
                created = await self._store_stream(request, cs)
        finally:
            if self.uploads.get(cs) is event:
                del self.uploads[cs]
            event.set()
        return self._stored(cs, created, remember=suffix_for(encoding) is None)

    def _remember_verified(self, cs: str) -> None:
        """A file this server wrote (and verified while writing) needs no
        hashing at its first GET."""
        try:
            info = os.stat(self._main_path(cs))
        except OSError:
            return
        if info.st_size > SMALL_FILE:
            self.verified.add(info)

    async def _body_pieces(self, request: Request) -> Any:
        if request.body is not None:
            if request.body:
                yield request.body
            return
        while True:
            piece = await request.stream.read(SMALL_BODY)
            if not piece:
                return
            yield piece

    async def _store_stream(self, request: Request, cs: str) -> bool:
        """A large body (SOCKET_BODY or more) straight from the socket into
        the store; otherwise fed to a native store writer in 1 MiB pieces,
        each hashed and written in a thread while the next one is received."""
        if (request.content_length or 0) >= SOCKET_BODY:
            try:
                return await request.stream.receive_with(
                    lambda fd, prefix, length: self._store_from_socket(fd, prefix, length, cs))
            except NotImplementedError:
                pass  # not handed over: read it as usual
            except (ConnectionError, TimeoutError) as exc:
                raise ClientDisconnected(str(exc)) from None
        loop = asyncio.get_running_loop()
        writer = self.store.writer(cs, size_hint=request.content_length or 0)
        try:
            pending = None
            async for piece in self._body_pieces(request):
                if pending is not None:
                    await pending
                pending = loop.run_in_executor(None, writer.feed, piece)
            if pending is not None:
                await pending
            return (await loop.run_in_executor(None, writer.finish)).created
        finally:
            writer.close()  # an interrupted upload leaves no temporary file

    def _store_from_socket(self, fd: int, prefix: bytes, length: int, cs: str) -> bool:
        return self.store.write_stream(fd, length, cs, prefix=prefix, stall=BODY_STALL,
                                       min_rate=BODY_MIN_RATE).created

    async def _store_compressed(self, request: Request, cs: str, content_encoding: str) -> bool:
        """A gzip/zstd body: kept compressed, verified on its decompressed bytes."""
        loop = asyncio.get_running_loop()
        writer = await loop.run_in_executor(None, self.store.compressed_writer, cs, content_encoding)
        try:
            async for piece in self._body_pieces(request):
                await loop.run_in_executor(None, writer.feed, piece)
            return await loop.run_in_executor(None, writer.finish)
        finally:
            writer.close()


def make_app(store: BufferStore, *, writable: bool, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> HashserverApp:
    """The HTTP application of a hashserver over store; lock_timeout: how
    long a GET waits for an outside writer's lock."""
    return HashserverApp(store, writable=writable, lock_timeout=lock_timeout)
