"""Logged-in sessions, kept in the agent's memory: a random token in an HttpOnly,
SameSite=Strict cookie (Secure over TLS or behind an https proxy) names the user until
it expires or they log out. A restart of the agent logs everyone out; nothing about a
session is written to disk."""
from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

COOKIE = "ll_session"


@dataclass(frozen=True, slots=True)
class Session:
    user: str
    expires: float          # monotonic seconds


class Sessions:
    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lifetime = lifetime
        self._clock = clock
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def start(self, user: str) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
            self._sessions[token] = Session(user, now + self._lifetime)
        return token

    def user(self, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.expires <= self._clock():
                self._sessions.pop(token, None)
                return None
            return session.user

    def end(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(token, None)
