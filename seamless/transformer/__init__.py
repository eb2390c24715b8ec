"""Transformations: cached Python functions and bash commands.

    from seamless.transformer import direct, delayed

    @direct
    def add(a, b):
        return a + b

    add(2, 3)     # 5: computed once, then found again by its checksum

The checksum of a transformation is byte-identical to the reference's, so a
result database and a buffer folder filled by either implementation serve
the other as a cache. Persistence comes from ``seamless.config.init()``
(or SEAMLESS_CACHE); without it, results are cached in memory.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import TransformationError
from .transformation import Transformation
from .transformer import DirectTransformer, Transformer, delayed, direct

# Loaded when first used (the worker pool brings multiprocessing with it).
_LAZY = {"parallel": "batch", "TransformationList": "batch", "spawn": "pool", "has_spawned": "pool"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["direct", "delayed", "Transformation", "Transformer", "DirectTransformer", "TransformationError",
           "spawn", "has_spawned", "parallel", "TransformationList"]
