"""Giving the C heap's free pages back to the system after a large, short-lived build.

Loading a configuration of tens of thousands of devices makes several times the kept
configuration in temporary objects (the parsed YAML, the validated records). Those over
512 bytes come from glibc's malloc, which keeps the pages they freed below the top of its
heap as the process's own until something else reuses them: `malloc_trim(0)` gives them
back. Where the C library has no malloc_trim (musl, macOS) nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError, TypeError):    # no libc found, or not glibc's
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Return malloc's free pages to the system; whether any were (False without glibc)."""
    trim = _malloc_trim()
    return bool(trim(0)) if trim is not None else False
