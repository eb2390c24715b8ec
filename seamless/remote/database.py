"""AsyncDatabaseClient: a seamless-database server over HTTP (ours or the
reference's).

Answers map to the same values and exceptions as ResultDB's methods: an
unknown key is None (or an empty list), a 409 is a ConflictError, a 400 a
MalformedRecordError, a 405 a ReadOnlyServerError. Many lookups or writes
go out as one ``transformations`` request to servers that know it (ours)
and as concurrent single requests to the others (the server groups those
into one transaction).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterable, Sequence

import aiohttp

from ..checksum_class import Checksum
from ..database import validation
from ..exceptions import ConflictError, MalformedRecordError, RecordNotFoundError
from .errors import ReadOnlyServerError, RemoteError
from .policy import RETRY_STATUSES, Policy, TransientHTTPError, with_retries
from .sessions import LoopSessions
from .tasks import all_or_none

#: Items per batch request (the server's limit is 10,000).
BATCH = 5_000


def _hex(checksum: Any, field: str = "checksum") -> str:
    """A checksum argument as hex, refused as ResultDB refuses it."""
    return checksum.hex() if isinstance(checksum, Checksum) else validation.checksum_hex(checksum, field)


def _code_key(celltype: Any, subcelltype: Any) -> None:
    """The key fields of a semantic/syntactic lookup, refused as ResultDB
    refuses them (the server would answer "nothing stored")."""
    validation.subcelltype(celltype, "celltype")
    validation.subcelltype(subcelltype, "subcelltype")


class AsyncDatabaseClient:
    """Client of one database server; use as ``async with`` or call close()."""

    def __init__(self, url: str, *, concurrency: int = 16, policy: Policy | None = None):
        self.url = url.rstrip("/")
        self.concurrency = concurrency
        self.policy = policy or Policy()
        self._sessions = LoopSessions(concurrency, self.policy.timeout())
        self._batches: bool | None = None  # does the server know "transformations"?

    async def __aenter__(self) -> "AsyncDatabaseClient":
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

    async def healthcheck(self) -> bool:
        session = self._open()
        try:
            async with session.get(self.url + "/healthcheck") as response:
                return response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def request(self, method: str, body: dict[str, Any]) -> tuple[int, str]:
        """One protocol request; (status, text) of a 200 or 404 answer,
        other statuses raised as exceptions."""
        session = self._open()
        data = validation.json_text(body, f"the {body.get('type')} request").encode()

        async def attempt() -> tuple[int, str]:
            async with self._slots, session.request(  # type: ignore[union-attr]
                    method, self.url + "/", data=data,
                    headers={"Content-Type": "application/json"}) as response:
                text = await response.text()
                if response.status in RETRY_STATUSES:
                    raise TransientHTTPError(response.status, text)
                return response.status, text

        status, text = await with_retries(self.policy, attempt, f"{method} {self.url}/ ({body.get('type')})")
        if status in (200, 404):
            return status, text
        message = text.removeprefix("ERROR: ")
        if status == 409:
            raise ConflictError(message)
        if status == 400:
            raise MalformedRecordError(message)
        if status == 405:
            raise ReadOnlyServerError(f"{self.url}: {message}")
        raise RemoteError(f"{method} {self.url}: HTTP {status}: {text[:500]}")

    async def _get(self, body: dict[str, Any]) -> str | None:
        status, text = await self.request("GET", body)
        return text if status == 200 else None

    async def _put(self, body: dict[str, Any]) -> None:
        status, text = await self.request("PUT", body)
        if status == 404:
            raise RecordNotFoundError(text.removeprefix("ERROR: "))

    # ---- transformations ----------------------------------------------------

    async def get_transformation(self, tf: Any) -> Checksum | None:
        text = await self._get({"type": "transformation", "checksum": _hex(tf)})
        return None if text is None else Checksum(text.strip())

    async def set_transformation(self, tf: Any, result: Any) -> None:
        await self._put({"type": "transformation", "checksum": _hex(tf), "value": _hex(result, "result")})

    async def get_transformations(self, tfs: Sequence[Any]) -> list[Checksum | None]:
        keys = [_hex(tf) for tf in tfs]
        if not keys:  # nothing to ask: and nothing learnt about the server
            return []
        if self._batches is not False:
            try:
                found: list[Checksum | None] = []
                for i in range(0, len(keys), BATCH):
                    status, text = await self.request(
                        "GET", {"type": "transformations", "checksums": keys[i:i + BATCH]})
                    found.extend(None if r is None else Checksum(r) for r in json.loads(text))
                self._batches = True
                return found
            except MalformedRecordError:
                if self._batches:
                    raise
                self._batches = False  # a server without batches
        return list(await self._each(self.get_transformation, keys))

    async def set_transformations(self, pairs: Iterable[tuple[Any, Any]]) -> list[ConflictError | None]:
        """Record many tf -> result pairs; per pair None, or the ConflictError
        that refused it."""
        items = [(_hex(tf), _hex(r, "result")) for tf, r in pairs]
        if not items:
            return []
        if self._batches is not False:
            try:
                outcomes: list[ConflictError | None] = []
                for i in range(0, len(items), BATCH):
                    _, text = await self.request(
                        "PUT", {"type": "transformations", "value": [list(p) for p in items[i:i + BATCH]]})
                    outcomes.extend(None if o is None else ConflictError(o.removeprefix("ERROR: "))
                                    for o in json.loads(text))
                self._batches = True
                return outcomes
            except MalformedRecordError:
                if self._batches:
                    raise
                self._batches = False

        async def one(pair: tuple[str, str]) -> ConflictError | None:
            try:
                await self.set_transformation(*pair)
            except ConflictError as exc:
                return exc
            return None

        return list(await self._each(one, items))

    async def _each(self, fn: Any, items: list[Any]) -> list[Any]:
        """fn(item) for every item, at most ``concurrency`` at a time, in order."""
        results: list[Any] = [None] * len(items)
        queue = iter(enumerate(items))

        async def worker() -> None:
            for i, item in queue:
                results[i] = await fn(item)

        await all_or_none(worker() for _ in range(min(self.concurrency, len(items)) or 1))
        return results

    async def get_rev_transformations(self, result: Any) -> list[Checksum]:
        text = await self._get({"type": "rev_transformations", "checksum": _hex(result, "result")})
        return [] if text is None else list(dict.fromkeys(Checksum(tf) for tf in json.loads(text)))

    # ---- execution records, irreproducible results ------------------------------

    async def get_metadata(self, tf: Any) -> dict[str, Any] | None:
        text = await self._get({"type": "metadata", "checksum": _hex(tf)})
        return None if text is None else json.loads(text)

    async def set_metadata(self, tf: Any, result: Any, record: Any) -> None:
        await self._put({"type": "metadata", "checksum": _hex(tf), "result": _hex(result, "result"), "value": record})

    async def set_irreproducible(self, tf: Any, result: Any) -> None:
        await self._put({"type": "irreproducible", "checksum": _hex(tf), "result": _hex(result, "result")})

    async def get_irreproducible(self, tf: Any, result: Any = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"type": "irreproducible", "checksum": _hex(tf)}
        if result is not None:
            body["result"] = _hex(result, "result")
        text = await self._get(body)
        return [] if text is None else json.loads(text)

    # ---- the other record types -------------------------------------------------

    async def get_buffer_info(self, checksum: Any) -> dict[str, Any] | None:
        text = await self._get({"type": "buffer_info", "checksum": _hex(checksum)})
        return None if text is None else json.loads(text)

    async def set_buffer_info(self, checksum: Any, info: dict[str, Any]) -> None:
        await self._put({"type": "buffer_info", "checksum": _hex(checksum), "value": info})

    async def get_bucket_probe(self, bucket_kind: str, label: str) -> dict[str, Any] | None:
        validation.bucket_probe_key(bucket_kind, label)
        text = await self._get({"type": "bucket_probe", "bucket_kind": bucket_kind, "label": label})
        return None if text is None else json.loads(text)

    async def set_bucket_probe(self, bucket_kind: str, label: str, bucket_checksum: Any,
                               freshness_tokens: Any, captured_at: str) -> None:
        await self._put({"type": "bucket_probe", "bucket_kind": bucket_kind, "label": label,
                         "bucket_checksum": _hex(bucket_checksum, "bucket_checksum"), "freshness_tokens": freshness_tokens,
                         "captured_at": captured_at})

    async def get_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str) -> Checksum | None:
        validation.expression_key(path, celltype, target_celltype)
        text = await self._get({"type": "expression", "checksum": _hex(checksum), "path": path,
                                "celltype": celltype, "target_celltype": target_celltype})
        return None if text is None else Checksum(text.strip())

    async def set_expression(self, checksum: Any, path: Any, celltype: str, target_celltype: str,
                             result: Any) -> None:
        await self._put({"type": "expression", "checksum": _hex(checksum), "path": path, "celltype": celltype,
                         "target_celltype": target_celltype, "value": _hex(result, "result")})

    async def get_rev_expression(self, result: Any) -> list[dict[str, Any]]:
        text = await self._get({"type": "rev_expression", "checksum": _hex(result, "result")})
        return [] if text is None else json.loads(text)

    async def set_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str,
                                        syntactic: Iterable[Any]) -> None:
        await self._put({"type": "semantic_to_syntactic", "checksum": _hex(semantic, "semantic"), "celltype": celltype,
                         "subcelltype": subcelltype, "value": [_hex(s, "syntactic") for s in syntactic]})

    async def get_semantic_to_syntactic(self, semantic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        _code_key(celltype, subcelltype)
        text = await self._get({"type": "semantic_to_syntactic", "checksum": _hex(semantic, "semantic"),
                                "celltype": celltype, "subcelltype": subcelltype})
        return [] if text is None else [Checksum(c) for c in json.loads(text)]

    async def get_syntactic_to_semantic(self, syntactic: Any, celltype: str, subcelltype: str) -> list[Checksum]:
        _code_key(celltype, subcelltype)
        text = await self._get({"type": "syntactic_to_semantic", "checksum": _hex(syntactic, "syntactic"),
                                "celltype": celltype, "subcelltype": subcelltype})
        return [] if text is None else [Checksum(c) for c in json.loads(text)]
