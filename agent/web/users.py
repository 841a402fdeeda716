"""The console's users file: one `NAME:ARGON2-HASH` a line (`#` comments, blank lines),
as `lifeline console-user NAME` writes them. Passwords are checked with argon2 (the hash
carries its own parameters); the file is read again when it changes, so adding a user
needs no restart. A line that is not a user is an error naming the file and line, never
showing the line (it may hold a hash)."""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
_HASHER = PasswordHasher()
# Verified against when the user is unknown, so an unknown name costs as long as a wrong
# password and the time does not tell which names exist.
_DUMMY = _HASHER.hash("lifeline: no such user")


class UsersFileError(Exception):
    """The users file cannot be used; the message names the file (and line)."""


@dataclass(frozen=True, slots=True)
class UserEntry:
    name: str
    hash: str


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def entry_line(name: str, password: str) -> str:
    if NAME.fullmatch(name) is None:
        raise ValueError(f"not a user name: {name!r} (letters, digits and . _ @ -, at "
                         "most 64)")
    return f"{name}:{hash_password(password)}"


def parse_users(text: str, where: Path) -> dict[str, UserEntry]:
    users: dict[str, UserEntry] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, hashed = line.partition(":")
        if not sep or NAME.fullmatch(name) is None or not hashed.startswith("$argon2"):
            raise UsersFileError(f"{where}:{number}: not NAME:ARGON2-HASH (make one with "
                                 "`lifeline console-user NAME`)")
        users[name] = UserEntry(name, hashed)
    return users


class Users:
    """The users of one file, re-read when its modification time changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: int | None = None
        self._users: dict[str, UserEntry] = {}
        self.load()

    def load(self) -> None:
        """Reads the file now. Raises UsersFileError."""
        try:
            stamp = self.path.stat().st_mtime_ns
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsersFileError(f"cannot read the console users file {self.path}: "
                                 f"{getattr(exc, 'strerror', None) or exc}") from None
        users = parse_users(text, self.path)
        with self._lock:
            self._users, self._stamp = users, stamp

    def _current(self) -> dict[str, UserEntry]:
        try:
            changed = self.path.stat().st_mtime_ns != self._stamp
        except OSError:
            changed = False         # gone for a moment (an editor saving): keep the last
        if changed:
            try:
                self.load()
            except UsersFileError:
                pass                # a half-written file: keep the last good one
        with self._lock:
            return self._users

    def check(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s. Slow on purpose (argon2), for every name."""
        entry = self._current().get(name)
        try:
            return _HASHER.verify(entry.hash if entry else _DUMMY, password) and entry is not None
        except (VerificationError, InvalidHashError):
            return False
