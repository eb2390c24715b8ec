"""The buffer store: content-addressed files in a folder (``BufferStore``).

The HTTP hashserver that serves such a folder is built on this store; the
store itself has no HTTP in it, so local processes use it directly.
"""

from .layout import LayoutError
from .store import BufferStore, PutResult, ReadOnlyStoreError, StoreStats, VerifyReport

__all__ = ["BufferStore", "PutResult", "ReadOnlyStoreError", "StoreStats", "VerifyReport", "LayoutError"]
