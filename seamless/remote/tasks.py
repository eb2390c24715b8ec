"""Running a client's workers together, and stopping all when one fails."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Iterable


async def all_or_none(coroutines: Iterable[Awaitable[Any]]) -> list[Any]:
    """Run the coroutines concurrently and return their results; when one
    fails (or the caller is cancelled), cancel the others and wait for them
    before raising, so that no request goes on behind the caller's back."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
