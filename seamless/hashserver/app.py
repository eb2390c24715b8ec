"""The hashserver's HTTP face: the reference's wire protocol over a BufferStore.

Endpoints (protocol.md §2, released-versions.md §1): ``GET /healthcheck``,
``GET /has``, ``GET /has-now``, ``GET /buffer-length`` (a JSON array of
checksums in the GET body), ``GET|HEAD /{checksum}``, and when writable
``PUT /{checksum}`` and ``PUT /promise/{checksum}``; status codes and bodies
as the reference's. Differences, all of them fixes:

* a PUT is always read and verified: an existing buffer gets 201 only if the
  body matches (else 400 ``Incorrect checksum``); a concurrent PUT of the
  same checksum is processed too (200/201) instead of a 202 that promises
  nothing; nothing is ever deleted on failure;
* GET does not re-hash the file (buffers are verified when written, and by
  ``seamless-store verify`` at rest), large buffers go out with sendfile;
* HEAD works; a number in a /has body is a 400, not a 500; errors do not
  reveal server paths.

PUT bodies stream through the native core (hash while writing) in 1 MiB
pieces, so memory stays bounded whatever the size.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from typing import Any, Awaitable, Callable

from aiohttp import web

from .. import _native, errormap
from ..exceptions import ChecksumMismatchError
from . import requests
from .compressed import InvalidCompressedPayload, suffix_for
from .promises import Promises
from .store import BufferStore

LOGGER = logging.getLogger("seamless.hashserver")
#: Bodies up to this size are read whole and stored in one native call.
SMALL_BODY = 1 << 20
#: Buffers up to this size are read and sent from memory; larger ones with sendfile.
SMALL_FILE = 256 * 1024


class ServerState:
    """What the handlers share: the store, promises, uploads in progress."""

    def __init__(self, store: BufferStore, writable: bool):
        self.store = store
        self.writable = writable
        self.promises = Promises()
        self.uploads: dict[str, asyncio.Event] = {}
        # Durable writes block on fsync: they run in threads, not in the loop.
        self.inline_writes = store.durability == "none"

    async def wait_for_uploads(self, checksums: list[str]) -> None:
        for cs in checksums:
            event = self.uploads.get(cs)
            if event is not None:
                await event.wait()


STATE = web.AppKey("state", ServerState)
#: Compact JSON, as FastAPI (the reference) writes it.
json_response = functools.partial(web.json_response, dumps=functools.partial(json.dumps, separators=(",", ":")))
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Validation errors as the reference's JSON, router misses as FastAPI's,
    anything unexpected as a logged 500."""
    try:
        return await handler(request)
    except requests.InvalidRequest as exc:
        return exc.response
    except web.HTTPMethodNotAllowed as exc:
        return json_response({"detail": "Method Not Allowed"}, status=405,
                                 headers={"Allow": ", ".join(sorted(exc.allowed_methods))})
    except web.HTTPNotFound:
        return json_response({"detail": "Not Found"}, status=404)
    except web.HTTPException:
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as exc:  # noqa: BLE001 - the server must keep serving
        status = errormap.http_status(exc)
        if status >= 500:
            LOGGER.exception("%s %s failed", request.method, request.path)
            return web.Response(status=500, text="Internal Server Error")
        return json_response({"message": str(exc)}, status=status)


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Permissive CORS, as the reference's (no credentials)."""
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(text="OK", headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers", "*"),
            "Access-Control-Max-Age": "600",
        })
    response = await handler(request)
    if "Origin" in request.headers:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


async def healthcheck(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def _presence(request: web.Request, include_promises: bool) -> web.Response:
    state = request.app[STATE]
    checksums = await requests.checksum_list(request)
    found = state.store.has(checksums) if checksums else []
    answer = [
        bool(present) or cs in state.uploads or (include_promises and state.promises.is_live(cs))
        for cs, present in zip(checksums, found)
    ]
    return json_response(answer)


async def has(request: web.Request) -> web.Response:
    """Booleans: stored, being uploaded, or promised."""
    return await _presence(request, include_promises=True)


async def has_now(request: web.Request) -> web.Response:
    """Booleans, ignoring promises (the reference's /has-now)."""
    return await _presence(request, include_promises=False)


async def buffer_length(request: web.Request) -> web.Response:
    """Decompressed lengths (0 if absent); ``true`` for promised buffers, as
    the reference answers (its clients accept a boolean there)."""
    state = request.app[STATE]
    checksums = await requests.checksum_list(request)
    await state.wait_for_uploads(checksums)
    lengths = state.store.lengths(checksums) if checksums else []
    answer: list[Any] = [
        True if state.promises.is_live(cs) else (length or 0)
        for cs, length in zip(checksums, lengths)
    ]
    return json_response(answer)


def _headers(checksum: str) -> dict[str, str]:
    return {"Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{checksum}"'}


async def get_buffer(request: web.Request) -> web.StreamResponse:
    """The buffer's bytes; waits for an upload in progress or a promise."""
    state = request.app[STATE]
    cs = requests.path_checksum(request)
    while True:
        await state.wait_for_uploads([cs])
        path = state.store.get_path(cs)
        if path is not None or not state.promises.is_live(cs):
            break
        await state.promises.wait(cs)
    if path is None:
        if cs in state.store:  # only a compressed form
            return await _send_decompressed(request, state, cs)
        if os.path.isdir(os.path.join(state.store.directory, cs[:2], cs)):
            return json_response({"message": f"File for {cs} is not a file."}, status=400)
        return web.Response(status=404, text="Not found")
    size = os.stat(path).st_size
    if size > SMALL_FILE:
        return web.FileResponse(path, headers=_headers(cs))  # sendfile
    with open(path, "rb") as f:
        return web.Response(body=f.read(), headers=_headers(cs))


async def _send_decompressed(request: web.Request, state: ServerState, cs: str) -> web.StreamResponse:
    """A buffer stored only compressed, sent decompressed (identity), which
    every client can read (the released client cannot decode zstd).

    Small buffers are verified before the first byte goes out (corruption is
    a 400); large ones are streamed in bounded memory and hashed on the way:
    on a mismatch the connection is cut before the end, so the client sees
    an incomplete body, never a complete wrong one.
    """
    loop = asyncio.get_running_loop()
    length = state.store.lengths([cs])[0]
    if length is not None and length <= SMALL_FILE:
        try:
            data = await loop.run_in_executor(None, state.store.get, cs)
        except ChecksumMismatchError:
            return json_response({"message": f"File corruption: buffer {cs} does not have the correct "
                                             f"{state.store.hash_algorithm} checksum."}, status=400)
        return web.Response(body=data, headers=_headers(cs))
    stream = await loop.run_in_executor(None, state.store.open, cs)
    try:
        response = web.StreamResponse(headers=_headers(cs))
        if length is not None:
            response.content_length = length
        await response.prepare(request)
        hasher = _native.Hasher(state.store.hash_algorithm)
        held = b""  # the last piece goes out only once the hash matched
        while True:
            piece = await loop.run_in_executor(None, stream.read, SMALL_BODY)
            if not piece:
                break
            hasher.update(piece)
            if held:
                await response.write(held)
            held = piece
        if hasher.digest() != bytes.fromhex(cs):
            LOGGER.error("compressed buffer %s is corrupt: connection cut", cs)
            raise ConnectionResetError(f"corrupt compressed buffer {cs}")
        await response.write_eof(held)
        return response
    finally:
        stream.close()


async def promise(request: web.Request) -> web.Response:
    state = request.app[STATE]
    cs = requests.path_checksum(request)
    lifetime = state.promises.promise(cs)
    return json_response({"checksum": cs, "expires_in": lifetime}, status=202)


async def _store_small(state: ServerState, cs: str, data: bytes) -> bool:
    if state.inline_writes:
        return state.store.write(data, cs).created
    loop = asyncio.get_running_loop()
    return (await loop.run_in_executor(None, state.store.write, data, cs)).created


async def _store_stream(state: ServerState, cs: str, request: web.Request) -> bool:
    """Feed the body to a native store writer in 1 MiB pieces; each piece is
    hashed and written in a thread while the next one is received."""
    loop = asyncio.get_running_loop()
    writer = state.store.writer(cs)
    try:
        pending = None
        async for piece in request.content.iter_chunked(SMALL_BODY):
            if pending is not None:
                await pending
            pending = loop.run_in_executor(None, writer.feed, piece)
        if pending is not None:
            await pending
        result = await loop.run_in_executor(None, writer.finish)
        return result.created
    finally:
        writer.close()  # an interrupted upload leaves no temporary file


async def _store_compressed(state: ServerState, cs: str, request: web.Request, content_encoding: str) -> bool:
    """A gzip/zstd body: kept compressed, verified on its decompressed bytes."""
    loop = asyncio.get_running_loop()
    writer = await loop.run_in_executor(None, state.store.compressed_writer, cs, content_encoding)
    try:
        async for piece in request.content.iter_chunked(SMALL_BODY):
            await loop.run_in_executor(None, writer.feed, piece)
        return await loop.run_in_executor(None, writer.finish)
    finally:
        writer.close()


async def put_buffer(request: web.Request) -> web.Response:
    """Store the body under its checksum, verified while it is written."""
    state = request.app[STATE]
    cs = requests.path_checksum(request)
    event = state.uploads.setdefault(cs, asyncio.Event())
    try:
        length = request.content_length
        encoding = request.headers.get("Content-Encoding")
        if suffix_for(encoding) is not None:
            created = await _store_compressed(state, cs, request, encoding)  # type: ignore[arg-type]
        elif length is not None and length <= SMALL_BODY:
            created = await _store_small(state, cs, await request.read())
        else:
            created = await _store_stream(state, cs, request)
    except ChecksumMismatchError:
        return web.Response(status=400, text="Incorrect checksum")
    except InvalidCompressedPayload:
        return web.Response(status=400, text="Invalid compressed payload")
    finally:
        if state.uploads.get(cs) is event:
            del state.uploads[cs]
        event.set()
    state.promises.resolve(cs)
    return web.Response(status=200, text="OK") if created else web.Response(status=201)


async def read_only(request: web.Request) -> web.Response:
    raise web.HTTPMethodNotAllowed(request.method, ["GET"])


def make_app(store: BufferStore, *, writable: bool,
             extra_middlewares: tuple[Any, ...] = ()) -> web.Application:
    """The aiohttp application of a hashserver over store."""
    app = web.Application(middlewares=[*extra_middlewares, cors_middleware, errors_middleware],
                          client_max_size=SMALL_BODY * 2)
    app[STATE] = ServerState(store, writable)
    app.router.add_get("/healthcheck", healthcheck)
    app.router.add_get("/has", has)
    app.router.add_get("/has-now", has_now)
    app.router.add_get("/buffer-length", buffer_length)
    if writable:
        app.router.add_put("/promise/{checksum}", promise)
        app.router.add_put("/{checksum}", put_buffer)
    else:
        app.router.add_put("/{checksum}", read_only)  # 405, as the reference
    app.router.add_get("/{checksum}", get_buffer)  # HEAD too
    return app
