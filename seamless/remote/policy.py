"""How the clients wait and retry.

* Timeouts scale with size: an attempt at a transfer of N bytes may take
  ``base + N / min_rate`` seconds in all, and is abandoned earlier only if
  no byte moves for ``stall`` seconds (the reference's fixed 10 s total
  timeout lost every large upload). A download learns N from its answer's
  Content-Length (see Deadline). The stall limit is longer than a
  hashserver's default lock timeout (120 s), during which a GET of a buffer
  that an outside writer is still writing may wait without a byte.
* Only transient failures are retried (a refused connection, a dropped
  connection, a timeout, 502/503/504), with exponential backoff and jitter.
  A 4xx answer is the caller's problem and is raised at once; so is a 500
  (a bug on the server is not cured by asking again). What still fails
  after the last attempt is a RemoteError, never the HTTP library's own.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp

from .errors import RemoteError

T = TypeVar("T")
RETRY_STATUSES = frozenset({502, 503, 504})


class TransientHTTPError(Exception):
    """A server answer worth retrying (502/503/504)."""

    def __init__(self, status: int, text: str):
        super().__init__(f"HTTP {status}: {text[:200]}")
        self.status = status


@dataclass(frozen=True)
class Policy:
    """Timeouts and retries of a client."""

    connect: float = 10.0
    #: Seconds without a byte moving before a request is given up (more
    #: than a hashserver's default lock timeout, see the module doc).
    stall: float = 180.0
    #: Total time of a request: base + size / min_rate.
    base: float = 60.0
    min_rate: float = 1 << 20  # bytes per second
    attempts: int = 4
    backoff: float = 0.1  # first delay; then x4 each attempt

    def total_seconds(self, size: int) -> float:
        """How long a transfer of size bytes may take in all."""
        return self.base + size / self.min_rate

    def timeout(self, size: int = 0) -> aiohttp.ClientTimeout:
        """The limits of a request whose size is known when it is sent."""
        return aiohttp.ClientTimeout(total=self.total_seconds(size),
                                     connect=self.connect, sock_connect=self.connect,
                                     sock_read=self.stall)

    def download_timeout(self) -> aiohttp.ClientTimeout:
        """The limits of a download, whose size only its answer tells: no
        total here (the reader holds it to total_seconds of that size, see
        Deadline); connecting and stalls as always."""
        return aiohttp.ClientTimeout(total=None, connect=self.connect, sock_connect=self.connect,
                                     sock_read=self.stall)

    def delays(self) -> list[float]:
        return [self.backoff * 4 ** i * (0.5 + random.random()) for i in range(self.attempts - 1)]


class Deadline:
    """The total time of one attempt at a download's body, from its
    answer's head on: by the size that head announces, or by the bytes
    received so far where that is more (a chunked answer, or a compressed
    one, whose plain bytes also have to be hashed and stored). The reader
    checks it after every piece."""

    def __init__(self, policy: Policy, size: int | None):
        self.policy = policy
        self.size = size
        self.started = time.monotonic()

    def check(self, received: int) -> None:
        """Raise asyncio.TimeoutError (transient) when the time is up."""
        allowed = self.policy.total_seconds(max(self.size or 0, received))
        if time.monotonic() - self.started > allowed:
            raise asyncio.TimeoutError(f"the download took more than {allowed:.0f} s")


TRANSIENT = (aiohttp.ClientConnectionError, asyncio.TimeoutError, TransientHTTPError,
             aiohttp.ClientPayloadError)


async def with_retries(policy: Policy, attempt: Callable[[], Awaitable[T]], what: str,
                       on_retry: Callable[[BaseException], Any] | None = None) -> T:
    """Run attempt(), again after a delay when it fails transiently.

    Raises:
        RemoteError: the last attempt failed transiently (the server cannot
            be reached, keeps timing out or answering 502/503/504), or the
            HTTP layer failed otherwise; the message starts with what (the
            method and URL) and says why. The HTTP library's own exception
            is its cause. Errors that attempt() raises itself pass as they are.
    """
    delays = policy.delays()
    while True:
        try:
            return await attempt()
        except TRANSIENT as exc:
            if not delays:
                raise RemoteError(f"{what}: {_reason(exc)} (after {policy.attempts} attempts)") from exc
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(delays.pop(0))
        except aiohttp.ClientError as exc:
            raise RemoteError(f"{what}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"timed out{': ' + str(exc) if str(exc) else ''}"
    return str(exc) or type(exc).__name__
