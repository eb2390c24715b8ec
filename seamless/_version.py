"""The package version: the single source of truth, read by the build too."""

__version__ = "0.1.0"
