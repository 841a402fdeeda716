"""The state directory is private: 0700, and what Lifeline writes in it 0600.

`agent.state_dir` holds the alert history (devices, sites, who acknowledged what), the
metric store and spool, and the agent's status: nothing another local user should read.
A directory Lifeline creates is made 0700; one that is already there is left as it is
(it may be owned by someone else, or shared on purpose: changing it silently would
surprise its owner). Files are created 0600 where Lifeline opens them itself; the agent
also runs under `umask 077` (`keep_private`), so the files SQLite makes beside a database
(`-wal`, `-shm`) are private too. The systemd unit sets the same with `UMask=0077`.
"""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def make_private_dir(path: Path) -> None:
    """Create the directory `path` (and missing parents, with the usual mode) unless it
    exists; the directory itself gets DIR_MODE. Raises OSError as `Path.mkdir` does."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if path.is_dir():
            return                  # made by another process meanwhile: theirs, untouched
        raise
    os.chmod(path, DIR_MODE)        # mkdir's mode passes through the umask: make it exact


def create_private(path: Path, flags: int) -> int:
    """`os.open(path, flags | O_CREAT, FILE_MODE)`: a file created by it is 0600 whatever
    the umask allows; an existing one keeps its mode."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` (created 0600, or truncated)."""
    fd = create_private(path, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def keep_private() -> None:
    """From now on, this process creates files 0600 and directories 0700 by default.
    For the agent, which writes nothing but its state; not for commands that write a
    file a person asked for (`plan -o`)."""
    os.umask(UMASK)
