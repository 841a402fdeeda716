"""agent/heap.py: malloc's free pages go back to the system (glibc), in a process of its own
so that nothing else this test run holds muddies its resident size."""
from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# 100 MiB in 4 KiB blocks (malloc's heap, not mmap, not pymalloc), all freed but the last,
# which keeps the heap's top where it is: free() alone cannot give the pages back.
_SCRIPT = """
import sys
from agent.heap import release_free_memory

def rss_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))

blocks = [bytearray(4096) for _ in range(25_600)]
last = blocks[-1]
del blocks
before = rss_kib()
released = release_free_memory() if sys.argv[1] == "release" else None
print(released, before - rss_kib())
"""

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="malloc_trim is glibc's")


def _run(how: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, how], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    released, dropped_kib = done.stdout.split()
    return released, int(dropped_kib)


def test_released_pages_leave_the_resident_size() -> None:
    released, dropped_kib = _run("release")
    assert released == "True"
    assert dropped_kib > 50 * 1024          # most of the 100 MiB freed


def test_without_it_freed_pages_stay_resident() -> None:
    """The case the module is for: free() alone keeps them (the test above can fail)."""
    released, dropped_kib = _run("keep")
    assert released == "None"
    assert dropped_kib < 10 * 1024
