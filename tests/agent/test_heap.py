"""agent/heap.py on glibc: arenas capped, free pages given back. Each case runs in a process
of its own, so that nothing else this test run holds or started muddies what it measures."""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="mallopt and malloc_trim are glibc's")

# 100 MiB in 4 KiB blocks (malloc's heap, not mmap, not pymalloc), all freed but the last,
# which keeps the heap's top where it is: free() alone cannot give the pages back.
_TRIM = """
import sys
from agent.heap import release_free_memory

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

blocks = [bytearray(4096) for _ in range(25_600)]
last = blocks[-1]
del blocks
before = rss_kib()
released = release_free_memory() if sys.argv[1] == "yes" else None
print(released, before - rss_kib())
"""

# Eight threads allocate from malloc at once and hold it; malloc_info then lists one
# <heap> element per arena in use.
_ARENAS = """
import ctypes, sys, tempfile, threading
from agent.heap import limit_malloc_arenas

capped = limit_malloc_arenas(2) if sys.argv[1] == "yes" else None
all_in, done = threading.Barrier(9), threading.Event()

def worker():
    held = [bytearray(4096) for _ in range(256)]
    all_in.wait()
    done.wait()

threads = [threading.Thread(target=worker) for _ in range(8)]
for thread in threads:
    thread.start()
all_in.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fclose.argtypes = [ctypes.c_void_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    file = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, file)
    libc.fclose(file)
    heaps = open(out.name).read().count("<heap nr=")
done.set()
for thread in threads:
    thread.join()
print(capped, heaps)
"""


def _run(script: str, apply: bool) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", script, "yes" if apply else "no"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    result, figure = done.stdout.split()
    return result, int(figure)


def test_released_pages_leave_the_resident_size() -> None:
    released, dropped_kib = _run(_TRIM, apply=True)
    assert released == "True"
    assert dropped_kib > 50 * 1024          # most of the 100 MiB freed


def test_without_the_release_freed_pages_stay_resident() -> None:
    """The case the release is for (and the test above's proof that it can fail)."""
    released, dropped_kib = _run(_TRIM, apply=False)
    assert released == "None"
    assert dropped_kib < 10 * 1024


def test_threads_share_the_capped_arenas() -> None:
    capped, heaps = _run(_ARENAS, apply=True)
    assert capped == "True"
    assert heaps <= 2


def test_without_the_cap_each_thread_takes_an_arena() -> None:
    """What the cap prevents: more arenas than the cap allows (this machine's cores
    bound glibc's own limit at 8 a core, above 2 on any machine)."""
    capped, heaps = _run(_ARENAS, apply=False)
    assert capped == "None"
    assert heaps > 2
