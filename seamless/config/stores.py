"""What init() connects: the buffer store and the result database."""

from __future__ import annotations

from typing import Any


class Stores:
    """What init() connected: the buffer store and the result database
    (None for both: in memory only), and the services behind them."""

    def __init__(self, buffers: Any = None, results: Any = None, endpoints: dict[str, Any] | None = None,
                 description: str = "in memory"):
        self.buffers = buffers
        self.results = results
        self.endpoints = endpoints or {}
        self.description = description

    def __repr__(self) -> str:
        return f"Stores({self.description}: {self.buffers!r}, {self.results!r})"

    def close(self) -> None:
        for store in (self.buffers, self.results):
            if store is not None:
                store.close()
        self.buffers = self.results = None
