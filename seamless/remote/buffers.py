"""AsyncBufferClient: a hashserver over HTTP (ours or the reference's).

* One pooled keep-alive session per client, at most ``concurrency``
  requests in flight.
* Batching: ``has``/``lengths`` send thousands of checksums per request;
  ``put_many`` asks ``/has-now`` (``/has`` on servers without it) first
  and uploads only what is missing.
* Large buffers stream both ways in bounded memory, with a progress
  callback ``progress(done_bytes, total_bytes)``.
* Every download is verified against its checksum while it arrives
  (ChecksumMismatchError otherwise); gzip and zstd answers are decoded here,
  whatever the server sends.
* Timeouts scale with size, and only transient failures are retried
  (policy.py).
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from typing import Any, AsyncIterator, Callable, Iterable, Sequence

import aiohttp

from .. import _native
from ..checksum_class import Checksum
from ..exceptions import CacheMissError, ChecksumMismatchError
from .errors import ReadOnlyServerError, RemoteError
from .partial import open_partial
from .policy import RETRY_STATUSES, Deadline, Policy, TransientHTTPError, with_retries
from .sessions import LoopSessions
from .tasks import all_or_none

Progress = Callable[[int, int], Any]
#: Checksums per /has request.
HAS_BATCH = 10_000
#: Pieces of streamed uploads and downloads.
PIECE = 1 << 20


def _bytes_of(data: Any) -> memoryview:
    """A bytes-like buffer as a flat view of its bytes; a strided view as
    its bytes in order (a copy), as the local store takes it."""
    view = memoryview(data)
    return view.cast("B") if view.c_contiguous else memoryview(view.tobytes())


def _hex(checksum: Any) -> str:
    return checksum.hex() if isinstance(checksum, Checksum) else Checksum(checksum).hex()


def _told(hint: "asyncio.Task[int | None]") -> int:
    """The length a finished hint found, 0 if none (or if it failed)."""
    if hint.cancelled() or hint.exception() is not None:
        return 0
    return hint.result() or 0


class _Decoder:
    """Undo a Content-Encoding (gzip, zstd) of a download."""

    def __init__(self, encoding: str | None):
        self.encoding = (encoding or "identity").strip().lower()
        if self.encoding in ("gzip", "x-gzip"):
            import zlib

            self._z: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.encoding in ("zstd", "x-zstd"):
            import zstandard

            self._z = zstandard.ZstdDecompressor().decompressobj()
        elif self.encoding in ("identity", ""):
            self._z = None
        else:
            raise RemoteError(f"the server sent an unsupported Content-Encoding {encoding!r}")

    def feed(self, piece: bytes) -> bytes:
        return piece if self._z is None else self._z.decompress(piece)


class AsyncBufferClient:
    """Client of one hashserver; use as ``async with`` or call close()."""

    def __init__(self, url: str, *, concurrency: int = 8, policy: Policy | None = None,
                 hash_algorithm: str = "sha-256"):
        self.url = url.rstrip("/")
        self.concurrency = concurrency
        self.policy = policy or Policy()
        self.hash_algorithm = hash_algorithm
        # the bytes as sent: a download decodes (and checks) them itself
        self._sessions = LoopSessions(concurrency, self.policy.timeout(), auto_decompress=False)
        self._has_now: bool | None = None  # does the server know /has-now?

    async def __aenter__(self) -> "AsyncBufferClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        return self._sessions.get()

    @property
    def _slots(self) -> asyncio.Semaphore:
        return self._sessions.slots

    async def close(self) -> None:
        await self._sessions.close()

    async def _request(self, method: str, path: str, *, size: int = 0, json_body: Any = None,
                       ok: tuple[int, ...] = (200,), make_body: Callable[[], Any] | None = None,
                       policy: Policy | None = None, **kwargs: Any) -> tuple[int, bytes]:
        """One request with retries (of this client's policy, or the one
        given); (status, body) for the statuses in ok. make_body() makes a
        fresh request body for each attempt (a stream)."""
        policy = policy or self.policy
        session = self._open()
        if json_body is not None:
            kwargs["data"] = json.dumps(json_body).encode()
            kwargs.setdefault("headers", {})["Content-Type"] = "application/json"

        async def attempt() -> tuple[int, bytes]:
            if make_body is not None:
                kwargs["data"] = make_body()
            async with self._slots, session.request(  # type: ignore[union-attr]
                    method, self.url + path, timeout=policy.timeout(size), **kwargs) as response:
                body = await response.read()
                if response.status in RETRY_STATUSES:
                    raise TransientHTTPError(response.status, body.decode(errors="replace"))
                if response.status not in ok:
                    self._raise(method, path, response.status, body)
                return response.status, body

        return await with_retries(policy, attempt, f"{method} {self.url}{path}")

    def _raise(self, method: str, path: str, status: int, body: bytes) -> None:
        text = body.decode(errors="replace")[:500]
        if status == 405:
            raise ReadOnlyServerError(f"{self.url} does not accept {method} (read-only server)")
        if status == 400 and "Incorrect checksum" in text:
            raise ChecksumMismatchError(f"{self.url}{path}: the server found the body does not match its checksum")
        if status == 400 and "File corruption" in text:  # ours and the reference's
            raise ChecksumMismatchError(f"{self.url}{path}: the server's file does not match its checksum")
        raise RemoteError(f"{method} {self.url}{path}: HTTP {status}: {text}")

    # ---- presence --------------------------------------------------------------

    async def healthcheck(self) -> bool:
        try:
            status, _ = await self._request("GET", "/healthcheck")
        except RemoteError:
            return False
        return status == 200

    async def has(self, checksums: Sequence[Any], *, include_promised: bool = True) -> list[bool]:
        """Which buffers the server has (in batches of HAS_BATCH)."""
        keys = [_hex(cs) for cs in checksums]
        found: list[bool] = []
        for i in range(0, len(keys), HAS_BATCH):
            found.extend(await self._has_batch(keys[i:i + HAS_BATCH], include_promised))
        return found

    async def _has_batch(self, keys: list[str], include_promised: bool) -> list[bool]:
        if not keys:
            return []
        if not include_promised and self._has_now is not False:
            status, body = await self._request("GET", "/has-now", json_body=keys, ok=(200, 400, 404))
            if status == 200:
                self._has_now = True
                return self._answer_list("/has-now", keys, body)
            self._has_now = False  # an older server: /has, where promises count
        _, body = await self._request("GET", "/has", json_body=keys)
        found = [bool(v) for v in self._answer_list("/has", keys, body)]  # booleans, or lengths from old servers
        if include_promised or not any(found):
            return found
        # Only promised is not stored: /buffer-length answers true for those, a length otherwise.
        said = [k for k, f in zip(keys, found) if f]
        _, body = await self._request("GET", "/buffer-length", json_body=said)
        stored = {k for k, v in zip(said, self._answer_list("/buffer-length", said, body)) if v is not True}
        return [k in stored for k in keys]

    def _answer_list(self, path: str, keys: list[str], body: bytes) -> list[Any]:
        """A /has-like answer: one JSON value per checksum asked about."""
        try:
            answer = json.loads(body)
        except ValueError:
            answer = None
        if not isinstance(answer, list) or len(answer) != len(keys):
            raise RemoteError(f"GET {self.url}{path}: the answer is not a list of {len(keys)} values")
        return answer

    async def lengths(self, checksums: Sequence[Any]) -> list[int | None]:
        """Buffer lengths (None where absent or only promised)."""
        keys = [_hex(cs) for cs in checksums]
        present = await self.has(keys, include_promised=False)
        out: list[int | None] = [None] * len(keys)
        wanted = [k for k, p in zip(keys, present) if p]
        lengths: dict[str, Any] = {}
        for i in range(0, len(wanted), HAS_BATCH):
            batch = wanted[i:i + HAS_BATCH]
            _, body = await self._request("GET", "/buffer-length", json_body=batch)
            lengths.update(zip(batch, self._answer_list("/buffer-length", batch, body)))
        for i, (key, p) in enumerate(zip(keys, present)):
            value = lengths.get(key)
            if p and isinstance(value, int) and not isinstance(value, bool):
                out[i] = value
        return out

    # ---- downloads -----------------------------------------------------------------

    async def get(self, checksum: Any, *, progress: Progress | None = None) -> bytes:
        """The buffer, verified. Raises CacheMissError if the server has none."""
        parts: list[bytes] = []
        await self._download(_hex(checksum), parts.append, progress, reset=parts.clear)
        return b"".join(parts)

    async def get_to_file(self, checksum: Any, path: str | os.PathLike[str], *,
                          progress: Progress | None = None) -> None:
        """Stream the buffer into a file (written next to it, renamed when
        complete and verified)."""
        target = os.fspath(path)
        fd, tmp = open_partial(target)
        try:
            with open(fd, "wb") as f:
                await self._download(_hex(checksum), f.write, progress, reset=lambda: (f.seek(0), f.truncate()))
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    async def _download(self, key: str, sink: Callable[[bytes], Any], progress: Progress | None,
                        reset: Callable[[], Any]) -> None:
        session = self._open()
        mismatches = 0
        received: list[int] = [0]
        # The progress total is the answer's Content-Length, unless the bytes
        # on the wire are not the buffer's: compressed (the reference sends
        # compressed forms as they are), or a chunked stream without a length
        # (ours, decompressing a compressed form). Then a small request asks
        # /buffer-length beside the download, which reports 0 (unknown)
        # until the answer is there, and cancels it when it is done first.
        hint: asyncio.Task[int | None] | None = None

        async def attempt() -> None:
            nonlocal mismatches
            if received[0]:  # a retry after a partial transfer starts over
                reset()
                received[0] = 0
            headers = {"Accept-Encoding": "gzip, zstd, identity"}
            async with self._slots, session.get(self.url + "/" + key, headers=headers,  # type: ignore[union-attr]
                                                timeout=self.policy.download_timeout()) as response:
                if response.status == 404:
                    raise CacheMissError(Checksum(key))
                if response.status in RETRY_STATUSES:
                    said = await response.content.read(200)
                    raise TransientHTTPError(response.status, said.decode(errors="replace"))
                if response.status != 200:
                    self._raise("GET", "/" + key, response.status, await response.read())
                decoder = _Decoder(response.headers.get("Content-Encoding"))
                wire = response.content_length  # compressed or not, the bytes to receive
                deadline = Deadline(self.policy, wire)
                nonlocal hint
                total = wire if wire is not None and decoder._z is None else 0
                if progress is not None and not total and hint is None:
                    hint = asyncio.ensure_future(self._length_hint(key))
                hasher = _native.Hasher(self.hash_algorithm)
                on_wire = 0
                async for piece in response.content.iter_chunked(PIECE):
                    on_wire += len(piece)
                    deadline.check(max(on_wire, received[0]))
                    plain = decoder.feed(piece)
                    hasher.update(plain)
                    sink(plain)
                    received[0] += len(plain)
                    if progress is not None:
                        if not total and hint is not None and hint.done():
                            total = _told(hint)
                        progress(received[0], total)
                if progress is not None and total != received[0]:  # no total yet, or a wrong one
                    progress(received[0], received[0])
                if hasher.hexdigest() != key:
                    mismatches += 1
                    if mismatches < 2:  # once more, in case it was the transfer
                        raise aiohttp.ClientPayloadError("downloaded buffer does not match its checksum")
                    raise ChecksumMismatchError(
                        f"{self.url}/{key} sent bytes with checksum {hasher.hexdigest()}")

        try:
            await with_retries(self.policy, attempt, f"GET {self.url}/{key}")
        finally:
            if hint is not None:
                hint.cancel()

    async def _length_hint(self, key: str) -> int | None:
        """The buffer's length as /buffer-length tells it, or None (absent,
        promised, or a server that cannot say): asked once, never retried.
        Only ever a progress total."""
        try:
            status, body = await self._request("GET", "/buffer-length", json_body=[key], ok=(200, 400, 404, 405),
                                               policy=replace(self.policy, attempts=1))
            value = self._answer_list("/buffer-length", [key], body)[0] if status == 200 else None
        except RemoteError:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None

    # ---- uploads -------------------------------------------------------------------

    async def promise(self, checksum: Any) -> None:
        """Announce an upload (readers wait for it instead of missing it)."""
        status, _ = await self._request("PUT", f"/promise/{_hex(checksum)}", ok=(200, 202, 404))
        if status == 404:  # a read-only server has no such route (ours and the reference's)
            raise ReadOnlyServerError(f"{self.url} takes no promises (read-only server)")

    async def put(self, data: Any, checksum: Any = None, *, progress: Progress | None = None) -> Checksum:
        """Upload a bytes-like buffer; return its checksum."""
        view = _bytes_of(data)
        key = _hex(checksum) if checksum is not None else _native.hash(view, self.hash_algorithm).hex()
        size = len(view)

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, size, PIECE):
                yield bytes(view[start:start + PIECE])
                if progress is not None:
                    progress(min(start + PIECE, size), size)

        if size <= PIECE:
            await self._request("PUT", f"/{key}", size=size, data=bytes(view), ok=(200, 201, 202),
                                headers={"Content-Type": "application/octet-stream"})
            if progress is not None:
                progress(size, size)
        else:
            await self._request("PUT", f"/{key}", size=size, make_body=pieces, ok=(200, 201, 202),
                                headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
            if progress is not None:  # a server that has it answers before reading it all
                progress(size, size)
        return Checksum(key)

    async def put_file(self, path: str | os.PathLike[str], checksum: Any = None, *,
                       progress: Progress | None = None) -> Checksum:
        """Upload a file of any size, streamed in bounded memory. Without a
        checksum, the file is hashed first (by the native core, not read
        into Python)."""
        path = os.fspath(path)
        if checksum is None:
            digest, _ = await asyncio.get_running_loop().run_in_executor(
                None, _native.hash_file, path, self.hash_algorithm)
            key = digest.hex()
        else:
            key = _hex(checksum)
        size = os.path.getsize(path)

        async def pieces() -> AsyncIterator[bytes]:
            loop = asyncio.get_running_loop()
            done = 0
            with open(path, "rb") as f:
                while True:
                    piece = await loop.run_in_executor(None, f.read, PIECE)
                    if not piece:
                        break
                    done += len(piece)
                    yield piece
                    if progress is not None:
                        progress(done, size)

        await self._request("PUT", f"/{key}", size=size, make_body=pieces, ok=(200, 201, 202),
                            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        if progress is not None:  # a server that has it answers before reading it all
            progress(size, size)
        return Checksum(key)

    async def put_many(self, buffers: Iterable[Any], *, progress: Progress | None = None) -> list[Checksum]:
        """Upload many buffers: one presence query, then only the missing
        ones, ``concurrency`` at a time. Returns their checksums in order."""
        items = [_bytes_of(b) for b in buffers]
        digests = _native.hash_batch(items, self.hash_algorithm, hex=True) if items else []
        present = await self.has(digests, include_promised=False)
        missing = iter([(d, v) for d, v, p in zip(digests, items, present) if not p])
        total = sum(len(v) for v, p in zip(items, present) if not p)
        done = [0]

        async def worker() -> None:
            for key, view in missing:  # the workers share one iterator
                await self.put(view, key)
                done[0] += len(view)
                if progress is not None:
                    progress(done[0], total)

        await all_or_none(worker() for _ in range(self.concurrency))
        return [Checksum(d) for d in digests]
