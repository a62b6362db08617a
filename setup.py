"""The splice machinery's modules (each .py with a .pxd beside it) built as C extensions
with Cython, when Cython and a C compiler are there: about a third fewer machine
instructions per spliced request (README "Development"). Without either, or with
GAIA_PURE_PYTHON=1, nothing is compiled and the same .py files run as they are, with
the same behaviour. All or none: a build that fails for one module keeps none, since
the compiled modules reach each other's types at C level.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
# Only the .pxd files say how to type the code (mypy reads the .py annotations).
# The packages whose modules may carry a .pxd (tests/gateway/http/test_compiled.py holds
# the same tuple).
PACKAGES = ("gateway", "httpkit", "legacy", "routing", "triggers", "runtime_adapters", "limits")
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}


def _sources() -> list[Path]:
    """The .py beside each .pxd of the packages (a .pxd with none is C that compiled modules
    cimport, as httpkit/cheadbytes.pxd)."""
    return sorted(
        pxd.with_suffix(".py").relative_to(HERE)
        for package in PACKAGES
        for pxd in (HERE / package).rglob("*.pxd")
        if pxd.with_suffix(".py").exists()
    )


def _extensions() -> list[Extension]:
    if os.environ.get("GAIA_PURE_PYTHON") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("gaia: no Cython: the splice machinery stays pure Python", file=sys.stderr)
        return []
    return cythonize(
        [str(source) for source in _sources()],
        compiler_directives=DIRECTIVES,
        quiet=True,
        nthreads=os.cpu_count() or 1,
    )


class AllOrNone(build_ext):
    """build_ext, but a failure (no C compiler, say) leaves pure Python, not a half build."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:  # each module is its own C compiler run
            self.parallel = os.cpu_count() or 1

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # the compiler's errors come as several types
            for built in self.get_outputs():
                Path(built).unlink(missing_ok=True)
            print(f"gaia: the splice machinery stays pure Python: {exc}", file=sys.stderr)


setup(ext_modules=_extensions(), cmdclass={"build_ext": AllOrNone})
