"""The result database (``ResultDB``): seamless.db through stdlib sqlite3.

The HTTP database server is built on ResultDB; ResultDB itself has no HTTP
in it, so local processes use it directly.
"""

from .schema import SCHEMA_VERSION, SchemaError
from .store import ResultDB

__all__ = ["ResultDB", "SchemaError", "SCHEMA_VERSION"]
