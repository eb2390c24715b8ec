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

from .errors import TransformationError
from .parallel import TransformationList, parallel
from .pool import has_spawned, spawn
from .transformation import Transformation
from .transformer import DirectTransformer, Transformer, delayed, direct

__all__ = ["direct", "delayed", "Transformation", "Transformer", "DirectTransformer", "TransformationError",
           "spawn", "has_spawned", "parallel", "TransformationList"]
