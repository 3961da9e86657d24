"""Build the Cython core. Everything else lives in pyproject.toml.

Speed directives are set here, not in the .pyx header (a header directive would
override them). ``SARLE_DEBUG=1`` turns bounds, wraparound and initialisation
checks back on and builds without optimisation, for the checked CI run.
"""

import os

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("SARLE_DEBUG", "0") not in ("", "0")

directives = {
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "embedsignature": True,
}
compile_args = ["-O0", "-g"] if DEBUG else ["-O3"]
compile_args += os.environ.get("SARLE_CFLAGS", "").split()

extension = Extension(
    "sarle._rle",
    ["src/sarle/_rle.pyx"],
    # included by _rle.pyx: an edit to it rebuilds the extension
    depends=["src/sarle/_stats_simd.h", "src/sarle/_poly.pxi"],
    extra_compile_args=compile_args,
    extra_link_args=os.environ.get("SARLE_LDFLAGS", "").split(),
)

setup(ext_modules=cythonize([extension], compiler_directives=directives))
