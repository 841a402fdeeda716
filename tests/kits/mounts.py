"""Real file systems for the state_dir's bad days: a small tmpfs that fills up, a
read-only view of a directory. Root ignores permission bits (chmod 0555 stops nothing it
does), so a read-only directory has to be a read-only mount. Where the machine does not
allow mounting (not root, no CAP_SYS_ADMIN in a container), the test is skipped, saying
why.
"""
from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (mount {' '.join(args)}): {done.stderr.strip()}")


def _unmount(target: Path) -> None:
    # Lazy: a process the test started may still be closing its files under it.
    subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


@contextmanager
def tmpfs(target: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` (e.g. "8m") mounted on `target` (made if missing)."""
    target.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(target))
    try:
        yield target
    finally:
        _unmount(target)


@contextmanager
def read_only_view(source: Path, target: Path) -> Iterator[Path]:
    """`source` seen read-only at `target` (a bind mount remounted ro): nothing can be
    created or changed under `target`, by root either."""
    target.mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(source), str(target))
    try:
        _mount("-o", "remount,bind,ro", str(target))
        yield target
    finally:
        _unmount(target)


def fill(directory: Path) -> Path:
    """A file that takes every free byte of `directory`'s file system; returns it."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 16, 512, 1):      # big steps, then what is left of the last page
            try:
                while True:
                    handle.write(b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler
