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

from config.messages import Message, said

# 16 MiB: some 50,000 device records of a few hundred bytes each, which YAML parses in
# under ten seconds (about 2 MB/s, bench/RESULTS.md). Larger inventories are split over
# included files, each of which has the same cap.
MAX_FILE_BYTES = 16 * 1024 * 1024


class FileRefusedError(Exception):
    """The file cannot be taken as input; `said` says why, without its contents (`reason`:
    in English)."""

    def __init__(self, message: Message) -> None:
        super().__init__(message.render("en"))
        self.said = message
        self.reason = message.render("en")


def read_capped(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of the regular file at `path`. Raises FileRefusedError when it is missing,
    unreadable, not a regular file or bigger than `limit` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileRefusedError(said("no_such_file")) from None
    except IsADirectoryError:
        raise FileRefusedError(said("is_a_directory")) from None
    except OSError as exc:
        raise FileRefusedError(said("cannot_read", why=str(exc.strerror))) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise FileRefusedError(said("is_a_directory"))
        if not stat.S_ISREG(info.st_mode):
            what, what_ko = _kind(info.st_mode)
            raise FileRefusedError(said("not_regular", what=what, what_ko=what_ko))
        if info.st_size > limit:
            raise FileRefusedError(too_big(limit))
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise FileRefusedError(said("cannot_read", why=str(exc.strerror))) from None
    finally:
        os.close(fd)
    if len(data) > limit:        # grew while being read
        raise FileRefusedError(too_big(limit))
    return data


def too_big(limit: int) -> Message:
    return said("file_too_big", mib=str(limit // (1024 * 1024)))


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


def _kind(mode: int) -> tuple[str, str]:
    """What the file is, in English and Korean."""
    if stat.S_ISFIFO(mode):
        return "named pipe", "이름 있는 파이프"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device", "장치 파일"
    if stat.S_ISSOCK(mode):
        return "socket", "소켓"
    return "special file", "특수 파일"
