"""seamless: content-addressed buffers and a computation cache, with a C core.

Every piece of data is named by the SHA-256 checksum of its bytes, with the
same bytes and checksums as the reference Seamless implementation::

    from seamless import Buffer, Checksum
    buf = Buffer({"a": 1}, "plain")
    buf.get_checksum()          # Checksum of b'{\\n  "a": 1\\n}\\n'

Heavy modules (numpy, the stores, the servers) are imported on first use.
"""

from ._version import __version__
from .buffer_class import Buffer
from .checksum_class import Checksum
from .exceptions import CacheMissError, SeamlessError

__all__ = ["Buffer", "Checksum", "CacheMissError", "SeamlessError", "__version__"]
