"""Who is asking, and whether they may: the gate in front of every route.

* Without authentication configured (no `console.users_file`, no
  `console.proxy_user_header`) the console listens on loopback only (the loader refuses
  anything else) and only shows: anyone on this machine may look, nobody may change.
* With a users file, a page needs a session (sessions.py) opened at /login.
* With a proxy header, the reverse proxy named by `console.proxy_addresses` says who the
  user is in that header; the same header from any other address is not believed, and a
  request from elsewhere is refused outright when no users file offers a login instead.

Open to all in every mode: /login, /static/, /lang/ and /healthz (a supervisor's
question); /metrics too when asked from loopback (the local Prometheus or proxy).
Changes need `read_only: false` and a user."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from starlette.requests import Request

from agent.web.sessions import COOKIE as SESSION_COOKIE
from agent.web.sessions import Sessions
from agent.web.users import Users
from config.model import ConsoleSettings

OPEN_PREFIXES = ("/login", "/static/", "/lang/", "/healthz")


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person behind a request, as far as the console knows."""

    user: str | None
    can_change: bool


@dataclass(frozen=True, slots=True)
class Refused:
    status: int                 # 401: log in first; 403: not from here
    reason: str


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Access:
    def __init__(self, settings: ConsoleSettings, users: Users | None,
                 sessions: Sessions) -> None:
        self.settings = settings
        self.users = users
        self.sessions = sessions

    def viewer(self, request: Request) -> Viewer | Refused:
        settings = self.settings
        client = request.client.host if request.client else None
        user: str | None = None
        if settings.proxy_user_header:
            from_proxy = client in settings.proxy_addresses
            if from_proxy:
                user = (request.headers.get(settings.proxy_user_header) or "").strip() or None
            elif self.users is None and not _open(request.url.path, client):
                return Refused(403, "only the reverse proxy may reach this console")
        if user is None and self.users is not None:
            user = self.sessions.user(request.cookies.get(SESSION_COOKIE))
        if settings.authenticates and user is None and not _open(request.url.path, client):
            return Refused(401, "log in first")
        return Viewer(user=user, can_change=not settings.read_only and user is not None)


def _open(path: str, client: str | None) -> bool:
    return (path.startswith(OPEN_PREFIXES) or path == "/login"
            or (path == "/metrics" and _loopback(client)))
