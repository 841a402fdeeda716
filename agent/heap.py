"""The C heap of a long-running agent: few malloc arenas, and free pages given back.

Objects over 512 bytes, and SQLite's pages, come from glibc's malloc, which gives each
thread that allocates an arena of its own (up to 8 per core) and keeps what is freed in
it: an agent that started more worker threads while it was busy holds more memory ever
after. `limit_malloc_arenas` caps them at `lifeline run`'s start (the event loop's thread
keeps the main arena, the workers, which mostly take turns under the GIL, share one).

Loading a configuration of tens of thousands of devices makes several times the kept
configuration in temporary objects (the parsed YAML, the validated records); malloc keeps
the pages they freed below the top of its heap until something reuses them:
`release_free_memory` (malloc_trim(0)) gives them back after a load and a reload.

Measured at 30,000 devices (bench/RESULTS.md, "Third pass"): 283 MiB RSS at the end of a
run without either, 273 with the trim, 264-266 with both. Where the C library is not glibc
(musl, macOS) neither function exists and nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools

_M_ARENA_MAX = -8       # glibc's malloc.h
WORKER_ARENAS = 2       # the main arena (the loop's thread) and one for every other thread


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    except (OSError, AttributeError, TypeError):    # no C library found, or not glibc
        return None
    return libc


def limit_malloc_arenas(arenas: int = WORKER_ARENAS) -> bool:
    """Cap malloc's arenas for threads that allocate from now on; call it before they
    start. Whether the cap was set (False without glibc)."""
    libc = _glibc()
    return libc is not None and libc.mallopt(_M_ARENA_MAX, arenas) == 1


def release_free_memory() -> bool:
    """Return malloc's free pages to the system; whether any were (False without glibc)."""
    libc = _glibc()
    return libc is not None and libc.malloc_trim(0) == 1
