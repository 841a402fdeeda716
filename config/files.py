"""Reading an input file whole, bounded: configuration, inventory, service-life table, sheet.

A path given by a person may name anything: a device (`/dev/zero` never ends), a FIFO (an
open for reading waits for a writer that never comes), a directory, or a file far bigger
than any inventory. `read_capped` reads only a regular file and at most `limit` bytes, and
says in a few words what is wrong otherwise (`FileRefusedError.reason`), for the caller to place
at the file as its problem. It never blocks: the file is opened non-blocking and checked
with fstat before a byte is read.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

# 16 MiB: some 50,000 device records of a few hundred bytes each, which YAML parses in
# under ten seconds (about 2 MB/s, bench/RESULTS.md). Larger inventories are split over
# included files, each of which has the same cap.
MAX_FILE_BYTES = 16 * 1024 * 1024


class FileRefusedError(Exception):
    """The file cannot be taken as input; `reason` says why, without its contents."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_capped(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`. Raises FileRefusedError when it is missing,
    unreadable, not a regular file or bigger than `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefusedError("no such file") from None
    except IsADirectoryError:
        raise FileRefusedError("is a directory, not a file") from None
    except OSError as exc:
        raise FileRefusedError(f"cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefusedError("is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise FileRefusedError(f"not a regular file (a {_kind(info.st_mode)})")
        if info.st_size > limit:
            raise FileRefusedError(too_big(limit))
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise FileRefusedError(f"cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:        # grew while being read
        raise FileRefusedError(too_big(limit))
    return data


def too_big(limit: int) -> str:
    return f"larger than {limit // (1024 * 1024)} MiB: not read (split it into smaller files)"


def _read_at_most(fd: int, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
