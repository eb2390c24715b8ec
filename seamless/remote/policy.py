"""How the clients wait and retry.

* Timeouts scale with size: a transfer of N bytes may take
  ``base + N / min_rate`` seconds in all, and is abandoned earlier only if
  no byte moves for ``stall`` seconds (the reference's fixed 10 s total
  timeout lost every large upload).
* Only transient failures are retried (a refused connection, a dropped
  connection, a timeout, 502/503/504), with exponential backoff and jitter.
  A 4xx answer is the caller's problem and is raised at once; so is a 500
  (a bug on the server is not cured by asking again).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

import aiohttp

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
    #: Seconds without a byte moving before a request is given up.
    stall: float = 120.0
    #: Total time of a request: base + size / min_rate.
    base: float = 60.0
    min_rate: float = 1 << 20  # bytes per second
    attempts: int = 4
    backoff: float = 0.1  # first delay; then x4 each attempt

    def timeout(self, size: int = 0) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.base + size / self.min_rate,
                                     connect=self.connect, sock_connect=self.connect,
                                     sock_read=self.stall)

    def delays(self) -> list[float]:
        return [self.backoff * 4 ** i * (0.5 + random.random()) for i in range(self.attempts - 1)]


TRANSIENT = (aiohttp.ClientConnectionError, asyncio.TimeoutError, TransientHTTPError,
             aiohttp.ClientPayloadError)


async def with_retries(policy: Policy, attempt: Callable[[], Awaitable[T]],
                       on_retry: Callable[[BaseException], Any] | None = None) -> T:
    """Run attempt(), again after a delay when it fails transiently."""
    delays = policy.delays()
    while True:
        try:
            return await attempt()
        except TRANSIENT as exc:
            if not delays:
                raise
            if on_retry is not None:
                on_retry(exc)
            await asyncio.sleep(delays.pop(0))
