"""Importing the ddgan package (bindings/python) for the tests.

Skips when the library is built with sanitizers (their runtime cannot be loaded into an uninstrumented python)
or, outside ctest, when no library can be found; with DDGAN_LIBRARY set (ctest) an ImportError is a failure.
"""

import os
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
BINDINGS = REPO / "bindings" / "python"
HEADER = REPO / "include" / "ddgan" / "ddgan.h"


def sanitized():
    v = os.environ.get("DDGAN_SANITIZED", "")
    return bool(v) and v != "0"


def import_ddgan():
    if sanitized():
        pytest.skip("libddgan is built with sanitizers: not loadable through ctypes", allow_module_level=True)
    if str(BINDINGS) not in sys.path:
        sys.path.insert(0, str(BINDINGS))
    try:
        import ddgan
    except ImportError as e:
        if os.environ.get("DDGAN_LIBRARY"):
            raise
        pytest.skip("ddgan cannot be imported (%s)" % e, allow_module_level=True)
    return ddgan


def header_version():
    for line in HEADER.read_text().splitlines():
        if line.startswith("#define DDGAN_VERSION_STRING"):
            return line.split('"')[1]
    raise AssertionError("no DDGAN_VERSION_STRING in %s" % HEADER)
