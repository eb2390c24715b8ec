"""Build of the seamless package and its cffi extension.

The native core is optional at install time: without a C compiler, or with
SEAMLESS_NO_NATIVE=1, the package installs without it and the pure-Python
twin takes over (announced on stderr). SEAMLESS_REQUIRE_NATIVE=1 turns a
failed native build into an error instead (CI uses it).
"""

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """build_ext that degrades to the pure-Python backend on failure."""

    def run(self):
        try:
            super().run()
        except Exception as exc:  # a missing compiler raises many kinds
            self._give_up(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._give_up(exc)

    @staticmethod
    def _give_up(exc):
        if os.environ.get("SEAMLESS_REQUIRE_NATIVE") == "1":
            raise exc
        sys.stderr.write(
            "WARNING: the seamless native core could not be built "
            f"({exc}); installing the pure-Python fallback.\n"
        )


if os.environ.get("SEAMLESS_NO_NATIVE") == "1":
    sys.stderr.write("SEAMLESS_NO_NATIVE=1: building without the native core.\n")
    setup()
else:
    setup(
        cffi_modules=["seamless/_native/_build.py:ffibuilder"],
        cmdclass={"build_ext": OptionalBuildExt},
    )
