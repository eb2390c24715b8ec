"""The errors of the configuration layer, with the file, cluster and field.

The reference raises raw ``TypeError`` / ``KeyError`` / ``AssertionError``
with Python class names in them; here every error says where the problem is
(``clusters.yaml: cluster 'local', frontends[0].hashserver.port_start: ...``)
and derives both from ConfigurationError (a RuntimeError, as in the
reference) and from the builtin the reference raised for the same problem, so
that code written against either keeps catching it.
"""

from __future__ import annotations

from ..exceptions import SeamlessError


class ConfigurationError(SeamlessError, RuntimeError):
    """The configuration cannot be used as it stands."""


class ConfigFileError(ConfigurationError, ValueError):
    """A malformed seamless.yaml / seamless.profile.yaml / clusters.yaml."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
        self.path = path
        self.line = line


class ClusterDefinitionError(ConfigFileError, TypeError):
    """A cluster definition with a missing, unknown or mistyped field."""


class ServiceStartError(ConfigurationError):
    """A service did not start; the message carries the cause and the end of
    the service's log."""
